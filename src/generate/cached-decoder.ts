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
//   cross-attention query rot(Wq·LN_q(x_j)), the latent-form key/value (LN_q) and the prefix-form
//   key/value (LN_kv). Each is computed once: the q-form when the token arrives, the kv-form when it
//   enters the prefix (its K/V row is then overwritten, since a token is never both).
// - Positions: with rotary only (abs_pos_emb false) scores depend on position differences only, so
//   we rotate with absolute stream positions j (the model uses j - w0): sliding the window does not
//   invalidate any cached rotated key. With abs_pos_emb the embedding of every token changes when
//   the window start moves, so the decoder rebuilds everything from the window (a full forward).
// - Latent hidden states depend on the latent set start ls and the window start w0 (the first latent
//   sees exactly the keys [w0, ls]). While both are unchanged (latents growing), old latents' states
//   and their per-layer self-attention K/V stay valid and only new positions are computed. When ls or
//   w0 moves (prefix grows, window slides), every latent is recomputed from the cached cross K/V.
// - The last self-attention layer (or the cross-attention MLP when there is none) runs its query
//   side for the last position only: no other position's output is ever needed.
//
// Only Backend ops through a non-recording Graph are used, so a faster backend speeds this up.

import { Graph, Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { add } from "../ops/add.js";
import { attention } from "../ops/attention.js";
import { gatherRows } from "../ops/gather-rows.js";
import { layerNorm } from "../ops/layer-norm.js";
import { linear } from "../ops/linear.js";
import { rotary, type RotaryAngles } from "../ops/rotary.js";
import { residualMlp } from "../nn/mlp.js";
import { rotaryAngles } from "../nn/rotary-angles.js";
import { rotatedChannelsPerHead, type PerceiverARConfig } from "../models/config.js";
import { INV_FREQ_BUFFER, type PerceiverAR } from "../models/perceiver-ar.js";
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

const CA = "cross_attention.0.module";

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
  private readonly Qc: Float32Array; // (cap, C) cross-attention queries, rotated
  private readonly Kc: Float32Array; // (cap, C) cross keys: prefix form below kvFormEnd, latent form above
  private readonly Vc: Float32Array; // (cap, C) cross values, same forms
  private readonly cos: Float32Array; // (cap, rotDim)
  private readonly sin: Float32Array; // (cap, rotDim)
  /** Rows [.., filled) hold X, angles and (for rows >= the first latent at fill time) latent-form Q/K/V. */
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
    this.invFreq = model.store.buffers.get(INV_FREQ_BUFFER)!.data;
    // Slack rows let the window slide for a while before compaction (amortised copy cost).
    this.capacity = this.maxWindow + Math.max(16, Math.ceil(this.maxWindow / 4));
    this.X = new Float32Array(this.capacity * C);
    this.Qc = new Float32Array(this.capacity * C);
    this.Kc = new Float32Array(this.capacity * C);
    this.Vc = new Float32Array(this.capacity * C);
    this.cos = new Float32Array(this.capacity * this.rotDim);
    this.sin = new Float32Array(this.capacity * this.rotDim);
    this.layerK = [];
    this.layerV = [];
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      this.layerK.push(new Float32Array(this.maxLatents * C));
      this.layerV.push(new Float32Array(this.maxLatents * C));
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
    // 1. New tokens: embeddings and angles; latent-form Q/K/V for those at or after the first latent.
    if (this.filled < T) {
      stats.newTokens = T - this.filled;
      this.embed(g, this.filled, T);
      const from = Math.max(this.filled, ls);
      if (from < T) this.latentForm(g, from, T);
      this.filled = T;
    }
    // 2. Tokens entering the prefix: prefix-form K/V (overwrites their latent-form rows).
    if (this.kvFormEnd < ls) {
      stats.prefixTokens = ls - this.kvFormEnd;
      this.prefixForm(g, this.kvFormEnd, ls);
      this.kvFormEnd = ls;
    }
    // 3. Latent hidden states: only the new ones while the latent set and window start are unchanged.
    let r0 = ls;
    if (this.latentStart === ls && this.latentWindowStart === w0 && this.latentDone > ls) r0 = this.latentDone;
    if (r0 === T) r0 = T - 1; // nothing new (repeated call): recompute the last position
    stats.latentRows = T - r0;
    const out = this.latents(g, w0, ls, r0, T);
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
    for (const buf of [this.X, this.Qc, this.Kc, this.Vc]) buf.copyWithin(0, from * C, to * C);
    for (const buf of [this.cos, this.sin]) buf.copyWithin(0, from * r, to * r);
    this.base = w0;
  }

  /** A (1, count, width) Var viewing rows [start, start + count) of a stream buffer (no copy). */
  private rows(buf: Float32Array, start: number, count: number, width = this.C): Var {
    const o = (start - this.base) * width;
    return new Var(new Tensor([1, count, width], buf.subarray(o, o + count * width)));
  }

  private angles(start: number, count: number): RotaryAngles {
    const r = this.rotDim;
    const o = (start - this.base) * r;
    return { cos: this.cos.subarray(o, o + count * r), sin: this.sin.subarray(o, o + count * r), rotDim: r };
  }

  private write(buf: Float32Array, start: number, v: Var): void {
    buf.set(v.data, (start - this.base) * this.C);
  }

  /** X rows and rotary angles for stream indices [a, b). */
  private embed(g: Graph, a: number, b: number): void {
    const ps = this.model.store;
    const count = b - a;
    const ids = new Int32Array(count);
    const pos = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      ids[i] = this.tokens[a + i];
      pos[i] = a + i - this.posBase;
    }
    let x = gatherRows(g, ps.get("input_adapter.txt_embedding.weight"), ids, [1, count]); // (1, count, C)
    if (this.c.absPosEmb) x = add(g, x, gatherRows(g, ps.get("input_adapter.pos_embedding.weight"), pos, [1, count]));
    this.write(this.X, a, x);
    const ang = rotaryAngles(pos, this.invFreq); // (count, rotDim)
    this.cos.set(ang.cos, (a - this.base) * this.rotDim);
    this.sin.set(ang.sin, (a - this.base) * this.rotDim);
  }

  /** Latent-form cross-attention Q, K, V (from LN_q) for stream indices [a, b). */
  private latentForm(g: Graph, a: number, b: number): void {
    const ps = this.model.store;
    const H = this.c.numHeads;
    const ang = this.angles(a, b - a);
    const nq = layerNorm(g, this.rows(this.X, a, b - a), ps.get(`${CA}.q_norm.weight`), ps.get(`${CA}.q_norm.bias`)); // (1, R, C)
    this.write(this.Qc, a, rotary(g, linear(g, nq, ps.get(`${CA}.attention.q_proj.weight`)), ang, H));
    this.write(this.Kc, a, rotary(g, linear(g, nq, ps.get(`${CA}.attention.k_proj.weight`)), ang, H));
    this.write(this.Vc, a, linear(g, nq, ps.get(`${CA}.attention.v_proj.weight`)));
  }

  /** Prefix-form cross-attention K, V (from LN_kv) for stream indices [a, b). */
  private prefixForm(g: Graph, a: number, b: number): void {
    const ps = this.model.store;
    const H = this.c.numHeads;
    const nkv = layerNorm(g, this.rows(this.X, a, b - a), ps.get(`${CA}.kv_norm.weight`), ps.get(`${CA}.kv_norm.bias`)); // (1, R, C)
    this.write(this.Kc, a, rotary(g, linear(g, nkv, ps.get(`${CA}.attention.k_proj.weight`)), this.angles(a, b - a), H));
    this.write(this.Vc, a, linear(g, nkv, ps.get(`${CA}.attention.v_proj.weight`)));
  }

  /**
   * Hidden states of latents [r0, T) (window [w0, T), first latent ls), filling the per-layer K/V
   * caches, and the logits (V) of position T - 1.
   */
  private latents(g: Graph, w0: number, ls: number, r0: number, T: number): Float32Array {
    const c = this.c;
    const ps = this.model.store;
    const H = c.numHeads;
    const C = this.C;
    const L = c.numSelfAttentionLayers;
    const R = T - r0;
    const lastOnly = (v: Var): Var => (v.shape[1] === 1 ? v : new Var(new Tensor([1, 1, C], v.data.subarray((v.shape[1] - 1) * C))));

    // Cross-attention: queries [r0, T) over keys [w0, T); query r0 + i sees keys up to r0 + i.
    const o = attention(g, this.rows(this.Qc, r0, R), this.rows(this.Kc, w0, T - w0), this.rows(this.Vc, w0, T - w0), {
      heads: H,
      causalOffset: r0 - w0,
    }); // (1, R, C)
    let h = add(g, this.rows(this.X, r0, R), linear(g, o, ps.get(`${CA}.attention.o_proj.weight`), ps.get(`${CA}.attention.o_proj.bias`)));
    if (L === 0) h = lastOnly(h);
    h = residualMlp(g, ps, "cross_attention.1.module", h); // (1, R or 1, C)

    const ang = this.angles(r0, R);
    const lastAng = this.angles(T - 1, 1);
    for (let l = 0; l < L; l++) {
      const sa = `self_attention.${l}.0.module`;
      const useRotary = c.numSelfAttentionRotaryLayers === -1 || l < c.numSelfAttentionRotaryLayers;
      const nrm = layerNorm(g, h, ps.get(`${sa}.norm.weight`), ps.get(`${sa}.norm.bias`)); // (1, R, C)
      let k = linear(g, nrm, ps.get(`${sa}.attention.k_proj.weight`));
      if (useRotary) k = rotary(g, k, ang, H);
      const v = linear(g, nrm, ps.get(`${sa}.attention.v_proj.weight`));
      this.layerK[l].set(k.data, (r0 - ls) * C);
      this.layerV[l].set(v.data, (r0 - ls) * C);
      const final = l === L - 1;
      const qIn = final ? lastOnly(nrm) : nrm; // the last layer's outputs are only needed at T - 1
      let q = linear(g, qIn, ps.get(`${sa}.attention.q_proj.weight`)); // (1, R or 1, C)
      if (useRotary) q = rotary(g, q, final ? lastAng : ang, H);
      const M = T - ls;
      const kAll = new Var(new Tensor([1, M, C], this.layerK[l].subarray(0, M * C))); // (1, M, C)
      const vAll = new Var(new Tensor([1, M, C], this.layerV[l].subarray(0, M * C)));
      const a = attention(g, q, kAll, vAll, { heads: H, causalOffset: (final ? T - 1 : r0) - ls });
      h = add(g, final ? lastOnly(h) : h, linear(g, a, ps.get(`${sa}.attention.o_proj.weight`)));
      h = residualMlp(g, ps, `self_attention.${l}.1.module`, h);
    }

    h = lastOnly(h); // (1, 1, C)
    if (c.outputNorm) h = layerNorm(g, h, ps.get("out_norm.weight"), ps.get("out_norm.bias"));
    const emb = ps.get("input_adapter.txt_embedding.weight");
    return linear(g, h, emb, c.outputBias ? ps.get("output_adapter.bias") : null).data; // (1, 1, V)
  }
}
