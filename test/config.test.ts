// Config parsing and validation, the parameter count formula, and model input validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { ConfigError, makeConfig, toReferenceConfig } from "../src/models/config.js";
import { hubConfigJson, parseConfigJson } from "../src/models/config-file.js";
import { assertModelFits, countParameters } from "../src/models/memory.js";
import { PRESETS } from "../src/models/presets.js";
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

describe("config.json layouts, bounds and memory", () => {
  it("reads the hub layout as save_pretrained writes it; other hub keys are listed as ignored", () => {
    const g = loadGolden("hf-bin");
    const p = parseConfigJson(g.config);
    assert.equal(p.config.numChannels, 32);
    assert.equal(p.hub?.modelType, "perceiver-ar-causal-language-model");
    assert.deepEqual(p.hub?.architectures, ["PerceiverCausalLanguageModel"]);
    assert.deepEqual(p.ignoredKeys, []);
    const extra = parseConfigJson({ ...g.config, _name_or_path: "x", use_cache: true, bos_token_id: 1 });
    assert.deepEqual(extra.ignoredKeys, ["_name_or_path", "use_cache", "bos_token_id"]);
    assert.deepEqual(extra.config, p.config);
    assert.throws(() => parseConfigJson({ ...g.config, model_type: "gpt2" }), /a "gpt2" model, not Perceiver AR/);
    // An unknown field inside model_config could change the architecture: refused.
    assert.throws(() => parseConfigJson({ ...g.config, model_config: { ...(g.config.model_config as object), num_experts: 8 } }), /unknown config field\(s\): num_experts/);
  });

  it("writes the hub layout back: every CausalSequenceModelConfig field, reference-only fields kept", () => {
    const c = makeConfig(PRESETS["sam-giant-midi"]!.model);
    const json = hubConfigJson(c, { modelType: "perceiver-ar-symbolic-audio-model", referenceFields: PRESETS["sam-giant-midi"]!.reference! });
    assert.deepEqual(json.architectures, ["PerceiverSymbolicAudioModel"]);
    const mc = json.model_config as Record<string, unknown>;
    assert.deepEqual(Object.keys(mc), [...Object.keys(mc)].sort());
    assert.equal(Object.keys(mc).length, 19);
    assert.equal(mc.residual_dropout, 0.1);
    assert.equal(mc.max_heads_parallel, null);
    assert.deepEqual(parseConfigJson(json).config, c);
  });

  it("refuses Object.prototype names and the same field given twice", () => {
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const raw = JSON.parse(`{"vocab_size": 10, "${key}": 5}`);
      assert.throws(() => makeConfig(raw), (e: unknown) => e instanceof ConfigError && e.message.includes(`unknown config field(s): ${key}`), key);
      assert.throws(() => makeConfig({ model_config: raw }), ConfigError, key);
    }
    assert.throws(() => makeConfig({ vocab_size: 10, vocabSize: 12 }), /vocab_size is given twice/);
  });

  it("bounds every dimension and refuses configs that cannot fit, naming the field and the budget", () => {
    assert.throws(() => makeConfig({ num_channels: 65536, num_heads: 8 }), /numChannels \(num_channels\) must be an integer in \[1, 32768\], got 65536/);
    assert.throws(() => makeConfig({ num_self_attention_layers: 1000000 }), /must be an integer in \[0, 1024\], got 1000000/);
    assert.throws(() => makeConfig({ vocab_size: 2 ** 25 }), /vocab_size\) must be an integer in \[1, 16777216\]/);
    assert.throws(() => makeConfig({ self_attention_widening_factor: 1000 }), /\[1, 64\]/);
    const wide = makeConfig({ num_channels: 16384, num_heads: 8, num_self_attention_layers: 24 });
    assert.throws(
      () => assertModelFits(wide, 24 * 2 ** 30),
      /model config does not fit: [\d,]+ parameters need ~[\d.]+ GB as float32, more than this machine's memory \(24\.0 GB\); the largest part is the self-attention layers \(.*num_self_attention_layers = 24 x 12·num_channels² \(num_channels = 16384/,
    );
    assertModelFits(makeConfig(PRESETS["clm-base"]!.model), 24 * 2 ** 30);
  });

  it("the clm-base and sam-giant-midi presets are the published models (455M and 134M parameters)", () => {
    const clm = makeConfig(PRESETS["clm-base"]!.model);
    assert.equal(clm.vocabSize, 32000);
    assert.equal(clm.maxSeqLen, 1024);
    assert.equal(clm.numSelfAttentionRotaryLayers, 1);
    assert.equal(clm.crossAttentionDropout, 0);
    assert.equal(Math.round(countParameters(clm) / 1e6), 454);
    const sam = makeConfig(PRESETS["sam-giant-midi"]!.model);
    assert.equal(sam.vocabSize, 389);
    assert.equal(sam.maxSeqLen, 6144);
    assert.equal(Math.round(countParameters(sam) / 1e6), 135);
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
