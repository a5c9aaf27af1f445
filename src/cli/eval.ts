// `perceiver-ar eval`: held-out metrics of a trained model on its task (the task decides what it
// scores and reports), optionally with fewer latents than it was trained with (compute chosen at
// test time), or at another context length (`--context`: the model warm-started as
// `train --init-from` would, without training), with throughput. By default it scores what the
// run validated on during training (the same windows, so the same figure); `--windows` asks for
// more or fewer, and says so when the data holds fewer. Progress goes to stderr on a terminal.

import { PerceiverAR } from "../models/perceiver-ar.js";
import { warmStart } from "../models/warm-start.js";
import { readTaskFile } from "../tasks/task-file.js";
import { poolUpToHalfOfMemory } from "../train/memory-policy.js";
import { TRAINING_DEFAULTS } from "../train/defaults.js";
import { openModel, openTask, selectBackend, type BackendFlags } from "./common.js";
import { integerFlag, optionalIntegerFlag } from "./flags.js";
import { Activity, ProgressDisplay } from "./progress.js";

export interface EvalFlags extends BackendFlags {
  numLatents?: string;
  context?: string;
  windows?: string;
  task?: string;
  data?: string;
  tokenizer?: string;
  cache?: string;
  json?: boolean;
}

export async function evalCommand(modelPath: string, flags: EvalFlags): Promise<void> {
  const windowsFlag = flags.windows !== undefined ? integerFlag("windows", flags.windows, 1, TRAINING_DEFAULTS.evalWindows.limit!.max) : undefined;
  const backend = selectBackend(flags);
  const opened = openModel(modelPath, backend);
  const dir = opened.dir;
  const model = flags.context === undefined ? opened.model : extendContext(opened.model, flags.context);
  const task = openTask(dir, model, flags, { needsData: true });
  const c = model.config;
  const numLatents = optionalIntegerFlag("num-latents", flags.numLatents, 1, c.maxLatents, "(the model's max_latents)") ?? c.maxLatents;
  const runWindows = readTaskFile(dir)?.spec.validationWindows;
  const count = windowsFlag ?? (runWindows !== undefined && runWindows > 0 && flags.context === undefined ? runWindows : task.defaultValidationCount(c));
  if (task.ensureData !== undefined) {
    const activity = new Activity("fetching data", { stream: process.stderr });
    await task.ensureData((m) => activity.log(m)).finally(() => activity.stop());
  }

  // Forward passes on a terminal's stderr; nothing in a log.
  const bar = process.stderr.isTTY ? new ProgressDisplay({ total: 1, unit: "forward pass", stream: process.stderr }) : null;
  const t0 = performance.now();
  const e = task.evaluate(model, { count, numLatents, onProgress: bar !== null ? (done, total) => bar.update(done, {}, total) : undefined });
  bar?.stop();
  const seconds = (performance.now() - t0) / 1000;
  if (e.result.windows < count) process.stderr.write(`note: ${count} windows asked, but the validation data holds ${e.result.windows}; scored all ${e.result.windows}\n`);
  const out: Record<string, number | string> = { model: dir, task: task.spec.task, context: c.maxSeqLen, numLatents, ...e.metrics, windows: e.result.windows, tokensPerSec: e.result.tokens / seconds };
  if (flags.json) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(14)} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`);
}

/** The model warm-started at context `value` (the position table re-mapped; see models/warm-start.ts). */
function extendContext(model: PerceiverAR, value: string): PerceiverAR {
  const n = integerFlag("context", value, model.config.maxLatents, Number.MAX_SAFE_INTEGER, "(the model's max_latents)");
  if (n === model.config.maxSeqLen) return model;
  const extended = new PerceiverAR({ ...model.config, maxSeqLen: n }, model.backend);
  warmStart(extended, model);
  poolUpToHalfOfMemory(extended);
  return extended;
}
