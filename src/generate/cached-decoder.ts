// CachedDecoder: exact KV-cached incremental decoding for PerceiverAR (batch 1).
//
// Contract: after `push(tokens)` appends to the token stream, `logits(prefixLen)` returns the
// last-position logits (V) that `model.forward(window, { prefixLen })` would return for the
// window = the last min(T, max_seq_len) tokens of the stream (T = stream length), within float32
// rounding (tested to 1e-4), for ANY valid prefixLen sequence; it is fast for the generation
// schedule (schedule.ts), where the prefix end never moves back.
//
// With `new CachedDecoder(model, { maxLatents: cap })` (cap in [1, max_latents], default
// max_latents) the decoder works on the capped view of schedule.ts `effectiveConfig`: the window is
// the last min(T, (max_seq_len - max_latents) + cap) tokens and at most cap positions are latents;
// `logits(prefixLen)` still equals `model.forward(window, { prefixLen })` with the model's own
// config (those windows and prefix lengths are a subset of what it accepts).
//
// Why it is exact (stream index j, window start w0, first latent ls = w0 + prefixLen):
// - Per-token quantities depend only on the token and its position: the embedding x_j, the
//   cross-attention's latent-form key/value (from LN_q) and prefix-form key/value (from LN_kv).
//   The embedding is computed once, when the token arrives; the prefix form once, when the token
//   enters the prefix (its K/V row is then overwritten, since a token is never both); the latent
//   form with the latent's hidden state (below).
// - Positions: with rotary only (abs_pos_emb false) scores depend on position differences only, so
//   we rotate with absolute stream positions j (the model uses j - w0): sliding the window does not
//   invalidate any cached rotated key. With abs_pos_emb the embedding of every token changes when
//   the window start moves, so the decoder rebuilds everything from the window (a full forward).
// - Latent hidden states depend on the latent set start ls and the window start w0 (the first latent
//   sees exactly the keys [w0, ls]). While both are unchanged (latents growing), old latents' states
//   and their per-layer self-attention K/V stay valid and only new positions are computed. When ls or
//   w0 moves (prefix grows, window slides), every latent is recomputed over the cached prefix K/V.
// - The last layer runs its query side for the last position only: no other position's output is
//   ever needed.
//
// The layers are the model's own (nn/cross-attention-layer.ts, nn/self-attention-layer.ts,
// nn/tied-output.ts), called on the rows whose values are new, with a key/value cache hook that
// stores those rows' K/V and returns the cached ones; this file only does the bookkeeping of which
// rows are new. Only Backend ops through a non-recording Graph are used.

import { Graph, Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { allocFloat32 } from "../backend/storage.js";
import type { RotaryAngles } from "../ops/rotary.js";
import { crossAttentionLayer } from "../nn/cross-attention-layer.js";
import { embed } from "../nn/embedding.js";
import type { KeyValueCache } from "../nn/multi-head-attention.js";
import { rotaryAngles } from "../nn/rotary-angles.js";
import { selfAttentionLayer } from "../nn/self-attention-layer.js";
import { tiedOutput } from "../nn/tied-output.js";
import { rotatedChannelsPerHead, type PerceiverARConfig } from "../models/config.js";
import { selfAttentionUsesRotary, type PerceiverAR } from "../models/perceiver-ar.js";
import { Tensor } from "../tensor.js";
import { effectiveConfig } from "./schedule.js";

/** Work done by one `logits` call (for tests and benchmarks). */
export interface DecoderStepStats {
  /** The cache was rebuilt from the window (abs_pos_emb slide, or prefix end moved back). */
  rebuilt: boolean;
  /** Tokens whose embedding and latent-form K/V were computed. */
  newTokens: number;
  /** Tokens whose prefix-form K/V were computed (they entered the prefix). */
  prefixTokens: number;
  /** Latent positions whose hidden states were computed. */
  latentRows: number;
}

export class CachedDecoder {
  readonly model: PerceiverAR;
  readonly backend: Backend;
  /** Work done by the last `logits` call. */
  lastStats: DecoderStepStats = { rebuilt: false, newTokens: 0, prefixTokens: 0, latentRows: 0 };

  private readonly c: PerceiverARConfig;
  /** Window length limit: (maxSeqLen - maxLatents) + cap. */
  readonly maxWindow: number;
  /** Latent limit (cap), at most the model's maxLatents. */
  readonly maxLatents: number;
  /** Prefix limit: the model's maxSeqLen - maxLatents. */
  readonly maxPrefix: number;
  private readonly C: number;
  private readonly rotDim: number;
  private readonly invFreq: Float32Array;
  private readonly capacity: number;
  private readonly tokens: number[] = [];

  // Stream-indexed row buffers: row r holds stream index base + r.
  private base = 0;
  private readonly X: Float32Array; // (cap, C) embedding (+ position embedding)
  private readonly Kc: Float32Array; // (cap, C) cross keys, rotated: prefix form below kvFormEnd, latent form above
  private readonly Vc: Float32Array; // (cap, C) cross values, same forms
  private readonly cos: Float32Array; // (cap, rotDim)
  private readonly sin: Float32Array; // (cap, rotDim)
  /** Rows [.., filled) hold X and angles. */
  private filled = 0;
  /** Rows [windowStart, kvFormEnd) hold prefix-form K/V. */
  private kvFormEnd = 0;
  /** Stream index with position 0 (always 0 with rotary only; the window start with abs_pos_emb). */
  private posBase = 0;

  // Self-attention caches, latent-relative rows (row i = stream index latentStart + i).
  private readonly layerK: Float32Array[]; // L x (maxLatents, C), rotated where the layer uses rotary
  private readonly layerV: Float32Array[]; // L x (maxLatents, C)
  private latentStart = -1;
  private latentWindowStart = -1;
  /** Latent rows [latentStart, latentDone) have valid per-layer K/V. */
  private latentDone = -1;

  /**
   * @param options.maxLatents use at most this many latents, an integer in [1, max_latents]
   *   (default max_latents); the window is then at most (max_seq_len - max_latents) + maxLatents.
   */
  constructor(model: PerceiverAR, options: { backend?: Backend; maxLatents?: number } = {}) {
    this.model = model;
    this.backend = options.backend ?? model.backend;
    const c = (this.c = model.config);
    const eff = effectiveConfig(c, options.maxLatents ?? c.maxLatents);
    this.maxWindow = eff.maxSeqLen;
    this.maxLatents = eff.maxLatents;
    this.maxPrefix = eff.maxSeqLen - eff.maxLatents;
    const C = (this.C = c.numChannels);
    this.rotDim = rotatedChannelsPerHead(c);
    this.invFreq = model.layers.rotaryInvFreq;
    // Slack rows let the window slide for a while before compaction (amortised copy cost).
    this.capacity = this.maxWindow + Math.max(16, Math.ceil(this.maxWindow / 4));
    // In the backend's storage (the wasm backend's memory), since every step's kernels read them.
    const alloc = (n: number) => allocFloat32(this.backend, n);
    this.X = alloc(this.capacity * C);
    this.Kc = alloc(this.capacity * C);
    this.Vc = alloc(this.capacity * C);
    this.cos = alloc(this.capacity * this.rotDim);
    this.sin = alloc(this.capacity * this.rotDim);
    this.layerK = [];
    this.layerV = [];
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      this.layerK.push(alloc(this.maxLatents * C));
      this.layerV.push(alloc(this.maxLatents * C));
    }
  }

  /** Number of tokens in the stream. */
  get length(): number {
    return this.tokens.length;
  }

  /** The stream's tokens (a copy). */
  get stream(): number[] {
    return this.tokens.slice();
  }

  /** Append tokens (integers in [0, vocab_size)) to the stream. */
  push(tokens: ArrayLike<number>): void {
    const V = this.c.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`token ${i} = ${t} is outside the vocabulary [0, ${V})`);
    }
    for (let i = 0; i < tokens.length; i++) this.tokens.push(tokens[i]);
  }

  /** Forget the stream and every cached value. */
  clear(): void {
    this.tokens.length = 0;
    this.invalidate(0);
  }

  /**
   * Last-position logits (V) of the window (the last n = min(T, maxWindow) tokens) with `prefixLen`
   * prefix positions: prefixLen in [max(0, n - maxLatents), min(n - 1, max_seq_len - max_latents)]
   * (maxWindow, maxLatents: the model's, or the capped view; see the header).
   */
  logits(prefixLen: number): Float32Array {
    const c = this.c;
    const T = this.tokens.length;
    if (T === 0) throw new RangeError("logits: the token stream is empty; push a prompt first");
    const n = Math.min(T, this.maxWindow);
    const w0 = T - n;
    const lo = Math.max(0, n - this.maxLatents);
    const hi = Math.min(n - 1, this.maxPrefix);
    if (!Number.isInteger(prefixLen) || prefixLen < lo || prefixLen > hi) {
      throw new RangeError(`prefixLen must be an integer in [${lo}, ${hi}] for a window of ${n} tokens, got ${prefixLen}`);
    }
    const ls = w0 + prefixLen; // stream index of the first latent
    const stats: DecoderStepStats = { rebuilt: false, newTokens: 0, prefixTokens: 0, latentRows: 0 };

    // Invalidation: absolute positions re-based, or a prefix token would turn back into a latent.
    if ((c.absPosEmb && w0 !== this.posBase) || ls < this.kvFormEnd) {
      stats.rebuilt = this.filled > w0 || this.kvFormEnd > w0;
      this.invalidate(w0);
    }
    if (this.filled < w0) this.filled = w0;
    if (this.kvFormEnd < w0) this.kvFormEnd = w0;
    this.makeRoom(w0, T);

    const g = new Graph(this.backend, false);
    // 1. New tokens: embeddings and angles.
    if (this.filled < T) {
      stats.newTokens = T - this.filled;
      this.embed(g, this.filled, T);
      this.filled = T;
    }
    // 2. Latent rows [r0, T) to compute: only the new ones while the latent set and window start
    // are unchanged; tokens [kvFormEnd, ls) entering the prefix get their prefix-form K/V with them.
    let r0 = ls;
    if (this.latentStart === ls && this.latentWindowStart === w0 && this.latentDone > ls) r0 = this.latentDone;
    if (r0 === T) r0 = T - 1; // nothing new (repeated call): recompute the last position
    stats.prefixTokens = ls - this.kvFormEnd;
    stats.latentRows = T - r0;
    const out = this.latents(g, w0, this.kvFormEnd, ls, r0, T);
    this.kvFormEnd = ls;
    this.latentStart = ls;
    this.latentWindowStart = w0;
    this.latentDone = T;
    this.lastStats = stats;
    return out;
  }

  private invalidate(w0: number): void {
    this.base = w0;
    this.filled = w0;
    this.kvFormEnd = w0;
    this.posBase = this.c.absPosEmb ? w0 : 0;
    this.latentStart = -1;
    this.latentWindowStart = -1;
    this.latentDone = -1;
  }

  /** Make rows [w0, T) addressable, moving the still-needed rows [w0, filled) to the front if needed. */
  private makeRoom(w0: number, T: number): void {
    if (T - this.base <= this.capacity) return;
    const C = this.C;
    const r = this.rotDim;
    const from = w0 - this.base;
    const to = Math.max(this.filled - this.base, from);
    for (const buf of [this.X, this.Kc, this.Vc]) buf.copyWithin(0, from * C, to * C);
    for (const buf of [this.cos, this.sin]) buf.copyWithin(0, from * r, to * r);
    this.base = w0;
  }

  /** A (1, count, C) Var viewing rows [start, start + count) of a stream buffer (no copy). */
  private view(buf: Float32Array, start: number, count: number): Var {
    const o = (start - this.base) * this.C;
    return new Var(new Tensor([1, count, this.C], buf.subarray(o, o + count * this.C)));
  }

  private angles(start: number, count: number): RotaryAngles {
    const r = this.rotDim;
    const o = (start - this.base) * r;
    return { cos: this.cos.subarray(o, o + count * r), sin: this.sin.subarray(o, o + count * r), rotDim: r };
  }

  /** X rows and rotary angles for stream indices [a, b). */
  private embed(g: Graph, a: number, b: number): void {
    const count = b - a;
    const ids = new Int32Array(count);
    const pos = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      ids[i] = this.tokens[a + i];
      pos[i] = a + i - this.posBase;
    }
    const x = embed(g, this.model.layers.embedding, ids, pos, [1, count]); // (1, count, C)
    this.X.set(x.data, (a - this.base) * this.C);
    const ang = rotaryAngles(pos, this.invFreq); // (count, rotDim)
    this.cos.set(ang.cos, (a - this.base) * this.rotDim);
    this.sin.set(ang.sin, (a - this.base) * this.rotDim);
  }

  /**
   * Hidden states of latents [r0, T) (window [w0, T), first latent ls), with the prefix-form K/V of
   * the tokens [p0, ls) that entered the prefix and the per-layer self-attention K/V of the new
   * latents cached on the way; returns the logits (V) of position T - 1.
   */
  private latents(g: Graph, w0: number, p0: number, ls: number, r0: number, T: number): Float32Array {
    const c = this.c;
    const layers = this.model.layers;
    const H = c.numHeads;
    const C = this.C;
    const L = layers.selfAttention.length;
    const R = T - r0;
    const M = T - ls;
    // New cross-attention K/V rows: [p0, ls) in prefix form, then [r0, T) in latent form. Tokens
    // enter the prefix only when the latent set moved, and then every latent is recomputed
    // (r0 = ls), so the new rows [k0, T) are contiguous.
    if (p0 < ls && r0 !== ls) throw new Error(`CachedDecoder: prefix rows [${p0}, ${ls}) are new but latents start at ${r0}`);
    const k0 = p0 < ls ? p0 : r0;
    const crossCache: KeyValueCache = (k, v) => {
      this.Kc.set(k.data, (k0 - this.base) * C);
      this.Vc.set(v.data, (k0 - this.base) * C);
      return { k: this.view(this.Kc, w0, T - w0), v: this.view(this.Vc, w0, T - w0) }; // (1, T - w0, C)
    };
    const prefix = p0 < ls ? this.view(this.X, p0, ls - p0) : null; // (1, ls - p0, C)
    let h = crossAttentionLayer(g, layers.crossAttention, this.view(this.X, r0, R), prefix, {
      heads: H,
      rotary: { q: this.angles(r0, R), k: this.angles(k0, T - k0) },
      kvCache: crossCache,
      queryRows: L === 0 ? 1 : R,
    }); // (1, R or 1, C)

    const ang = this.angles(r0, R);
    for (let l = 0; l < L; l++) {
      const K = this.layerK[l];
      const V = this.layerV[l];
      const selfCache: KeyValueCache = (k, v) => {
        K.set(k.data, (r0 - ls) * C);
        V.set(v.data, (r0 - ls) * C);
        return { k: new Var(new Tensor([1, M, C], K.subarray(0, M * C))), v: new Var(new Tensor([1, M, C], V.subarray(0, M * C))) }; // (1, M, C)
      };
      h = selfAttentionLayer(g, layers.selfAttention[l], h, {
        heads: H,
        rotary: selfAttentionUsesRotary(c, l) ? { q: ang, k: ang } : null,
        kvCache: selfCache,
        queryRows: l === L - 1 ? 1 : R,
      }); // (1, R or 1, C)
    }
    return tiedOutput(g, layers.output, h).data; // (1, 1, V)
  }
}
