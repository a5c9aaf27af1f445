// Benchmark: where one training step's time goes, kernel by kernel.
//
// Contract:
//   node dist/bench/step-profile.js [--preset standard|copy|<preset>] [--contexts 4096,16384,65536]
//        [--batch B] [--reps 3] [--pool-gb G] [--threads n] [--adamw] [--top 12] [--dropout p]
// - `standard` (the default) is the train-step config (bench/standard-config.ts, batch 1, random
//   tokens, as bench/train-step.ts times it); any other name is a preset of src/models/presets.ts
//   built at each context (max_seq_len) on a copy-task batch of --batch sequences (default 8).
// - --dropout p: the model's cross-attention dropout, and the step in training mode (a seeded
//   random subset of the prefix rows per step), to see where a dropout step's time goes.
// - Times forward + backward (`lossAndGrad`; with --adamw also the optimizer step) --reps times;
//   the last repetition is reported (the earlier ones warm the buffer pool).
// - Every Backend method call is timed through a Proxy. The table lists the --top slowest kernels,
//   matmul split by shape (m×n×k and transposes, with its GFLOP/s), the attention kernels' share,
//   and "outside kernels" = step time not spent in a kernel (the TypeScript side: graph
//   bookkeeping, buffer pool, copies done in TypeScript). On the native backend, the thread pool's
//   counters over the step: how many of the regions' worker tasks a worker began and how many the
//   calling thread took because no worker had (a worker late or asleep). The Proxy's timing
//   lengthens the gaps between kernel calls, so workers are asleep more often here than in an
//   unprofiled step (N 4,096: ~35% of publications against ~25%). CPU time (user + system of the whole
//   process) is printed next to the wall time: at --threads 1 it is the single-thread cost.
// - --pool-gb sets the model's buffer-pool cap (default: the BufferPool default, 4 GB, as a model
//   outside the Trainer and CLI has).
// - Validation before timing (bench/validate.ts): the model at context 1,024 on this backend and
//   on the reference backend: loss, logits and every gradient of one step within the golden
//   tolerances, or nothing is profiled.

import { parseArgs } from "node:util";
import type { Backend } from "../src/backend/backend.js";
import { loadNativeAddon, type NativePoolCounters } from "../src/backend/native/index.js";
import { getBackend, setThreads } from "../src/backend/select.js";
import { CopyTaskDataset } from "../src/data/copy-examples.js";
import { PerceiverAR, type IntBatch } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { AdamW } from "../src/train/adamw.js";
import { uniformSource } from "../src/util/rng.js";
import { machineDescription, measureGemmRoof } from "./harness.js";
import { STANDARD_LATENTS, STANDARD_MODEL } from "./standard-config.js";
import { checkAgainstReference, describeCheck, requireValid } from "./validate.js";

/** The validated step: small enough for the reference backend (a second or two). */
const CHECK_CONTEXT = 1024;
const CHECK_BATCH = 2;
/** Kernels whose time is the fused attention (owned by the attention kernel, reported apart). */
const ATTENTION_KERNELS = new Set(["attentionForward", "attentionBackward"]);

const { values: a } = parseArgs({
  options: {
    preset: { type: "string", default: "standard" },
    contexts: { type: "string" },
    batch: { type: "string" },
    reps: { type: "string", default: "3" },
    "pool-gb": { type: "string" },
    threads: { type: "string" },
    adamw: { type: "boolean", default: false },
    top: { type: "string", default: "12" },
    dropout: { type: "string" },
  },
});
if (a.threads !== undefined) setThreads(Number(a.threads));
const standard = a.preset === "standard";
const B = Number(a.batch ?? (standard ? 1 : 8));
const reps = Number(a.reps);
const contexts = (a.contexts ?? (standard ? "4096,16384,65536" : "16384,131072")).split(",").map(Number);

const times = new Map<string, number>();
/** CPU milliseconds (user + system, every thread of the process) per kernel key. */
const cpuTimes = new Map<string, number>();
const base = getBackend();

interface Batch {
  ids: IntBatch;
  labels: IntBatch;
  prefixLen: number;
}

const dropout = a.dropout === undefined ? null : Number(a.dropout);
/** The step's mode: training with a seeded dropout source when --dropout is given. */
const mode = (): { training?: boolean; random?: () => number } => (dropout === null ? {} : { training: true, random: uniformSource(5) });

function buildModel(N: number, backend: Backend): PerceiverAR {
  const extra = dropout === null ? {} : { crossAttentionDropout: dropout };
  if (standard) return new PerceiverAR({ ...STANDARD_MODEL, ...extra, maxSeqLen: N }, backend, { seed: 0 });
  return new PerceiverAR({ ...getPreset(a.preset).model, ...extra, maxSeqLen: N }, backend);
}

/** The step's inputs (B, N) and labels on the M latent positions (B, M). */
function makeBatch(model: PerceiverAR, B: number, N: number): Batch {
  const M = Math.min(model.config.maxLatents, standard ? STANDARD_LATENTS : N);
  const P = N - M;
  if (standard) {
    const u = uniformSource(1);
    const seq = Int32Array.from({ length: B * (N + 1) }, () => Math.floor(u() * model.config.vocabSize));
    const ids = new Int32Array(B * N);
    const labels = new Int32Array(B * M);
    for (let r = 0; r < B; r++) {
      ids.set(seq.subarray(r * (N + 1), r * (N + 1) + N), r * N);
      labels.set(seq.subarray(r * (N + 1) + P + 1, (r + 1) * (N + 1)), r * M);
    }
    return { ids: { data: ids, shape: [B, N] }, labels: { data: labels, shape: [B, M] }, prefixLen: P };
  }
  const batch = new CopyTaskDataset({ contextLength: N, seed: 1 }).sample(B); // inputs, labels (B, N)
  const labels = new Int32Array(B * M); // (B, M)
  for (let r = 0; r < B; r++) labels.set(batch.labels.subarray(r * N + P, (r + 1) * N), r * M);
  return { ids: { data: batch.inputs, shape: [B, N] }, labels: { data: labels, shape: [B, M] }, prefixLen: P };
}

const check = checkAgainstReference(base, (b) => {
  const model = buildModel(CHECK_CONTEXT, b);
  const { ids, labels, prefixLen } = makeBatch(model, CHECK_BATCH, CHECK_CONTEXT);
  return { parameters: model.parameters, step: () => ({ loss: model.lossAndGrad(ids, labels, { prefixLen, ...mode() }).loss, logits: model.forward(ids, { prefixLen, ...mode() }).data }) };
});
requireValid(check, `${a.preset} at context ${CHECK_CONTEXT} on the ${base.name} backend vs the reference backend`);
console.log(`${machineDescription()}; validated: ${check === null ? "reference backend itself" : `${a.preset} N ${CHECK_CONTEXT} batch ${CHECK_BATCH} vs the reference backend: ${describeCheck(check)}`}`);

/** Timing key of a call: the GEMM kernels by shape, every other kernel by name. */
function keyOf(kernel: string, args: unknown[]): string {
  if (kernel === "linearBackward") return `linearBackward ${args.slice(5, 8).join("x")}`; // rows x inF x outF
  if (kernel !== "matmul") return kernel;
  const [m, n, k, tA, tB, acc] = args.slice(3) as [number, number, number, boolean, boolean, boolean];
  return `matmul ${m}x${n}x${k}${tA ? " tA" : ""}${tB ? " tB" : ""}${acc ? " +=" : ""}`;
}
/** FLOPs of a GEMM kernel call (matmul 2·m·n·k; linearBackward two GEMMs of rows·inF·outF), or null. */
function flopsOf(kernel: string, args: unknown[]): number | null {
  const size = (i: number): number => args[i] as number;
  if (kernel === "matmul") return 2 * size(3) * size(4) * size(5);
  if (kernel === "linearBackward") return 4 * size(5) * size(6) * size(7);
  return null;
}
const flops = new Map<string, number>();
const timed = new Proxy(base, {
  get(target, key: string) {
    const value = (target as unknown as Record<string, unknown>)[key];
    if (typeof value !== "function") return value;
    return (...args: unknown[]) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = (value as (...x: unknown[]) => unknown).apply(target, args);
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      const k = keyOf(key, args);
      times.set(k, (times.get(k) ?? 0) + t1 - t0);
      cpuTimes.set(k, (cpuTimes.get(k) ?? 0) + (c.user + c.system) / 1000);
      const f = flopsOf(key, args);
      if (f !== null) flops.set(k, (flops.get(k) ?? 0) + f);
      return r;
    };
  },
}) as Backend;

const ms = (v: number): string => v.toFixed(1);
/** The native thread pool's counters (null on other backends): did the step's regions get their workers? */
const nativeAddon = base.name === "native" ? loadNativeAddon() : null;
function poolLine(before: NativePoolCounters, after: NativePoolCounters): string {
  const d = (k: keyof NativePoolCounters): number => after[k] - before[k];
  const tasks = d("helperTasks") + d("callerTakenTasks");
  const share = (v: number, of: number): string => `${of === 0 ? 0 : ((100 * v) / of).toFixed(0)}%`;
  return (
    `  thread pool: ${d("regions")} regions; of their ${tasks} worker tasks, workers began ${share(d("helperTasks"), tasks)}, ` +
    `the calling thread took ${share(d("callerTakenTasks"), tasks)} (no worker had begun them); workers asleep when a region was published: ${share(d("helpersParkedAtPublish"), tasks)}`
  );
}
/** The GEMM roof (bench/harness.ts) in this process, in wall and CPU time. */
function roofLine(): string {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = measureGemmRoof(base);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuGflops = ((r.calls + 1) * 2 * r.m * r.n * r.k) / ((c.user + c.system) * 1e3);
  return `GEMM roof ${r.m}³: ${r.gflops.toFixed(0)} GFLOP/s wall (best call), ${cpuGflops.toFixed(0)} GFLOP/s CPU (all calls); CPU/wall ${((c.user + c.system) / 1000 / wall).toFixed(2)}`;
}
for (const N of contexts) {
  const model = buildModel(N, timed);
  if (a["pool-gb"] !== undefined) model.pool.maxBytes = Number(a["pool-gb"]) * 2 ** 30;
  const opt = a.adamw ? new AdamW(model.parameters, timed, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 }) : null;
  const { ids, labels, prefixLen } = makeBatch(model, B, N);
  for (let rep = 0; rep < reps; rep++) {
    times.clear();
    cpuTimes.clear();
    flops.clear();
    model.zeroGrads();
    const pool0 = nativeAddon?.poolCounters();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    model.lossAndGrad(ids, labels, { prefixLen, ...mode() });
    opt?.update(1e-4);
    const total = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const pool1 = nativeAddon?.poolCounters();
    if (rep < reps - 1) continue;
    console.log(roofLine());
    const kernels = [...times.entries()].sort((x, y) => y[1] - x[1]);
    const inKernels = kernels.reduce((s, [, v]) => s + v, 0);
    const attn = kernels.filter(([k]) => ATTENTION_KERNELS.has(k)).reduce((s, [, v]) => s + v, 0);
    const gemm = kernels.filter(([k]) => flops.has(k)).reduce((s, [, v]) => s + v, 0);
    const gemmFlops = [...flops.values()].reduce((s, v) => s + v, 0);
    const cap = (model.pool.maxBytes / 2 ** 30).toFixed(0);
    const pct = (v: number): string => `${((100 * v) / total).toFixed(0)}%`;
    console.log(
      `${a.preset} N ${N} batch ${B}${dropout === null ? "" : ` dropout ${dropout}`}${opt ? " +AdamW" : ""} pool cap ${cap} GB: step ${ms(total)} ms (CPU ${ms((cpu.user + cpu.system) / 1000)} ms); ` +
        `attention ${ms(attn)} (${pct(attn)}), GEMMs ${ms(gemm)} (${pct(gemm)}, ${(gemmFlops / gemm / 1e6).toFixed(0)} GFLOP/s), ` +
        `other kernels ${ms(inKernels - attn - gemm)} (${pct(inKernels - attn - gemm)}), outside kernels ${ms(total - inKernels)} (${pct(total - inKernels)})`,
    );
    const cpuIn = [...cpuTimes.values()].reduce((s, v) => s + v, 0);
    console.log(`  CPU: in kernels ${ms(cpuIn)} ms, outside kernels ${ms((cpu.user + cpu.system) / 1000 - cpuIn)} ms`);
    if (pool0 && pool1) console.log(poolLine(pool0, pool1));
    console.log(`  ${"kernel".padEnd(34)} ${"wall ms".padStart(8)} ${"CPU ms".padStart(8)}  GFLOP/s (wall, CPU)`);
    for (const [k, v] of kernels.slice(0, Number(a.top))) {
      const f = flops.get(k);
      const c = cpuTimes.get(k) ?? 0;
      console.log(`  ${k.padEnd(34)} ${ms(v).padStart(8)} ${ms(c).padStart(8)}${f === undefined ? "" : `  ${(f / v / 1e6).toFixed(0).padStart(4)} ${(f / c / 1e6).toFixed(0).padStart(4)}`}`);
    }
  }
}
