// TransformerXL: the segment-level-recurrence baseline (Dai et al. 2019) built from the same ops
// and layers as PerceiverAR (layerNorm, linear, rotary, fused attention, gelu, add, residual MLP).
//
// Model, for a segment of S tokens ids (B, S) and a memory of Lm cached positions:
//   x = embed(ids)                                                             (B, S, C)
//   for each layer l < L, with mem_l (B, Lm, C) = the cached INPUT states of layer l:
//     kvIn = concat(LN_l(mem_l), LN_l(x))                                      (B, Lm + S, C)
//     x   += o_proj(attn(rot(q_proj(LN_l(x))), rot(k_proj(kvIn)), v_proj(kvIn)))   causal offset Lm
//     x   += MLP_l(x)
//   logits = [LN_out](x) · embeddingᵀ [+ bias]                                (B, S, V)
// Query i of the segment sees all Lm memory positions and segment keys <= i. Rotary positions
// (on all channels of each head) are 0..Lm-1 for the memory and Lm..Lm+S-1 for the segment, so
// relative distances continue across segments. Memory tensors are plain (detached) tensors: no
// gradient flows into them, but the parameters that map them to keys/values (LN_l, k_proj, v_proj)
// do get gradients through the memory positions, as in the standard Transformer-XL.
//
// Segments may have any length >= 1 (config.segmentLen is the split used by the sequence helpers
// below); the batch size of the memory must match the segment's.
//
// Memory update: newMem_l = the last min(memLen, Lm + S) positions of concat(mem_l, input_l).
// With memLen >= all earlier tokens this is exactly a causal Transformer over the whole history;
// with memLen = 0 every segment is independent.
//
// Layers, parameters and their names are PerceiverAR's (nn/self-attention-layer.ts, the names of
// nn/parameter-names.ts: `self_attention.<l>.*`, the token embedding, the output head), so
// src/train/adamw.ts groups them the same way.

import { Graph, Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { crossEntropy, IGNORE_INDEX } from "../ops/cross-entropy.js";
import { concatSeq } from "../ops/concat.js";
import type { RotaryAngles } from "../ops/rotary.js";
import { lastRows } from "../ops/rows.js";
import { createEmbedding, embed, type EmbeddingParams } from "../nn/embedding.js";
import { INV_FREQ_BUFFER, selfAttentionLayerNames } from "../nn/parameter-names.js";
import { normalInit, ParameterStore } from "../nn/parameters.js";
import { rotaryAngles, rotaryInverseFrequencies } from "../nn/rotary-angles.js";
import { createSelfAttentionLayer, selfAttentionLayer, type SelfAttentionLayerParams } from "../nn/self-attention-layer.js";
import { createOutputHead, tiedOutput, type OutputHeadParams } from "../nn/tied-output.js";
import { Tensor } from "../tensor.js";
import { uniformSource } from "../util/rng.js";
import { batchShape, labelRange, NON_NEGATIVE_INT32, toIntBatch, vocabularyRange, type IntBatch, type IntRange, type TokenBatch } from "./token-batch.js";

export interface TransformerXLConfig {
  vocabSize: number;
  numChannels: number;
  numHeads: number;
  /** L: number of (self-attention + MLP) layers. */
  numLayers: number;
  /** S: segment length used to split long sequences for training / evaluation. */
  segmentLen: number;
  /** Number of cached positions per layer (0 = no recurrence). */
  memLen: number;
  /** MLP hidden width = wideningFactor · numChannels. */
  wideningFactor: number;
  initScale: number;
  /** Final LayerNorm before the tied output projection. Default false (PerceiverAR's default). */
  outputNorm: boolean;
  /** Output bias on the logits. Default true (PerceiverAR's default). */
  outputBias: boolean;
}

export const DEFAULT_XL_CONFIG: TransformerXLConfig = {
  vocabSize: 256,
  numChannels: 256,
  numHeads: 4,
  numLayers: 6,
  segmentLen: 512,
  memLen: 512,
  wideningFactor: 4,
  initScale: 0.02,
  outputNorm: false,
  outputBias: true,
};

/** Defaults filled in and every field validated; errors name the field and its allowed range. */
export function makeTransformerXLConfig(input: Partial<TransformerXLConfig> = {}): TransformerXLConfig {
  const known = new Set(Object.keys(DEFAULT_XL_CONFIG));
  const unknown = Object.keys(input).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new RangeError(`unknown TransformerXL config field(s): ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  const c: TransformerXLConfig = { ...DEFAULT_XL_CONFIG };
  for (const [k, v] of Object.entries(input)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  const int = (f: keyof TransformerXLConfig, min: number): void => {
    const v = c[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new RangeError(`TransformerXL ${f} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  int("vocabSize", 1);
  int("numChannels", 1);
  int("numHeads", 1);
  int("numLayers", 1);
  int("segmentLen", 1);
  int("memLen", 0);
  int("wideningFactor", 1);
  const headDim = c.numChannels / c.numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new RangeError(`TransformerXL numChannels / numHeads = ${c.numChannels} / ${c.numHeads} must be an even integer (rotary pairs channels)`);
  }
  if (typeof c.initScale !== "number" || !(c.initScale > 0 && Number.isFinite(c.initScale))) {
    throw new RangeError(`TransformerXL initScale must be a positive number, got ${JSON.stringify(c.initScale)}`);
  }
  for (const f of ["outputNorm", "outputBias"] as const) {
    if (typeof c[f] !== "boolean") throw new RangeError(`TransformerXL ${f} must be true or false, got ${JSON.stringify(c[f])}`);
  }
  return c;
}

/** The recurrent state: per layer, that layer's input states at the last `length` positions. */
export interface XLMemory {
  /** states[l]: (B, length, C), detached copies. */
  readonly states: readonly Tensor[];
  readonly batch: number;
  readonly length: number;
}

export interface XLForwardResult {
  /** (B, S, V) */
  logits: Tensor;
  newMemory: XLMemory;
}

export interface XLLossResult {
  /** Mean cross-entropy over the counted labels of the segment. */
  loss: number;
  /** Labels that counted (not -100). */
  count: number;
  newMemory: XLMemory;
}

export interface XLCallOptions {
  /** Backend override for this call. */
  backend?: Backend;
}

/** The parameters bound once into typed objects (the same Vars as `parameters`, by layer). */
export interface TransformerXLLayers {
  embedding: EmbeddingParams;
  /** The rotary inverse frequencies (headDim / 2) of every layer. */
  rotaryInvFreq: Float32Array;
  selfAttention: SelfAttentionLayerParams[];
  output: OutputHeadParams;
}

export class TransformerXL {
  readonly config: TransformerXLConfig;
  readonly store: ParameterStore;
  backend: Backend;
  readonly layers: TransformerXLLayers;
  private angleCache: { key: string; q: RotaryAngles; kv: RotaryAngles } | null = null;

  constructor(config: Partial<TransformerXLConfig>, backend: Backend, options: { seed?: number; random?: () => number } = {}) {
    this.config = makeTransformerXLConfig(config);
    this.backend = backend;
    this.store = new ParameterStore(undefined, backend);
    this.layers = this.createLayers(options.random ?? uniformSource(options.seed ?? 0));
  }

  /** Named trainable parameters (same naming style as PerceiverAR). */
  get parameters(): Map<string, Var> {
    return this.store.params;
  }

  get numParameters(): number {
    return this.store.count();
  }

  zeroGrads(): void {
    this.store.zeroGrads();
  }

  /** Every parameter, created through `store.add`. */
  private createLayers(u: () => number): TransformerXLLayers {
    const c = this.config;
    const C = c.numChannels;
    const init = normalInit(u, c.initScale);
    const ps = this.store;
    const embedding = createEmbedding(ps, c.vocabSize, C, null, init);
    const headDim = C / c.numHeads;
    const rotaryInvFreq = rotaryInverseFrequencies(headDim);
    ps.addBuffer(INV_FREQ_BUFFER, new Tensor([headDim / 2], rotaryInvFreq));
    const selfAttention: SelfAttentionLayerParams[] = [];
    for (let l = 0; l < c.numLayers; l++) selfAttention.push(createSelfAttentionLayer(ps, selfAttentionLayerNames(l), C, c.wideningFactor, init));
    return { embedding, rotaryInvFreq, selfAttention, output: createOutputHead(ps, embedding.token, c) };
  }

  /** A memory with no positions (the start of a sequence). */
  emptyMemory(batch: number): XLMemory {
    const C = this.config.numChannels;
    const states: Tensor[] = [];
    for (let l = 0; l < this.config.numLayers; l++) states.push(new Tensor([batch, 0, C]));
    return { states, batch, length: 0 };
  }

  /** Logits (B, S, V) of a segment given the memory, and the updated memory; no gradients. */
  forward(ids: TokenBatch, memory: XLMemory | null = null, options: XLCallOptions = {}): XLForwardResult {
    const g = new Graph(options.backend ?? this.backend, false);
    const { data, B, T } = toIds(ids, vocabularyRange(this.config.vocabSize));
    const { logits, newMemory } = this.run(g, data, B, T, memory ?? this.emptyMemory(B));
    return { logits: logits.value, newMemory };
  }

  /**
   * Mean cross-entropy of the segment's logits against `labels` (B, S) (-100 = ignore) and every
   * parameter's gradient ACCUMULATED into `parameters.get(name).grad` (zero them with
   * `zeroGrads()` first). The memory is read, never differentiated; the new memory is returned.
   */
  lossAndGrad(ids: TokenBatch, labels: TokenBatch, memory: XLMemory | null = null, options: XLCallOptions = {}): XLLossResult {
    return this.lossImpl(ids, labels, memory, options, true);
  }

  /** Mean cross-entropy without gradients (and the updated memory). */
  loss(ids: TokenBatch, labels: TokenBatch, memory: XLMemory | null = null, options: XLCallOptions = {}): XLLossResult {
    return this.lossImpl(ids, labels, memory, options, false);
  }

  private lossImpl(ids: TokenBatch, labels: TokenBatch, memory: XLMemory | null, options: XLCallOptions, grad: boolean): XLLossResult {
    const g = new Graph(options.backend ?? this.backend, grad);
    const { data, B, T } = toIds(ids, vocabularyRange(this.config.vocabSize));
    const lab = toLabels(labels, B, T, this.config.vocabSize);
    const { logits, newMemory } = this.run(g, data, B, T, memory ?? this.emptyMemory(B));
    const { loss, count } = crossEntropy(g, logits, lab, IGNORE_INDEX);
    const value = loss.data[0];
    if (grad && count > 0) g.backward(loss);
    return { loss: value, count, newMemory };
  }

  /** The forward pass on graph g: ids (B·S) -> logits Var (B, S, V) and the new memory. */
  private run(g: Graph, ids: Int32Array, B: number, S: number, memory: XLMemory): { logits: Var; newMemory: XLMemory } {
    const c = this.config;
    const C = c.numChannels;
    const Lm = memory.length;
    if (memory.batch !== B || memory.states.length !== c.numLayers) {
      throw new RangeError(`memory holds batch ${memory.batch} x ${memory.states.length} layers; expected batch ${B} x ${c.numLayers} layers`);
    }
    for (const s of memory.states) {
      if (s.shape[0] !== B || s.shape[1] !== Lm || s.shape[2] !== C) throw new RangeError(`memory state shape [${s.shape}] is not [${B}, ${Lm}, ${C}]`);
    }
    const { q: qAngles, kv: kvAngles } = this.angles(B, Lm, S);

    let x = embed(g, this.layers.embedding, ids, null, [B, S]); // (B, S, C)
    const inputs: Var[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      inputs.push(x); // layer l's input states (B, S, C), kept in the memory below
      const mem = Lm > 0 ? new Var(memory.states[l], false) : null; // (B, Lm, C), detached
      x = selfAttentionLayer(g, this.layers.selfAttention[l], x, { heads: c.numHeads, rotary: { q: qAngles, k: kvAngles }, memory: mem }); // (B, S, C)
    }
    const logits = tiedOutput(g, this.layers.output, x); // (B, S, V)
    return { logits, newMemory: this.updateMemory(memory, inputs, B, S) };
  }

  /** newMem_l = the last min(memLen, Lm + S) positions of concat(mem_l, input_l), detached copies. */
  private updateMemory(memory: XLMemory, inputs: Var[], B: number, S: number): XLMemory {
    const len = Math.min(this.config.memLen, memory.length + S);
    const g = new Graph(this.backend, false); // plain copies: nothing is recorded
    const states = inputs.map((x, l) => lastRows(g, concatSeq(g, new Var(memory.states[l]), x), len).value); // (B, len, C)
    return { states, batch: B, length: len };
  }

  /** Rotary tables: queries at positions Lm..Lm+S-1 (B·S rows), keys at 0..Lm+S-1 (B·(Lm+S) rows). */
  private angles(B: number, Lm: number, S: number): { q: RotaryAngles; kv: RotaryAngles } {
    const key = `${B}:${Lm}:${S}`;
    if (this.angleCache?.key === key) return this.angleCache;
    const invFreq = this.layers.rotaryInvFreq;
    const T = Lm + S;
    const qPos = new Int32Array(B * S);
    const kvPos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < S; i++) qPos[b * S + i] = Lm + i;
      for (let j = 0; j < T; j++) kvPos[b * T + j] = j;
    }
    this.angleCache = { key, q: rotaryAngles(qPos, invFreq), kv: rotaryAngles(kvPos, invFreq) };
    return this.angleCache;
  }
}

// ---------------------------------------------------------------------------------------------
// Long sequences: split (B, T) token rows into consecutive segments and carry the memory.

export interface SequenceSegment {
  /** Inputs (B, s) = tokens[:, start .. start + s). */
  ids: IntBatch;
  /** Next-token labels (B, s) = tokens[:, start + 1 .. start + s + 1). */
  labels: IntBatch;
  /** Position of the segment's first input token in the sequence. */
  start: number;
}

/**
 * Segments of a (B, T) token batch for next-token training: inputs are positions 0..T-2, labels
 * 1..T-1, cut into consecutive pieces of `segmentLen` (the last one may be shorter).
 */
export function* splitSegments(tokens: TokenBatch, segmentLen: number): Generator<SequenceSegment> {
  if (!Number.isInteger(segmentLen) || segmentLen < 1) throw new RangeError(`segmentLen must be an integer >= 1, got ${segmentLen}`);
  const { data, B, T } = toIds(tokens, NON_NEGATIVE_INT32);
  if (T < 2) throw new RangeError(`a sequence needs at least 2 tokens to predict one, got ${T}`);
  for (let start = 0; start < T - 1; start += segmentLen) {
    const s = Math.min(segmentLen, T - 1 - start);
    const ids = new Int32Array(B * s); // (B, s)
    const labels = new Int32Array(B * s); // (B, s)
    for (let b = 0; b < B; b++) {
      ids.set(data.subarray(b * T + start, b * T + start + s), b * s);
      labels.set(data.subarray(b * T + start + 1, b * T + start + s + 1), b * s);
    }
    yield { ids: { data: ids, shape: [B, s] }, labels: { data: labels, shape: [B, s] }, start };
  }
}

export interface SegmentStep {
  index: number;
  start: number;
  loss: number;
  count: number;
}

export interface SequenceResult {
  /** Label-weighted mean loss over all segments. */
  loss: number;
  count: number;
  segments: number;
  /** The memory after the last segment (to continue the sequence). */
  memory: XLMemory;
}

export interface SequenceOptions {
  /** Segment length; default config.segmentLen. */
  segmentLen?: number;
  /** Memory to start from; default empty. */
  memory?: XLMemory;
  backend?: Backend;
}

/**
 * Train over a long sequence segment by segment, carrying the memory: for each segment,
 * `lossAndGrad` (gradients accumulate into the parameters) and then `afterSegment`, where the
 * caller typically runs its optimizer and zeroes the gradients (Transformer-XL's schedule: one
 * update per segment, memory computed with the parameters of its time). Without `afterSegment`
 * gradients accumulate over the whole sequence (a sum of per-segment means).
 */
export function trainOnSequence(model: TransformerXL, tokens: TokenBatch, afterSegment?: (step: SegmentStep) => void, options: SequenceOptions = {}): SequenceResult {
  return overSequence(model, tokens, options, true, afterSegment);
}

/** The label-weighted mean loss over a long sequence with memory, no gradients. */
export function evaluateSequence(model: TransformerXL, tokens: TokenBatch, options: SequenceOptions = {}): SequenceResult {
  return overSequence(model, tokens, options, false);
}

function overSequence(model: TransformerXL, tokens: TokenBatch, options: SequenceOptions, grad: boolean, after?: (s: SegmentStep) => void): SequenceResult {
  let memory: XLMemory | null = options.memory ?? null;
  let sum = 0;
  let count = 0;
  let index = 0;
  const call: XLCallOptions = options.backend ? { backend: options.backend } : {};
  for (const seg of splitSegments(tokens, options.segmentLen ?? model.config.segmentLen)) {
    const r = grad ? model.lossAndGrad(seg.ids, seg.labels, memory, call) : model.loss(seg.ids, seg.labels, memory, call);
    memory = r.newMemory;
    sum += r.loss * r.count;
    count += r.count;
    after?.({ index, start: seg.start, loss: r.loss, count: r.count });
    index++;
  }
  return { loss: count > 0 ? sum / count : 0, count, segments: index, memory: memory! };
}

// ---------------------------------------------------------------------------------------------

/** Token batch -> row-major Int32Array (B, T), every id an integer in `range`. */
function toIds(x: TokenBatch, range: IntRange): { data: Int32Array; B: number; T: number } {
  const [B, T] = batchShape(x, "ids");
  if (B < 1 || T < 1) throw new RangeError(`ids must be a non-empty (batch, seqLen) array, got (${B}, ${T})`);
  return { data: toIntBatch(x, "ids", range), B, T };
}

function toLabels(x: TokenBatch, B: number, T: number, vocab: number): Int32Array {
  const [rows, cols] = batchShape(x, "labels");
  if (rows !== B || cols !== T) throw new RangeError(`labels must have shape (batch ${B}, segment ${T}), got (${rows}, ${cols})`);
  return toIntBatch(x, "labels", labelRange(vocab, IGNORE_INDEX));
}
