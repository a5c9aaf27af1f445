// PerceiverAR: the model, computing exactly what krasserm/perceiver-io's CausalSequenceModel
// computes (see ../shared/golden/README.md), on any Backend.
//
// forward(ids (B, N), prefixLen P) -> logits (B, M, V) for the M = N - P latent positions:
//   x = embed(ids) [+ posEmb(positions)]                         (B, N, C)
//   latents = x[:, P:], prefix = x[:, :P] (a random subset when training with dropout)
//   h = latents + CrossAttn(LN_q(latents) -> concat(LN_kv(prefix), LN_q(latents)))   (B, M, C)
//   h = h + MLP(h); then L x [h += SelfAttn(LN(h)); h += MLP(h)]
//   logits = [LN_out](h) · embeddingᵀ [+ bias]                    (B, M, V)
// Positions are arange(N) - numPads (clamped at 0); rotary angles use the same positions.

import { Graph, Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { add } from "../ops/add.js";
import { concatSeq } from "../ops/concat.js";
import { argmaxHits, crossEntropy, IGNORE_INDEX } from "../ops/cross-entropy.js";
import { gatherRows } from "../ops/gather-rows.js";
import { layerNorm } from "../ops/layer-norm.js";
import { addAttentionParameters, attentionBlock } from "../nn/attention-block.js";
import { addMlpParameters, residualMlp } from "../nn/mlp.js";
import { addSelfAttentionLayerParameters } from "../nn/self-attention-layer.js";
import { addOutputParameters, tiedOutput } from "../nn/tied-output.js";
import { normalInit, onesInit, ParameterStore, zerosInit } from "../nn/parameters.js";
import { rotaryAngles, rotaryInverseFrequencies, selectAngles } from "../nn/rotary-angles.js";
import { BufferPool } from "../buffer-pool.js";
import { Tensor } from "../tensor.js";
import { makeConfig, rotatedChannelsPerHead, type PerceiverARConfig } from "./config.js";

export const INV_FREQ_BUFFER = "input_adapter.frq_pos_encoding.inv_freq";

export interface ModelInitOptions {
  /** Seed of the parameter initialisation (ignored when `random` is given). Default 0. */
  seed?: number;
  /** Uniform [0, 1) source for the initialisation. */
  random?: () => number;
  /** Initial values by parameter name (e.g. from a checkpoint); `undefined` = random init. Called before each parameter is allocated. */
  weights?: (name: string, shape: readonly number[]) => Float32Array | undefined;
}

/** Token ids of a batch: nested arrays (batch rows of equal length) or a row-major (batch, seqLen) Int32Array with its shape. */
export type TokenBatch = ArrayLike<number>[] | IntBatch;

export interface IntBatch {
  data: Int32Array;
  shape: readonly [number, number];
}

export interface ForwardOptions {
  /** Number of prefix positions P; the remaining N - P positions are latents. Default max(0, N - maxLatents). */
  prefixLen?: number;
  /** (batch, seqLen), 1 = padding. Padding must be on the left. */
  padMask?: Uint8Array | ArrayLike<number>[] | null;
  /** Training mode: cross-attention dropout on the prefix (needs `random`). Default false. */
  training?: boolean;
  /** Uniform [0, 1) source for cross-attention dropout. */
  random?: () => number;
  /** Backend override for this call. */
  backend?: Backend;
}

export interface LossResult {
  loss: number;
  /** Number of labels that counted (not ignored). */
  count: number;
  /** Counted labels whose argmax logit is the label (from `loss()` only). */
  correct?: number;
}

interface Prepared {
  B: number;
  N: number;
  P: number;
  M: number;
  ids: Int32Array;
  padMask: Uint8Array | null;
  positions: Int32Array; // (B·N)
}

export class PerceiverAR {
  readonly config: PerceiverARConfig;
  readonly store: ParameterStore;
  backend: Backend;
  /** Recycled activation buffers of training and evaluation steps (see buffer-pool.ts). */
  readonly pool = new BufferPool();

  constructor(config: Partial<PerceiverARConfig> | Record<string, unknown>, backend: Backend, options: ModelInitOptions = {}) {
    this.config = makeConfig(config as Record<string, unknown>);
    this.backend = backend;
    this.store = new ParameterStore();
    const weights = options.weights;
    const add = this.store.add.bind(this.store);
    if (weights !== undefined) this.store.add = (name, shape, init) => add(name, shape, weights(name, shape) ?? init);
    this.initParameters(options.random ?? seededUniform(options.seed ?? 0));
    if (weights !== undefined) this.store.add = add;
  }

  get numParameters(): number {
    return this.store.count();
  }

  /** Named trainable parameters, reference state-dict names. */
  get parameters(): Map<string, Var> {
    return this.store.params;
  }

  private initParameters(u: () => number): void {
    const c = this.config;
    const C = c.numChannels;
    const std = c.initScale;
    const ps = this.store;
    ps.add("input_adapter.txt_embedding.weight", [c.vocabSize, C], normalInit(u, std));
    if (c.absPosEmb) ps.add("input_adapter.pos_embedding.weight", [c.maxSeqLen, C], normalInit(u, std));
    const rot = rotatedChannelsPerHead(c);
    ps.addBuffer(INV_FREQ_BUFFER, new Tensor([rot / 2], rotaryInverseFrequencies(rot)));
    const ca = "cross_attention.0.module";
    for (const n of ["q_norm", "kv_norm"]) {
      ps.add(`${ca}.${n}.weight`, [C], onesInit);
      ps.add(`${ca}.${n}.bias`, [C], zerosInit);
    }
    addAttentionParameters(ps, `${ca}.attention`, C, u, std, true);
    addMlpParameters(ps, "cross_attention.1.module", C, c.crossAttentionWideningFactor, u, std);
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      addSelfAttentionLayerParameters(ps, l, C, c.selfAttentionWideningFactor, u, std);
    }
    addOutputParameters(ps, C, c.vocabSize, c);
  }

  /** Logits (B, M, V) for the latent positions; no gradients recorded. */
  forward(ids: TokenBatch, options: ForwardOptions = {}): Tensor {
    const g = new Graph(options.backend ?? this.backend, false);
    return this.logits(g, this.prepare(ids, options), options).value;
  }

  /**
   * Mean cross-entropy of the latent logits against `labels` (B, M) (-100 = ignore), and the
   * gradient of every parameter accumulated into `parameters.get(name).grad` (zero them first
   * with `zeroGrads()`, or let them accumulate over micro-batches).
   */
  lossAndGrad(ids: TokenBatch, labels: TokenBatch, options: ForwardOptions = {}): LossResult {
    const g = new Graph(options.backend ?? this.backend, true, this.pool);
    const prep = this.prepare(ids, options);
    const logits = this.logits(g, prep, options);
    const lab = toInt32Batch(labels, prep.B, "labels");
    if (lab.length !== prep.B * prep.M) {
      throw new RangeError(`labels must have shape (batch ${prep.B}, latents ${prep.M}), got ${lab.length} values`);
    }
    const { loss, count } = crossEntropy(g, logits, lab, IGNORE_INDEX);
    const value = loss.data[0];
    if (count > 0) g.backward(loss);
    g.release(); // every intermediate goes back to the pool; parameter gradients are not pooled
    return { loss: value, count };
  }

  /** Mean cross-entropy without gradients. */
  loss(ids: TokenBatch, labels: TokenBatch, options: ForwardOptions = {}): LossResult {
    const g = new Graph(options.backend ?? this.backend, false, this.pool);
    const prep = this.prepare(ids, options);
    const logits = this.logits(g, prep, options);
    const lab = toInt32Batch(labels, prep.B, "labels");
    const { loss, count } = crossEntropy(g, logits, lab, IGNORE_INDEX);
    const value = loss.data[0];
    const correct = argmaxHits(logits.data, lab, this.config.vocabSize, IGNORE_INDEX);
    g.release();
    return { loss: value, count, correct };
  }

  zeroGrads(): void {
    this.store.zeroGrads();
  }

  /** Validate inputs and compute positions. */
  prepare(idsIn: TokenBatch, options: ForwardOptions): Prepared {
    const c = this.config;
    const B = isIntBatch(idsIn) ? idsIn.shape[0] : idsIn.length;
    const ids = toInt32Batch(idsIn, B, "ids");
    const N = ids.length / B;
    if (!Number.isInteger(N) || N < 1) throw new RangeError(`ids must be a non-empty (batch, seqLen) array`);
    if (N > c.maxSeqLen) throw new RangeError(`sequence length ${N} exceeds max_seq_len ${c.maxSeqLen}; allowed range [1, ${c.maxSeqLen}]`);
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!(t >= 0 && t < c.vocabSize)) throw new RangeError(`ids[${Math.floor(i / N)}][${i % N}] = ${t} is outside the vocabulary [0, ${c.vocabSize})`);
    }
    const maxPrefix = c.maxSeqLen - c.maxLatents;
    const P = options.prefixLen ?? Math.max(0, N - c.maxLatents);
    const lo = Math.max(0, N - c.maxLatents);
    const hi = Math.min(N - 1, maxPrefix);
    if (!Number.isInteger(P) || P < lo || P > hi) {
      throw new RangeError(
        `prefixLen ${P} is out of range for sequence length ${N}: allowed [${lo}, ${hi}] (at most max_latents = ${c.maxLatents} latents, at least 1, and prefix at most max_seq_len - max_latents = ${maxPrefix})`,
      );
    }
    let padMask: Uint8Array | null = null;
    const positions = new Int32Array(B * N);
    if (options.padMask != null) {
      padMask = toUint8Batch(options.padMask, B, "padMask");
      if (padMask.length !== B * N) throw new RangeError(`padMask must have shape (batch ${B}, seqLen ${N}), got ${padMask.length} values`);
    }
    for (let b = 0; b < B; b++) {
      let pads = 0;
      if (padMask !== null) {
        for (let n = 0; n < N; n++) {
          const m = padMask[b * N + n];
          if (m !== 0 && m !== 1) throw new RangeError(`padMask[${b}][${n}] = ${m} must be 0 or 1`);
          if (m === 1) {
            if (n !== pads) throw new RangeError(`padMask row ${b}: padding must be on the left (found padding at ${n} after a token)`);
            pads++;
          }
        }
      }
      for (let n = 0; n < N; n++) positions[b * N + n] = Math.max(0, n - pads);
    }
    return { B, N, P, M: N - P, ids, padMask, positions };
  }

  /** The full forward pass on graph g: logits Var (B, M, V). */
  private logits(g: Graph, prep: Prepared, options: ForwardOptions): Var {
    const c = this.config;
    const ps = this.store;
    const { B, N, P, M, ids, padMask, positions } = prep;
    const C = c.numChannels;

    // Embedding: x (B, N, C)
    let x = gatherRows(g, ps.get("input_adapter.txt_embedding.weight"), ids, [B, N]);
    if (c.absPosEmb) x = add(g, x, gatherRows(g, ps.get("input_adapter.pos_embedding.weight"), positions, [B, N]));
    const invFreq = this.store.buffers.get(INV_FREQ_BUFFER)!.data;
    const alloc = (n: number) => g.alloc(n);
    const angles = rotaryAngles(positions, invFreq, alloc); // (B·N, r)

    // Prefix rows kept for the cross-attention (all of them unless training with dropout).
    const keep = options.training && c.crossAttentionDropout > 0 && P > 0 ? P - Math.floor(P * c.crossAttentionDropout) : P;
    if (keep < P && options.random === undefined) throw new Error("training with cross-attention dropout needs options.random");
    const prefixIdx = new Int32Array(B * keep); // rows of x (B·N)
    const latentIdx = new Int32Array(B * M);
    const kvPad = padMask === null ? null : new Uint8Array(B * (keep + M));
    for (let b = 0; b < B; b++) {
      const kept = keep < P ? randomSubset(P, keep, options.random!) : null;
      for (let i = 0; i < keep; i++) prefixIdx[b * keep + i] = b * N + (kept ? kept[i] : i);
      for (let i = 0; i < M; i++) latentIdx[b * M + i] = b * N + P + i;
      if (kvPad !== null) {
        for (let i = 0; i < keep; i++) kvPad[b * (keep + M) + i] = padMask![prefixIdx[b * keep + i]];
        for (let i = 0; i < M; i++) kvPad[b * (keep + M) + keep + i] = padMask![b * N + P + i];
      }
    }
    const xFlat = x; // gathered by row of (B·N, C)
    const latents = gatherRows(g, xFlat, latentIdx, [B, M]); // (B, M, C)
    const latentAngles = selectAngles(angles, latentIdx, alloc);
    const kvIdx = new Int32Array(B * (keep + M));
    for (let b = 0; b < B; b++) {
      kvIdx.set(prefixIdx.subarray(b * keep, (b + 1) * keep), b * (keep + M));
      kvIdx.set(latentIdx.subarray(b * M, (b + 1) * M), b * (keep + M) + keep);
    }
    const kvAngles = selectAngles(angles, kvIdx, alloc);

    // Cross-attention: latents attend to kept prefix + latents, causally.
    const ca = "cross_attention.0.module";
    const qIn = layerNorm(g, latents, ps.get(`${ca}.q_norm.weight`), ps.get(`${ca}.q_norm.bias`));
    let kvIn = qIn;
    if (keep > 0) {
      const prefix = gatherRows(g, xFlat, prefixIdx, [B, keep]); // (B, keep, C)
      const prefixIn = layerNorm(g, prefix, ps.get(`${ca}.kv_norm.weight`), ps.get(`${ca}.kv_norm.bias`));
      kvIn = concatSeq(g, prefixIn, qIn); // (B, keep + M, C)
    }
    const H = c.numHeads;
    let h = attentionBlock(g, ps, `${ca}.attention`, qIn, kvIn, { heads: H, causalOffset: keep, qAngles: latentAngles, kAngles: kvAngles, keyPad: kvPad, outBias: true });
    h = add(g, latents, h);
    h = residualMlp(g, ps, "cross_attention.1.module", h);

    // Self-attention stack over the latents.
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      const sa = `self_attention.${l}.0.module`;
      const useRotary = c.numSelfAttentionRotaryLayers === -1 || l < c.numSelfAttentionRotaryLayers;
      const n = layerNorm(g, h, ps.get(`${sa}.norm.weight`), ps.get(`${sa}.norm.bias`));
      const angles = useRotary ? latentAngles : null;
      const a = attentionBlock(g, ps, `${sa}.attention`, n, n, { heads: H, causalOffset: 0, qAngles: angles, kAngles: angles });
      h = add(g, h, a);
      h = residualMlp(g, ps, `self_attention.${l}.1.module`, h);
    }

    return tiedOutput(g, ps, h, c); // (B, M, V)
  }
}

/** `count` distinct sorted indices from [0, n), uniformly (partial Fisher-Yates). */
export function randomSubset(n: number, count: number, random: () => number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.subarray(0, count).sort();
}

/** A small seeded uniform [0, 1) generator (mulberry32) for parameter initialisation. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isIntBatch(x: unknown): x is IntBatch {
  return typeof x === "object" && x !== null && (x as IntBatch).data instanceof Int32Array && Array.isArray((x as IntBatch).shape);
}

function toInt32Batch(x: TokenBatch, B: number, what: string): Int32Array {
  if (isIntBatch(x)) {
    if (x.shape[0] !== B || x.data.length !== x.shape[0] * x.shape[1]) throw new RangeError(`${what}: data length ${x.data.length} does not match shape [${x.shape.join(", ")}]`);
    return x.data;
  }
  const rows = x as ArrayLike<number>[];
  if (rows.length !== B) throw new RangeError(`${what} must have ${B} rows, got ${rows.length}`);
  const N = rows.length > 0 ? rows[0].length : 0;
  const out = new Int32Array(B * N);
  for (let b = 0; b < B; b++) {
    if (rows[b].length !== N) throw new RangeError(`${what} rows must all have length ${N}; row ${b} has ${rows[b].length}`);
    for (let n = 0; n < N; n++) out[b * N + n] = rows[b][n];
  }
  return out;
}

function toUint8Batch(x: Uint8Array | ArrayLike<number>[], B: number, what: string): Uint8Array {
  if (x instanceof Uint8Array) return x;
  return Uint8Array.from(toInt32Batch(x, B, what));
}
