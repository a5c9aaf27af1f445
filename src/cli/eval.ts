// `perceiver-ar eval`: held-out metrics of a trained model on its task (the task decides what it
// scores and reports), optionally with fewer latents than it was trained with (compute chosen at
// test time), or at another context length (`--context`: the model warm-started as
// `train --init-from` would, without training), with throughput.

import { PerceiverAR } from "../models/perceiver-ar.js";
import { warmStart } from "../models/warm-start.js";
import { poolUpToHalfOfMemory } from "../train/memory-policy.js";
import { openModel, selectBackend, taskFor, type BackendFlags } from "./common.js";
import { integerFlag, optionalIntegerFlag } from "./flags.js";

export interface EvalFlags extends BackendFlags {
  numLatents?: string;
  context?: string;
  windows: string;
  task?: string;
  data?: string;
  json?: boolean;
}

export async function evalCommand(modelPath: string, flags: EvalFlags): Promise<void> {
  const backend = selectBackend(flags);
  const opened = openModel(modelPath, backend);
  const dir = opened.dir;
  const model = flags.context === undefined ? opened.model : extendContext(opened.model, flags.context);
  const task = taskFor(dir, { task: (flags.task ?? "text") as never, data: flags.data });
  const c = model.config;
  const numLatents = optionalIntegerFlag("num-latents", flags.numLatents, 1, c.maxLatents, "(the model's max_latents)") ?? c.maxLatents;
  const count = integerFlag("windows", flags.windows, 1);
  await task.ensureData?.((m) => console.log(m));

  const t0 = performance.now();
  const e = task.evaluate(model, { count, numLatents });
  const seconds = (performance.now() - t0) / 1000;
  const out: Record<string, number | string> = { model: dir, task: task.spec.task, context: c.maxSeqLen, numLatents, ...e.metrics, tokensPerSec: e.result.tokens / seconds };
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
