// Training in the worker: pasted text, byte-level, one of the page's presets, through the same
// text task as `perceiver-ar train` (src/tasks/text-task-core.ts: the split planner of
// src/data/text-split.ts, its training windows and validation windows, bits per byte) and the
// same training loop (src/train/training-loop.ts, as TrainingSession). A pasted text is one
// document (or several between "<|endoftext|>" lines or form feeds), so the planner usually holds
// out its tail. The loop yields between steps, so a stop request is seen after the current step;
// progress and validations stream to the page.

import { ByteTokenizer, corpusFromText, getPreset, PerceiverAR, TextTaskCore, TrainingSession } from "../../index.browser.js";
import type { TrainRequest } from "../protocol.js";
import { describeModel, emit, type TrainingRun, type WorkerContext } from "./context.js";

/** Validation windows (fewer than the CLI's default: the page validates often, on the browser's backend). */
const VALIDATION_WINDOWS = 4;
/** Validations per run (plus one at the end). */
const VALIDATIONS_PER_RUN = 10;

export function startTraining(ctx: WorkerContext, r: TrainRequest): TrainingRun {
  if (ctx.run?.running) throw new Error("a training run is already going: stop it first");
  const tokenizer = new ByteTokenizer();
  const model = new PerceiverAR(getPreset(r.preset).model, ctx.backend, { seed: r.seed });
  const c = model.config;
  const task = new TextTaskCore({ task: "text", seed: r.seed }, tokenizer, corpusFromText("pasted text", r.text));
  for (const line of task.planRun({ seqLen: c.maxSeqLen, validationWindows: VALIDATION_WINDOWS })) console.info(line);
  const validation = task.validation(c.maxSeqLen, VALIDATION_WINDOWS);
  const data = task.trainSource(c.maxSeqLen, r.batchSize, r.seed);
  const evalEvery = Math.max(1, Math.round(r.steps / VALIDATIONS_PER_RUN));
  const session = new TrainingSession(model, data, { batchSize: r.batchSize, lr: r.lr, maxSteps: r.steps, seed: r.seed, evalEvery }, validation);
  const run: TrainingRun = { session, task, tokenizer, stop: new AbortController(), running: false };
  ctx.run = run;
  ctx.models.text = { model, tokenizer, info: describeModel("text", "trained here", model, tokenizer) };
  return run;
}

/** Runs steps until the session's maxSteps or a stop request; resolves to the reason. */
export async function runTraining(run: TrainingRun): Promise<"done" | "stopped"> {
  const s = run.session;
  run.running = true;
  run.stop = new AbortController();
  let tokens = 0;
  let seconds = 0;
  let steps = 0;
  try {
    await s.run({
      signal: run.stop.signal,
      onStep: (r) => {
        tokens += r.tokens;
        seconds += r.tokensPerSec > 0 ? r.tokens / r.tokensPerSec : 0; // the step's own time (not validation's)
        steps++;
        emit({ kind: "train-step", step: r.step, maxSteps: s.maxSteps, loss: r.loss, lr: r.lr, tokensPerSec: tokens / seconds, etaSeconds: (seconds / steps) * (s.maxSteps - r.step) });
      },
      onValidation: (step, e) => emit({ kind: "validation", step, loss: e.loss, accuracy: e.accuracy, metric: run.task.metric(e), metricName: run.task.metricName }),
    });
  } finally {
    run.running = false;
  }
  const reason = s.completedSteps >= s.maxSteps ? "done" : "stopped";
  emit({ kind: "train-end", step: s.completedSteps, reason });
  return reason;
}
