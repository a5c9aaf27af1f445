// The native few-row products (csrc/gemv.cc on the tables' gemv_kernel.h): matmul with at most 16
// rows against a transposed weight (the path `gemm` takes for them) and the int8 weight-only
// matmulInt8, on every kernel table the CPU runs (avx512, avx2, avx512-emulated = the AVX-512
// geometry on AVX2, scalar), against float64 products (weights read from a view, k across every
// vector, chain and lane tail, accumulate, m across the row blocks: 3 rows for AVX2, 7 for AVX-512);
// the same bits for any number of rows, at 1 and 2 threads; the reference backend's matmulInt8
// against the same float64 product.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { Rng } from "../src/util/rng.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();
const rng = new Rng(17);
const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
const int8 = (n: number) => Int8Array.from({ length: n }, () => rng.nextInt(255) - 127);

/** |got - exact| <= 1e-5 · Σ|terms| for every element of C (m, n) = x (m, k) · (s ⊙ W)ᵀ. */
function checkProduct(what: string, got: Float32Array, x: Float32Array, w: ArrayLike<number>, s: Float32Array | null, m: number, n: number, k: number, before?: Float32Array): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let exact = 0;
      let size = 0;
      for (let p = 0; p < k; p++) {
        const t = x[i * k + p] * w[j * k + p] * (s ? s[j] : 1);
        exact += t;
        size += Math.abs(t);
      }
      if (before) exact += before[i * n + j];
      const err = Math.abs(got[i * n + j] - exact);
      if (!(err <= 1e-5 * size + 1e-6)) assert.fail(`${what}: C[${i}, ${j}] = ${got[i * n + j]}, exact ${exact} (error ${err.toExponential(2)})`);
    }
  }
}

/** The tables this CPU runs; setNativeIsa's type lists the ISAs users pick, the emulation is a test-only name. */
function isas(): string[] {
  const out = ["avx512", "avx2", "avx512-emulated", "scalar"].filter((name) => setNativeIsa(name as "avx512"));
  setNativeIsa("best");
  return out;
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 5],
  [1, 33, 8],
  [2, 64, 13],
  [3, 17, 259],
  [8, 40, 64],
  [9, 5, 33],
  [7, 9, 117], // 16 lanes: one 4-chain block, 3 whole vectors, 5 left
  [15, 6, 101], // 16 lanes: one block, 2 whole vectors, 5 left; 7 + 7 + 1 rows
  [16, 70, 130],
];

describe("native few-row products (gemv.cc)", { skip }, () => {
  const N = native as Backend;
  let threads = 0;
  before(() => (threads = getNativeThreads()));
  after(() => setNativeThreads(threads));

  it("matmul, at most 16 rows, transposed weight: every ISA, views, accumulate", () => {
    for (const isa of isas()) {
      assert.ok(setNativeIsa(isa as "avx512"));
      try {
        for (const [m, n, k] of SHAPES) {
          const x = uniform(m * k);
          const wBuf = uniform(n * k + 3);
          const w = wBuf.subarray(3); // a view at an odd offset
          const c = new Float32Array(m * n);
          N.matmul(x, w, c, m, n, k, false, true, false);
          checkProduct(`${isa} matmul m=${m} n=${n} k=${k}`, c, x, w, null, m, n, k);
          const prior = uniform(m * n);
          const acc = prior.slice();
          N.matmul(x, w, acc, m, n, k, false, true, true);
          checkProduct(`${isa} matmul accumulate m=${m} n=${n} k=${k}`, acc, x, w, null, m, n, k, prior);
        }
      } finally {
        setNativeIsa("best");
      }
    }
  });

  it("matmulInt8: every ISA and the reference backend, any number of rows", () => {
    for (const [m, n, k] of [...SHAPES, [40, 9, 21] as [number, number, number]]) {
      const x = uniform(m * k);
      const q = int8(n * k);
      const s = Float32Array.from({ length: n }, () => 0.001 + rng.nextFloat() * 0.02);
      const y = new Float32Array(m * n).fill(NaN); // overwritten, never read
      referenceBackend.matmulInt8(x, q, s, y, m, n, k);
      checkProduct(`reference matmulInt8 m=${m} n=${n} k=${k}`, y, x, q, s, m, n, k);
      for (const isa of isas()) {
        assert.ok(setNativeIsa(isa as "avx512"));
        try {
          y.fill(NaN);
          N.matmulInt8(x, q, s, y, m, n, k);
          checkProduct(`${isa} matmulInt8 m=${m} n=${n} k=${k}`, y, x, q, s, m, n, k);
        } finally {
          setNativeIsa("best");
        }
      }
    }
  });

  it("runs on the emulated AVX-512 table wherever AVX2 runs", () => {
    const list = isas();
    assert.ok(list.includes("scalar"), list.join(", "));
    if (list.includes("avx2")) assert.ok(list.includes("avx512-emulated"), list.join(", "));
  });

  it("the same bits for any number of rows: each row of a 16-row product equals that row alone, every ISA", () => {
    const [m, n, k] = [16, 9, 117];
    const x = uniform(m * k);
    const w = uniform(n * k);
    const q = int8(n * k);
    const s = Float32Array.from({ length: n }, () => 0.001 + rng.nextFloat() * 0.02);
    for (const isa of isas()) {
      assert.ok(setNativeIsa(isa as "avx512"));
      try {
        const c = new Float32Array(m * n);
        const y = new Float32Array(m * n);
        N.matmul(x, w, c, m, n, k, false, true, false);
        N.matmulInt8(x, q, s, y, m, n, k);
        for (let r = 0; r < m; r++) {
          const row = x.subarray(r * k, (r + 1) * k);
          const c1 = new Float32Array(n);
          const y1 = new Float32Array(n);
          N.matmul(row, w, c1, 1, n, k, false, true, false);
          N.matmulInt8(row, q, s, y1, 1, n, k);
          assert.deepEqual(c1, c.subarray(r * n, (r + 1) * n), `${isa} matmul row ${r}`);
          assert.deepEqual(y1, y.subarray(r * n, (r + 1) * n), `${isa} matmulInt8 row ${r}`);
        }
      } finally {
        setNativeIsa("best");
      }
    }
  });

  it("the same bits at 1 and 2 threads, and on every run", () => {
    const [m, n, k] = [3, 4096, 1283];
    const x = uniform(m * k);
    const w = uniform(n * k);
    const q = int8(n * k);
    const s = uniform(n);
    const run = () => {
      const c = new Float32Array(m * n);
      const y = new Float32Array(m * n);
      N.matmul(x, w, c, m, n, k, false, true, false);
      N.matmulInt8(x, q, s, y, m, n, k);
      return Buffer.concat([Buffer.from(c.buffer), Buffer.from(y.buffer)]);
    };
    setNativeThreads(2);
    const first = run();
    assert.ok(first.equals(run()), "2 threads, run 2");
    setNativeThreads(1);
    assert.ok(first.equals(run()), "1 thread vs 2");
    setNativeThreads(2);
  });

  it("validation: wq must be an Int8Array of n·k values", () => {
    const x = new Float32Array(4);
    const y = new Float32Array(2);
    const s = new Float32Array(2);
    for (const B of [N, referenceBackend]) {
      assert.throws(() => B.matmulInt8(x, new Uint8Array(8) as never, s, y, 1, 2, 4), /matmulInt8: wq must be an? Int8Array/);
      assert.throws(() => B.matmulInt8(x, new Int8Array(7), s, y, 1, 2, 4), /matmulInt8: wq/);
    }
  });
});
