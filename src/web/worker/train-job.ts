// Training in the worker: pasted text, byte-level, one of the page's presets. The text's last
// VALIDATION_FRACTION of bytes is held out (a pasted text is one document, so a split by document
// would leave nothing to validate on). Steps run one at a time with a yield between them, so a
// stop request is seen after the current step; progress and validation losses stream to the page.

import { ByteTokenizer, fixedWindows, getPreset, PerceiverAR, samplerBatchSource, TrainingSession, WindowSampler } from "../../index.browser.js";
import type { TrainRequest } from "../protocol.js";
import { describeModel, emit, yieldToMessages, type TrainingRun, type WorkerContext } from "./context.js";

/** Fraction of the text's tokens held out for validation. */
const VALIDATION_FRACTION = 0.1;
/** Validation windows (fewer than the CLI's 16: the page validates often and on the reference backend). */
const VALIDATION_WINDOWS = 4;
/** Validations per run (plus one at the end). */
const VALIDATIONS_PER_RUN = 10;

export function startTraining(ctx: WorkerContext, r: TrainRequest): TrainingRun {
  if (ctx.run?.running) throw new Error("a training run is already going: stop it first");
  const tokenizer = new ByteTokenizer();
  const preset = getPreset(r.preset);
  const stream = Int32Array.from(tokenizer.encode(r.text));
  const nVal = Math.floor(stream.length * VALIDATION_FRACTION);
  const model0 = new PerceiverAR(preset.model, ctx.backend, { seed: r.seed });
  const windowLen = model0.config.maxSeqLen + 1;
  if (stream.length - nVal < windowLen) {
    throw new RangeError(`text: ${stream.length} bytes is too short for preset ${r.preset} (context ${model0.config.maxSeqLen}): paste at least ${Math.ceil(windowLen / (1 - VALIDATION_FRACTION)) + 1} bytes`);
  }
  const train = stream.subarray(0, stream.length - nVal);
  const val = stream.subarray(stream.length - nVal);
  const validation = val.length >= windowLen ? { windows: fixedWindows(val, windowLen, Math.min(VALIDATION_WINDOWS, Math.floor(val.length / windowLen))) } : undefined;
  const data = samplerBatchSource(new WindowSampler(train, { maxSeqLen: model0.config.maxSeqLen, seed: r.seed }), r.batchSize);
  const session = new TrainingSession(model0, data, { lr: r.lr, maxSteps: r.steps, seed: r.seed }, validation);
  const run: TrainingRun = { session, tokenizer, evalEvery: Math.max(1, Math.round(r.steps / VALIDATIONS_PER_RUN)), stopRequested: false, running: false };
  ctx.run = run;
  ctx.models.text = { model: model0, tokenizer, info: describeModel("text", "trained here", model0, tokenizer) };
  return run;
}

/** Runs steps until the session's maxSteps or a stop request; resolves to the reason. */
export async function runTraining(run: TrainingRun): Promise<"done" | "stopped"> {
  const s = run.session;
  run.running = true;
  run.stopRequested = false;
  let tokens = 0;
  let seconds = 0;
  try {
    while (s.completedSteps < s.maxSteps) {
      await yieldToMessages();
      if (run.stopRequested) break;
      const r = s.step();
      tokens += r.tokens;
      seconds += r.seconds;
      const perStep = seconds / Math.max(1, s.completedSteps);
      emit({ kind: "train-step", step: r.step, maxSteps: s.maxSteps, loss: r.loss, lr: r.lr, tokensPerSec: tokens / seconds, etaSeconds: perStep * (s.maxSteps - r.step) });
      if (r.step % run.evalEvery === 0 || r.step === s.maxSteps) validate(run);
    }
  } finally {
    run.running = false;
  }
  const reason = s.completedSteps >= s.maxSteps ? "done" : "stopped";
  emit({ kind: "train-end", step: s.completedSteps, reason });
  return reason;
}

function validate(run: TrainingRun): void {
  const e = run.session.evaluate();
  if (e !== null) emit({ kind: "validation", step: run.session.completedSteps, loss: e.loss, accuracy: e.accuracy });
}
