// Every autograd op's backward against finite differences, on random inputs of several shapes
// (odd sizes and size-1 dimensions included), on the reference backend; the rows op also on the
// native backend, value for value against the reference.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Graph, Var } from "../src/autograd.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { add } from "../src/ops/add.js";
import { attention } from "../src/ops/attention.js";
import { concatSeq } from "../src/ops/concat.js";
import { crossEntropy } from "../src/ops/cross-entropy.js";
import { gatherRows } from "../src/ops/gather-rows.js";
import { gelu } from "../src/ops/gelu.js";
import { layerNorm } from "../src/ops/layer-norm.js";
import { linear } from "../src/ops/linear.js";
import { rotary } from "../src/ops/rotary.js";
import { lastRows, rows } from "../src/ops/rows.js";
import { loadNativeBackend } from "../src/backend/native/index.js";
import type { Backend } from "../src/backend/backend.js";
import { rotaryAngles, rotaryInverseFrequencies } from "../src/nn/rotary-angles.js";
import { Tensor } from "../src/tensor.js";
import { gradCheck, randn, type OpBuilder } from "./helpers/gradcheck.js";

const TOL = 2e-3;
const be = referenceBackend;

function t(shape: number[], seed: number, scale = 1): Tensor {
  return new Tensor(shape, randn(shape.reduce((a, b) => a * b, 1), seed, scale));
}

function check(name: string, build: OpBuilder, inputs: Tensor[]): void {
  const { errors } = gradCheck(be, build, inputs);
  errors.forEach((e, i) => assert.ok(e < TOL, `${name}: input ${i} gradient error ${e.toExponential(2)} >= ${TOL}`));
}

describe("finite-difference gradients", () => {
  it("linear with and without bias", () => {
    for (const [rows, inF, outF] of [[1, 1, 1], [3, 5, 7], [2, 8, 3], [5, 3, 1]]) {
      check(`linear ${rows}x${inF}->${outF}`, (g, [x, w, b]) => linear(g, x, w, b), [t([rows, inF], 1), t([outF, inF], 2), t([outF], 3)]);
      check(`linear nobias ${rows}x${inF}->${outF}`, (g, [x, w]) => linear(g, x, w), [t([1, rows, inF], 4), t([outF, inF], 5)]);
    }
  });

  it("layer norm", () => {
    for (const [rows, cols] of [[1, 2], [3, 5], [4, 16], [2, 33]]) {
      check(`layerNorm ${rows}x${cols}`, (g, [x, w, b]) => layerNorm(g, x, w, b), [t([rows, cols], 6, 2), t([cols], 7), t([cols], 8)]);
    }
  });

  it("gelu", () => {
    for (const n of [1, 7, 40]) check(`gelu ${n}`, (g, [x]) => gelu(g, x), [t([n], 9, 2)]);
  });

  it("residual add", () => {
    check("add", (g, [a, b]) => add(g, a, b), [t([3, 5], 10), t([3, 5], 11)]);
    check("add same input twice", (g, [a]) => add(g, a, a), [t([4], 12)]);
  });

  it("embedding gather (repeated indices scatter-add)", () => {
    const ids = Int32Array.from([0, 3, 3, 1, 4, 0, 2]);
    check("gather", (g, [table]) => gatherRows(g, table, ids, [ids.length]), [t([5, 3], 13)]);
    check("gather (B,N)", (g, [table]) => gatherRows(g, table, Int32Array.from([1, 1, 0, 2]), [2, 2]), [t([3, 1], 14)]);
  });

  it("sequence concat", () => {
    check("concat", (g, [a, b]) => concatSeq(g, a, b), [t([2, 3, 4], 15), t([2, 1, 4], 16)]);
  });

  it("rows: a slice of sequence positions, on every backend and equal to the reference", () => {
    const native = loadNativeBackend();
    const backends: Backend[] = native === null ? [be] : [be, native];
    const cases: Array<[number, number, number, number, number]> = [[1, 5, 3, 0, 5], [2, 7, 4, 3, 4], [3, 6, 1, 0, 2], [2, 5, 3, 4, 1], [1, 1, 2, 0, 1]];
    for (const [B, T, C, start, count] of cases) {
      const x = t([B, T, C], 40 + T);
      const outs = backends.map((backend) => {
        const { errors } = gradCheck(backend, (g, [v]) => rows(g, v, start, count), [x]);
        assert.ok(errors[0] < TOL, `rows ${B}x${T}x${C} [${start}, +${count}) on ${backend.name}: gradient error ${errors[0]}`);
        // Forward and backward once more, to compare the backends value for value.
        const v = new Var(x.clone(), true);
        const g = new Graph(backend, true);
        const y = rows(g, v, start, count);
        y.grad.set(randn(y.value.size, 3));
        g.backward(y, false);
        return { y: y.data.slice(), dx: v.grad.slice() };
      });
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < count; i++) {
          for (let c = 0; c < C; c++) assert.equal(outs[0].y[(b * count + i) * C + c], x.data[(b * T + start + i) * C + c], "y = x[:, start : start + count]");
        }
      }
      for (const o of outs.slice(1)) {
        assert.deepEqual(o.y, outs[0].y, "forward equals the reference backend's");
        assert.deepEqual(o.dx, outs[0].dx, "backward equals the reference backend's");
      }
    }
  });

  it("rotary on the first r channels of each head", () => {
    for (const [rows, heads, headDim, rot] of [[1, 1, 2, 2], [3, 2, 6, 4], [5, 3, 8, 8], [2, 1, 7, 2]]) {
      const pos = Array.from({ length: rows }, (_, i) => i * 3 + 1);
      const angles = rotaryAngles(pos, rotaryInverseFrequencies(rot));
      check(`rotary r=${rot} of ${headDim}`, (g, [x]) => rotary(g, x, angles, heads), [t([1, rows, heads * headDim], 17)]);
    }
  });

  it("attention: causal offset, padding, non-causal", () => {
    const cases: Array<{ B: number; Tq: number; Tk: number; H: number; D: number; off: number | null; pad?: number[] }> = [
      { B: 1, Tq: 1, Tk: 1, H: 1, D: 1, off: 0 },
      { B: 2, Tq: 3, Tk: 5, H: 2, D: 3, off: 2 },
      { B: 1, Tq: 4, Tk: 4, H: 3, D: 2, off: 0 },
      { B: 2, Tq: 3, Tk: 6, H: 1, D: 5, off: 3, pad: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
      { B: 1, Tq: 2, Tk: 7, H: 2, D: 4, off: null, pad: [0, 1, 0, 0, 1, 0, 0] },
      // batch 0's padding covers every key its first two queries see: uniform rows (mean of all values)
      { B: 2, Tq: 4, Tk: 6, H: 2, D: 3, off: 2, pad: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0] },
    ];
    for (const c of cases) {
      const keyPad = c.pad ? Uint8Array.from(c.pad) : null;
      const W = c.H * c.D;
      check(
        `attention ${JSON.stringify(c)}`,
        (g, [q, k, v]) => attention(g, q, k, v, { heads: c.H, causalOffset: c.off, keyPad }),
        [t([c.B, c.Tq, W], 18), t([c.B, c.Tk, W], 19), t([c.B, c.Tk, W], 20)],
      );
    }
  });

  it("attention with one input as q, k and v (its gradients are summed, not aliased)", () => {
    check("attention(x, x, x)", (g, [x]) => attention(g, x, x, x, { heads: 2, causalOffset: 0 }), [t([2, 5, 6], 27)]);
    check("attention(q, x, x)", (g, [q, x]) => attention(g, q, x, x, { heads: 1, causalOffset: 1 }), [t([1, 3, 4], 28), t([1, 4, 4], 29)]);
  });

  it("cross-entropy with ignore index", () => {
    const labels = Int32Array.from([2, -100, 0, 4, 4]);
    check("crossEntropy", (g, [x]) => crossEntropy(g, x, labels).loss, [t([5, 5], 21, 2)]);
  });

  it("a composed block (LN -> linear -> gelu -> linear + residual)", () => {
    const build: OpBuilder = (g, [x, w1, w2, gam, bet]: Var[]) =>
      add(g, x, linear(g, gelu(g, linear(g, layerNorm(g, x, gam, bet), w1)), w2));
    check("block", build, [t([3, 4], 22), t([8, 4], 23), t([4, 8], 24), t([4], 25), t([4], 26)]);
  });
});

describe("op input validation: shapes at the op, value ranges once at the backend boundary", () => {
  const g = () => new Graph(be, true);
  const v = (shape: number[]) => new Var(new Tensor(shape), true);
  it("linear: feature mismatch names the shapes", () => {
    assert.throws(() => linear(g(), v([2, 3]), v([4, 5])), /does not end in 5 features/);
  });
  it("gatherRows: index outside the table", () => {
    assert.throws(() => gatherRows(g(), v([3, 2]), Int32Array.from([0, 3]), [2]), /^RangeError: gatherRows: index\[1\] = 3 is out of range \[0, 3\)/);
  });
  it("crossEntropy: label outside the vocabulary", () => {
    assert.throws(() => crossEntropy(g(), v([2, 4]), Int32Array.from([1, 4])), /^RangeError: crossEntropyForward: labels\[1\] = 4 is out of range \[0, 4\)/);
  });
  it("attention: key padding mask of the wrong length", () => {
    assert.throws(() => attention(g(), v([1, 2, 4]), v([1, 3, 4]), v([1, 3, 4]), { heads: 2, causalOffset: 1, keyPad: new Uint8Array(2) }), /keyPad has 2 entries, expected 3/);
  });
  it("rows: range and rank checks; lastRows", () => {
    assert.throws(() => rows(g(), v([2, 5, 3]), 3, 3), /rows: count 3 must be an integer in \[0, 2\] \(start 3 of 5 rows\)/);
    assert.throws(() => rows(g(), v([2, 5, 3]), -1, 1), /rows: start -1 must be an integer in \[0, 5\]/);
    assert.throws(() => rows(g(), v([2, 5, 3]), 1.5, 1), /rows: start 1.5/);
    assert.throws(() => rows(g(), v([5, 3]), 0, 1), /rows: input must be \(batch, seq, channels\)/);
    assert.deepEqual(rows(g(), v([2, 5, 3]), 5, 0).shape, [2, 0, 3]);
    const x = v([2, 5, 3]);
    assert.equal(lastRows(g(), x, 5), x, "all rows: the input itself");
    assert.deepEqual(lastRows(g(), x, 2).shape, [2, 2, 3]);
  });
  it("rotary: rotDim above the head size", () => {
    const angles = { cos: new Float32Array(12), sin: new Float32Array(12), rotDim: 6 };
    assert.throws(() => rotary(g(), v([1, 2, 8]), angles, 2), /^RangeError: rotaryForward: rotDim must be even and <= headDim \(4\), got 6/);
  });
  it("layerNorm: channel mismatch", () => {
    assert.throws(() => layerNorm(g(), v([2, 3]), v([4]), v([4])), /does not match 4 channels/);
  });
});
