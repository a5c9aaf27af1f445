// Config parsing and validation, the parameter count formula, and model input validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { makeConfig, toReferenceConfig } from "../src/models/config.js";
import { countParameters } from "../src/models/memory.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { loadGolden } from "./helpers/golden.js";

describe("config", () => {
  it("accepts the reference's snake_case config.json and round-trips it", () => {
    const g = loadGolden("abs");
    const c = makeConfig(g.config);
    assert.equal(c.numChannels, 48);
    assert.equal(c.numSelfAttentionRotaryLayers, 1);
    assert.equal(c.selfAttentionWideningFactor, 4); // reference default
    assert.deepEqual(makeConfig(toReferenceConfig(c)), c);
  });

  it("rejects impossible configs naming the field and range", () => {
    assert.throws(() => makeConfig({ num_channels: 30, num_heads: 4 }), /numHeads \(num_heads\) = 4 must divide numChannels \(num_channels\) = 30/);
    assert.throws(() => makeConfig({ max_seq_len: 8, max_latents: 9 }), /maxLatents \(max_latents\) must be an integer in \[1, 8\]/);
    assert.throws(() => makeConfig({ cross_attention_dropout: 1 }), /cross_attention_dropout\) must be in \[0, 1\)/);
    assert.throws(() => makeConfig({ num_self_attention_rotary_layers: 9, num_self_attention_layers: 2 }), /must be an integer in \[-1, 2\]/);
    assert.throws(() => makeConfig({ vocabsize: 3 }), /unknown config field\(s\): vocabsize/);
  });

  it("countParameters matches the model for several layouts", () => {
    for (const cfg of [
      { vocab_size: 10, max_seq_len: 12, max_latents: 4, num_channels: 8, num_heads: 2, num_self_attention_layers: 1 },
      { vocab_size: 7, max_seq_len: 9, max_latents: 9, num_channels: 12, num_heads: 3, num_self_attention_layers: 3, abs_pos_emb: false, output_norm: true, output_bias: false },
    ]) {
      const m = new PerceiverAR(cfg, referenceBackend);
      assert.equal(countParameters(m.config), m.numParameters);
    }
  });
});

describe("model input validation", () => {
  const m = new PerceiverAR({ vocab_size: 10, max_seq_len: 12, max_latents: 4, num_channels: 8, num_heads: 2, num_self_attention_layers: 1 }, referenceBackend);
  it("ids outside the vocabulary", () => {
    assert.throws(() => m.forward([[1, 2, 10]]), /ids\[0\]\[2\] = 10 is outside the vocabulary \[0, 10\)/);
  });
  it("sequence longer than max_seq_len", () => {
    assert.throws(() => m.forward([new Array(13).fill(1)]), /sequence length 13 exceeds max_seq_len 12/);
  });
  it("prefix length out of range", () => {
    assert.throws(() => m.forward([new Array(10).fill(1)], { prefixLen: 2 }), /prefixLen 2 is out of range for sequence length 10: allowed \[6, 8\]/);
    assert.throws(() => m.forward([[1, 2, 3]], { prefixLen: 3 }), /allowed \[0, 2\]/);
  });
  it("padding on the right is rejected", () => {
    assert.throws(() => m.forward([[1, 2, 3]], { padMask: [[0, 0, 1]] }), /padding must be on the left/);
  });
  it("ragged batches are rejected", () => {
    assert.throws(() => m.forward([[1, 2, 3], [1, 2]]), /row 1 has 2/);
  });
  it("cross-attention dropout keeps exactly P - floor(P·p) prefix positions and changes the output", () => {
    const md = new PerceiverAR({ vocab_size: 10, max_seq_len: 12, max_latents: 4, num_channels: 8, num_heads: 2, num_self_attention_layers: 1, cross_attention_dropout: 0.5 }, referenceBackend);
    const ids = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3]];
    const a = md.forward(ids, { prefixLen: 8 });
    let calls = 0;
    const b = md.forward(ids, { prefixLen: 8, training: true, random: () => ((calls++ * 0.37) % 1) });
    assert.equal(calls, 4); // partial Fisher-Yates draws one number per kept position: 8 - floor(8·0.5)
    assert.ok(a.data.some((x, i) => Math.abs(x - b.data[i]) > 1e-6));
  });
});
