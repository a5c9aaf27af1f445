// Tests for src/data/copy-examples.ts: random_mirrored layout, EOS placement, scored mask, dataset
// determinism and state restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CopyTaskDataset,
  makeCopyExample,
  copyLayout,
  COPY_EOS_ID,
  COPY_PAD_ID,
  COPY_SYMBOL_OFFSET,
  COPY_VOCAB_SIZE,
} from "../src/data/copy-examples.js";
import { IGNORE_INDEX } from "../src/util/ignore-index.js";
import { Rng } from "../src/util/rng.js";

test("copy example: layout, mirrored second half, EOS last", () => {
  const rng = new Rng(5);
  for (const C of [2, 3, 4, 7, 16, 33, 256, 1025]) {
    const ex = makeCopyExample(rng, C);
    const L = Math.floor(C / 2);
    const P = C % 2;
    assert.equal(ex.tokens.length, C + 1);
    assert.equal(ex.inputs.length, C);
    assert.equal(ex.labels.length, C);
    assert.equal(ex.halfLength, L);
    assert.equal(ex.padLength, P);
    assert.equal(ex.mirrorStart, P + L);
    if (P === 1) assert.equal(ex.tokens[0], COPY_PAD_ID);
    const first = Array.from(ex.tokens.subarray(P, P + L));
    const second = Array.from(ex.tokens.subarray(P + L, P + 2 * L));
    assert.deepEqual(second, first.slice().reverse());
    for (const id of first) assert.ok(id >= COPY_SYMBOL_OFFSET && id < COPY_VOCAB_SIZE);
    // EOS exactly once, at the end
    assert.equal(ex.tokens[C], COPY_EOS_ID);
    assert.equal(ex.tokens.indexOf(COPY_EOS_ID), C);
    // inputs/labels are the shifted views
    assert.deepEqual(Array.from(ex.inputs), Array.from(ex.tokens.subarray(0, C)));
    assert.deepEqual(Array.from(ex.labels), Array.from(ex.tokens.subarray(1)));
    // scored mask covers exactly the label positions whose targets are the mirrored half
    const scored: number[] = [];
    ex.scoredMask.forEach((m, j) => m && scored.push(j));
    assert.equal(scored.length, L);
    assert.deepEqual(scored, Array.from({ length: L }, (_, k) => P + L - 1 + k));
    assert.deepEqual(scored.map((j) => ex.labels[j]), second);
  }
});

test("copy example: layout helper and errors", () => {
  assert.deepEqual(copyLayout(8), { halfLength: 4, padLength: 0, mirrorStart: 4, eosIndex: 8 });
  assert.deepEqual(copyLayout(9), { halfLength: 4, padLength: 1, mirrorStart: 5, eosIndex: 9 });
  assert.throws(() => makeCopyExample(new Rng(0), 1), /contextLength must be an integer in \[2, \d+\], got 1/);
  assert.throws(() => new CopyTaskDataset({ contextLength: 2.5 }), /contextLength/);
  assert.throws(() => new CopyTaskDataset({ contextLength: 8 }).sample(0), /batch must be an integer in \[1, \d+\], got 0/);
});

test("copy dataset: labels masked outside the mirrored half by default", () => {
  const C = 11;
  const ds = new CopyTaskDataset({ contextLength: C, seed: 1 });
  assert.equal(ds.scoreOnlyMirrored, true);
  const b = ds.sample(6);
  assert.equal(b.inputs.length, 6 * C);
  assert.equal(b.labels.length, 6 * C);
  assert.equal(b.scoredMask.length, 6 * C);
  const { halfLength: L, mirrorStart } = copyLayout(C);
  for (let r = 0; r < 6; r++) {
    const inp = Array.from(b.inputs.subarray(r * C, (r + 1) * C));
    for (let j = 0; j < C; j++) {
      const lab = b.labels[r * C + j]!;
      const scored = j >= mirrorStart - 1 && j < mirrorStart - 1 + L;
      assert.equal(b.scoredMask[r * C + j], scored ? 1 : 0);
      if (!scored) assert.equal(lab, IGNORE_INDEX);
      else if (j + 1 < C) assert.equal(lab, inp[j + 1]); // shifted inputs
    }
    // mirrored labels reverse the first half of the inputs
    const firstHalf = inp.slice(C - 2 * L, C - L);
    const mirrored = Array.from(b.labels.subarray(r * C + mirrorStart - 1, r * C + mirrorStart - 1 + L));
    assert.deepEqual(mirrored, firstHalf.reverse());
  }
  const full = new CopyTaskDataset({ contextLength: C, seed: 1, scoreOnlyMirrored: false }).sample(6);
  assert.deepEqual(full.inputs, b.inputs);
  assert.ok(!full.labels.includes(IGNORE_INDEX));
  assert.equal(full.labels[C - 1], COPY_EOS_ID);
});

test("copy dataset: deterministic for a seed; state save/restore", () => {
  const a = new CopyTaskDataset({ contextLength: 32, seed: 9 });
  const b = new CopyTaskDataset({ contextLength: 32, seed: 9 });
  assert.deepEqual(a.sample(3), b.sample(3));
  const st = JSON.parse(JSON.stringify(a.getState()));
  const next = a.sample(4);
  const c = new CopyTaskDataset({ contextLength: 32, seed: 0 });
  c.setState(st);
  assert.deepEqual(c.sample(4), next);
  assert.notDeepEqual(new CopyTaskDataset({ contextLength: 32, seed: 10 }).sample(1).inputs, new CopyTaskDataset({ contextLength: 32, seed: 9 }).sample(1).inputs);
});
