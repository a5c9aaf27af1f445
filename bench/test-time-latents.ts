// Benchmark: compute chosen at test time. One trained text model evaluated and sampled with
// M, M/2 and M/4 latents (M = its max_latents), side by side in one run.
//
// Contract:
//   node dist/bench/test-time-latents.js <model-or-run-folder> [--windows K] [--tokens T]
//        [--reps R] [--backend native|reference|auto] [--threads n]
// - The model folder is resolved like the CLI does (resolveModelDir/openModel: a run folder's
//   best/ or checkpoint/), the task from its task.json (taskFor; must be a text task).
// - For each latent count k in {M, M/2, M/4} (rounded down, at least 1, duplicates dropped):
//   * bits/byte: `evaluate(model, windows, { numLatents: k })` over the task's first K validation
//     windows (default 32) of max_seq_len + 1 tokens; context = (max_seq_len - M) + k, as in
//     `perceiver-ar eval --num-latents k`. Each k scores the LAST k tokens of every window, so the
//     scored token sets differ between rows; for a like-for-like comparison the table also gives
//     the bits/byte of the same tokens predicted with all M latents (full context max_seq_len).
//   * forward latency: ms per window (batch 1, context tokens, prefix = context - k), the median of
//     R timed calls (default 31) after one warm-up (the minimum is shown too:
//     the least disturbed by other load on the machine).
//   * generation: `generate`-equivalent `generateStream(model, prompt, { maxLatents: k, greedy })`,
//     T new tokens (default 64) after a prompt of max_seq_len validation tokens, so every step is in
//     the sliding phase (the window is full from the start); reported as steady-state tokens/s
//     (tokens after the first, whose time includes the prefill of the KV cache) and prefill ms,
//     each the median of 3 runs.
// - Timings are taken round-robin over the latent counts (k1, k2, k3, k1, ...), so a change in
//   machine load affects every row alike.
// - Validation before timing (bench/validate.ts): for each k, the forward logits of the timed window
//   must equal the same model's on the reference backend (golden tolerance 1e-4), and the cached
//   decoder's first generation step (the same schedule and cap as `generateStream`) must equal a
//   full forward on that step's window (1e-4, the cache tests' tolerance); the scoring with all M
//   latents must reproduce `evaluate`'s bits/byte (1e-4). Otherwise the script stops without a table.
// - Output: a markdown table on stdout (progress on stderr). Backend: getBackend() (native unless
//   --backend or env PERCEIVER_AR_BACKEND says otherwise).

import { parseArgs } from "node:util";
import { referenceBackend } from "../src/backend/reference/index.js";
import { selectBackend, openModel, taskFor } from "../src/cli/common.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generateStream, lastPositionLogits } from "../src/generate/generate.js";
import { defaultNumLatents, effectiveConfig, generationSchedule } from "../src/generate/schedule.js";
import { TextTask } from "../src/tasks/text-task.js";
import { evaluate } from "../src/train/evaluate.js";
import { machineDescription, markdownTable, median } from "./harness.js";
import { maxAbsDiff, maxAbsOrRelError, requireClose, TOLERANCE } from "./validate.js";

/** bits/byte of the same tokens computed two ways (float64 sums of float32 log-probabilities). */
const BPB_TOLERANCE = 1e-4;

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: node dist/bench/test-time-latents.js <model-or-run-folder> [--windows K] [--tokens T] [--reps R] [--backend name] [--threads n]\n`);
  process.exit(2);
}

function intArg(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 1) usage(`--${name} must be an integer >= 1, got "${v}"`);
  return n;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    windows: { type: "string" },
    tokens: { type: "string" },
    reps: { type: "string" },
    backend: { type: "string" },
    threads: { type: "string" },
  },
});
if (positionals.length !== 1) usage("expected exactly one model or run folder");
const windowCount = intArg(values.windows, "windows", 32);
const newTokens = intArg(values.tokens, "tokens", 64);
const reps = intArg(values.reps, "reps", 31);
const GEN_RUNS = 3;

const backend = selectBackend({ backend: values.backend, threads: values.threads });
const { model, dir } = openModel(positionals[0], backend);
const task = taskFor(dir, { task: "text" } as never);
if (!(task instanceof TextTask)) usage(`${dir}: a text model is needed, this run's task is ${task.spec.task}`);
const c = model.config;
const M = c.maxLatents;
const counts = [...new Set([M, Math.floor(M / 2), Math.floor(M / 4)].map((k) => Math.max(1, k)))];

const val = task.validation(c.maxSeqLen, windowCount);
const windows = val.windows;
const prompt = windows[0].subarray(0, c.maxSeqLen); // max_seq_len tokens: every capped window is full
console.log(
  `model ${dir}: ${model.numParameters.toLocaleString()} parameters, max_seq_len ${c.maxSeqLen}, max_latents ${M}, ` +
    `abs_pos_emb ${c.absPosEmb}; backend ${backend.name}; ${machineDescription()}; data ${task.spec.data}`,
);
console.log(`${windows.length} validation windows of ${c.maxSeqLen + 1} tokens; forward median of ${reps}; generation ${newTokens} greedy tokens after a ${prompt.length}-token prompt (median of ${GEN_RUNS})`);
console.log("");

interface Row {
  k: number;
  context: number;
  bpb: number;
  /** bits/byte of the same (last k) tokens of each window, predicted with all M latents. */
  bpbAtM: number;
  forwardMs: number;
  forwardMinMs: number;
  prefillMs: number;
  genTokPerSec: number;
}

/** Per window, the log2-probabilities (M) of the last M tokens with the full model (prefix max_seq_len - M). */
function fullModelLog2Probs(): Float64Array[] {
  const out: Float64Array[] = [];
  const S = c.maxSeqLen;
  const V = c.vocabSize;
  const B = 8;
  for (let i = 0; i < windows.length; i += B) {
    const n = Math.min(B, windows.length - i);
    const data = new Int32Array(n * S);
    for (let b = 0; b < n; b++) data.set(windows[i + b].subarray(0, S), b * S);
    const logits = model.forward({ data, shape: [n, S] }, { prefixLen: S - M }).data; // (n, M, V)
    for (let b = 0; b < n; b++) {
      const lp = new Float64Array(M);
      for (let m = 0; m < M; m++) {
        const o = (b * M + m) * V;
        let mx = -Infinity;
        for (let v = 0; v < V; v++) mx = Math.max(mx, logits[o + v]);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(logits[o + v] - mx);
        const label = windows[i + b][S - M + 1 + m];
        lp[m] = (logits[o + label] - mx - Math.log(z)) / Math.LN2;
      }
      out.push(lp);
    }
  }
  return out;
}

/** bits/byte of the last k tokens of every window under the full model. */
function bitsPerByteAtM(lp: Float64Array[], k: number): number {
  const byteLen = val.tokenByteLength ?? (() => 1);
  let bits = 0;
  let bytes = 0;
  for (let w = 0; w < lp.length; w++) {
    for (let m = M - k; m < M; m++) {
      bits -= lp[w][m];
      bytes += byteLen(windows[w][c.maxSeqLen - M + 1 + m]);
    }
  }
  return bits / bytes;
}

process.stderr.write("scoring every window with all latents...\n");
const fullLp = fullModelLog2Probs();
// 1. Accuracy.
const evals = counts.map((k) => {
  process.stderr.write(`latents ${k}: evaluating...\n`);
  const e = evaluate(model, windows, { numLatents: k, tokenByteLength: val.tokenByteLength, backend });
  const bpbAtM = bitsPerByteAtM(fullLp, k);
  if (k === M) requireClose(Math.abs(bpbAtM - e.bitsPerByte), BPB_TOLERANCE, `bits/byte of the full-model scoring (${bpbAtM}) vs evaluate (${e.bitsPerByte})`);
  if (effectiveConfig(c, k).maxSeqLen !== e.contextLen) throw new Error(`internal: capped generation window != eval context ${e.contextLen}`);
  return { e, bpbAtM };
});

const fwdInputs = evals.map(({ e }, i) => ({ win: windows[0].subarray(c.maxSeqLen - e.contextLen, c.maxSeqLen), P: e.contextLen - counts[i] }));

// Validation before timing: the timed forward against the reference backend, and the cached
// decoder's first generation step against a full forward, for every latent count.
process.stderr.write("validating against the reference backend and the uncached decoder...\n");
const reference = backend.name === referenceBackend.name ? null : openModel(positionals[0], referenceBackend).model;
const checks = counts.map((k, i) => {
  const f = fwdInputs[i];
  let forwardError: number | null = null;
  if (reference !== null) {
    forwardError = maxAbsOrRelError(model.forward([f.win], { prefixLen: f.P }).data, reference.forward([f.win], { prefixLen: f.P }).data);
    requireClose(forwardError, TOLERANCE.logits, `latents ${k}: forward logits vs the reference backend`);
  }
  const view = effectiveConfig(c, k);
  const [first] = generationSchedule(view, prompt.length, defaultNumLatents(view, prompt.length), 1);
  const decoder = new CachedDecoder(model, { maxLatents: k });
  decoder.push(prompt);
  const cacheError = maxAbsDiff(decoder.logits(first.prefixLen), lastPositionLogits(model, prompt.subarray(first.windowStart), first.prefixLen));
  requireClose(cacheError, TOLERANCE.cache, `latents ${k}: first generation step, cached vs uncached logits`);
  return `${k} latents: forward vs reference ${forwardError === null ? "-" : forwardError.toExponential(1)}, cached vs uncached ${cacheError.toExponential(1)}`;
});
console.log(`validated (max errors): ${checks.join("; ")}`);
console.log("");

// 2. Forward latency, interleaved across latent counts (round-robin) so load changes hit all alike.
process.stderr.write("forward latency...\n");
for (const f of fwdInputs) model.forward([f.win], { prefixLen: f.P });
const fwdTimes: number[][] = counts.map(() => []);
for (let r = 0; r < reps; r++) {
  fwdInputs.forEach((f, i) => {
    const t = performance.now();
    model.forward([f.win], { prefixLen: f.P });
    fwdTimes[i].push(performance.now() - t);
  });
}

// 3. Generation, interleaved the same way.
const prefills: number[][] = counts.map(() => []);
const rates: number[][] = counts.map(() => []);
for (let r = 0; r < GEN_RUNS; r++) {
  for (let i = 0; i < counts.length; i++) {
    process.stderr.write(`generation run ${r + 1}/${GEN_RUNS}, latents ${counts[i]}...\n`);
    const stamps: number[] = [];
    const t0 = performance.now();
    for await (const _ of generateStream(model, prompt, { maxNewTokens: newTokens, maxLatents: counts[i], greedy: true })) stamps.push(performance.now());
    prefills[i].push(stamps[0] - t0);
    rates[i].push(stamps.length > 1 ? (stamps.length - 1) / ((stamps[stamps.length - 1] - stamps[0]) / 1000) : NaN);
  }
}

const rows: Row[] = counts.map((k, i) => ({
  k,
  context: evals[i].e.contextLen,
  bpb: evals[i].e.bitsPerByte,
  bpbAtM: evals[i].bpbAtM,
  forwardMs: median(fwdTimes[i]),
  forwardMinMs: Math.min(...fwdTimes[i]),
  prefillMs: median(prefills[i]),
  genTokPerSec: median(rates[i]),
}));

const full = rows[0];
const table = rows.map((r) => {
  const d = r.bpb - r.bpbAtM;
  return [
    `${r.k}${r.k === M ? " (M)" : ""}`,
    String(r.context),
    r.bpb.toFixed(4),
    r.bpbAtM.toFixed(4),
    r === full ? "—" : (d >= 0 ? "+" : "") + d.toFixed(4),
    `${r.forwardMs.toFixed(2)} (${r.forwardMinMs.toFixed(2)})`,
    `${(full.forwardMs / r.forwardMs).toFixed(2)}×`,
    r.prefillMs.toFixed(1),
    r.genTokPerSec.toFixed(1),
    `${(r.genTokPerSec / full.genTokPerSec).toFixed(2)}×`,
  ];
});
console.log(
  markdownTable(
    [
      "latents",
      "context",
      "val bits/byte",
      "same tokens with M latents",
      "Δ (cost of fewer latents)",
      "forward ms/window, batch 1: median (min)",
      "forward speedup (median)",
      "gen first token ms (prefill)",
      "gen tok/s (sliding, cached)",
      "gen speedup",
    ],
    table,
  ),
);
