// The GEMM inputs and the result check of bench/wasm-gemm.ts, shared by its page and its Node
// side (no Node or DOM imports): seeded uniform matrices, and sampled entries of C = A·B against
// float64 dot products before any speed is reported.

/** Entries of C checked against float64 per product. */
export const CHECKED_ENTRIES = 64;
/** fp32 accumulation error allowed relative to Σ|a·b| (k <= 1024: ~1e-6 expected). */
export const GEMM_TOLERANCE = 1e-4;

/** n uniform values in [-0.5, 0.5) from an LCG seeded with `seed`. */
export function gemmInput(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  return a;
}

/** Largest |C - exact| / Σ|a·b| over sampled entries of C = A·B (N×N row-major); throws beyond GEMM_TOLERANCE. */
export function checkProduct(what: string, a: Float32Array, b: Float32Array, c: Float32Array, n: number): number {
  let worst = 0;
  for (let s = 0; s < CHECKED_ENTRIES; s++) {
    const i = (s * 7919) % n, j = (s * 104729) % n;
    let exact = 0, mag = 0;
    for (let p = 0; p < n; p++) {
      exact += a[i * n + p] * b[p * n + j];
      mag += Math.abs(a[i * n + p] * b[p * n + j]);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j] - exact) / mag);
  }
  if (!(worst <= GEMM_TOLERANCE)) throw new Error(`${what}: GEMM ${n}³ differs from float64 by ${worst} (> ${GEMM_TOLERANCE}); no speed reported`);
  return worst;
}
