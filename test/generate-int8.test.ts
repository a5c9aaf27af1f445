// Int8 weight-only generation: the per-row quantisation's error bound; linear with an Int8Weight ==
// linear with the dequantised weight; the cached decoder with weights "int8" == full forwards
// through the int8 view of the layers (every step of the reset schedule, on the reference and the
// native backend), and differs from float32; generate({ weights: "int8" }); validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Graph, Var } from "../src/autograd.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, lastPositionLogits } from "../src/generate/generate.js";
import { int8Layers } from "../src/generate/int8-layers.js";
import { argmax } from "../src/generate/sampling.js";
import { generationSchedule } from "../src/generate/schedule.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { linear } from "../src/ops/linear.js";
import { Int8Weight, quantizeRows } from "../src/ops/linear-int8.js";
import { Tensor } from "../src/tensor.js";
import { Rng } from "../src/util/rng.js";
import { nativeForTests } from "./helpers/native.js";

const { native } = nativeForTests();
const CONFIG = { vocab_size: 50, max_seq_len: 24, max_latents: 6, num_channels: 32, num_heads: 2, num_self_attention_layers: 2, cross_attention_dropout: 0, init_scale: 0.3, abs_pos_emb: false, output_norm: true, output_bias: false };

/** The model computing with its int8 view (int8Layers): full forwards through the same layer functions. */
function int8Model(model: PerceiverAR): PerceiverAR {
  return Object.assign(Object.create(Object.getPrototypeOf(model) as object) as PerceiverAR, model, { layers: int8Layers(model) });
}

describe("int8 weight-only generation", () => {
  it("quantizeRows: |w - scale·q| <= scale / 2 per row; zero rows; exact multiples", () => {
    const rng = new Rng(3);
    const rows = 7;
    const cols = 33;
    const w = Float32Array.from({ length: rows * cols }, () => (rng.nextFloat() - 0.5) * 4);
    w.fill(0, 2 * cols, 3 * cols); // a zero row
    const { q, scale } = quantizeRows(w, rows, cols);
    for (let j = 0; j < rows; j++) {
      for (let p = 0; p < cols; p++) assert.ok(Math.abs(w[j * cols + p] - scale[j] * q[j * cols + p]) <= scale[j] / 2 + 1e-7, `row ${j} col ${p}`);
      assert.equal(Math.max(...Array.from(q.subarray(j * cols, (j + 1) * cols), Math.abs)), j === 2 ? 0 : 127, `row ${j} uses the full range`);
    }
    assert.deepEqual(Array.from(quantizeRows(Float32Array.from([0.5, -1, 0.25, 0]), 1, 4).q), [64, -127, 32, 0]);
  });

  it("linear with an Int8Weight == linear with the dequantised weight; no gradients through it", () => {
    const rng = new Rng(4);
    const w = new Var(new Tensor([9, 20], Float32Array.from({ length: 180 }, () => rng.nextFloat() - 0.5)));
    const x = new Var(new Tensor([3, 20], Float32Array.from({ length: 60 }, () => rng.nextFloat() - 0.5)));
    const t = new Int8Weight(w);
    const deq = new Var(new Tensor([9, 20], Float32Array.from(t.int8.q, (v, i) => v * t.int8.scale[Math.floor(i / 20)])));
    for (const backend of [referenceBackend, ...(native ? [native] : [])]) {
      const g = new Graph(backend, false);
      const got = linear(g, x, t).data;
      const want = linear(g, x, deq).data;
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${backend.name} [${i}]`);
    }
    const rec = new Graph(referenceBackend, true);
    assert.throws(() => linear(rec, new Var(x.value, true), t), /int8 weights are for inference/);
  });

  for (const backend of [referenceBackend, ...(native ? [native] : [])]) {
    it(`${backend.name}: the int8 decoder == full int8 forwards, reset schedule, 30 steps (1e-4)`, () => {
      const model = new PerceiverAR(CONFIG, backend, { seed: 5 });
      const twin = int8Model(model);
      const rng = new Rng(8);
      const prompt = Array.from({ length: 20 }, () => rng.nextInt(50));
      const decoder = new CachedDecoder(model, { weights: "int8" });
      decoder.push(prompt);
      const stream = [...prompt];
      let worst = 0;
      let moved = 0;
      for (const st of generationSchedule(model.config, prompt.length, 3, 30, { schedule: "reset" })) {
        const got = decoder.logits(st.prefixLen, st.window);
        const want = lastPositionLogits(twin, stream.slice(st.windowStart), st.prefixLen);
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assert.ok(worst < 1e-4, `step ${st.step} (${st.kind}): error ${worst}`);
        const f32 = lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen);
        for (let i = 0; i < want.length; i++) moved = Math.max(moved, Math.abs(f32[i] - want[i]));
        const t = argmax(got);
        stream.push(t);
        decoder.push([t]);
      }
      assert.ok(moved > 1e-4, `test sensitivity: quantisation moves the logits (by ${moved})`);
      console.log(`# int8 ${backend.name}: worst error vs full int8 forwards ${worst.toExponential(2)}; f32 vs int8 logits differ by up to ${moved.toExponential(2)}`);
    });
  }

  it("generate({ weights: 'int8' }): the view is shared and ties the embedding; validation", async () => {
    const model = new PerceiverAR(CONFIG, referenceBackend, { seed: 6 });
    const o = { maxNewTokens: 12, greedy: true, weights: "int8" as const };
    const a = await generate(model, [1, 2, 3], o);
    assert.equal(a.length, 12);
    const view = int8Layers(model);
    assert.equal(int8Layers(model), view, "one view per model");
    assert.equal(view.output.embedding, view.embedding.token, "the tied embedding has one twin");
    assert.ok(view.selfAttention[0].attention.q instanceof Int8Weight);
    assert.equal(view.selfAttention[0].norm.weight, model.layers.selfAttention[0].norm.weight, "norm parameters are shared as they are");
    await assert.rejects(generate(model, [1], { maxNewTokens: 1, weights: "int4" as never }), /weights must be one of "f32", "int8", got "int4"/);
    await assert.rejects(generate(model, [1], { maxNewTokens: 1, weights: "int8", useCache: false }), /weights "int8" needs the cached decoder/);
  });
});
