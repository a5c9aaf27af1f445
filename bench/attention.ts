// Attention benchmark: fused attention forward + backward of the native backend vs context length
// (Perceiver AR cross-attention shape: Tq latent queries over Tk keys, causal offset Tk - Tq).
//   npx tsc -p . && node dist/bench/attention.js [--tq 512] [--heads 4] [--dim 64] [--max 65536]
//                                                [--threads N] [--isa avx2|avx512|scalar]
// FLOPs counted on visible (query, key) pairs only: forward 4·D per pair (Q·Kᵀ and P·V),
// backward 10·D per pair (recomputed Q·Kᵀ, dV, dP, dQ, dK). The reference backend is timed at the
// smallest context only.
//
// Validate before timing (llm.c's validate_result before benchmark_kernel): at every context the
// native result is checked against the reference backend before its speed is printed — every
// output (out, lse, dq, dk, dv) at the smallest context, where the reference runs in full; at
// larger ones the rows the reference can afford (first, middle and last query rows: out, lse and
// dq, which depend only on their own row). A mismatch stops the run with exit code 1.

import type { AttentionShape, Backend } from "../src/backend/backend.js";
import { getNativeThreads, loadNativeBackend, nativeBackendError, nativeIsa, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";

const argv = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const Tq = arg("--tq", 512);
const H = arg("--heads", 4);
const D = arg("--dim", 64);
const maxTk = arg("--max", 65536);
/** Largest max|native - reference| / max|reference| accepted (float32 kernels vs float64 loops). */
const TOLERANCE = 1e-4;
/** Query rows per checked slice at large contexts (three slices: first, middle, last). */
const CHECK_ROWS = 4;

interface Problem {
  s: AttentionShape;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
}

interface Result {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

function rnd(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function problem(Tk: number): Problem {
  const s: AttentionShape = { batch: 1, heads: H, queries: Tq, keys: Tk, headDim: D, causalOffset: Tk - Tq, scale: 1 / Math.sqrt(D) };
  return { s, q: rnd(Tq * H * D), k: rnd(Tk * H * D), v: rnd(Tk * H * D), dout: rnd(Tq * H * D) };
}

/** One forward and one backward (gradients from zero). */
function compute(b: Backend, p: Problem): Result {
  const { s } = p;
  const nq = s.queries * H * D, nk = s.keys * H * D;
  const r: Result = { out: new Float32Array(nq), lse: new Float32Array(H * s.queries), dq: new Float32Array(nq), dk: new Float32Array(nk), dv: new Float32Array(nk) };
  b.attentionForward(s, p.q, p.k, p.v, null, r.out, r.lse);
  b.attentionBackward(s, p.q, p.k, p.v, null, r.out, p.dout, r.lse, r.dq, r.dk, r.dv);
  return r;
}

/** max|got - want| / max|want|. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return scale > 0 ? err / scale : err;
}

/** Every output against a full reference run; returns the worst error by output. */
function checkFull(got: Result, want: Result): Record<string, number> {
  return { out: relErr(got.out, want.out), lse: relErr(got.lse, want.lse), dq: relErr(got.dq, want.dq), dk: relErr(got.dk, want.dk), dv: relErr(got.dv, want.dv) };
}

/** out, lse and dq of a few query-row slices against the reference run on those rows only. */
function checkRows(p: Problem, got: Result): Record<string, number> {
  const W = H * D;
  const worst = { out: 0, lse: 0, dq: 0 };
  for (const i0 of [0, Math.floor(Tq / 2), Tq - CHECK_ROWS]) {
    const rows = Math.min(CHECK_ROWS, Tq - i0);
    const slice: Problem = {
      s: { ...p.s, queries: rows, causalOffset: (p.s.causalOffset as number) + i0 },
      q: p.q.subarray(i0 * W, (i0 + rows) * W),
      k: p.k,
      v: p.v,
      dout: p.dout.subarray(i0 * W, (i0 + rows) * W),
    };
    const want = compute(referenceBackend, slice);
    const lse = new Float32Array(H * rows);
    for (let h = 0; h < H; h++) lse.set(got.lse.subarray(h * Tq + i0, h * Tq + i0 + rows), h * rows);
    worst.out = Math.max(worst.out, relErr(got.out.subarray(i0 * W, (i0 + rows) * W), want.out));
    worst.lse = Math.max(worst.lse, relErr(lse, want.lse));
    worst.dq = Math.max(worst.dq, relErr(got.dq.subarray(i0 * W, (i0 + rows) * W), want.dq));
  }
  return worst;
}

/** Exits with 1, naming the outputs that are off, when any error exceeds the tolerance. */
function validate(Tk: number, errors: Record<string, number>, what: string): void {
  if (Object.values(errors).every((e) => e <= TOLERANCE)) return;
  const detail = Object.entries(errors).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(", ");
  console.log(`Tk=${Tk}: native DIFFERS from the reference (${what}): ${detail} (tolerance ${TOLERANCE}); no speed reported`);
  process.exit(1);
}

function best(fn: () => void, minTime: number): number {
  fn();
  let reps = 0;
  let bestT = Infinity;
  const start = performance.now();
  while (reps < 3 || performance.now() - start < minTime * 1e3) {
    const t = performance.now();
    fn();
    bestT = Math.min(bestT, performance.now() - t);
    reps++;
    if (reps >= 50) break;
  }
  return bestT; // ms
}

function time(b: Backend, p: Problem, minTime: number): { fwd: number; bwd: number; pairs: number } {
  const { s } = p;
  const nq = Tq * H * D, nk = s.keys * H * D;
  const out = new Float32Array(nq), lse = new Float32Array(H * Tq);
  const dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
  const fwd = best(() => b.attentionForward(s, p.q, p.k, p.v, null, out, lse), minTime);
  const bwd = best(() => b.attentionBackward(s, p.q, p.k, p.v, null, out, p.dout, lse, dq, dk, dv), minTime);
  let pairs = 0;
  for (let i = 0; i < Tq; i++) pairs += Math.min(s.keys, Math.max(0, s.keys - Tq + i + 1));
  return { fwd, bwd, pairs: pairs * H };
}

function main(): void {
  const native = loadNativeBackend();
  if (!native) {
    console.log(`native backend unavailable: ${nativeBackendError}`);
    process.exit(1);
  }
  const th = argv.indexOf("--threads");
  if (th >= 0) setNativeThreads(Number(argv[th + 1]));
  const isaI = argv.indexOf("--isa");
  if (isaI >= 0 && !setNativeIsa(argv[isaI + 1] as "avx2")) throw new Error("ISA unavailable");
  console.log(`native: isa=${nativeIsa()} threads=${getNativeThreads()}; B=1 H=${H} D=${D} Tq=${Tq}, causal offset Tk-Tq`);
  console.log(`each row is validated against the reference backend first (max error relative to the output's max <= ${TOLERANCE})`);
  console.log("");
  const head = `${"Tk".padStart(6)} ${"fwd ms".padStart(9)} ${"fwd GF/s".padStart(9)} ${"bwd ms".padStart(9)} ${"bwd GF/s".padStart(9)} ${"f+b ms".padStart(9)} ${"f+b GF/s".padStart(9)}  ${"max err".padStart(8)} vs reference`;
  console.log(head);
  console.log("-".repeat(head.length));
  const Tk0 = Math.max(Tq, 1024);
  let reference: { p: Problem; want: Result } | null = null;
  for (let Tk = Tk0; Tk <= maxTk; Tk *= 2) {
    const p = problem(Tk);
    const got = compute(native, p);
    let errors: Record<string, number>;
    let what: string;
    if (Tk === Tk0) {
      reference = { p, want: compute(referenceBackend, p) };
      errors = checkFull(got, reference.want);
      what = "all outputs";
    } else {
      errors = checkRows(p, got);
      what = `out, lse, dq of ${3 * CHECK_ROWS} rows`;
    }
    validate(Tk, errors, what);
    const r = time(native, p, 0.5);
    const ff = (4 * D * r.pairs) / (r.fwd * 1e6);
    const bf = (10 * D * r.pairs) / (r.bwd * 1e6);
    const tf = (14 * D * r.pairs) / ((r.fwd + r.bwd) * 1e6);
    const err = Math.max(...Object.values(errors));
    console.log(`${String(Tk).padStart(6)} ${r.fwd.toFixed(2).padStart(9)} ${ff.toFixed(1).padStart(9)} ${r.bwd.toFixed(2).padStart(9)} ${bf.toFixed(1).padStart(9)} ${(r.fwd + r.bwd).toFixed(2).padStart(9)} ${tf.toFixed(1).padStart(9)}  ${err.toExponential(1).padStart(8)} (${what})`);
  }
  const p = reference?.p ?? problem(Tk0);
  const r = time(referenceBackend, p, 0);
  const n = time(native, p, 0.3);
  console.log("");
  console.log(`reference at Tk=${Tk0}: fwd ${r.fwd.toFixed(1)} ms, bwd ${r.bwd.toFixed(1)} ms  (native is ${(r.fwd / n.fwd).toFixed(0)}× / ${(r.bwd / n.bwd).toFixed(0)}× faster)`);
}

main();
