// Tests for src/train/adamw.ts, schedule.ts and grad-clip.ts: AdamW against a hand-written
// formula, weight-decay groups, state export/import, the warmup + cosine schedule, clipping by
// global norm and the non-finite guard.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Var } from "../src/autograd.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { Tensor } from "../src/tensor.js";
import { AdamW, paramGroup } from "../src/train/adamw.js";
import { clipGradNorm, globalGradNorm, NonFiniteError } from "../src/train/grad-clip.js";
import { cosineSchedule, learningRate, validateSchedule } from "../src/train/schedule.js";

const TINY = { vocabSize: 20, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 };

function param(values: number[]): Var {
  return new Var(new Tensor([values.length], Float32Array.from(values)), true);
}

function matrix(rows: number, cols: number, values: number[]): Var {
  return new Var(new Tensor([rows, cols], Float32Array.from(values)), true);
}

test("AdamW matches the hand-written AdamW formula for 3 steps", () => {
  const w = matrix(2, 2, [0.5, -1.25, 2, 0.1]);
  const params = new Map([["layer.weight", w]]);
  const o = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  const opt = new AdamW(params, referenceBackend, o);
  const grads = [
    [0.1, -0.2, 0.3, 0.0],
    [-0.05, 0.4, 0.3, 1e-3],
    [0.2, 0.2, -0.1, -2],
  ];
  const lrs = [1e-2, 5e-3, 2e-2];
  // Hand computation; float32 rounding where the optimizer stores (p, m, v).
  const p = [0.5, -1.25, 2, 0.1].map(Math.fround);
  const m = [0, 0, 0, 0];
  const v = [0, 0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    w.grad.set(grads[t - 1]);
    opt.update(lrs[t - 1]);
    for (let i = 0; i < 4; i++) {
      const g = Math.fround(grads[t - 1][i]);
      m[i] = Math.fround(o.beta1 * m[i] + (1 - o.beta1) * g);
      v[i] = Math.fround(o.beta2 * v[i] + (1 - o.beta2) * g * g);
      const mHat = m[i] / (1 - o.beta1 ** t);
      const vHat = v[i] / (1 - o.beta2 ** t);
      p[i] = Math.fround(p[i] - lrs[t - 1] * (mHat / (Math.sqrt(vHat) + o.eps) + o.weightDecay * p[i]));
    }
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(w.data[i] - p[i]) <= 1e-7 * Math.max(1, Math.abs(p[i])), `step ${t} element ${i}: ${w.data[i]} vs ${p[i]}`);
    }
  }
  assert.equal(opt.step, 3);
  const st = opt.exportState();
  assert.equal(st.step, 3);
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(st.tensors.get("m.layer.weight")![i] - m[i]) <= 1e-9);
    assert.ok(Math.abs(st.tensors.get("v.layer.weight")![i] - v[i]) <= 1e-9);
  }
});

test("AdamW: first step moves each weight by about lr (sign of the gradient) without decay", () => {
  const w = param([1, 1, 1]);
  const opt = new AdamW(new Map([["x.weight2d", w]]), referenceBackend, { weightDecay: 0 });
  w.grad.set([0.5, -3, 1e-2]);
  opt.update(0.1);
  assert.deepEqual([...w.data].map((x) => Number(x.toFixed(5))), [0.9, 1.1, 0.9]);
});

test("weight-decay groups follow names and the decayEmbeddings / decayNorms flags", () => {
  const model = new PerceiverAR(TINY, referenceBackend, { seed: 1 });
  const opt = new AdamW(model.parameters, referenceBackend, { weightDecay: 0.1 });
  const g = opt.groups();
  assert.deepEqual(g.embedding.sort(), ["input_adapter.pos_embedding.weight", "input_adapter.txt_embedding.weight"]);
  assert.deepEqual(g.bias.sort(), ["cross_attention.0.module.attention.o_proj.bias", "output_adapter.bias"]);
  assert.deepEqual(g.norm.sort(), [
    "cross_attention.0.module.kv_norm.bias",
    "cross_attention.0.module.kv_norm.weight",
    "cross_attention.0.module.q_norm.bias",
    "cross_attention.0.module.q_norm.weight",
    "cross_attention.1.module.0.bias",
    "cross_attention.1.module.0.weight",
    "self_attention.0.0.module.norm.bias",
    "self_attention.0.0.module.norm.weight",
    "self_attention.0.1.module.0.bias",
    "self_attention.0.1.module.0.weight",
  ]);
  assert.ok(g.decay.includes("cross_attention.0.module.attention.q_proj.weight"));
  assert.ok(g.decay.includes("self_attention.0.1.module.1.weight"));
  assert.ok(g.decay.includes("self_attention.0.1.module.3.weight"));
  assert.equal(g.decay.length + g.norm.length + g.bias.length + g.embedding.length, model.parameters.size);
  for (const n of g.decay) assert.equal(opt.weightDecayOf(n), 0.1);
  for (const n of [...g.norm, ...g.bias, ...g.embedding]) assert.equal(opt.weightDecayOf(n), 0);

  const all = new AdamW(model.parameters, referenceBackend, { weightDecay: 0.1, decayEmbeddings: true, decayNorms: true });
  for (const n of [...g.norm, ...g.embedding, ...g.decay]) assert.equal(all.weightDecayOf(n), 0.1);
  for (const n of g.bias) assert.equal(all.weightDecayOf(n), 0, "plain biases are never decayed");

  assert.equal(paramGroup("out_norm.weight", [16]), "norm");
  assert.equal(paramGroup("foo.bias", [3]), "bias");
  assert.equal(paramGroup("mlp.0.bias", [3], new Map([["mlp.0.weight", { shape: [3] }]])), "norm");
  assert.equal(paramGroup("proj.bias", [3], new Map([["proj.weight", { shape: [3, 3] }]])), "bias");
});

test("weight decay is applied (decoupled, lr·wd) to the decay group only", () => {
  const w = matrix(1, 2, [2, -4]);
  const n = param([2, -4]);
  const opt = new AdamW(new Map([["a.weight", w], ["a.norm.weight", n]]), referenceBackend, { weightDecay: 0.5 });
  opt.update(0.1); // zero gradients: only decay acts
  assert.deepEqual([...w.data], [Math.fround(2 - 0.1 * 0.5 * 2), Math.fround(-4 + 0.1 * 0.5 * 4)]);
  assert.deepEqual([...n.data], [2, -4]);
});

test("AdamW state round-trips and is validated", () => {
  const w = param([1, 2]);
  const opt = new AdamW(new Map([["w", w]]), referenceBackend);
  w.grad.set([1, -1]);
  opt.update(0.01);
  const st = opt.exportState();
  const w2 = param([...w.data]);
  const opt2 = new AdamW(new Map([["w", w2]]), referenceBackend);
  opt2.importState(st);
  w.grad.set([0.3, 0.2]);
  w2.grad.set([0.3, 0.2]);
  opt.update(0.01);
  opt2.update(0.01);
  assert.deepEqual([...w2.data], [...w.data]);
  assert.equal(opt2.step, 2);
  assert.throws(() => opt2.importState({ step: 1, tensors: new Map([["m.w", new Float32Array(2)]]) }), /missing v\.w/);
  assert.throws(() => opt2.importState({ step: 1, tensors: new Map([["m.w", new Float32Array(3)], ["v.w", new Float32Array(2)]]) }), /m\.w must be a Float32Array of 2 values/);
  assert.throws(() => new AdamW(new Map(), referenceBackend, { beta2: 1 }), /beta2 must be a number in \[0, 1\)/);
  assert.throws(() => new AdamW(new Map(), referenceBackend, { eps: 0 }), /eps must be/);
  assert.throws(() => new AdamW(new Map(), referenceBackend, { weightDecay: -1 }), /weightDecay must be/);
  assert.throws(() => opt.update(NaN), /lr must be a finite number >= 0/);
});

test("schedule: linear warmup, peak, cosine decay to minLr", () => {
  const s = { lr: 1, warmupSteps: 10, maxSteps: 110, minLr: 0.1 };
  assert.equal(learningRate(1, s), 0.1);
  assert.equal(learningRate(5, s), 0.5);
  assert.equal(learningRate(10, s), 1);
  assert.ok(Math.abs(learningRate(60, s) - 0.55) < 1e-12, "halfway through the decay: (lr + minLr) / 2");
  assert.ok(learningRate(11, s) < 1 && learningRate(11, s) > 0.99);
  assert.equal(learningRate(110, s), 0.1);
  assert.equal(learningRate(500, s), 0.1);
  const f = cosineSchedule(s);
  for (let t = 11; t < 110; t++) assert.ok(f(t + 1) <= f(t), "monotone decay");
  assert.equal(learningRate(3, { lr: 2, warmupSteps: 0, maxSteps: 3, minLr: 0 }), 0);
  assert.equal(learningRate(1, { lr: 2, warmupSteps: 0, maxSteps: 3, minLr: 0 }), 1.5);
});

test("schedule validation names the field and range", () => {
  assert.throws(() => validateSchedule({ lr: 1, warmupSteps: 0, maxSteps: 10, minLr: 2 }), /minLr must be a number in \[0, lr = 1\]/);
  assert.throws(() => validateSchedule({ lr: 1, warmupSteps: 11, maxSteps: 10, minLr: 0 }), /warmupSteps must be an integer in \[0, maxSteps = 10\]/);
  assert.throws(() => validateSchedule({ lr: 0, warmupSteps: 0, maxSteps: 10, minLr: 0 }), /lr must be a finite number > 0/);
  assert.throws(() => validateSchedule({ lr: 1, warmupSteps: 0, maxSteps: 0, minLr: 0 }), /maxSteps must be an integer >= 1/);
  assert.throws(() => learningRate(0, { lr: 1, warmupSteps: 0, maxSteps: 10, minLr: 0 }), /step must be an integer >= 1/);
});

test("clipGradNorm scales to the global norm and returns the pre-clip norm", () => {
  const a = param([3, 0]);
  const b = param([0, 4]);
  const params = new Map([["a", a], ["b", b]]);
  a.grad.set([3, 0]);
  b.grad.set([0, 4]);
  assert.equal(globalGradNorm(params), 5);
  assert.equal(clipGradNorm(params, 10), 5);
  assert.deepEqual([...a.grad, ...b.grad], [3, 0, 0, 4], "below the threshold: untouched");
  assert.equal(clipGradNorm(params, 1), 5);
  assert.ok(Math.abs(globalGradNorm(params) - 1) < 1e-6);
  assert.ok(Math.abs(a.grad[0] - 0.6) < 1e-6 && Math.abs(b.grad[1] - 0.8) < 1e-6);
  assert.equal(clipGradNorm(params, Infinity), globalGradNorm(params));
  assert.throws(() => clipGradNorm(params, 0), /maxNorm \(clipNorm\) must be > 0/);
});

test("a NaN gradient stops the update before any weight or moment changes", () => {
  const a = param([1, 2, 3]);
  const b = param([4, 5]);
  const params = new Map([["a", a], ["b", b]]);
  const opt = new AdamW(params, referenceBackend, { weightDecay: 0.1 });
  a.grad.set([0.1, 0.2, 0.3]);
  b.grad.set([0.1, 0.1]);
  opt.update(0.01);
  const before = [...a.data, ...b.data];
  const stateBefore = opt.exportState();
  a.grad.set([0.1, 0.2, 0.3]);
  b.grad.set([NaN, 0.1]);
  const gradsBefore = [...a.grad, ...b.grad];
  assert.throws(
    () => {
      clipGradNorm(params, 1, 2);
      opt.update(0.01);
    },
    (e: unknown) => e instanceof NonFiniteError && e.quantity === "gradient" && /b\[0\] = NaN/.test(e.message) && /weights are unchanged/.test(e.message),
  );
  assert.deepEqual([...a.data, ...b.data], before);
  assert.deepEqual([...a.grad, ...b.grad], gradsBefore, "gradients are not scaled either");
  assert.equal(opt.step, 1);
  assert.deepEqual(opt.exportState(), stateBefore);
  b.grad.set([Infinity, 0]);
  assert.throws(() => clipGradNorm(params, 1), /gradient norm is Infinity/);
});
