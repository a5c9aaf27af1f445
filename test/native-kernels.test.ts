// Fuzz-style parity tests: every kernel of the native backend against the reference backend on
// random shapes (sizes 1, odd, not multiples of SIMD widths or tiles), for every SIMD kernel set
// the CPU supports (avx512 / avx2 / scalar). Attention has its own file (native-attention.test.ts). Argument validation is tested for both backends in
// backend-boundary.test.ts. Skips with a reason when the addon is not built (a failure under
// PERCEIVER_AR_REQUIRE_NATIVE=1, see helpers/native.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { nativeIsa, setNativeIsa, setNativeThreads, getNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend as R } from "../src/backend/reference/index.js";
import { assertCloseToReference } from "./helpers/close.js";
import { nativeForTests } from "./helpers/native.js";

const { native: N, skip } = nativeForTests();
const TOL = 1e-4;

// Deterministic PRNG (mulberry32).
let seed = 0x12345678;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}
function randInt(lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo));
}

/** A kernel's output against the reference backend's (helpers/close.ts). */
function close(what: string, got: Float32Array, want: Float32Array, tol = TOL): void {
  assertCloseToReference(what, got, want, tol);
}

/** The SIMD kernel sets to test on this CPU (best first). */
function isas(): string[] {
  if (!N) return [];
  const out: string[] = [];
  for (const name of ["avx512", "avx2", "scalar"] as const) {
    if (setNativeIsa(name)) out.push(name);
  }
  setNativeIsa("best");
  return out;
}

function forEachIsa(fn: (isa: string) => void): void {
  for (const isa of isas()) {
    assert.ok(setNativeIsa(isa as "avx512" | "avx2" | "scalar"));
    try {
      fn(isa);
    } finally {
      setNativeIsa("best");
    }
  }
}

const SIZES = [1, 3, 7, 17, 33, 64, 65, 130];

describe("native backend vs reference", { skip }, () => {
  const B = N as Backend;

  it("reports a kernel set and thread count", () => {
    assert.ok(["avx512", "avx2", "scalar"].includes(nativeIsa() as string));
    assert.ok(getNativeThreads() >= 1);
  });

  it("matmul: all sizes in {1,3,7,17,33,64,65,130}^3, 4 transpose combos, accumulate on/off", () => {
    const cases: { m: number; n: number; k: number; tA: boolean; tB: boolean; acc: boolean }[] = [];
    for (const m of SIZES) for (const n of SIZES) for (const k of SIZES) {
      for (let combo = 0; combo < 8; combo++) {
        cases.push({ m, n, k, tA: (combo & 1) !== 0, tB: (combo & 2) !== 0, acc: (combo & 4) !== 0 });
      }
    }
    const data = cases.map((c) => {
      const a = randn(c.m * c.k);
      const b = randn(c.k * c.n);
      const c0 = randn(c.m * c.n);
      const want = c0.slice();
      R.matmul(a, b, want, c.m, c.n, c.k, c.tA, c.tB, c.acc);
      return { ...c, a, b, c0, want };
    });
    forEachIsa((isa) => {
      for (const d of data) {
        const got = d.c0.slice();
        B.matmul(d.a, d.b, got, d.m, d.n, d.k, d.tA, d.tB, d.acc);
        close(`${isa} matmul m=${d.m} n=${d.n} k=${d.k} tA=${d.tA} tB=${d.tB} acc=${d.acc}`, got, d.want);
      }
    });
  });

  it("matmul: large shapes (threaded, several KC/MC/NC blocks), k = 0", () => {
    const shapes = [
      [300, 270, 530],
      [1000, 64, 513],
      [8, 5000, 40],
      [257, 3, 1029],
      [5, 7, 0],
    ];
    forEachIsa((isa) => {
      for (const [m, n, k] of shapes) {
        for (let combo = 0; combo < 8; combo += 3) {
          const tA = (combo & 1) !== 0, tB = (combo & 2) !== 0, acc = (combo & 4) !== 0;
          const a = randn(m * k), b = randn(k * n), c0 = randn(m * n);
          const want = c0.slice(), got = c0.slice();
          R.matmul(a, b, want, m, n, k, tA, tB, acc);
          B.matmul(a, b, got, m, n, k, tA, tB, acc);
          close(`${isa} matmul m=${m} n=${n} k=${k} tA=${tA} tB=${tB} acc=${acc}`, got, want);
        }
      }
    });
  });

  it("matmul: results do not depend on the thread count", () => {
    const m = 333, n = 211, k = 300;
    const a = randn(m * k), b = randn(k * n);
    const c1 = new Float32Array(m * n), c2 = new Float32Array(m * n);
    const t0 = getNativeThreads();
    try {
      setNativeThreads(1);
      B.matmul(a, b, c1, m, n, k, false, true, false);
      setNativeThreads(3);
      B.matmul(a, b, c2, m, n, k, false, true, false);
    } finally {
      setNativeThreads(t0);
    }
    assert.deepEqual(c1, c2);
  });

  it("layerNorm forward/backward", () => {
    forEachIsa((isa) => {
      for (const [rows, cols] of [[1, 1], [3, 7], [17, 64], [130, 65], [2000, 33]]) {
        const x = randn(rows * cols, 3), g = randn(cols), b = randn(cols);
        const y1 = new Float32Array(rows * cols), m1 = new Float32Array(rows), r1 = new Float32Array(rows);
        const y2 = y1.slice(), m2 = m1.slice(), r2 = r1.slice();
        R.layerNormForward(x, g, b, y1, m1, r1, rows, cols, 1e-5);
        B.layerNormForward(x, g, b, y2, m2, r2, rows, cols, 1e-5);
        close(`${isa} ln y ${rows}x${cols}`, y2, y1);
        close(`${isa} ln mean`, m2, m1);
        close(`${isa} ln rstd`, r2, r1);
        const dy = randn(rows * cols);
        const dx1 = randn(rows * cols), dg1 = randn(cols), db1 = randn(cols);
        const dx2 = dx1.slice(), dg2 = dg1.slice(), db2 = db1.slice();
        R.layerNormBackward(dy, x, g, m1, r1, dx1, dg1, db1, rows, cols);
        B.layerNormBackward(dy, x, g, m1, r1, dx2, dg2, db2, rows, cols);
        close(`${isa} ln dx`, dx2, dx1);
        close(`${isa} ln dgamma`, dg2, dg1);
        close(`${isa} ln dbeta`, db2, db1);
      }
    });
  });

  it("gelu, add, axpy, addBias, sumRows", () => {
    for (const n of [1, 7, 33, 1000, 200003]) {
      const x = randn(n, 6);
      const y1 = new Float32Array(n), y2 = new Float32Array(n);
      R.geluForward(x, y1, n);
      B.geluForward(x, y2, n);
      close(`gelu fwd n=${n}`, y2, y1);
      const dy = randn(n), dx1 = randn(n), dx2 = dx1.slice();
      R.geluBackward(x, dy, dx1, n);
      B.geluBackward(x, dy, dx2, n);
      close(`gelu bwd n=${n}`, dx2, dx1);
      const a = randn(n), b = randn(n);
      const o1 = new Float32Array(n), o2 = new Float32Array(n);
      R.add(a, b, o1, n);
      B.add(a, b, o2, n);
      close(`add n=${n}`, o2, o1);
      const a2 = a.slice();
      B.add(a2, b, a2, n); // aliasing out = a
      close(`add aliased n=${n}`, a2, o1);
      const d1 = randn(n), d2 = d1.slice();
      R.axpy(-0.7, a, d1, n);
      B.axpy(-0.7, a, d2, n);
      close(`axpy n=${n}`, d2, d1);
    }
    for (const [rows, cols] of [[1, 1], [7, 3], [130, 65], [3000, 300], [40, 1000]]) {
      const out1 = randn(rows * cols), out2 = out1.slice(), bias = randn(cols);
      R.addBias(out1, bias, rows, cols);
      B.addBias(out2, bias, rows, cols);
      close(`addBias ${rows}x${cols}`, out2, out1);
      const db1 = randn(cols), db2 = db1.slice();
      R.sumRows(out1, db1, rows, cols);
      B.sumRows(out1, db2, rows, cols);
      close(`sumRows ${rows}x${cols}`, db2, db1);
    }
  });

  it("gatherRows / scatterAddRows (duplicate indices)", () => {
    for (const [srcRows, count, cols] of [[1, 1, 1], [10, 7, 3], [50, 300, 65], [1000, 5000, 64]]) {
      const src = randn(srcRows * cols);
      const index = new Int32Array(count);
      for (let i = 0; i < count; i++) index[i] = randInt(0, srcRows);
      const d1 = new Float32Array(count * cols), d2 = new Float32Array(count * cols);
      R.gatherRows(src, index, d1, count, cols);
      B.gatherRows(src, index, d2, count, cols);
      close(`gather ${count}x${cols}`, d2, d1);
      const g = randn(count * cols);
      const s1 = randn(srcRows * cols), s2 = s1.slice();
      R.scatterAddRows(g, index, s1, count, cols);
      B.scatterAddRows(g, index, s2, count, cols);
      close(`scatterAdd ${count}x${cols}`, s2, s1);
    }
  });

  it("rotary forward/backward (partial rotDim, in place)", () => {
    for (const [rows, heads, hd, rot] of [[1, 1, 2, 2], [7, 3, 8, 4], [130, 4, 64, 32], [33, 2, 17, 16], [9, 2, 6, 0]]) {
      const n = rows * heads * hd;
      const x = randn(n), cos = randn(rows * rot), sin = randn(rows * rot);
      const y1 = new Float32Array(n), y2 = new Float32Array(n);
      R.rotaryForward(x, cos, sin, y1, rows, heads, hd, rot);
      B.rotaryForward(x, cos, sin, y2, rows, heads, hd, rot);
      close(`rotary fwd`, y2, y1);
      const xi = x.slice();
      B.rotaryForward(xi, cos, sin, xi, rows, heads, hd, rot);
      close(`rotary fwd in place`, xi, y1);
      const dy = randn(n), dx1 = randn(n), dx2 = dx1.slice();
      R.rotaryBackward(dy, cos, sin, dx1, rows, heads, hd, rot);
      B.rotaryBackward(dy, cos, sin, dx2, rows, heads, hd, rot);
      close(`rotary bwd`, dx2, dx1);
    }
  });

  it("crossEntropy forward/backward with ignoreIndex", () => {
    forEachIsa((isa) => {
      for (const [rows, vocab] of [[1, 1], [5, 7], [33, 130], [64, 5003], [300, 256]]) {
        const logits = randn(rows * vocab, 8);
        const labels = new Int32Array(rows);
        for (let r = 0; r < rows; r++) labels[r] = rand() < 0.2 ? -100 : randInt(0, vocab);
        const l1 = new Float32Array(rows), l2 = new Float32Array(rows);
        const o1 = new Float32Array(rows), o2 = new Float32Array(rows);
        R.crossEntropyForward(logits, labels, l1, o1, rows, vocab, -100);
        B.crossEntropyForward(logits, labels, l2, o2, rows, vocab, -100);
        close(`${isa} ce lse ${rows}x${vocab}`, l2, l1);
        close(`${isa} ce loss`, o2, o1);
        const d1 = randn(rows * vocab), d2 = d1.slice();
        R.crossEntropyBackward(logits, labels, l1, d1, rows, vocab, -100, 0.25);
        B.crossEntropyBackward(logits, labels, l1, d2, rows, vocab, -100, 0.25);
        close(`${isa} ce dlogits`, d2, d1);
      }
    });
  });

  it("adamw", () => {
    for (const n of [1, 7, 100003]) {
      const p1 = randn(n), g = randn(n), m1 = randn(n, 0.1), v1 = randn(n, 0.1).map(Math.abs);
      const p2 = p1.slice(), m2 = m1.slice(), v2 = v1.slice();
      const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 7 };
      R.adamw(p1, g, m1, v1, n, o);
      B.adamw(p2, g, m2, v2, n, o);
      close(`adamw p n=${n}`, p2, p1);
      close(`adamw m`, m2, m1);
      close(`adamw v`, v2, v1);
    }
  });
});
