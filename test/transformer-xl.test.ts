// Baselines in the same engine (issue "Long context", items 1-2):
// - decoder-only Transformer = PerceiverAR with prefixLen 0 is causal (logits at i do not depend
//   on tokens after i), and the `transformer-2k` preset has latents = context;
// - TransformerXL with an empty memory computes exactly PerceiverAR(prefixLen 0) with the same
//   weights (layer 0 mapped onto the cross-attention layer, which with no prefix is self-attention);
// - TransformerXL gradients against finite differences, with a fixed (detached) memory;
// - memory semantics: two segments with memLen >= segmentLen reproduce a single causal pass over
//   both; memLen >= history reproduces it over three; memLen < segmentLen keeps the last memLen
//   positions; memLen 0 makes segments independent;
// - training over consecutive segments with the project's AdamW lowers the loss.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import type { Backend } from "../src/backend/backend.js";
import { PerceiverAR, type IntBatch } from "../src/models/perceiver-ar.js";
import { PRESETS } from "../src/models/presets.js";
import { CROSS_ATTENTION, OUTPUT_HEAD, selfAttentionLayerNames, TOKEN_EMBEDDING } from "../src/nn/parameter-names.js";
import { evaluateSequence, splitSegments, trainOnSequence, TransformerXL, type TransformerXLConfig } from "../src/models/transformer-xl.js";
import { AdamW } from "../src/train/adamw.js";
import { Tensor } from "../src/tensor.js";
import { randn } from "./helpers/gradcheck.js";
import { nativeForTests } from "./helpers/native.js";

// The reference backend always; the native one too when its addon loads.
const { native } = nativeForTests();
const backends: Backend[] = native ? [referenceBackend, native] : [referenceBackend];

function tokens(B: number, T: number, vocab: number, seed: number): IntBatch {
  const r = randn(B * T, seed);
  const data = new Int32Array(B * T);
  for (let i = 0; i < data.length; i++) data[i] = Math.abs(Math.floor(r[i] * 1000)) % vocab;
  return { data, shape: [B, T] };
}

/** Columns [from, to) of a (B, T) batch. */
function cols(x: IntBatch, from: number, to: number): IntBatch {
  const [B, T] = x.shape;
  const n = to - from;
  const data = new Int32Array(B * n);
  for (let b = 0; b < B; b++) data.set(x.data.subarray(b * T + from, b * T + to), b * n);
  return { data, shape: [B, n] };
}

/** Positions [from, to) of logits (B, T, V) as a (B, to - from, V) Float32Array. */
function logitRows(l: Tensor, from: number, to: number): Float32Array {
  const [B, T, V] = l.shape;
  const n = to - from;
  const out = new Float32Array(B * n * V);
  for (let b = 0; b < B; b++) out.set(l.data.subarray((b * T + from) * V, (b * T + to) * V), b * n * V);
  return out;
}

/** Pair the names of two name objects of the same layout (nn/parameter-names.ts) leaf by leaf into `map` (a -> b). */
function zipNames(a: object, b: object, map: Map<string, string>): void {
  for (const [key, x] of Object.entries(a)) {
    const y = (b as Record<string, unknown>)[key];
    if (typeof x === "string" && typeof y === "string") map.set(x, y);
    else if (x !== null && typeof x === "object" && y !== null && typeof y === "object") zipNames(x, y, map);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const TINY: Partial<TransformerXLConfig> = { vocabSize: 11, numChannels: 8, numHeads: 2, numLayers: 2, segmentLen: 4, memLen: 4, wideningFactor: 2, initScale: 0.5 };

for (const be of backends) {
  describe(`decoder-only Transformer = PerceiverAR with latents = context (${be.name})`, () => {
    it("the transformer-2k preset has latents = context (prefixLen 0)", () => {
      const m = PRESETS["transformer-2k"].model;
      assert.equal(m.maxLatents, m.maxSeqLen);
    });

    it("logits at positions <= i are unchanged when tokens after i change; later positions change", () => {
      const N = 9;
      const model = new PerceiverAR(
        { vocabSize: 13, maxSeqLen: N, maxLatents: N, numChannels: 8, numHeads: 2, numSelfAttentionLayers: 2, crossAttentionDropout: 0, initScale: 0.5 },
        be,
        { seed: 3 },
      );
      const x = tokens(2, N, 13, 5);
      const base = model.forward(x, { prefixLen: 0 });
      assert.deepEqual(base.shape, [2, N, 13]);
      for (const i of [0, 3, 7]) {
        const y: IntBatch = { data: x.data.slice(), shape: x.shape };
        for (let b = 0; b < 2; b++) for (let t = i + 1; t < N; t++) y.data[b * N + t] = (y.data[b * N + t] + 1 + t) % 13;
        const changed = model.forward(y, { prefixLen: 0 });
        assert.ok(maxAbsDiff(logitRows(base, 0, i + 1), logitRows(changed, 0, i + 1)) < 1e-6, `positions <= ${i} must not see later tokens`);
        assert.ok(maxAbsDiff(logitRows(base, i + 1, N), logitRows(changed, i + 1, N)) > 1e-4, `positions > ${i} must see their own tokens`);
      }
    });
  });

  describe(`TransformerXL (${be.name})`, () => {
    it("with empty memory equals PerceiverAR(prefixLen 0) with the same weights", () => {
      const L = 3;
      const xl = new TransformerXL({ ...TINY, numLayers: L, outputNorm: true, outputBias: true }, be, { seed: 11 });
      const T = 7;
      const par = new PerceiverAR(
        {
          vocabSize: 11,
          maxSeqLen: T,
          maxLatents: T,
          numChannels: 8,
          numHeads: 2,
          numSelfAttentionLayers: L - 1,
          numSelfAttentionRotaryLayers: -1,
          selfAttentionWideningFactor: 2,
          crossAttentionWideningFactor: 2,
          crossAttentionDropout: 0,
          absPosEmb: false,
          outputNorm: true,
          outputBias: true,
        },
        be,
      );
      // PerceiverAR name -> TransformerXL name: XL layer 0 is the cross-attention (with no prefix,
      // self-attention whose norm is the q norm), XL layer l > 0 is self-attention layer l - 1.
      const map = new Map<string, string>([[TOKEN_EMBEDDING, TOKEN_EMBEDDING]]);
      const { qNorm, attention, mlp } = CROSS_ATTENTION;
      zipNames({ norm: qNorm, attention, mlp }, selfAttentionLayerNames(0), map);
      for (let l = 1; l < L; l++) zipNames(selfAttentionLayerNames(l - 1), selfAttentionLayerNames(l), map);
      zipNames(OUTPUT_HEAD, OUTPUT_HEAD, map);
      // Non-zero biases so the output norm / output bias mapping is exercised.
      xl.layers.output.bias!.data.set(randn(11, 41));
      xl.layers.output.norm!.bias.data.set(randn(8, 42, 0.1));
      for (const [pName, pv] of par.parameters) {
        const src = map.get(pName);
        if (src === undefined) {
          // Only the unused kv_norm (no prefix) and the cross-attention o_proj bias (zero) remain.
          assert.ok([CROSS_ATTENTION.kvNorm.weight, CROSS_ATTENTION.kvNorm.bias, CROSS_ATTENTION.attention.oBias].includes(pName), pName);
          if (pName === CROSS_ATTENTION.attention.oBias) pv.data.fill(0);
          continue;
        }
        pv.data.set(xl.parameters.get(src)!.data);
      }
      assert.deepEqual(new Set(map.values()), new Set(xl.parameters.keys()), "every TransformerXL parameter is mapped");
      assert.equal(map.size, xl.parameters.size, "and only once");
      const x = tokens(2, T, 11, 9);
      const want = par.forward(x, { prefixLen: 0 });
      const got = xl.forward(x).logits;
      assert.deepEqual(got.shape, want.shape);
      const err = maxAbsDiff(got.data, want.data);
      assert.ok(err < 1e-5, `max logits difference ${err}`);
    });

    it("gradients match finite differences with a fixed, detached memory", () => {
      const model = new TransformerXL({ ...TINY, outputNorm: true }, be, { seed: 2 });
      model.layers.output.bias!.data.set(randn(11, 31, 0.3));
      const seq = tokens(2, 9, 11, 4);
      const mem = model.forward(cols(seq, 0, 4)).newMemory; // computed once, then held fixed
      assert.equal(mem.length, 4);
      const ids = cols(seq, 4, 8);
      const labels = cols(seq, 5, 9);
      labels.data[1] = -100;
      model.zeroGrads();
      const { loss } = model.lossAndGrad(ids, labels, mem);
      assert.ok(Number.isFinite(loss));
      const lossAt = (): number => model.loss(ids, labels, mem).loss;
      // (a) single entries of parameters on every path: memory k/v (norm, k/v proj), queries, MLP, output.
      const eps = 1e-3;
      const [l0, l1] = [selfAttentionLayerNames(0), selfAttentionLayerNames(1)];
      const names = [l0.norm.weight, l0.norm.bias, l0.attention.k, l0.attention.v, l1.attention.q, l1.attention.o, l1.mlp.up, OUTPUT_HEAD.norm.weight, OUTPUT_HEAD.bias, TOKEN_EMBEDDING];
      for (const name of names) {
        const p = model.parameters.get(name)!;
        let scale = 1e-3;
        for (let i = 0; i < p.value.size; i++) scale = Math.max(scale, Math.abs(p.grad[i]));
        for (const i of [0, 3, p.value.size - 1]) {
          const orig = p.data[i];
          p.data[i] = orig + eps;
          const up = lossAt();
          p.data[i] = orig - eps;
          const down = lossAt();
          p.data[i] = orig;
          const numeric = (up - down) / (2 * eps);
          const err = Math.abs(numeric - p.grad[i]) / scale;
          assert.ok(err < 3e-3, `${name}[${i}]: analytic ${p.grad[i]}, numeric ${numeric}, relative error ${err.toExponential(2)}`);
        }
      }
      // (b) the directional derivative along a random direction over ALL parameters.
      const dirs = new Map<string, Float32Array>();
      let k = 100;
      let analytic = 0;
      let norm2 = 0;
      for (const [name, p] of model.parameters) {
        const d = randn(p.value.size, k++);
        dirs.set(name, d);
        for (let i = 0; i < d.length; i++) norm2 += d[i] * d[i];
      }
      for (const [name, p] of model.parameters) {
        const d = dirs.get(name)!; // unit direction
        for (let i = 0; i < d.length; i++) {
          d[i] /= Math.sqrt(norm2);
          analytic += d[i] * p.grad[i];
        }
      }
      const shift = (s: number): void => {
        for (const [name, p] of model.parameters) {
          const d = dirs.get(name)!;
          for (let i = 0; i < d.length; i++) p.data[i] += s * d[i];
        }
      };
      const h = 3e-3;
      const saved = new Map([...model.parameters].map(([n, p]) => [n, p.data.slice()]));
      shift(h);
      const up = lossAt();
      for (const [n, p] of model.parameters) p.data.set(saved.get(n)!);
      shift(-h);
      const down = lossAt();
      for (const [n, p] of model.parameters) p.data.set(saved.get(n)!);
      const numeric = (up - down) / (2 * h);
      console.log(`# TransformerXL ${be.name} directional derivative: analytic ${analytic.toFixed(6)}, numeric ${numeric.toFixed(6)}`);
      assert.ok(Math.abs(numeric - analytic) < 1e-3 + 1e-2 * Math.abs(analytic), `directional derivative: analytic ${analytic}, numeric ${numeric}`);
    });

    it("2 segments with memLen = segmentLen equal one causal pass over both (1 and 2 layers, batch 2)", () => {
      for (const L of [1, 2]) {
        const S = 5;
        const model = new TransformerXL({ ...TINY, numLayers: L, segmentLen: S, memLen: S }, be, { seed: 7 + L });
        const x = tokens(2, 2 * S, 11, 13);
        const full = model.forward(x).logits; // (2, 2S, V)
        const r1 = model.forward(cols(x, 0, S));
        assert.equal(r1.newMemory.length, S);
        const r2 = model.forward(cols(x, S, 2 * S), r1.newMemory);
        assert.ok(maxAbsDiff(r1.logits.data, logitRows(full, 0, S)) < 1e-5, `L=${L}: first segment`);
        const err = maxAbsDiff(r2.logits.data, logitRows(full, S, 2 * S));
        assert.ok(err < 1e-5, `L=${L}: second segment differs from the causal pass by ${err}`);
      }
    });

    it("memLen covering the whole history equals one causal pass over 3 segments; shorter memory does not", () => {
      const S = 4;
      const x = tokens(1, 3 * S, 11, 17);
      const long = new TransformerXL({ ...TINY, numLayers: 2, segmentLen: S, memLen: 2 * S }, be, { seed: 5 });
      const full = long.forward(x).logits;
      let mem = long.emptyMemory(1);
      for (let s = 0; s < 3; s++) {
        const r = long.forward(cols(x, s * S, (s + 1) * S), mem);
        mem = r.newMemory;
        assert.equal(mem.length, Math.min(2 * S, (s + 1) * S));
        assert.ok(maxAbsDiff(r.logits.data, logitRows(full, s * S, (s + 1) * S)) < 1e-5, `segment ${s}`);
      }
      // Same weights, memLen = S: the third segment no longer sees the first one directly.
      const short = new TransformerXL({ ...TINY, numLayers: 2, segmentLen: S, memLen: S }, be, { seed: 5 });
      let m2 = short.forward(cols(x, 0, S)).newMemory;
      m2 = short.forward(cols(x, S, 2 * S), m2).newMemory;
      const third = short.forward(cols(x, 2 * S, 3 * S), m2).logits;
      assert.ok(maxAbsDiff(third.data, logitRows(full, 2 * S, 3 * S)) > 1e-5);
    });

    it("memLen < segmentLen keeps the last memLen positions (1 layer: equals a pass over them + the segment)", () => {
      const S = 5;
      const mLen = 2;
      const model = new TransformerXL({ ...TINY, numLayers: 1, segmentLen: S, memLen: mLen }, be, { seed: 21 });
      const x = tokens(2, 2 * S, 11, 23);
      const r1 = model.forward(cols(x, 0, S));
      assert.equal(r1.newMemory.length, mLen);
      assert.deepEqual(r1.newMemory.states[0].shape, [2, mLen, 8]);
      const r2 = model.forward(cols(x, S, 2 * S), r1.newMemory);
      const window = model.forward(cols(x, S - mLen, 2 * S)).logits; // (2, mLen + S, V)
      assert.ok(maxAbsDiff(r2.logits.data, logitRows(window, mLen, mLen + S)) < 1e-5);
    });

    it("memLen 0 makes segments independent", () => {
      const S = 4;
      const model = new TransformerXL({ ...TINY, segmentLen: S, memLen: 0 }, be, { seed: 8 });
      const x = tokens(2, 2 * S, 11, 3);
      const r1 = model.forward(cols(x, 0, S));
      assert.equal(r1.newMemory.length, 0);
      const r2 = model.forward(cols(x, S, 2 * S), r1.newMemory);
      const alone = model.forward(cols(x, S, 2 * S)).logits;
      assert.deepEqual(Array.from(r2.logits.data), Array.from(alone.data));
    });

    it("rejects a memory of the wrong batch or layer count", () => {
      const model = new TransformerXL(TINY, be);
      const other = new TransformerXL({ ...TINY, numLayers: 3 }, be);
      assert.throws(() => model.forward(tokens(2, 4, 11, 1), model.emptyMemory(1)), /expected batch 2 x 2 layers/);
      assert.throws(() => model.forward(tokens(1, 4, 11, 1), other.emptyMemory(1)), /expected batch 1 x 2 layers/);
      assert.throws(() => model.forward([[0, 11]]), /outside the vocabulary/);
      assert.throws(() => new TransformerXL({ ...TINY, numHeads: 3 }, be), /even integer/);
    });

    it("splitSegments covers every next-token label once", () => {
      const x = tokens(2, 11, 11, 6);
      const segs = [...splitSegments(x, 4)];
      assert.deepEqual(segs.map((s) => [s.start, s.ids.shape[1]]), [[0, 4], [4, 4], [8, 2]]);
      for (const s of segs) {
        for (let b = 0; b < 2; b++) {
          for (let i = 0; i < s.ids.shape[1]; i++) {
            assert.equal(s.ids.data[b * s.ids.shape[1] + i], x.data[b * 11 + s.start + i]);
            assert.equal(s.labels.data[b * s.ids.shape[1] + i], x.data[b * 11 + s.start + i + 1]);
          }
        }
      }
    });

    it("trains over consecutive segments with the project's AdamW, carrying memory", () => {
      // x[n+1] = (3·x[n] + 1) mod 16 from a random start: learnable by one layer in a few dozen updates.
      const S = 6;
      const V = 16;
      const model = new TransformerXL({ vocabSize: V, numChannels: 16, numHeads: 2, numLayers: 1, segmentLen: S, memLen: S, wideningFactor: 2, initScale: 0.1 }, be, { seed: 1 });
      const seqAt = (k: number): IntBatch => {
        const T = 2 * S + 1;
        const data = new Int32Array(2 * T);
        for (let b = 0; b < 2; b++) {
          data[b * T] = (k * 7 + b * 5) % V;
          for (let t = 1; t < T; t++) data[b * T + t] = (3 * data[b * T + t - 1] + 1) % V;
        }
        return { data, shape: [2, T] };
      };
      const heldOut = seqAt(1000);
      const before = evaluateSequence(model, heldOut);
      assert.equal(before.count, 2 * 2 * S);
      const opt = new AdamW(model.parameters, be, { weightDecay: 0 });
      model.zeroGrads();
      let updates = 0;
      for (let k = 0; k < 40; k++) {
        const r = trainOnSequence(model, seqAt(k), () => {
          opt.update(3e-2);
          model.zeroGrads();
          updates++;
        });
        assert.equal(r.segments, 2);
        assert.equal(r.memory.length, S);
      }
      assert.equal(updates, 80);
      const after = evaluateSequence(model, heldOut);
      console.log(`# TransformerXL ${be.name} bigram task held-out loss: ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`);
      assert.ok(after.loss < before.loss / 2, `training lowers the loss (${before.loss} -> ${after.loss})`);
    });
  });
}
