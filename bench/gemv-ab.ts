// Few-row products (csrc/gemv.cc: matmul with <= 16 rows against a transposed weight, and the int8
// matmulInt8) before/after a kernel change: this build against another build of the addon
// (--baseline, e.g. one built from an older commit), in the same process.
//
//   npx tsc -p . && node dist/bench/gemv-ab.js --baseline <old perceiver_ar_native.node>
//     [--isa avx2|avx512|avx512-emulated|scalar] [--threads 2] [--rounds 9]
//
// 1. Bits: for every kernel table both builds run here, random products of 1-16 rows (k with and
//    without vector tails, accumulate on and off, int8) from both builds, compared bit for bit;
//    printed per table: identical, or how many elements differ and the largest difference
//    relative to Σ|a·b| of its dot product (the scale of a float32 rounding error).
// 2. Speed, on generation's shapes (clm-base: width 1280, MLP 5120) at --isa: both builds' results
//    checked against float64 first, then `rounds` rounds alternate old/new (order flipped every
//    round), each timing enough calls to read ~256 MB of weights. Printed: the weights' GB/s of the
//    best call of each, and the median of the per-round new/old speed ratios with its IQR.

import type { NativeAddon } from "../src/backend/native/index.js";
import { Rng } from "../src/util/rng.js";
import { type AbBuilds, addonAbSetup, pairedRounds } from "./addon-ab.js";
import { machineDescription } from "./harness.js";

/** Weight bytes read per build per round: long enough to swamp timer and dispatch noise. */
const BYTES_PER_ROUND = 256e6;
/** Largest |C - exact| / Σ|a·b| accepted before timing (float32 dot products of k <= 5120). */
const TOLERANCE = 1e-5;
const TABLES = ["avx512", "avx2", "avx512-emulated", "scalar"];
/** m, n, k of the bit comparison: every row count up to 16, k across the vector and chain tails. */
const BIT_SHAPES: ReadonlyArray<readonly [number, number, number]> = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16].flatMap((m) =>
  [1, 7, 8, 31, 32, 33, 67, 101, 259, 1280].map((k) => [m, 9, k] as const),
);
/** label, m, n, k: generation steps of a clm-base-sized model (one or 16 latent rows). */
const SPEED_SHAPES: ReadonlyArray<readonly [string, number, number, number]> = [
  ["qkv/out 1×1280·1280ᵀ", 1, 1280, 1280],
  ["mlp up 1×1280·5120ᵀ", 1, 5120, 1280],
  ["mlp down 1×5120·1280ᵀ", 1, 1280, 5120],
  ["mlp up 16×1280·5120ᵀ", 16, 5120, 1280],
];

const rng = new Rng(7);
const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
const int8 = (n: number) => Int8Array.from({ length: n }, () => rng.nextInt(255) - 127);

/** One product of a build: float32 weights (prior C, accumulate or not) or int8 weights with scales. */
interface Product {
  m: number;
  n: number;
  k: number;
  x: Float32Array;
  w: Float32Array | Int8Array;
  scale: Float32Array | null;
  prior: Float32Array | null;
}

function makeProduct(m: number, n: number, k: number, kind: "f32" | "f32 acc" | "int8"): Product {
  const x = uniform(m * k);
  if (kind === "int8") return { m, n, k, x, w: int8(n * k), scale: Float32Array.from({ length: n }, () => 0.001 + rng.nextFloat() * 0.02), prior: null };
  return { m, n, k, x, w: uniform(n * k), scale: null, prior: kind === "f32 acc" ? uniform(m * n) : null };
}

function run(addon: NativeAddon, p: Product, c: Float32Array): Float32Array {
  if (p.scale !== null) addon.matmulInt8(p.x, p.w as Int8Array, p.scale, c, p.m, p.n, p.k);
  else {
    if (p.prior !== null) c.set(p.prior);
    addon.matmul(p.x, p.w as Float32Array, c, p.m, p.n, p.k, false, true, p.prior !== null);
  }
  return c;
}

/** C's float64 value and Σ|a·b| (plus |prior|), entry by entry. */
function exact(p: Product): { value: Float64Array; size: Float64Array } {
  const value = new Float64Array(p.m * p.n), size = new Float64Array(p.m * p.n);
  for (let i = 0; i < p.m; i++)
    for (let j = 0; j < p.n; j++) {
      let v = p.prior ? p.prior[i * p.n + j]! : 0;
      let s = Math.abs(v);
      for (let q = 0; q < p.k; q++) {
        const t = p.x[i * p.k + q]! * p.w[j * p.k + q]! * (p.scale ? p.scale[j]! : 1);
        v += t;
        s += Math.abs(t);
      }
      value[i * p.n + j] = v;
      size[i * p.n + j] = s || 1;
    }
  return { value, size };
}

/** Largest |C - exact| / Σ|a·b| over C's entries (every one: the speed shapes' m·n are small). */
function worstError(p: Product, c: Float32Array): number {
  const { value, size } = exact(p);
  return c.reduce((w, x, i) => Math.max(w, Math.abs(x - value[i]!) / size[i]!), 0);
}

function compareBits(builds: AbBuilds): void {
  const products = BIT_SHAPES.flatMap(([m, n, k]) => (["f32", "f32 acc", "int8"] as const).map((kind) => makeProduct(m, n, k, kind)));
  for (const table of TABLES) {
    if (!builds.old.setIsa(table) || !builds.new.setIsa(table)) continue;
    let differ = 0, largest = 0, elements = 0;
    for (const p of products) {
      const a = run(builds.old, p, new Float32Array(p.m * p.n)), b = run(builds.new, p, new Float32Array(p.m * p.n));
      const { size } = exact(p);
      for (let i = 0; i < a.length; i++) {
        elements++;
        if (!Object.is(a[i], b[i])) (differ++, (largest = Math.max(largest, Math.abs(a[i]! - b[i]!) / size[i]!)));
      }
    }
    const verdict = differ === 0 ? "identical" : `${differ} differ, by at most ${largest.toExponential(1)} of Σ|a·b|`;
    console.log(`bits, ${table}: ${products.length} products, ${elements} elements: ${verdict}`);
  }
}

function main(): void {
  const { baselinePath, builds, isa, threads, rounds } = addonAbSetup();
  for (const addon of Object.values(builds)) addon.setThreads(threads);
  console.log(`old: ${baselinePath}; new: this build; ${threads} thread(s); ${machineDescription()}`);
  compareBits(builds);

  for (const [name, addon] of Object.entries(builds)) if (!addon.setIsa(isa)) throw new Error(`the ${name} build cannot run --isa ${isa}`);
  console.log(`speed at isa ${isa}, ${rounds} rounds`);
  console.log("shape                          old GB/s  new GB/s  new/old paired median [IQR]");
  for (const [label, m, n, k] of SPEED_SHAPES) {
    for (const kind of ["f32", "int8"] as const) {
      const p = makeProduct(m, n, k, kind);
      const c = new Float32Array(m * n);
      for (const [name, addon] of Object.entries(builds)) {
        const e = worstError(p, run(addon, p, c));
        if (!(e <= TOLERANCE)) throw new Error(`${name} ${label} ${kind}: differs from float64 by ${e} (> ${TOLERANCE}); no speed reported`);
      }
      const bytes = p.w.byteLength;
      const calls = Math.max(1, Math.round(BYTES_PER_ROUND / bytes));
      const time = (addon: NativeAddon): number => {
        const t = performance.now();
        for (let r = 0; r < calls; r++) run(addon, p, c);
        return (performance.now() - t) / calls;
      };
      const { times, median, iqr } = pairedRounds(builds, rounds, time);
      const gbps = (ms: number): number => bytes / ms / 1e6;
      console.log(
        `${`${label} ${kind}`.padEnd(30)} ${gbps(Math.min(...times.old)).toFixed(1).padStart(8)}  ${gbps(Math.min(...times.new)).toFixed(1).padStart(8)}  ${median.toFixed(3)} ${iqr}`,
      );
    }
  }
}

main();
