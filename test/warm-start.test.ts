// Tests for src/models/warm-start.ts (context curriculum).

import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../src/backend/reference/index.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { remapPositionTable, rotateQueryRows, warmStart, WarmStartError } from "../src/models/warm-start.js";
import { CROSS_ATTENTION, POSITION_EMBEDDING } from "../src/nn/parameter-names.js";
import { Graph, Var } from "../src/autograd.js";
import { linear } from "../src/ops/linear.js";
import { rotary } from "../src/ops/rotary.js";
import { rotaryAngles, rotaryInverseFrequencies } from "../src/nn/rotary-angles.js";
import { Tensor } from "../src/tensor.js";

const SMALL = { vocabSize: 20, maxSeqLen: 24, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, absPosEmb: true };

test("remapPositionTable: prefix rows from the start, latent rows at the end, the rest untouched", () => {
  const C = 2;
  const from = Float32Array.from({ length: 6 * C }, (_, i) => 100 + i); // (6, 2): rows 0..5
  const grown = new Float32Array(10 * C).fill(-1); // (10, 2)
  remapPositionTable(from, 6, grown, 10, 2, C);
  // prefix rows 0..3 -> 0..3; latent rows 4, 5 -> 8, 9; rows 4..7 keep -1.
  assert.deepEqual([...grown], [100, 101, 102, 103, 104, 105, 106, 107, -1, -1, -1, -1, -1, -1, -1, -1, 108, 109, 110, 111]);
  const shrunk = new Float32Array(4 * C).fill(-1); // (4, 2): prefix rows 0..1, latents 2..3
  remapPositionTable(from, 6, shrunk, 4, 2, C);
  assert.deepEqual([...shrunk], [100, 101, 102, 103, 108, 109, 110, 111]);
  assert.throws(() => remapPositionTable(from, 5, grown, 10, 2, C), /position tables must be \(5, 2\)/);
});

test("warmStart: same context reproduces the source's logits exactly", () => {
  const source = new PerceiverAR(SMALL, referenceBackend, { seed: 3 });
  const target = new PerceiverAR(SMALL, referenceBackend, { seed: 9 });
  const ids = [[...Array(24).keys()].map((i) => (i * 7) % 20)];
  assert.notDeepEqual([...target.forward(ids).data], [...source.forward(ids).data]);
  warmStart(target, source);
  assert.deepEqual([...target.forward(ids).data], [...source.forward(ids).data]);
});

test("warmStart: a longer context copies every parameter, re-maps the position rows and rotates the cross-attention queries", () => {
  const source = new PerceiverAR(SMALL, referenceBackend, { seed: 3 });
  const target = new PerceiverAR({ ...SMALL, maxSeqLen: 40 }, referenceBackend, { seed: 9 });
  const freshTable = Float32Array.from(target.parameters.get(POSITION_EMBEDDING)!.data);
  warmStart(target, source);
  const C = SMALL.numChannels;
  for (const [name, v] of target.parameters) {
    const s = source.parameters.get(name)!.data;
    if (name === CROSS_ATTENTION.attention.q) {
      const expected = Float32Array.from(s);
      rotateQueryRows(expected, C, 2, 4, rotaryInverseFrequencies(4), -16); // head size 8, half rotated; latents moved by 16
      assert.deepEqual(v.data, expected, name);
      continue;
    }
    if (name !== POSITION_EMBEDDING) {
      assert.deepEqual(v.data, s, name);
      continue;
    }
    assert.deepEqual(v.data.subarray(0, 20 * C), s.subarray(0, 20 * C), "prefix rows 0..19");
    assert.deepEqual(v.data.subarray(36 * C), s.subarray(20 * C), "latent rows move from 20..23 to 36..39");
    assert.deepEqual(v.data.subarray(20 * C, 36 * C), freshTable.subarray(20 * C, 36 * C), "new rows keep their initialisation");
  }
});

test("warmStart refuses configs that differ in anything but max_seq_len, naming the fields", () => {
  const source = new PerceiverAR(SMALL, referenceBackend);
  const target = new PerceiverAR({ ...SMALL, numHeads: 4, maxLatents: 8 }, referenceBackend);
  assert.throws(() => warmStart(target, source), (e: unknown) => e instanceof WarmStartError && /maxLatents \(source 4, target 8\), numHeads \(source 2, target 4\)/.test(e.message));
  const dropout = new PerceiverAR({ ...SMALL, crossAttentionDropout: 0.1 }, referenceBackend);
  assert.doesNotThrow(() => warmStart(dropout, source));
});

test("rotateQueryRows: a query at position p + shift scores every key like the original query at p", () => {
  const C = 12;
  const heads = 2;
  const rotDim = 4; // of head size 6: channels 4, 5 of each head are not rotated
  const invFreq = rotaryInverseFrequencies(rotDim);
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + n) * 0.7);
  const x = rnd(C); // one query input (1, C)
  const keys = rnd(5 * C); // five already-projected keys (5, C) at positions 0..4
  const w = rnd(C * C);
  const scores = (weight: Float32Array, p: number): number[] => {
    const g = new Graph(referenceBackend, false);
    const q = rotary(g, linear(g, new Var(new Tensor([1, C], x)), new Var(new Tensor([C, C], weight))), rotaryAngles([p], invFreq), heads).data;
    const k = rotary(g, new Var(new Tensor([5, C], keys)), rotaryAngles([0, 1, 2, 3, 4], invFreq), heads).data;
    return [0, 1, 2, 3, 4].map((j) => q.reduce((acc, qc, c) => acc + qc * k[j * C + c], 0));
  };
  const moved = Float32Array.from(w);
  rotateQueryRows(moved, C, heads, rotDim, invFreq, -1000); // the query moves from 7 to 1007
  const before = scores(w, 7);
  const after = scores(moved, 1007);
  const unrotated = scores(w, 1007);
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(after[j] - before[j]) < 1e-4, `key ${j}: ${after[j]} vs ${before[j]}`);
  assert.ok(unrotated.some((v, j) => Math.abs(v - before[j]) > 1e-2), "without the rotation the scores change");
});
