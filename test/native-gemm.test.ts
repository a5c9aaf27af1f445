// The native GEMM at its edges (test/helpers/gemm-cases.ts), for every kernel table this CPU runs
// (avx512, avx2, avx512-emulated = the AVX-512 tile on AVX2, scalar): every tail of every tile
// dimension, k across the KC block, m and n across the MC and NC blocks, primes, all transposes,
// accumulate, k = 0, threads, non-finite inputs confined to their row and column; exact float64
// reference with the float32 error bound, C in guard zones.
// Also: the emulated AVX-512 table's row kernels (attention, cross-entropy) against the reference
// backend. Skips with a reason when the addon is not built.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, loadNativeBackend, nativeBackendError, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend as R } from "../src/backend/reference/index.js";
import { Rng } from "../src/util/rng.js";
import { checkCase, checkEmptyK, checkNonFiniteConfined, edgeCaseGroups, type Matmul, prepareCase, threadedCases } from "./helpers/gemm-cases.js";

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

const matmul: Matmul = (...args) => (N as Backend).matmul(...args);

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

  for (const group of edgeCaseGroups()) {
    it(group.name, () => {
      const data = group.cases.map((c) => prepareCase(c, rng));
      forEachIsa((isa) => data.forEach((d) => checkCase(isa, matmul, d)));
    });
  }

  it("threaded (2 threads) and single-threaded shapes above the parallel threshold, primes", () => {
    const data = threadedCases().map((c) => prepareCase(c, rng));
    for (const threads of [1, 2]) {
      withThreads(threads, () => forEachIsa((isa) => data.forEach((d) => checkCase(`${isa} threads=${threads}`, matmul, d))));
    }
  });

  it("k = 0: C is zeroed, or kept when accumulating", () => forEachIsa((isa) => checkEmptyK(isa, matmul, rng)));

  it("an infinite input reaches only its own row (from A) or column (from B): padding never leaks", () =>
    forEachIsa((isa) => checkNonFiniteConfined(isa, matmul, rng)));
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
