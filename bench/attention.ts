// Attention benchmark: fused attention forward + backward of the native backend vs context length
// (Perceiver AR cross-attention shape: Tq latent queries over Tk keys, causal offset Tk - Tq).
//   npx tsc -p . && node dist/bench/attention.js [--tq 512] [--heads 4] [--dim 64] [--max 65536]
//                                                [--threads N] [--isa avx2|avx512|scalar]
// FLOPs counted on visible (query, key) pairs only: forward 4·D per pair (Q·Kᵀ and P·V),
// backward 10·D per pair (recomputed Q·Kᵀ, dV, dP, dQ, dK). The reference backend is timed at the
// smallest context only.

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

function rnd(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
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

function run(b: Backend, Tk: number, minTime: number): { fwd: number; bwd: number; pairs: number } {
  const s: AttentionShape = { batch: 1, heads: H, queries: Tq, keys: Tk, headDim: D, causalOffset: Tk - Tq, scale: 1 / Math.sqrt(D) };
  const nq = Tq * H * D, nk = Tk * H * D;
  const q = rnd(nq), k = rnd(nk), v = rnd(nk), dout = rnd(nq);
  const out = new Float32Array(nq), lse = new Float32Array(H * Tq);
  const dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
  const fwd = best(() => b.attentionForward(s, q, k, v, null, out, lse), minTime);
  const bwd = best(() => b.attentionBackward(s, q, k, v, null, out, dout, lse, dq, dk, dv), minTime);
  let pairs = 0;
  for (let i = 0; i < Tq; i++) pairs += Math.min(Tk, Math.max(0, Tk - Tq + i + 1));
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
  console.log("");
  const head = `${"Tk".padStart(6)} ${"fwd ms".padStart(9)} ${"fwd GF/s".padStart(9)} ${"bwd ms".padStart(9)} ${"bwd GF/s".padStart(9)} ${"f+b ms".padStart(9)} ${"f+b GF/s".padStart(9)}`;
  console.log(head);
  console.log("-".repeat(head.length));
  for (let Tk = Math.max(Tq, 1024); Tk <= maxTk; Tk *= 2) {
    const r = run(native, Tk, 0.5);
    const ff = (4 * D * r.pairs) / (r.fwd * 1e6);
    const bf = (10 * D * r.pairs) / (r.bwd * 1e6);
    const tf = (14 * D * r.pairs) / ((r.fwd + r.bwd) * 1e6);
    console.log(`${String(Tk).padStart(6)} ${r.fwd.toFixed(2).padStart(9)} ${ff.toFixed(1).padStart(9)} ${r.bwd.toFixed(2).padStart(9)} ${bf.toFixed(1).padStart(9)} ${(r.fwd + r.bwd).toFixed(2).padStart(9)} ${tf.toFixed(1).padStart(9)}`);
  }
  const Tk = Math.max(Tq, 1024);
  const r = run(referenceBackend, Tk, 0);
  const n = run(native, Tk, 0.3);
  console.log("");
  console.log(`reference at Tk=${Tk}: fwd ${r.fwd.toFixed(1)} ms, bwd ${r.bwd.toFixed(1)} ms  (native is ${(r.fwd / n.fwd).toFixed(0)}× / ${(r.bwd / n.bwd).toFixed(0)}× faster)`);
}

main();
