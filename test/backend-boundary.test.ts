// The backend boundary: `validated()` (src/backend/validate.ts) rejects bad arguments with a
// message naming the kernel and the argument, before any kernel touches memory, for EVERY backend
// (reference and native); backend selection hands out only validated backends; the aliasing rules
// of backend.ts are enforced; and the native addon, called raw (no TypeScript validation), still
// refuses every length that would make it read or write out of bounds.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { KERNELS, type AttentionShape, type Backend } from "../src/backend/backend.js";
import { loadNativeAddon } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { referenceKernels } from "../src/backend/reference/kernels.js";
import { getBackend, setDefaultBackend } from "../src/backend/select.js";
import { KERNEL_NAMES, parseKernelArgs, validated } from "../src/backend/validate.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();
const f = (n: number) => new Float32Array(n);
const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 };

/** assert.throws with the error class and a message that names `kernel: argument`. */
function rejects(fn: () => void, type: typeof RangeError | typeof TypeError, names: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, names);
    return true;
  });
}

function boundaryTests(B: Backend): void {
  it("matmul: short arrays, bad sizes and kinds, named; nothing written", () => {
    const c = f(6).fill(7);
    rejects(() => B.matmul(f(5), f(9), c, 2, 3, 3, false, false, false), RangeError, /^matmul: a has 5 elements, needs at least 6/);
    rejects(() => B.matmul(f(6), f(8), c, 2, 3, 3, false, false, false), RangeError, /^matmul: b has 8/);
    rejects(() => B.matmul(f(6), f(9), f(5), 2, 3, 3, false, false, false), RangeError, /^matmul: c has 5/);
    rejects(() => B.matmul(f(6), f(9), c, -2, 3, 3, false, false, false), RangeError, /^matmul: m must be a non-negative integer/);
    rejects(() => B.matmul(f(6), f(9), c, 2, 1.5, 3, false, false, false), RangeError, /^matmul: n must be a non-negative integer/);
    rejects(() => B.matmul(new Float64Array(6) as unknown as Float32Array, f(9), c, 2, 3, 3, false, false, false), TypeError, /^matmul: a must be a Float32Array, got Float64Array/);
    rejects(() => B.matmul(f(6), f(9), c, 2, 3, 3, 1 as unknown as boolean, false, false), TypeError, /^matmul: transA must be a boolean/);
    rejects(() => (B.matmul as (...a: unknown[]) => void)(f(6), f(9), c, 2, 3, 3), TypeError, /^matmul: expected 9 arguments/);
    assert.deepEqual([...c], [7, 7, 7, 7, 7, 7], "a rejected call wrote its output");
  });

  it("gatherRows / scatterAddRows: indices out of range, short index", () => {
    const idx = new Int32Array([0, 4]);
    rejects(() => B.gatherRows(f(8), idx, f(4), 2, 2), RangeError, /^gatherRows: index\[1\] = 4 is out of range \[0, 4\)/);
    rejects(() => B.gatherRows(f(10), new Int32Array([-1, 0]), f(4), 2, 2), RangeError, /^gatherRows: index\[0\] = -1/);
    rejects(() => B.scatterAddRows(f(4), idx, f(8), 2, 2), RangeError, /^scatterAddRows: index\[1\] = 4/);
    rejects(() => B.gatherRows(f(10), new Int32Array(1), f(4), 2, 2), RangeError, /^gatherRows: index has 1 elements, needs at least 2/);
  });

  it("crossEntropy: labels out of range (ignoreIndex allowed), bad scale", () => {
    rejects(() => B.crossEntropyForward(f(6), new Int32Array([1, 3]), f(2), f(2), 2, 3, -100), RangeError, /^crossEntropyForward: labels\[1\] = 3 is out of range \[0, 3\)/);
    rejects(() => B.crossEntropyBackward(f(6), new Int32Array([-1, 0]), f(2), f(6), 2, 3, -100, 1), RangeError, /^crossEntropyBackward: labels\[0\] = -1/);
    rejects(() => B.crossEntropyBackward(f(6), new Int32Array([0, 0]), f(2), f(6), 2, 3, -100, NaN), RangeError, /^crossEntropyBackward: scale must be a finite number/);
    B.crossEntropyForward(f(6), new Int32Array([-100, 2]), f(2), f(2), 2, 3, -100);
  });

  it("attention: short keyPad, q, lse, dk; bad shape fields", () => {
    const s: AttentionShape = { batch: 2, heads: 1, queries: 3, keys: 4, headDim: 2, causalOffset: 1, scale: 0.5 };
    const q = f(12), k = f(16), v = f(16), out = f(12), lse = f(6);
    rejects(() => B.attentionForward(s, q, k, v, new Uint8Array(7), out, lse), RangeError, /^attentionForward: keyPad has 7 elements, needs at least 8 \(batch 2 x keys 4\)/);
    rejects(() => B.attentionForward(s, f(11), k, v, null, out, lse), RangeError, /^attentionForward: q has 11/);
    rejects(() => B.attentionForward(s, q, k, v, null, out, f(5)), RangeError, /^attentionForward: lse has 5/);
    rejects(() => B.attentionForward({ ...s, causalOffset: 0.5 }, q, k, v, null, out, lse), RangeError, /^attentionForward: s.causalOffset must be an integer/);
    rejects(() => B.attentionForward({ ...s, heads: -1 }, q, k, v, null, out, lse), RangeError, /^attentionForward: s.heads must be a non-negative integer/);
    rejects(() => B.attentionForward({ ...s, scale: Infinity }, q, k, v, null, out, lse), RangeError, /^attentionForward: s.scale must be a finite number/);
    rejects(() => B.attentionForward(s, q, k, v, new Int8Array(8) as unknown as Uint8Array, out, lse), TypeError, /^attentionForward: keyPad must be a Uint8Array or null/);
    rejects(() => B.attentionBackward(s, q, k, v, null, out, f(12), lse, f(12), f(15), f(16)), RangeError, /^attentionBackward: dk has 15/);
    B.attentionForward(s, q, k, v, new Uint8Array(8), out, lse);
  });

  it("other kernels: short arrays, bad rotDim, non-finite numbers", () => {
    rejects(() => B.layerNormForward(f(6), f(3), f(2), f(6), f(2), f(2), 2, 3, 1e-5), RangeError, /^layerNormForward: beta has 2/);
    rejects(() => B.layerNormForward(f(6), f(3), f(3), f(6), f(2), f(2), 2, 3, NaN), RangeError, /^layerNormForward: eps must be a finite number/);
    rejects(() => B.geluForward(f(3), f(2), 3), RangeError, /^geluForward: y has 2/);
    rejects(() => B.addBias(f(6), f(2), 2, 3), RangeError, /^addBias: bias has 2/);
    rejects(() => B.axpy(NaN, f(2), f(2), 2), RangeError, /^axpy: alpha must be a finite number/);
    rejects(() => B.rotaryForward(f(8), f(6), f(6), f(8), 2, 1, 4, 3), RangeError, /^rotaryForward: rotDim must be even and <= headDim \(4\), got 3/);
    rejects(() => B.rotaryBackward(f(8), f(12), f(12), f(8), 2, 1, 4, 6), RangeError, /^rotaryBackward: rotDim must be even and <= headDim/);
    rejects(() => B.adamw(f(3), f(3), f(3), f(2), 3, ADAM), RangeError, /^adamw: v has 2/);
    rejects(() => B.adamw(f(3), f(3), f(3), f(3), 3, { ...ADAM, lr: NaN }), RangeError, /^adamw: o.lr must be a finite number/);
  });

  it("aliasing: exact aliases the contract allows work, other overlaps are refused", () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([10, 20, 30, 40]);
    B.add(a, b, a, 4); // out may be a
    assert.deepEqual([...a], [11, 22, 33, 44]);
    B.add(a, a, b, 4); // inputs may overlap each other
    assert.deepEqual([...b], [22, 44, 66, 88]);
    const buf = f(8);
    rejects(() => B.add(buf.subarray(0, 4), b, buf.subarray(1, 5), 4), RangeError, /^add: out, which the kernel writes, overlaps a \(it may only be exactly a or b\)/);
    B.add(buf.subarray(0, 4), b, buf.subarray(4, 8), 4); // views of one buffer that do not overlap
    const x = f(12).fill(1);
    rejects(() => B.matmul(x.subarray(0, 4), f(4), x.subarray(2, 6), 2, 2, 2, false, false, false), RangeError, /^matmul: c, which the kernel writes, overlaps a$/);
    rejects(() => B.geluForward(x, x, 12), RangeError, /^geluForward: y, which the kernel writes, overlaps x$/);
    const cs = f(4).fill(1), sn = f(4);
    B.rotaryForward(x, cs, sn, x, 2, 3, 2, 2); // y may be x
    const s: AttentionShape = { batch: 1, heads: 1, queries: 2, keys: 2, headDim: 2, causalOffset: 0, scale: 1 };
    const g = f(4);
    rejects(() => B.attentionBackward(s, f(4), f(4), f(4), null, f(4), f(4), f(2), g, g, f(4)), RangeError, /^attentionBackward: dq, which the kernel writes, overlaps dk$/);
  });
}

describe("validated reference backend", () => boundaryTests(referenceBackend));
describe("validated native backend", { skip }, () => boundaryTests(native as Backend));

describe("every handed-out backend is validated", () => {
  it("referenceBackend and getBackend() are validated; validated() is idempotent and memoised", () => {
    assert.equal(validated(referenceBackend), referenceBackend);
    assert.equal(validated(referenceKernels), referenceBackend);
    assert.equal(getBackend("reference"), referenceBackend);
    if (native !== null) assert.equal(getBackend("native"), native);
    assert.throws(() => getBackend().matmul(f(1), f(1), f(1), 2, 2, 2, false, false, false), /^RangeError: matmul: a has 1/);
  });

  it("a custom backend given to setDefaultBackend is handed out validated; a missing kernel is named", () => {
    let calls = 0;
    const custom: Backend = { ...referenceKernels, name: "custom", add: (a, b, out, n) => (calls++, referenceKernels.add(a, b, out, n)) };
    const { sumRows: _dropped, ...partial } = referenceKernels;
    assert.throws(() => setDefaultBackend(partial as unknown as Backend), /^TypeError: backend "reference" has no kernel sumRows/);
    setDefaultBackend(custom);
    try {
      const v = getBackend();
      assert.equal(v.name, "custom");
      assert.notEqual(v, custom);
      assert.equal(getBackend(), v, "the same wrapper every time");
      assert.throws(() => v.add(f(2), f(2), f(1), 2), /^RangeError: add: out has 1/);
      assert.equal(calls, 0, "the custom kernel ran on a rejected call");
      v.add(f(2), f(2), f(2), 2);
      assert.equal(calls, 1);
    } finally {
      setDefaultBackend(null);
    }
  });

  it("every KERNELS row parses, names only size arguments in lengths, and lists its written arrays", () => {
    assert.deepEqual(Object.keys(KERNELS).sort(), KERNEL_NAMES.slice().sort());
    for (const k of KERNEL_NAMES) {
      const args = parseKernelArgs(KERNELS[k].args);
      assert.equal(args.length, (referenceKernels[k] as (...a: unknown[]) => void).length, `${k}: argument count differs from the reference kernel`);
      for (const w of KERNELS[k].writes) assert.ok(args.some((a) => a.name === w && a.kind.startsWith("f32")), `${k}: writes ${w}`);
    }
    assert.throws(() => parseKernelArgs("f32[m] a, size n"), /length names m, which is not a size argument/);
    assert.throws(() => parseKernelArgs("float a"), /is not "kind\[length\] name"/);
  });
});

describe("native addon called raw (no TypeScript validation) keeps its bounds checks", { skip }, () => {
  const A = loadNativeAddon()!;

  it("registers exactly the KERNELS rows (the loader checks this; so does this test)", () => {
    for (const k of KERNEL_NAMES) assert.equal(A.kernelArgs[k], KERNELS[k].args, k);
    assert.deepEqual(Object.keys(A.kernelArgs).sort(), KERNEL_NAMES.slice().sort());
  });

  it("refuses short arrays, wrong array types, bad sizes and overflowing size products", () => {
    rejects(() => A.matmul(f(5), f(9), f(6), 2, 3, 3, false, false, false), RangeError, /matmul: a has 5 elements, needs 6/);
    rejects(() => A.matmul(f(6), f(9), f(5), 2, 3, 3, false, false, false), RangeError, /matmul: c has 5/);
    rejects(() => A.matmul(new Float64Array(6) as unknown as Float32Array, f(9), f(6), 2, 3, 3, false, false, false), TypeError, /matmul: a must be a Float32Array/);
    rejects(() => A.matmul(f(6), f(9), f(6), -1, 3, 3, false, false, false), RangeError, /matmul: m must be a non-negative integer/);
    rejects(() => A.matmul(f(6), f(9), f(6), 2 ** 40, 2, 2 ** 40, false, false, false), RangeError, /matmul: a: size product too large/);
    rejects(() => (A.matmul as (...a: unknown[]) => void)(f(6), f(9)), TypeError, /matmul: expected 9 arguments/);
    rejects(() => A.geluBackward(f(4), f(4), f(3), 4), RangeError, /geluBackward: dx has 3/);
    rejects(() => A.adamw(f(3), f(3), f(3), f(2), 3, ADAM), RangeError, /adamw: v has 2/);
  });

  it("refuses out-of-range indices and labels, bad rotDim, short attention arrays", () => {
    rejects(() => A.gatherRows(f(8), new Int32Array([0, 4]), f(4), 2, 2), RangeError, /gatherRows: index\[1\] = 4 out of range \[0, 4\)/);
    rejects(() => A.scatterAddRows(f(4), new Int32Array([-1, 0]), f(8), 2, 2), RangeError, /scatterAddRows: index\[0\] = -1/);
    rejects(() => A.crossEntropyForward(f(6), new Int32Array([1, 3]), f(2), f(2), 2, 3, -100), RangeError, /crossEntropyForward: labels\[1\] = 3/);
    rejects(() => A.crossEntropyBackward(f(6), new Int32Array([5, 0]), f(2), f(6), 2, 3, -100, 1), RangeError, /crossEntropyBackward: labels\[0\] = 5/);
    rejects(() => A.rotaryForward(f(8), f(6), f(6), f(8), 2, 1, 4, 3), RangeError, /rotaryForward: rotDim must be even/);
    rejects(() => A.rotaryBackward(f(8), f(12), f(12), f(8), 2, 1, 4, 6), RangeError, /rotaryBackward: rotDim must be even/);
    const s: AttentionShape = { batch: 2, heads: 1, queries: 3, keys: 4, headDim: 2, causalOffset: 1, scale: 0.5 };
    rejects(() => A.attentionForward(s, f(12), f(16), f(16), new Uint8Array(7), f(12), f(6)), RangeError, /attentionForward: keyPad has 7/);
    rejects(() => A.attentionForward(s, f(12), f(16), f(15), null, f(12), f(6)), RangeError, /attentionForward: v has 15/);
    rejects(() => A.attentionBackward(s, f(12), f(16), f(16), null, f(12), f(12), f(5), f(12), f(16), f(16)), RangeError, /attentionBackward: lse has 5/);
    rejects(() => A.attentionForward({ ...s, keys: -4 }, f(12), f(16), f(16), null, f(12), f(6)), RangeError, /attentionForward: s.keys must be a non-negative integer/);
    rejects(() => A.attentionForward(null as unknown as AttentionShape, f(12), f(16), f(16), null, f(12), f(6)), TypeError, /attentionForward: s must be an object/);
  });
});
