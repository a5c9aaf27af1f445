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
import { argmaxHits, crossEntropy, IGNORE_INDEX } from "../ops/cross-entropy.js";
import { gatherRows } from "../ops/gather-rows.js";
import type { RotaryAngles } from "../ops/rotary.js";
import { rows } from "../ops/rows.js";
import { createCrossAttentionLayer, crossAttentionLayer, type CrossAttentionLayerParams } from "../nn/cross-attention-layer.js";
import { createEmbedding, embed, type EmbeddingParams } from "../nn/embedding.js";
import { CROSS_ATTENTION, INV_FREQ_BUFFER, selfAttentionLayerNames } from "../nn/parameter-names.js";
import { normalInit, ParameterStore } from "../nn/parameters.js";
import { angleRows, rotaryAngles, rotaryInverseFrequencies, selectAngles } from "../nn/rotary-angles.js";
import { createSelfAttentionLayer, selfAttentionLayer, type SelfAttentionLayerParams } from "../nn/self-attention-layer.js";
import { createOutputHead, tiedOutput, type OutputHeadParams } from "../nn/tied-output.js";
import { BufferPool } from "../buffer-pool.js";
import { Tensor } from "../tensor.js";
import { uniformSource } from "../util/rng.js";
import { makeConfig, rotatedChannelsPerHead, type PerceiverARConfig } from "./config.js";
import { batchShape, labelRange, toIntBatch, toPadMask, vocabularyRange, type TokenBatch } from "./token-batch.js";

export type { IntBatch, TokenBatch } from "./token-batch.js";

export interface ModelInitOptions {
  /** Seed of the parameter initialisation (ignored when `random` is given). Default 0. */
  seed?: number;
  /** Uniform [0, 1) source for the initialisation. */
  random?: () => number;
  /** Initial values by parameter name (e.g. from a checkpoint); `undefined` = random init. Called before each parameter is allocated. */
  weights?: (name: string, shape: readonly number[]) => Float32Array | undefined;
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

/** A model's parameters bound once into typed objects (the same Vars as `parameters`, by layer). */
export interface PerceiverARLayers {
  embedding: EmbeddingParams;
  /** The rotary inverse frequencies (r/2), the data of the INV_FREQ_BUFFER buffer. */
  rotaryInvFreq: Float32Array;
  crossAttention: CrossAttentionLayerParams;
  selfAttention: SelfAttentionLayerParams[];
  output: OutputHeadParams;
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
  readonly layers: PerceiverARLayers;
  backend: Backend;
  /** Recycled activation buffers of training and evaluation steps (see buffer-pool.ts). */
  readonly pool = new BufferPool();

  constructor(config: Partial<PerceiverARConfig> | Record<string, unknown>, backend: Backend, options: ModelInitOptions = {}) {
    this.config = makeConfig(config as Record<string, unknown>);
    this.backend = backend;
    this.store = new ParameterStore(options.weights, backend);
    this.layers = this.createLayers(options.random ?? uniformSource(options.seed ?? 0));
  }

  get numParameters(): number {
    return this.store.count();
  }

  /** Named trainable parameters, reference state-dict names. */
  get parameters(): Map<string, Var> {
    return this.store.params;
  }

  /** Every parameter, created through `store.add` in the reference's state-dict order. */
  private createLayers(u: () => number): PerceiverARLayers {
    const c = this.config;
    const C = c.numChannels;
    const init = normalInit(u, c.initScale);
    const ps = this.store;
    const embedding = createEmbedding(ps, c.vocabSize, C, c.absPosEmb ? c.maxSeqLen : null, init);
    const rot = rotatedChannelsPerHead(c);
    const rotaryInvFreq = rotaryInverseFrequencies(rot);
    ps.addBuffer(INV_FREQ_BUFFER, new Tensor([rot / 2], rotaryInvFreq));
    const crossAttention = createCrossAttentionLayer(ps, CROSS_ATTENTION, C, c.crossAttentionWideningFactor, init);
    const selfAttention: SelfAttentionLayerParams[] = [];
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      selfAttention.push(createSelfAttentionLayer(ps, selfAttentionLayerNames(l), C, c.selfAttentionWideningFactor, init));
    }
    const output = createOutputHead(ps, embedding.token, c);
    return { embedding, rotaryInvFreq, crossAttention, selfAttention, output };
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
    return this.score(ids, labels, options, true);
  }

  /** Mean cross-entropy without gradients, and the number of correct argmax predictions. */
  loss(ids: TokenBatch, labels: TokenBatch, options: ForwardOptions = {}): LossResult {
    return this.score(ids, labels, options, false);
  }

  private score(ids: TokenBatch, labels: TokenBatch, options: ForwardOptions, withGrad: boolean): LossResult {
    const prep = this.prepare(ids, options);
    const lab = this.prepareLabels(labels, prep);
    const g = new Graph(options.backend ?? this.backend, withGrad, this.pool);
    const logits = this.logits(g, prep, options); // (B, M, V)
    const { loss, count } = crossEntropy(g, logits, lab, IGNORE_INDEX);
    const result: LossResult = { loss: loss.data[0], count };
    if (withGrad && count > 0) g.backward(loss);
    if (!withGrad) result.correct = argmaxHits(logits.data, lab, this.config.vocabSize, IGNORE_INDEX);
    g.release(); // every intermediate goes back to the pool; parameter gradients are not pooled
    return result;
  }

  zeroGrads(): void {
    this.store.zeroGrads();
  }

  /** Validate inputs and compute positions. */
  prepare(idsIn: TokenBatch, options: ForwardOptions): Prepared {
    const c = this.config;
    const [B, N] = batchShape(idsIn, "ids");
    if (B < 1 || N < 1) throw new RangeError(`ids must be a non-empty (batch, seqLen) array, got (${B}, ${N})`);
    if (N > c.maxSeqLen) throw new RangeError(`sequence length ${N} exceeds max_seq_len ${c.maxSeqLen}; allowed range [1, ${c.maxSeqLen}]`);
    const ids = toIntBatch(idsIn, "ids", vocabularyRange(c.vocabSize));
    const maxPrefix = c.maxSeqLen - c.maxLatents;
    const P = options.prefixLen ?? Math.max(0, N - c.maxLatents);
    const lo = Math.max(0, N - c.maxLatents);
    const hi = Math.min(N - 1, maxPrefix);
    if (!Number.isInteger(P) || P < lo || P > hi) {
      throw new RangeError(
        `prefixLen ${P} is out of range for sequence length ${N}: allowed [${lo}, ${hi}] (at most max_latents = ${c.maxLatents} latents, at least 1, and prefix at most max_seq_len - max_latents = ${maxPrefix})`,
      );
    }
    const padMask = options.padMask == null ? null : toPadMask(options.padMask, B, N);
    const positions = new Int32Array(B * N);
    for (let b = 0; b < B; b++) {
      let pads = 0;
      if (padMask !== null) {
        for (let n = 0; n < N; n++) {
          if (padMask[b * N + n] === 0) continue;
          if (n !== pads) throw new RangeError(`padMask row ${b}: padding must be on the left (found padding at ${n} after a token)`);
          pads++;
        }
      }
      for (let n = 0; n < N; n++) positions[b * N + n] = Math.max(0, n - pads);
    }
    return { B, N, P, M: N - P, ids, padMask, positions };
  }

  /** Labels (B, M), every entry in [0, vocab) or the ignore index. */
  private prepareLabels(labels: TokenBatch, prep: Prepared): Int32Array {
    const [rows, cols] = batchShape(labels, "labels");
    if (rows !== prep.B || cols !== prep.M) {
      throw new RangeError(`labels must have shape (batch ${prep.B}, latents ${prep.M}), got (${rows}, ${cols})`);
    }
    return toIntBatch(labels, "labels", labelRange(this.config.vocabSize, IGNORE_INDEX));
  }

  /** The full forward pass on graph g: logits Var (B, M, V). */
  private logits(g: Graph, prep: Prepared, options: ForwardOptions): Var {
    const c = this.config;
    const { B, N, P, M, ids, padMask, positions } = prep;
    const alloc = (n: number) => g.alloc(n);
    const L = this.layers;

    const x = embed(g, L.embedding, ids, positions, [B, N]); // (B, N, C)
    const angles = rotaryAngles(positions, L.rotaryInvFreq, alloc); // (B·N, r)
    const latents = rows(g, x, P, M); // (B, M, C): x[:, P:]
    const latentAngles = angleRows(angles, B, N, P, M, alloc); // (B·M, r)

    // The prefix the latents attend to: x[:, :P], or (training with cross-attention dropout) a
    // random subset of its rows. The keys are the prefix rows, then the latents: with the whole
    // prefix that is every row of x, so their angles and padding are those of x.
    const keep = options.training && c.crossAttentionDropout > 0 && P > 0 ? P - Math.floor(P * c.crossAttentionDropout) : P;
    const keys = keep === P ? { prefix: P > 0 ? rows(g, x, 0, P) : null, angles, pad: padMask } : droppedPrefix(g, x, angles, padMask, prep, keep, options.random);

    let h = crossAttentionLayer(g, L.crossAttention, latents, keys.prefix, { heads: c.numHeads, rotary: { q: latentAngles, k: keys.angles }, keyPad: keys.pad }); // (B, M, C)
    for (let l = 0; l < L.selfAttention.length; l++) {
      const rotary = selfAttentionUsesRotary(c, l) ? { q: latentAngles, k: latentAngles } : null;
      h = selfAttentionLayer(g, L.selfAttention[l], h, { heads: c.numHeads, rotary }); // (B, M, C)
    }
    return tiedOutput(g, L.output, h); // (B, M, V)
  }
}

/** Whether self-attention layer l (0-based) rotates its queries and keys. */
export function selfAttentionUsesRotary(c: PerceiverARConfig, l: number): boolean {
  return c.numSelfAttentionRotaryLayers === -1 || l < c.numSelfAttentionRotaryLayers;
}

/** The cross-attention's key inputs: prefix rows (B, P', C), the key angle table (B·(P' + M), r) and padding (B, P' + M). */
interface CrossAttentionKeys {
  prefix: Var | null;
  angles: RotaryAngles;
  pad: Uint8Array | null;
}

/** Cross-attention dropout: per batch element `keep` random prefix rows of x (B, N, C) in order, then the latents. */
function droppedPrefix(g: Graph, x: Var, angles: RotaryAngles, padMask: Uint8Array | null, prep: Prepared, keep: number, random: (() => number) | undefined): CrossAttentionKeys {
  if (random === undefined) throw new Error("training with cross-attention dropout needs options.random");
  const { B, N, P, M } = prep;
  const prefixRows = new Int32Array(B * keep); // rows of x (B·N)
  const keyRows = new Int32Array(B * (keep + M));
  for (let b = 0; b < B; b++) {
    const kept = randomSubset(P, keep, random);
    for (let i = 0; i < keep; i++) prefixRows[b * keep + i] = keyRows[b * (keep + M) + i] = b * N + kept[i];
    for (let i = 0; i < M; i++) keyRows[b * (keep + M) + keep + i] = b * N + P + i;
  }
  return {
    prefix: keep > 0 ? gatherRows(g, x, prefixRows, [B, keep]) : null, // (B, keep, C)
    angles: selectAngles(angles, keyRows, (n) => g.alloc(n)),
    pad: padMask === null ? null : Uint8Array.from(keyRows, (r) => padMask[r]),
  };
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

