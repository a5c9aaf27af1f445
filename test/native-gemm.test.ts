// The native GEMM at its edges, for every kernel table this CPU runs (avx512, avx2,
// avx512-emulated = the AVX-512 tile on AVX2, scalar): every tail of every tile dimension (m, n
// from 1 past two micro-tiles), k across the KC block, m and n across the MC and NC blocks, primes,
// all transposes, accumulate, k = 0, non-finite inputs confined to their row and column. Checked
// against an exact float64 triple loop with the float32 error bound of a k-term dot product.
// Also: the emulated AVX-512 table's row kernels (attention, cross-entropy) against the reference
// backend, and the kernel build checks (scripts/check-kernels.mjs: wasm32 SIMD128, clang, the ISA
// objects' exports). Skips with a reason when the addon is not built.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, loadNativeBackend, nativeBackendError, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend as R } from "../src/backend/reference/index.js";
import { Rng } from "../src/data/rng.js";

const N = loadNativeBackend();
const skip = N === null ? `native backend not built: ${nativeBackendError}` : false;
const rng = new Rng(20240611);

type IsaName = "avx512" | "avx2" | "avx512-emulated" | "scalar";
const ALL_ISAS: IsaName[] = ["avx512", "avx2", "avx512-emulated", "scalar"];
/** setNativeIsa's type lists the ISAs users pick; the emulation is a test-only name. */
const selectIsa = (name: IsaName | "best"): boolean => setNativeIsa(name as "avx2");

function isas(): IsaName[] {
  if (!N) return [];
  const out = ALL_ISAS.filter((name) => selectIsa(name));
  selectIsa("best");
  return out;
}

function forEachIsa(fn: (isa: IsaName) => void): void {
  for (const isa of isas()) {
    assert.ok(selectIsa(isa));
    try {
      fn(isa);
    } finally {
      selectIsa("best");
    }
  }
}

function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.nextFloat() * 2 - 1;
  return a;
}

interface Case {
  m: number;
  n: number;
  k: number;
  tA: boolean;
  tB: boolean;
  acc: boolean;
}

const U = 2 ** -24; // float32 unit roundoff

/**
 * C = [C0 +] op(A)·op(B) exactly (float64), and per element the bound on a float32 result:
 * (k + 2)·u·(Σ_p |a_ip·b_pj| + |c0_ij|), the error bound of a (k + 1)-term sum in any order.
 */
function exact(c: Case, a: Float32Array, b: Float32Array, c0: Float32Array): { want: Float64Array; bound: Float64Array } {
  const { m, n, k, tA, tB, acc } = c;
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
  return { want, bound };
}

interface Prepared extends Case {
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
  want: Float64Array;
  bound: Float64Array;
}

function prepare(c: Case): Prepared {
  const a = randn(c.m * c.k), b = randn(c.k * c.n), c0 = randn(c.m * c.n);
  return { ...c, a, b, c0, ...exact(c, a, b, c0) };
}

/** Floats of sentinel on either side of C: more than a micro-tile row (NR <= 32) can overrun. */
const GUARD = 64;
const SENTINEL = -12345.678;

function check(isa: string, d: Prepared): void {
  // C is a view into a buffer with guard zones, so that a write outside C shows.
  const buf = new Float32Array(GUARD + d.c0.length + GUARD).fill(SENTINEL);
  const got = buf.subarray(GUARD, GUARD + d.c0.length);
  got.set(d.c0);
  (N as Backend).matmul(d.a, d.b, got, d.m, d.n, d.k, d.tA, d.tB, d.acc);
  const sentinel = Math.fround(SENTINEL);
  for (let i = 0; i < GUARD; i++) {
    if (buf[i] !== sentinel || buf[buf.length - 1 - i] !== sentinel) {
      assert.fail(`${isa} m=${d.m} n=${d.n} k=${d.k} tA=${d.tA} tB=${d.tB} acc=${d.acc}: wrote outside C`);
    }
  }
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - d.want[i]);
    if (!(err <= d.bound[i])) {
      const at = `(${Math.floor(i / d.n)}, ${i % d.n})`;
      assert.fail(`${isa} m=${d.m} n=${d.n} k=${d.k} tA=${d.tA} tB=${d.tB} acc=${d.acc}: C${at} = ${got[i]}, exact ${d.want[i]}, |err| ${err.toExponential(2)} > bound ${d.bound[i].toExponential(2)}`);
    }
  }
}

/** Prepares the cases once, then checks each on every kernel table. */
function checkAll(cases: Case[]): void {
  const data = cases.map(prepare);
  forEachIsa((isa) => data.forEach((d) => check(isa, d)));
}

const COMBOS = Array.from({ length: 8 }, (_, i) => ({ tA: (i & 1) !== 0, tB: (i & 2) !== 0, acc: (i & 4) !== 0 }));

function withThreads(n: number, fn: () => void): void {
  const t0 = getNativeThreads();
  try {
    setNativeThreads(n);
    fn();
  } finally {
    setNativeThreads(t0);
  }
}

describe("native GEMM edge shapes, every kernel table", { skip }, () => {
  it("runs the emulated AVX-512 table wherever AVX2 runs", () => {
    const list = isas();
    assert.ok(list.includes("scalar"));
    if (list.includes("avx2")) assert.ok(list.includes("avx512-emulated"), `tables: ${list.join(", ")}`);
  });

  it("every tail of every tile dimension: m in 1..25, n in 1..33 (two tiles + 1 of MR <= 12, NR <= 32), k in {1, 2, 5}", () => {
    const cases: Case[] = [];
    for (let m = 1; m <= 25; m++) {
      for (let n = 1; n <= 33; n++) {
        for (const k of [1, 2, 5]) cases.push({ m, n, k, ...COMBOS[(m * 33 + n + k) % 8] });
      }
    }
    checkAll(cases);
  });

  it("all transposes and accumulate on primes and tile-crossing sizes", () => {
    const shapes = [
      [1, 1, 1],
      [1, 97, 3],
      [97, 1, 5],
      [13, 37, 1],
      [11, 17, 19],
      [31, 61, 7],
      [12, 32, 64],
      [6, 16, 33],
      [4, 8, 2],
    ];
    checkAll(shapes.flatMap(([m, n, k]) => COMBOS.map((combo) => ({ m, n, k, ...combo }))));
  });

  it("k across the KC = 256 block (255, 256, 257, 513), m across MC (129, 145, 241), n across NC (2049, 3073, 4097)", () => {
    const shapes = [
      [13, 37, 255],
      [25, 33, 256],
      [7, 70, 257],
      [19, 45, 513],
      [129, 20, 30],
      [145, 17, 31],
      [241, 33, 9],
      [3, 2049, 11],
      [5, 3073, 7],
      [7, 4097, 5],
    ];
    checkAll(shapes.flatMap(([m, n, k]) => [COMBOS[0], COMBOS[3], COMBOS[5], COMBOS[6]].map((combo) => ({ m, n, k, ...combo }))));
  });

  it("threaded (2 threads) and single-threaded shapes above the parallel threshold, primes", () => {
    const shapes = [
      [97, 101, 103],
      [211, 223, 227],
      [389, 13, 401],
    ];
    const data = shapes.flatMap(([m, n, k]) => [COMBOS[0], COMBOS[7]].map((combo) => prepare({ m, n, k, ...combo })));
    for (const threads of [1, 2]) {
      withThreads(threads, () => forEachIsa((isa) => data.forEach((d) => check(`${isa} threads=${threads}`, d))));
    }
  });

  it("k = 0: C is zeroed, or kept when accumulating", () => {
    forEachIsa((isa) => {
      for (const [m, n] of [[1, 1], [7, 13], [30, 50]]) {
        const c0 = randn(m * n);
        const kept = c0.slice();
        (N as Backend).matmul(new Float32Array(0), new Float32Array(0), kept, m, n, 0, false, false, true);
        assert.deepEqual(kept, c0, `${isa} acc k=0`);
        const zeroed = c0.slice();
        (N as Backend).matmul(new Float32Array(0), new Float32Array(0), zeroed, m, n, 0, true, true, false);
        assert.deepEqual(zeroed, new Float32Array(m * n), `${isa} k=0`);
      }
    });
  });

  it("an infinite input reaches only its own row (from A) or column (from B): padding never leaks", () => {
    const m = 29, n = 45, k = 300; // tails in every dimension, two KC blocks
    forEachIsa((isa) => {
      for (const { tA, tB } of COMBOS.slice(0, 4)) {
        const a = randn(m * k), b = randn(k * n);
        const [ri, pa] = [m - 1, 7], [pb, cj] = [k - 1, n - 1]; // last row of A, last column of B
        a[tA ? pa * m + ri : ri * k + pa] = Infinity;
        b[tB ? cj * k + pb : pb * n + cj] = -Infinity;
        const c = new Float32Array(m * n);
        (N as Backend).matmul(a, b, c, m, n, k, tA, tB, false);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const finite = Number.isFinite(c[i * n + j]);
            assert.equal(finite, i !== ri && j !== cj, `${isa} tA=${tA} tB=${tB}: C(${i}, ${j}) = ${c[i * n + j]}`);
          }
        }
      }
    });
  });
});

/** max|got - want| / max|want| <= tol; non-finite reference values must match exactly. */
function closeRel(what: string, got: Float32Array, want: Float32Array, tol = 1e-4): void {
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxRef = Math.max(maxRef, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      assert.ok(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
      continue;
    }
    const e = Math.abs(got[i] - want[i]) / (maxRef || 1);
    if (!(e <= tol)) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (rel err ${e.toExponential(2)})`);
  }
}

describe("native avx512-emulated row kernels vs reference", { skip }, () => {
  const B = N as Backend;
  const emulated = () => isas().includes("avx512-emulated");

  it("attention forward/backward at 16 lanes: masks, causal offsets, padding, head dims 8..64", (t) => {
    if (!emulated()) return t.skip("no AVX2 on this CPU");
    const dims = [
      [1, 2, 7, 5, 8],
      [1, 1, 33, 47, 16],
      [2, 2, 100, 131, 32],
      [1, 1, 20, 300, 64],
    ];
    assert.ok(selectIsa("avx512-emulated"));
    try {
      for (const [batch, heads, queries, keys, headDim] of dims) {
        for (const causalOffset of [null, keys - queries, -2]) {
          const s = { batch, heads, queries, keys, headDim, causalOffset, scale: 1 / Math.sqrt(headDim) };
          const nq = batch * queries * heads * headDim, nk = batch * keys * heads * headDim;
          const q = randn(nq), k = randn(nk), v = randn(nk), dout = randn(nq);
          const keyPad = new Uint8Array(batch * keys).map(() => (rng.nextFloat() < 0.25 ? 1 : 0));
          const tag = `emulated attn ${JSON.stringify(s)}`;
          const outs = [R, B].map((be) => {
            const out = new Float32Array(nq), lse = new Float32Array(batch * heads * queries);
            be.attentionForward(s, q, k, v, keyPad, out, lse);
            const dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
            be.attentionBackward(s, q, k, v, keyPad, out, dout, lse, dq, dk, dv);
            return { out, lse, dq, dk, dv };
          });
          for (const key of ["out", "lse", "dq", "dk", "dv"] as const) closeRel(`${tag} ${key}`, outs[1][key], outs[0][key]);
        }
      }
    } finally {
      selectIsa("best");
    }
  });

  it("cross-entropy at 16 lanes: vocab tails and sum-of-exp blocks (vocab 5, 17, 2100, 5003)", (t) => {
    if (!emulated()) return t.skip("no AVX2 on this CPU");
    assert.ok(selectIsa("avx512-emulated"));
    try {
      for (const vocab of [5, 17, 2100, 5003]) {
        const rows = 6;
        const logits = randn(rows * vocab).map((x) => 8 * x);
        const labels = Int32Array.from({ length: rows }, (_, r) => (r === 2 ? -100 : (r * 7919) % vocab));
        const res = [R, B].map((be) => {
          const lse = new Float32Array(rows), losses = new Float32Array(rows), dl = new Float32Array(rows * vocab);
          be.crossEntropyForward(logits, labels, lse, losses, rows, vocab, -100);
          be.crossEntropyBackward(logits, labels, lse, dl, rows, vocab, -100, 0.5);
          return { lse, losses, dl };
        });
        for (const key of ["lse", "losses", "dl"] as const) closeRel(`emulated ce vocab=${vocab} ${key}`, res[1][key], res[0][key]);
      }
    } finally {
      selectIsa("best");
    }
  });
});

describe("kernel build checks (scripts/check-kernels.mjs)", () => {
  it("the templates compile for wasm32 SIMD128 and with clang; ISA objects export only their table", () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "scripts", "check-kernels.mjs");
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});
