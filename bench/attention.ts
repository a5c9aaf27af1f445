// Attention benchmark: the native fused attention kernel, forward + backward, in the Perceiver AR
// cross-attention shape (Tq latent queries over Tk keys, causal offset Tk - Tq, Tk from --min to
// --max doubling) and in the causal self-attention shape (Tq = Tk = --self), for each head
// dimension of --dims; GFLOP/s and the fraction of the GEMM roof measured in the same process,
// interleaved with the attention calls.
//   npx tsc -p . && node dist/bench/attention.js [--tq 512] [--heads 4] [--dims 32,64] [--min 1024]
//       [--max 65536] [--self 512] [--rounds 3] [--seconds 1] [--threads N]
//       [--isa avx512|avx2|avx512-emulated|scalar] [--baseline path/to/perceiver_ar_native.node]
//
// FLOPs are counted on causally visible (query, key) pairs only: forward 4·D per pair (Q·Kᵀ and
// P·V), backward 10·D per pair (Q·Kᵀ recomputed, dV, dP, dQ, dK); exponentials and masks are not
// counted. The roof is a 1024³ GEMM of the same backend (bench/harness.ts prepareGemmProbe), one
// call before each forward + backward of every round; each figure is the best of the rounds (at
// least --rounds, and at least --seconds per row). Two rates are printed: wall clock (what a user
// waits) and per CPU second (process.cpuUsage of all threads: on a shared machine this ratio to the
// GEMM measured the same way is the steadier one, since time the process is descheduled counts in
// neither).
//
// --baseline loads a second build of the addon (e.g. main's, to compare an older kernel) and times
// its attention in the same rounds, right after the addon under test's; its rows ("base") give
// its %roof against the same GEMM figure, and "speed-up" = its fwd+bwd wall time / the tested one's.
// Its outputs are validated like the addon's. Both addons keep their own thread pool, set to the
// same size.
//
// Validate before timing (llm.c's validate_result before benchmark_kernel): every row is checked
// against the reference backend before its speed is printed. At the smallest context and in the
// self-attention shape every output (out, lse, dq, dk, dv) against a full reference run; at larger
// contexts the rows the reference can afford: out, lse and dq of the first, middle and last query
// rows (they depend only on their own row), and dk, dv of the first, middle and last key rows (the
// reference backward over those keys only, with the native lse and out of the full problem, which
// fix every probability). A mismatch stops the run with exit code 1.

import type { AttentionShape, Backend } from "../src/backend/backend.js";
import type { NativeAddon } from "../src/backend/native/index.js";
import { getNativeThreads, loadNativeBackend, nativeBackendError, nativeIsa, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { createRequire } from "node:module";
import { resolve } from "node:path";

import { machineDescription, prepareGemmProbe, type GemmProbe } from "./harness.js";

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const num = (name: string, def: number): number => {
  const x = Number(arg(name, String(def)));
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`${name} must be a number >= 0, got ${arg(name, "")}`);
  return x;
};
const Tq = num("--tq", 512);
const H = num("--heads", 4);
const DIMS = arg("--dims", "32,64").split(",").map(Number);
const minTk = num("--min", 1024);
const maxTk = num("--max", 65536);
const selfT = num("--self", 512);
const ROUNDS = num("--rounds", 3);
const SECONDS = num("--seconds", 1);
/** Largest max|native - reference| / max|reference| accepted (float32 kernels vs float64 loops). */
const TOLERANCE = 1e-4;
/** Query rows, and key rows, per checked slice at large contexts (three slices each). */
const CHECK_ROWS = 4;
/** At most this many timed rounds per row. */
const MAX_ROUNDS = 20;

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

function problem(queries: number, keys: number, D: number): Problem {
  const s: AttentionShape = { batch: 1, heads: H, queries, keys, headDim: D, causalOffset: keys - queries, scale: 1 / Math.sqrt(D) };
  return { s, q: rnd(queries * H * D), k: rnd(keys * H * D), v: rnd(keys * H * D), dout: rnd(queries * H * D) };
}

/** One forward and one backward (gradients from zero). */
function compute(b: Backend, p: Problem): Result {
  const { s } = p;
  const nq = s.queries * H * s.headDim, nk = s.keys * H * s.headDim;
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

/** Every output against a full reference run; the worst error by output. */
function checkFull(p: Problem, got: Result): Record<string, number> {
  const want = compute(referenceBackend, p);
  return { out: relErr(got.out, want.out), lse: relErr(got.lse, want.lse), dq: relErr(got.dq, want.dq), dk: relErr(got.dk, want.dk), dv: relErr(got.dv, want.dv) };
}

/** Starts of the first, middle and last `CHECK_ROWS` rows of `n`. */
const slices = (n: number): number[] => [0, Math.floor(n / 2), Math.max(0, n - CHECK_ROWS)];

/** out, lse, dq of query-row slices and dk, dv of key-row slices against the reference on those rows. */
function checkRows(p: Problem, got: Result): Record<string, number> {
  const { s } = p;
  const W = H * s.headDim;
  const Tk = s.keys;
  const offset = s.causalOffset as number;
  const worst = { out: 0, lse: 0, dq: 0, dk: 0, dv: 0 };
  for (const i0 of slices(s.queries)) {
    const rows = Math.min(CHECK_ROWS, s.queries - i0);
    const slice: Problem = {
      s: { ...s, queries: rows, causalOffset: offset + i0 },
      q: p.q.subarray(i0 * W, (i0 + rows) * W),
      k: p.k,
      v: p.v,
      dout: p.dout.subarray(i0 * W, (i0 + rows) * W),
    };
    const want = compute(referenceBackend, slice);
    const lse = new Float32Array(H * rows);
    for (let h = 0; h < H; h++) lse.set(got.lse.subarray(h * s.queries + i0, h * s.queries + i0 + rows), h * rows);
    worst.out = Math.max(worst.out, relErr(got.out.subarray(i0 * W, (i0 + rows) * W), want.out));
    worst.lse = Math.max(worst.lse, relErr(lse, want.lse));
    worst.dq = Math.max(worst.dq, relErr(got.dq.subarray(i0 * W, (i0 + rows) * W), want.dq));
  }
  for (const j0 of slices(Tk)) {
    const keys = Math.min(CHECK_ROWS, Tk - j0);
    const ks: AttentionShape = { ...s, keys, causalOffset: offset - j0 };
    const dq = new Float32Array(s.queries * W), dk = new Float32Array(keys * W), dv = new Float32Array(keys * W);
    const kk = p.k.subarray(j0 * W, (j0 + keys) * W), vv = p.v.subarray(j0 * W, (j0 + keys) * W);
    // With the full problem's lse and out, the reference backward over these keys is exact for them.
    referenceBackend.attentionBackward(ks, p.q, kk, vv, null, got.out, p.dout, got.lse, dq, dk, dv);
    worst.dk = Math.max(worst.dk, relErr(got.dk.subarray(j0 * W, (j0 + keys) * W), dk));
    worst.dv = Math.max(worst.dv, relErr(got.dv.subarray(j0 * W, (j0 + keys) * W), dv));
  }
  return worst;
}

/** Exits with 1, naming the outputs that are off, when any error exceeds the tolerance. */
function validate(tag: string, errors: Record<string, number>, what: string): void {
  if (Object.values(errors).every((e) => e <= TOLERANCE)) return;
  const detail = Object.entries(errors).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(", ");
  console.log(`${tag}: native DIFFERS from the reference (${what}): ${detail} (tolerance ${TOLERANCE}); no speed reported`);
  process.exit(1);
}

interface Timing {
  wall: number; // ms
  cpu: number; // ms of CPU time, all threads
}

function timed(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const better = (a: Timing, b: Timing): Timing => ({ wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) });

/** Best of the rounds of [GEMM roof, then forward and backward of each backend], each timed on its own. */
function measure(backends: Backend[], p: Problem, gemm: GemmProbe): { fwd: Timing[]; bwd: Timing[]; gemm: Timing } {
  const { s } = p;
  const nq = s.queries * H * s.headDim, nk = s.keys * H * s.headDim;
  const out = new Float32Array(nq), lse = new Float32Array(H * s.queries);
  const dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
  const fwd = (b: Backend) => () => b.attentionForward(s, p.q, p.k, p.v, null, out, lse);
  const bwd = (b: Backend) => () => b.attentionBackward(s, p.q, p.k, p.v, null, out, p.dout, lse, dq, dk, dv);
  for (const b of backends) {
    fwd(b)();
    bwd(b)(); // warm-up (scratch growth)
  }
  const inf = { wall: Infinity, cpu: Infinity };
  const best = { fwd: backends.map(() => inf), bwd: backends.map(() => inf), gemm: inf };
  const start = performance.now();
  for (let r = 0; r < MAX_ROUNDS && (r < ROUNDS || performance.now() - start < SECONDS * 1e3); r++) {
    best.gemm = better(best.gemm, timed(gemm.call));
    backends.forEach((b, i) => {
      best.fwd[i] = better(best.fwd[i], timed(fwd(b)));
      best.bwd[i] = better(best.bwd[i], timed(bwd(b)));
    });
  }
  return best;
}

/** Causally visible (query, key) pairs of a problem, over all heads. */
function visiblePairs(s: AttentionShape): number {
  let pairs = 0;
  for (let i = 0; i < s.queries; i++) pairs += Math.min(s.keys, Math.max(0, (s.causalOffset as number) + i + 1));
  return pairs * s.batch * s.heads;
}

const COLS = ["shape", "fwd ms", "bwd ms", "f+b GF/s", "roof GF/s", "% roof", "f+b GF/cpu-s", "roof GF/cpu-s", "% roof cpu", "max err"];
const WIDTHS = [16, 9, 9, 9, 9, 7, 12, 13, 10, 8, 9];
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]) : c.padStart(WIDTHS[i]))).join(" ");

/** Validates each backend on `p`, times them interleaved, prints a line per backend. */
function row(backends: { tag: string; b: Backend }[], gemm: GemmProbe, tag: string, p: Problem, full: boolean): void {
  const errs = backends.map(({ tag: name, b }) => {
    const got = compute(b, p);
    const errors = full ? checkFull(p, got) : checkRows(p, got);
    validate(`${tag} (${name})`, errors, full ? "all outputs" : `out, lse, dq of ${3 * CHECK_ROWS} query rows; dk, dv of ${3 * CHECK_ROWS} key rows`);
    return Math.max(...Object.values(errors));
  });
  const t = measure(backends.map((x) => x.b), p, gemm);
  const flops = 14 * p.s.headDim * visiblePairs(p.s);
  const roofWall = gemm.flops / (t.gemm.wall * 1e6);
  const roofCpu = gemm.flops / (t.gemm.cpu * 1e6);
  backends.forEach(({ tag: name }, i) => {
    const wall = flops / ((t.fwd[i].wall + t.bwd[i].wall) * 1e6);
    const cpu = flops / ((t.fwd[i].cpu + t.bwd[i].cpu) * 1e6);
    const ratio = i === 0 ? "" : ((t.fwd[i].wall + t.bwd[i].wall) / (t.fwd[0].wall + t.bwd[0].wall)).toFixed(2) + "×";
    const cells = [i === 0 ? tag : `  ${name}`, t.fwd[i].wall.toFixed(2), t.bwd[i].wall.toFixed(2), wall.toFixed(1), roofWall.toFixed(1), ((100 * wall) / roofWall).toFixed(0) + "%", cpu.toFixed(1), roofCpu.toFixed(1), ((100 * cpu) / roofCpu).toFixed(0) + "%", errs[i].toExponential(1)];
    if (backends.length > 1) cells.push(ratio);
    console.log(line(cells));
  });
}

/** The attention kernels of another build of the addon (--baseline), unvalidated, its pool sized like ours. */
function loadBaseline(path: string, threads: number): Backend {
  const addon = createRequire(import.meta.url)(resolve(path)) as NativeAddon;
  addon.setThreads(threads);
  return { name: "baseline", attentionForward: addon.attentionForward, attentionBackward: addon.attentionBackward } as unknown as Backend;
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
  if (isaI >= 0 && !setNativeIsa(argv[isaI + 1] as "avx2")) throw new Error(`ISA ${argv[isaI + 1]} unavailable`);
  const gemm = prepareGemmProbe(native);
  const backends = [{ tag: "new", b: native }];
  const baselinePath = arg("--baseline", "");
  if (baselinePath) backends.push({ tag: "base", b: loadBaseline(baselinePath, getNativeThreads()) });
  console.log(`native: isa=${nativeIsa()} threads=${getNativeThreads()}; B=1 H=${H}; ${machineDescription()}`);
  if (baselinePath) console.log(`baseline (rows "base"): ${resolve(baselinePath)}, timed in the same rounds; speed-up = base fwd+bwd wall / this build's`);
  console.log(`cross-attention rows: Tq=${Tq} queries over Tk keys, causal offset Tk-Tq; self-attention: Tq=Tk, causal`);
  console.log(`GFLOP/s count causally visible (query, key) pairs only: 4·D per pair forward, 10·D backward (exp and masks not counted)`);
  console.log(`roof: 1024³ GEMM of the same backend, timed before every forward + backward; best of >= ${ROUNDS} rounds and >= ${SECONDS} s per row`);
  console.log(`every row is validated against the reference backend first (max error relative to the output's max <= ${TOLERANCE})`);
  for (const D of DIMS) {
    console.log("");
    console.log(`D = ${D}`);
    const cols = baselinePath ? [...COLS, "speed-up"] : COLS;
    console.log(line(cols));
    console.log("-".repeat(line(cols).length));
    for (let Tk = Math.max(Tq, minTk); Tk <= maxTk; Tk *= 2) row(backends, gemm, `cross Tk=${Tk}`, problem(Tq, Tk, D), Tk === Math.max(Tq, minTk));
    if (selfT > 0) row(backends, gemm, `self T=${selfT}`, problem(selfT, selfT, D), true);
  }
  console.log("");
  console.log(`load average after the run: ${machineDescription().replace(/.*load average /, "")}`);
}

main();
