// Model inputs are checked entry by entry, never coerced (issue 11 item 11): ids, labels and pad
// masks in nested arrays that are not integers in range (NaN, null, 3.7, "7", 2^32 + 5, which an
// Int32Array store turns into 0, 0, 3, 7, 5) are refused with a RangeError naming the argument,
// the row and column and the allowed values; so are pad masks other than 0/1 (nested or
// Uint8Array) and labels outside [0, vocab) other than the ignore index. PerceiverAR and
// TransformerXL share the checks (src/models/token-batch.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { TransformerXL } from "../src/models/transformer-xl.js";

const V = 10;
const model = new PerceiverAR({ vocabSize: V, maxSeqLen: 6, maxLatents: 3, numChannels: 8, numHeads: 2, numSelfAttentionLayers: 1 }, referenceBackend, { seed: 1 });
const xl = new TransformerXL({ vocabSize: V, numChannels: 8, numHeads: 2, numLayers: 1, segmentLen: 4, memLen: 4 }, referenceBackend, { seed: 1 });
const IDS = [
  [1, 2, 3, 4, 5, 6],
  [0, 0, 7, 8, 9, 1],
];
const LABELS = [
  [4, 5, 6],
  [9, 1, -100],
];

/** `rows` with entry [b][n] replaced by `value`. */
function withEntry(rows: unknown[][], b: number, n: number, value: unknown): number[][] {
  const out = rows.map((r) => [...r]);
  out[b][n] = value;
  return out as number[][];
}

/** How each bad value is shown in the message. */
const NOT_INTEGERS: Array<[unknown, string]> = [
  [NaN, "NaN"],
  [null, "null"],
  [undefined, "undefined"],
  [3.7, "3.7"],
  ["7", '"7"'],
  [true, "true"],
  [Infinity, "Infinity"],
];

describe("PerceiverAR refuses malformed ids, labels and pad masks", () => {
  it("ids: non-integers and integers outside the vocabulary, naming row, column and range", () => {
    for (const [bad, shown] of NOT_INTEGERS) {
      assert.throws(() => model.forward(withEntry(IDS, 1, 4, bad)), { name: "RangeError", message: `ids[1][4] = ${shown} is not an integer in the vocabulary [0, 10)` }, shown);
    }
    for (const bad of [2 ** 32 + 5, 2 ** 31, -1, 10, -(2 ** 32) + 3]) {
      assert.throws(() => model.forward(withEntry(IDS, 0, 2, bad)), { name: "RangeError", message: `ids[0][2] = ${bad} is outside the vocabulary [0, 10)` }, String(bad));
    }
    // The same checks on the loss paths.
    assert.throws(() => model.loss(withEntry(IDS, 0, 0, 3.7), LABELS), /ids\[0\]\[0\] = 3.7 is not an integer/);
    assert.throws(() => model.lossAndGrad(withEntry(IDS, 0, 0, "7"), LABELS), /ids\[0\]\[0\] = "7" is not an integer/);
  });

  it("labels: NaN and the like, and values outside [0, vocab) other than the ignore index -100", () => {
    const range = "the vocabulary [0, 10) or the ignore index -100";
    for (const [bad, shown] of [...NOT_INTEGERS, [-100.5, "-100.5"]] as Array<[unknown, string]>) {
      for (const run of [() => model.lossAndGrad(IDS, withEntry(LABELS, 1, 1, bad)), () => model.loss(IDS, withEntry(LABELS, 1, 1, bad))]) {
        assert.throws(run, { name: "RangeError", message: `labels[1][1] = ${shown} is not an integer in ${range}` }, shown);
      }
    }
    for (const bad of [10, -1, -101, 2 ** 32 + 5, 2 ** 32 - 100]) {
      assert.throws(() => model.lossAndGrad(IDS, withEntry(LABELS, 0, 2, bad)), { name: "RangeError", message: `labels[0][2] = ${bad} is outside ${range}` }, String(bad));
    }
    // Int32Array labels: the row and column are named too.
    const flat = Int32Array.from(LABELS.flat());
    flat[4] = 12;
    assert.throws(() => model.loss(IDS, { data: flat, shape: [2, 3] }), { name: "RangeError", message: `labels[1][1] = 12 is outside ${range}` });
    assert.throws(() => model.loss(IDS, [[1, 2], [3, 4]]), /labels must have shape \(batch 2, latents 3\), got \(2, 2\)/);
    // Valid labels, the ignore index included, still work.
    assert.ok(Number.isFinite(model.loss(IDS, LABELS).loss));
  });

  it("pad masks: only 0 and 1, nested or as a Uint8Array", () => {
    const pad = [
      [0, 0, 0, 0, 0, 0],
      [1, 1, 0, 0, 0, 0],
    ];
    const range = "{0, 1} (1 = padding)";
    for (const [bad, shown] of NOT_INTEGERS) {
      assert.throws(() => model.forward(IDS, { padMask: withEntry(pad, 1, 1, bad) }), { name: "RangeError", message: `padMask[1][1] = ${shown} is not an integer in ${range}` }, shown);
    }
    for (const bad of [2, 257, -1, 256]) {
      assert.throws(() => model.forward(IDS, { padMask: withEntry(pad, 0, 3, bad) }), { name: "RangeError", message: `padMask[0][3] = ${bad} is outside ${range}` }, String(bad));
    }
    const u8 = Uint8Array.from(pad.flat());
    u8[7] = 2;
    assert.throws(() => model.forward(IDS, { padMask: u8 }), { name: "RangeError", message: `padMask[1][1] = 2 is outside ${range}` });
    assert.throws(() => model.forward(IDS, { padMask: new Uint8Array(5) }), /padMask must have shape \(batch 2, seqLen 6\), got 5 values/);
    assert.throws(() => model.forward(IDS, { padMask: [[0, 0, 0, 0, 0, 0]] }), /padMask must have shape \(batch 2, seqLen 6\), got \(1, 6\)/);
    // A valid mask is still accepted in both forms, with the same result.
    assert.deepEqual(model.forward(IDS, { padMask: pad }).data, model.forward(IDS, { padMask: Uint8Array.from(pad.flat()) }).data);
  });
});

describe("TransformerXL refuses malformed ids and labels", () => {
  it("ids and labels of a segment", () => {
    const ids = [[1, 2, 3, 4]];
    const labels = [[2, 3, 4, -100]];
    assert.throws(() => xl.forward([[1, NaN, 3, 4]]), { name: "RangeError", message: "ids[0][1] = NaN is not an integer in the vocabulary [0, 10)" });
    assert.throws(() => xl.forward([[1, 2, 2 ** 32 + 5, 4]]), { name: "RangeError", message: `ids[0][2] = ${2 ** 32 + 5} is outside the vocabulary [0, 10)` });
    assert.throws(() => xl.loss(ids, [[2, 3.7, 4, 5]]), { name: "RangeError", message: "labels[0][1] = 3.7 is not an integer in the vocabulary [0, 10) or the ignore index -100" });
    assert.throws(() => xl.lossAndGrad(ids, [[2, 3, 4, NaN]]), /labels\[0\]\[3\] = NaN is not an integer/);
    assert.throws(() => xl.loss(ids, [[2, 3, 4, 10]]), /labels\[0\]\[3\] = 10 is outside the vocabulary \[0, 10\) or the ignore index -100/);
    assert.ok(Number.isFinite(xl.loss(ids, labels).loss));
  });
});
