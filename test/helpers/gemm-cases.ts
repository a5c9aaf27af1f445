// GEMM edge cases and their exact check, shared by the tests of every kernel table (native ISAs in
// native-gemm.test.ts, wasm32 SIMD128 in wasm-kernels.test.ts). A case is checked against an exact
// float64 triple loop with the float32 error bound of a k-term dot product, with C inside guard
// zones so that a write outside it shows.

import assert from "node:assert/strict";

import { Rng } from "../../src/util/rng.js";

/** Backend.matmul's contract: C (m×n) = [C +] op(A)·op(B), A (m×k) or (k×m) when tA, B likewise. */
export type Matmul = (a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean, acc: boolean) => void;

export interface GemmCase {
  m: number;
  n: number;
  k: number;
  tA: boolean;
  tB: boolean;
  acc: boolean;
}

/** The 8 combinations of transposes and accumulate. */
export const COMBOS = Array.from({ length: 8 }, (_, i) => ({ tA: (i & 1) !== 0, tB: (i & 2) !== 0, acc: (i & 4) !== 0 }));

const shapesWith = (shapes: number[][], combos: (typeof COMBOS)[number][]): GemmCase[] =>
  shapes.flatMap(([m, n, k]) => combos.map((combo) => ({ m, n, k, ...combo })));

/** Groups of cases that cover every tile of MR <= 12, NR <= 32, KC = 256, MC <= 240, NC <= 4096. */
export function edgeCaseGroups(): { name: string; cases: GemmCase[] }[] {
  const tails: GemmCase[] = [];
  for (let m = 1; m <= 25; m++) {
    for (let n = 1; n <= 33; n++) for (const k of [1, 2, 5]) tails.push({ m, n, k, ...COMBOS[(m * 33 + n + k) % 8] });
  }
  const primes = [[1, 1, 1], [1, 97, 3], [97, 1, 5], [13, 37, 1], [11, 17, 19], [31, 61, 7], [12, 32, 64], [6, 16, 33], [4, 8, 2]];
  const blocks = [[13, 37, 255], [25, 33, 256], [7, 70, 257], [19, 45, 513], [129, 20, 30], [145, 17, 31], [241, 33, 9], [3, 2049, 11], [5, 3073, 7], [7, 4097, 5]];
  return [
    { name: "every tail of every tile dimension: m in 1..25, n in 1..33 (two tiles + 1 of MR <= 12, NR <= 32), k in {1, 2, 5}", cases: tails },
    { name: "all transposes and accumulate on primes and tile-sized shapes", cases: shapesWith(primes, COMBOS) },
    {
      name: "k across the KC = 256 block (255, 256, 257, 513), m across MC (129, 145, 241), n across NC (2049, 3073, 4097)",
      cases: shapesWith(blocks, [COMBOS[0], COMBOS[3], COMBOS[5], COMBOS[6]]),
    },
  ];
}

/** Prime shapes above the native GEMM's parallel threshold (96³ multiply-adds). */
export const threadedCases = (): GemmCase[] => shapesWith([[97, 101, 103], [211, 223, 227], [389, 13, 401]], [COMBOS[0], COMBOS[7]]);

export interface PreparedCase extends GemmCase {
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
  /** exact [C0 +] op(A)·op(B) */
  want: Float64Array;
  /** per entry: (k + 2)·u·(Σ_p |a_ip·b_pj| + |c0_ij|), the bound of a (k + 1)-term float32 sum in any order */
  bound: Float64Array;
}

const U = 2 ** -24; // float32 unit roundoff

function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.nextFloat() * 2 - 1;
  return a;
}

export function prepareCase(c: GemmCase, rng: Rng): PreparedCase {
  const { m, n, k, tA, tB, acc } = c;
  const a = randn(rng, m * k), b = randn(rng, k * n), c0 = randn(rng, m * n);
  const want = new Float64Array(m * n), bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = acc ? c0[i * n + j] : 0;
      let mag = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const x = (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
        s += x;
        mag += Math.abs(x);
      }
      want[i * n + j] = s;
      bound[i * n + j] = (k + 2) * U * mag;
    }
  }
  return { ...c, a, b, c0, want, bound };
}

/** Floats of sentinel on either side of C: more than a micro-tile row (NR <= 32) can overrun. */
const GUARD = 64;
const SENTINEL = Math.fround(-12345.678);

export function checkCase(label: string, matmul: Matmul, d: PreparedCase): void {
  const what = `${label} m=${d.m} n=${d.n} k=${d.k} tA=${d.tA} tB=${d.tB} acc=${d.acc}`;
  const buf = new Float32Array(GUARD + d.c0.length + GUARD).fill(SENTINEL);
  const got = buf.subarray(GUARD, GUARD + d.c0.length);
  got.set(d.c0);
  matmul(d.a, d.b, got, d.m, d.n, d.k, d.tA, d.tB, d.acc);
  for (let i = 0; i < GUARD; i++) {
    if (buf[i] !== SENTINEL || buf[buf.length - 1 - i] !== SENTINEL) assert.fail(`${what}: wrote outside C`);
  }
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - d.want[i]);
    if (!(err <= d.bound[i])) {
      assert.fail(`${what}: C(${Math.floor(i / d.n)}, ${i % d.n}) = ${got[i]}, exact ${d.want[i]}, |err| ${err.toExponential(2)} > bound ${d.bound[i].toExponential(2)}`);
    }
  }
}

/** k = 0: C is zeroed, or kept when accumulating. */
export function checkEmptyK(label: string, matmul: Matmul, rng: Rng): void {
  for (const [m, n] of [[1, 1], [7, 13], [30, 50]]) {
    const c0 = randn(rng, m * n);
    const kept = c0.slice();
    matmul(new Float32Array(0), new Float32Array(0), kept, m, n, 0, false, false, true);
    assert.deepEqual(kept, c0, `${label} acc k=0`);
    const zeroed = c0.slice();
    matmul(new Float32Array(0), new Float32Array(0), zeroed, m, n, 0, true, true, false);
    assert.deepEqual(zeroed, new Float32Array(m * n), `${label} k=0`);
  }
}

/** An infinite input reaches only its own row (from A) or column (from B): padding never leaks. */
export function checkNonFiniteConfined(label: string, matmul: Matmul, rng: Rng): void {
  const m = 29, n = 45, k = 300; // tails in every dimension, two KC blocks
  for (const { tA, tB } of COMBOS.slice(0, 4)) {
    const a = randn(rng, m * k), b = randn(rng, k * n);
    const [ri, pa] = [m - 1, 7], [pb, cj] = [k - 1, n - 1]; // last row of A, last column of B
    a[tA ? pa * m + ri : ri * k + pa] = Infinity;
    b[tB ? cj * k + pb : pb * n + cj] = -Infinity;
    const c = new Float32Array(m * n);
    matmul(a, b, c, m, n, k, tA, tB, false);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        assert.equal(Number.isFinite(c[i * n + j]), i !== ri && j !== cj, `${label} tA=${tA} tB=${tB}: C(${i}, ${j}) = ${c[i * n + j]}`);
      }
    }
  }
}
