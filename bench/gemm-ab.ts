// GEMM before/after: this build's native matmul against another build of the addon (--baseline,
// e.g. one built from an older commit), call by call in the same process, so that load from other
// work falls on both alike. For a kernel change: "no speed is lost" means new/old ≈ 1 on every shape.
//
//   npx tsc -p . && node dist/bench/gemm-ab.js --baseline <old perceiver_ar_native.node>
//     [--isa avx2|avx512|avx512-emulated|scalar] [--threads 2] [--rounds 9]
//
// Per shape (the standard config's GEMMs and square sizes): both builds' results are checked first
// (sampled entries of C against float64 dot products, relative to Σ|a·b|, ≤ GEMM_TOLERANCE), then
// `rounds` rounds alternate old/new (order flipped every round), each timing enough calls for ~4
// GFLOP. Printed: best-call GFLOP/s of each, new/old of the best calls, the median of the per-round
// ratios with its interquartile range, and the geometric mean of those medians over all shapes.

import type { NativeAddon } from "../src/backend/native/index.js";
import { addonAbSetup, pairedRounds } from "./addon-ab.js";
import { GEMM_TOLERANCE, gemmInput } from "./gemm-check.js";
import { machineDescription } from "./harness.js";

/** Floating-point work timed per build per round: long enough to swamp timer and dispatch noise. */
const FLOP_PER_ROUND = 4e9;
/** Entries of C checked against float64 per shape and build. */
const CHECKED_ENTRIES = 64;

/** label, m, n, k, transA, transB: the standard config's products (train-step.ts) and square sizes. */
const SHAPES: ReadonlyArray<readonly [string, number, number, number, boolean, boolean]> = [
  ["256³", 256, 256, 256, false, false],
  ["512³", 512, 512, 512, false, false],
  ["1024³", 1024, 1024, 1024, false, false],
  ["2048³", 2048, 2048, 2048, false, false],
  ["1024³ A·Bᵀ", 1024, 1024, 1024, false, true],
  ["1024³ Aᵀ·B", 1024, 1024, 1024, true, false],
  ["1024³ Aᵀ·Bᵀ", 1024, 1024, 1024, true, true],
  ["fwd 4096×256·256ᵀ", 4096, 256, 256, false, true],
  ["mlp 512×256·1024ᵀ", 512, 1024, 256, false, true],
  ["dX 4096×256·256", 4096, 256, 256, false, false],
  ["dW 4096ᵀ·4096×256", 256, 256, 4096, true, false],
  ["dX 16384×256·256", 16384, 256, 256, false, false],
  ["dW 16384ᵀ·16384×256", 256, 256, 16384, true, false],
  ["dW 512×1024ᵀ·512×256", 1024, 256, 512, true, false],
  ["logits 512×256·8192ᵀ", 512, 8192, 256, false, true],
];

/** Largest |C - exact| / Σ|a·b| over sampled entries of C = op(A)·op(B); throws beyond GEMM_TOLERANCE. */
function checkGeneral(what: string, a: Float32Array, b: Float32Array, c: Float32Array, shape: (typeof SHAPES)[number]): number {
  const [label, m, n, k, tA, tB] = shape;
  let worst = 0;
  for (let s = 0; s < CHECKED_ENTRIES; s++) {
    const i = (s * 7919) % m, j = (s * 104729) % n;
    let exact = 0, mag = 0;
    for (let p = 0; p < k; p++) {
      const x = (tA ? a[p * m + i] : a[i * k + p])! * (tB ? b[j * k + p] : b[p * n + j])!;
      exact += x;
      mag += Math.abs(x);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j]! - exact) / mag);
  }
  if (!(worst <= GEMM_TOLERANCE)) throw new Error(`${what}: ${label} differs from float64 by ${worst} (> ${GEMM_TOLERANCE}); no speed reported`);
  return worst;
}

function main(): void {
  const { baselinePath, builds, isa, threads, rounds } = addonAbSetup();
  for (const [name, addon] of Object.entries(builds)) {
    if (!addon.setIsa(isa)) throw new Error(`the ${name} build cannot run --isa ${isa}`);
    addon.setThreads(threads);
  }
  console.log(`old: ${baselinePath}; new: this build; isa ${isa}, ${threads} thread(s), ${rounds} rounds; ${machineDescription()}`);
  console.log("shape                      old GF/s  new GF/s  new/old best  new/old paired median [IQR]");

  let logSum = 0;
  for (const shape of SHAPES) {
    const [label, m, n, k, tA, tB] = shape;
    const a = gemmInput(m * k, 1), b = gemmInput(k * n, 2), c = new Float32Array(m * n);
    const flop = 2 * m * n * k;
    const calls = Math.max(1, Math.round(FLOP_PER_ROUND / flop));
    for (const [name, addon] of Object.entries(builds)) {
      addon.matmul(a, b, c, m, n, k, tA, tB, false);
      checkGeneral(name, a, b, c, shape);
    }
    const time = (addon: NativeAddon): number => {
      const t = performance.now();
      for (let r = 0; r < calls; r++) addon.matmul(a, b, c, m, n, k, tA, tB, false);
      return (performance.now() - t) / calls;
    };
    const { times, median: med, iqr } = pairedRounds(builds, rounds, time);
    const gflops = (ms: number): number => flop / ms / 1e6;
    const bestOld = Math.min(...times.old), bestNew = Math.min(...times.new);
    logSum += Math.log(med);
    console.log(
      `${label.padEnd(26)} ${gflops(bestOld).toFixed(1).padStart(8)}  ${gflops(bestNew).toFixed(1).padStart(8)}  ${(bestOld / bestNew).toFixed(3).padStart(12)}  ${med.toFixed(3)} ${iqr}`,
    );
  }
  console.log(`geometric mean of the paired medians, new/old: ${Math.exp(logSum / SHAPES.length).toFixed(3)}`);
}

main();
