// Benchmark: where one training step's time goes, kernel by kernel.
//
// Contract:
//   node dist/bench/step-profile.js [--preset copy] [--contexts 16384,131072] [--batch 8]
//        [--reps 3] [--pool-gb G] [--threads n]
// - Builds the preset's model at each context (max_seq_len), and times forward + backward
//   (`lossAndGrad`, no optimizer) on one copy-task batch of --batch sequences, --reps times; the last
//   repetition is reported (the earlier ones warm the buffer pool).
// - Every Backend method call is timed through a Proxy; the table lists the 10 slowest kernels and
//   "other" = step time not spent in kernels (graph bookkeeping, allocation outside the backend).
// - --pool-gb sets the model's buffer-pool cap (default: the BufferPool default, 4 GB, as a model
//   outside the Trainer and CLI has); compare e.g. `--pool-gb 4` with `--pool-gb 12` in one session.
// - Validation before timing (bench/validate.ts): the preset's model at context 1,024 (2 copy-task
//   sequences) on this backend and on the reference backend: loss, logits and every gradient of one
//   step within the golden tolerances, or nothing is profiled.

import { parseArgs } from "node:util";
import type { Backend } from "../src/backend/backend.js";
import { getBackend, setThreads } from "../src/backend/select.js";
import { CopyTaskDataset } from "../src/data/copy-examples.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { machineDescription } from "./harness.js";
import { checkAgainstReference, describeCheck, requireValid } from "./validate.js";

/** The validated step: small enough for the reference backend (a second or two for the copy preset). */
const CHECK_CONTEXT = 1024;
const CHECK_BATCH = 2;

const { values: a } = parseArgs({
  options: {
    preset: { type: "string", default: "copy" },
    contexts: { type: "string", default: "16384,131072" },
    batch: { type: "string", default: "8" },
    reps: { type: "string", default: "3" },
    "pool-gb": { type: "string" },
    threads: { type: "string" },
  },
});
if (a.threads !== undefined) setThreads(Number(a.threads));
const B = Number(a.batch);
const reps = Number(a.reps);

const times = new Map<string, number>();
const base = getBackend();

/** A copy-task batch (B, N) of the model's context and its labels on the M latent positions (B, M). */
function copyBatch(model: PerceiverAR, B: number, N: number) {
  const M = model.config.maxLatents;
  const P = N - M;
  const batch = new CopyTaskDataset({ contextLength: N, seed: 1 }).sample(B); // inputs, labels (B, N)
  const labels = new Int32Array(B * M); // (B, M)
  for (let r = 0; r < B; r++) labels.set(batch.labels.subarray(r * N + P, (r + 1) * N), r * M);
  return { ids: { data: batch.inputs, shape: [B, N] as const }, labels: { data: labels, shape: [B, M] as const }, prefixLen: P };
}

const check = checkAgainstReference(base, (b) => {
  const model = new PerceiverAR({ ...getPreset(a.preset).model, maxSeqLen: CHECK_CONTEXT }, b);
  const { ids, labels, prefixLen } = copyBatch(model, CHECK_BATCH, CHECK_CONTEXT);
  return { parameters: model.parameters, step: () => ({ loss: model.lossAndGrad(ids, labels, { prefixLen }).loss, logits: model.forward(ids, { prefixLen }).data }) };
});
requireValid(check, `${a.preset} at context ${CHECK_CONTEXT} on the ${base.name} backend vs the reference backend`);
console.log(`${machineDescription()}; validated: ${check === null ? "reference backend itself" : `${a.preset} N ${CHECK_CONTEXT} batch ${CHECK_BATCH} vs the reference backend: ${describeCheck(check)}`}`);
const timed = new Proxy(base, {
  get(target, key: string) {
    const value = (target as unknown as Record<string, unknown>)[key];
    if (typeof value !== "function") return value;
    return (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (value as (...x: unknown[]) => unknown).apply(target, args);
      times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
      return r;
    };
  },
}) as Backend;

for (const N of a.contexts.split(",").map(Number)) {
  const model = new PerceiverAR({ ...getPreset(a.preset).model, maxSeqLen: N }, timed);
  if (a["pool-gb"] !== undefined) model.pool.maxBytes = Number(a["pool-gb"]) * 2 ** 30;
  const { ids, labels, prefixLen } = copyBatch(model, B, N);
  for (let rep = 0; rep < reps; rep++) {
    times.clear();
    model.zeroGrads();
    const t0 = performance.now();
    model.lossAndGrad(ids, labels, { prefixLen });
    const total = performance.now() - t0;
    if (rep < reps - 1) continue;
    const kernels = [...times.entries()].sort((x, y) => y[1] - x[1]);
    const inKernels = kernels.reduce((s, [, v]) => s + v, 0);
    const cap = (model.pool.maxBytes / 2 ** 30).toFixed(0);
    console.log(`${a.preset} N ${N} batch ${B} pool cap ${cap} GB: step ${total.toFixed(0)} ms, kernels ${inKernels.toFixed(0)} ms, other ${(total - inKernels).toFixed(0)} ms`);
    console.log(`  ${kernels.slice(0, 10).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
  }
}
