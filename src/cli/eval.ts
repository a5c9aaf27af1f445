// `perceiver-ar eval`: validation metrics of a trained model on its task, optionally with fewer
// latents than it was trained with (compute chosen at test time), or at another context length
// (`--context`: the model warm-started as `train --init-from` would, without training), with throughput.

import { imageBitsPerDim, ImageTask } from "../tasks/image-task.js";
import { copyAccuracy } from "../tasks/copy-task.js";
import { evaluate } from "../train/evaluate.js";
import { poolUpToHalfOfMemory } from "../train/trainer.js";
import { PerceiverAR } from "../models/perceiver-ar.js";
import { warmStart } from "../models/warm-start.js";
import { openModel, selectBackend, taskFor, type BackendFlags } from "./common.js";
import { UsageError } from "./overrides.js";

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
  const M = flags.numLatents === undefined ? c.maxLatents : Number(flags.numLatents);
  if (!Number.isInteger(M) || M < 1 || M > c.maxLatents) throw new UsageError(`--num-latents must be an integer in [1, ${c.maxLatents}] (the model's max_latents), got "${flags.numLatents}"`);
  const count = Number(flags.windows);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--windows must be an integer >= 1, got "${flags.windows}"`);
  await task.ensureData?.((m) => console.log(m));

  const t0 = performance.now();
  const out: Record<string, number | string> = { model: dir, task: task.spec.task, context: c.maxSeqLen, numLatents: M };
  if (task instanceof ImageTask) {
    const images = task.images().validation.slice(0, count);
    const r = imageBitsPerDim(model, images, M);
    Object.assign(out, { bitsPerDim: r.bitsPerDim, dims: r.dims, images: images.length });
    out.tokensPerSec = r.dims / ((performance.now() - t0) / 1000);
  } else if (task.spec.task === "copy") {
    const r = copyAccuracy(model, { examples: count, numLatents: M });
    Object.assign(out, { accuracy: r.accuracy, loss: r.loss, scored: r.scored });
    out.tokensPerSec = r.scored / ((performance.now() - t0) / 1000);
  } else {
    const v = task.validation(c.maxSeqLen, count);
    const r = evaluate(model, v.windows, { numLatents: M, tokenByteLength: v.tokenByteLength });
    Object.assign(out, { loss: r.loss, bitsPerToken: r.bitsPerToken, [task.metricName]: task.metric(r), accuracy: r.accuracy, tokens: r.tokens, contextLen: r.contextLen });
    out.tokensPerSec = r.tokens / ((performance.now() - t0) / 1000);
  }
  if (flags.json) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(14)} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`);
}

/** The model warm-started at context `value` (the position table re-mapped; see models/warm-start.ts). */
function extendContext(model: PerceiverAR, value: string): PerceiverAR {
  const n = Number(value);
  const min = model.config.maxLatents;
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--context must be an integer >= ${min} (the model's max_latents), got "${value}"`);
  if (n === model.config.maxSeqLen) return model;
  const extended = new PerceiverAR({ ...model.config, maxSeqLen: n }, model.backend);
  warmStart(extended, model);
  poolUpToHalfOfMemory(extended);
  return extended;
}
