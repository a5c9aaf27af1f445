// CachedDecoder: exact KV-cached incremental decoding for PerceiverAR, for one token stream or a
// batch of them.
//
// Contract (one stream): after `push(tokens)` appends to the token stream, `logits(prefixLen,
// window)` returns the last-position logits (V) that `model.forward(last window tokens,
// { prefixLen })` would return, within float32 rounding (tested to 1e-4), for ANY valid
// (window, prefixLen) sequence; `window` defaults to min(T, maxWindow) (T = stream length). It is
// fast for the generation schedules (schedule.ts), where the first latent never moves back: while
// the first latent and the window start stay put (latents growing), only the new positions are
// computed.
//
// Contract (a batch): `new CachedDecoder(model, { batch: B })`, `pushRows(prompts)` (different
// lengths are left-padded on a shared timeline), `pushRows(next tokens)` (one per row), and
// `logitsRows(steps)` with one (window, prefixLen) per row, each in that row's own stream: returns
// (B, V), row b equal to `model.forward(row b's last window_b tokens, { prefixLen: prefixLen_b })`.
// Padding never reaches the model's pad semantics: each row attends only to the keys of its own
// window (the others, pads included, are masked), so the rows must share their first latent
// position on the timeline — except rows without a prefix (all their window is latents), whose
// earlier latent slots are masked for them (those slots' outputs are computed and discarded; every
// real latent sees at least itself). `retainRows(keep)` drops finished rows.
//
// With `{ weights: "int8" }` the decoder computes with int8 weight-only matrices (int8-layers.ts): the
// logits are then those of the int8 model, not exactly model.forward's.
//
// With `new CachedDecoder(model, { maxLatents: cap })` (cap in [1, max_latents], default
// max_latents) the decoder works on the capped view of schedule.ts `effectiveConfig`: windows of at
// most (max_seq_len - max_latents) + cap tokens with at most cap latents; `logits` still equals
// `model.forward(window, { prefixLen })` with the model's own config.
//
// Why it is exact (timeline index j, a row's window start v, first latent ls):
// - Per-token quantities depend only on the token and its position: the embedding x_j, the
//   cross-attention's latent-form key/value (from LN_q) and prefix-form key/value (from LN_kv).
//   The embedding is computed once, when the token arrives; the prefix form once, when the token
//   enters the prefix (its K/V row is then overwritten, since a token is never both); the latent
//   form with the latent's hidden state (below).
// - Positions: with rotary only (abs_pos_emb false) scores depend on position differences only, so
//   we rotate with each row's absolute stream positions (the model uses j - v): moving the window
//   does not invalidate any cached rotated key. With abs_pos_emb the embedding of every token changes
//   when a window start moves, so the decoder rebuilds everything from the window (a full forward).
// - Latent hidden states depend on the first latent ls and the window starts (the first latent sees
//   exactly the keys [v, ls]). While those are unchanged (latents growing), old latents' states and
//   their per-layer self-attention K/V stay valid and only new positions are computed. When ls or a
//   window start moves (prefix grows, window slides, a reset), every latent is recomputed over the
//   cached prefix K/V.
// - A masked key is an absent key: a row's softmax over its visible keys is the one-row forward's.
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
import { selfAttentionUsesRotary, type PerceiverAR, type PerceiverARLayers } from "../models/perceiver-ar.js";
import { Tensor } from "../tensor.js";
import { layersFor, type WeightFormat } from "./int8-layers.js";
import { RowBuffer } from "./row-buffer.js";
import { effectiveConfig } from "./schedule.js";

/** Work done by one `logits` call (for tests and benchmarks). */
export interface DecoderStepStats {
  /** The cache was rebuilt from the window (abs_pos_emb window move, or first latent moved back). */
  rebuilt: boolean;
  /** Timeline positions whose embedding and latent-form K/V were computed. */
  newTokens: number;
  /** Positions whose prefix-form K/V were computed (they entered the prefix). */
  prefixTokens: number;
  /** Latent positions whose hidden states were computed (per row). */
  latentRows: number;
}

/** One row's request: the model sees the row's last `window` tokens with `prefixLen` prefix positions. */
export interface RowStep {
  window: number;
  prefixLen: number;
}

export interface CachedDecoderOptions {
  backend?: Backend;
  /** Use at most this many latents, an integer in [1, max_latents] (default max_latents). */
  maxLatents?: number;
  /** Number of token streams decoded together, an integer >= 1 (default 1). */
  batch?: number;
  /** "f32" (default) or "int8": int8 weight-only matrices (int8-layers.ts); logits then differ from model.forward by the quantisation. */
  weights?: WeightFormat;
}

/** The token id stored at padded timeline positions (never visible to a real row: always masked). */
const PAD_SLOT_TOKEN = 0;
/** Slack slots beyond the window, at least this many: the window slides a while before compaction. */
const MIN_SLACK_SLOTS = 16;

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
  private readonly invFreq: Float32Array;
  /** The layers computed with: the model's, or their int8 view. */
  private readonly layers: PerceiverARLayers;

  // The timeline: every row has T entries, row b's first pads[b] are padding.
  private timeline: number[][];
  private pads: number[];
  private T = 0;

  // Timeline-indexed rows (RowBuffer base = the first slot kept).
  private readonly X: RowBuffer; // (B, cap, C) embedding (+ position embedding)
  private readonly Kc: RowBuffer; // (B, cap, C) cross keys, rotated: prefix form below kvFormEnd, latent form above
  private readonly Vc: RowBuffer; // (B, cap, C) cross values, same forms
  private readonly cos: RowBuffer; // (B, cap, rotDim)
  private readonly sin: RowBuffer; // (B, cap, rotDim)
  /** Indices [validFrom, filled) hold X and angles. */
  private filled = 0;
  private validFrom = 0;
  /** Indices [validFrom, kvFormEnd) hold prefix-form K/V. */
  private kvFormEnd = 0;
  /** Per row, the timeline index with position 0 (the row's first token with rotary only; its window start with abs_pos_emb). */
  private posBase: number[];

  // Self-attention caches, latent-relative (base = latentStart).
  private readonly layerK: RowBuffer[]; // L x (B, maxLatents, C), rotated where the layer uses rotary
  private readonly layerV: RowBuffer[]; // L x (B, maxLatents, C)
  private latentStart = -1;
  /** The window starts the cached latents were computed with. */
  private latentWindows: number[] = [];
  /** Latent rows [latentStart, latentDone) have valid per-layer K/V. */
  private latentDone = -1;

  /**
   * @param options.maxLatents use at most this many latents, an integer in [1, max_latents]
   *   (default max_latents); the window is then at most (max_seq_len - max_latents) + maxLatents.
   * @param options.batch the number of streams, an integer >= 1 (default 1).
   */
  constructor(model: PerceiverAR, options: CachedDecoderOptions = {}) {
    this.model = model;
    this.backend = options.backend ?? model.backend;
    const c = (this.c = model.config);
    const eff = effectiveConfig(c, options.maxLatents ?? c.maxLatents);
    const B = options.batch ?? 1;
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`batch must be an integer >= 1, got ${JSON.stringify(options.batch)}`);
    this.maxWindow = eff.maxSeqLen;
    this.maxLatents = eff.maxLatents;
    this.maxPrefix = eff.maxSeqLen - eff.maxLatents;
    const C = (this.C = c.numChannels);
    const rotDim = rotatedChannelsPerHead(c);
    this.layers = layersFor(model, options.weights ?? "f32");
    this.invFreq = this.layers.rotaryInvFreq;
    const capacity = this.maxWindow + Math.max(MIN_SLACK_SLOTS, Math.ceil(this.maxWindow / 4));
    // In the backend's storage (the wasm backend's memory), since every step's kernels read them.
    const alloc = (n: number) => allocFloat32(this.backend, n);
    this.X = new RowBuffer(B, capacity, C, alloc);
    this.Kc = new RowBuffer(B, capacity, C, alloc);
    this.Vc = new RowBuffer(B, capacity, C, alloc);
    this.cos = new RowBuffer(B, capacity, rotDim, alloc);
    this.sin = new RowBuffer(B, capacity, rotDim, alloc);
    this.layerK = [];
    this.layerV = [];
    for (let l = 0; l < c.numSelfAttentionLayers; l++) {
      this.layerK.push(new RowBuffer(B, this.maxLatents, C, alloc));
      this.layerV.push(new RowBuffer(B, this.maxLatents, C, alloc));
    }
    this.timeline = Array.from({ length: B }, () => []);
    this.pads = new Array<number>(B).fill(0);
    this.posBase = new Array<number>(B).fill(0);
  }

  /** Number of streams (rows). */
  get batch(): number {
    return this.timeline.length;
  }

  /** Number of tokens in the stream (one row), or of the padded timeline (a batch). */
  get length(): number {
    return this.T;
  }

  /** The stream's tokens (a copy); a batch: see `rowStream`. */
  get stream(): number[] {
    this.requireOneRow("stream");
    return this.rowStream(0);
  }

  /** Row b's tokens, without its padding (a copy). */
  rowStream(b: number): number[] {
    this.requireRow(b);
    return this.timeline[b].slice(this.pads[b]);
  }

  /** Append tokens (integers in [0, vocab_size)) to the stream of a one-row decoder. */
  push(tokens: ArrayLike<number>): void {
    this.requireOneRow("push");
    this.pushRows([tokens]);
  }

  /**
   * Append tokens to every row: one list per row. On an empty decoder the lists may differ in
   * length (the shorter ones are left-padded, and every row needs at least one token); after that
   * every row gets the same number of tokens.
   */
  pushRows(rows: ReadonlyArray<ArrayLike<number>>): void {
    const B = this.batch;
    if (!Array.isArray(rows) || rows.length !== B) throw new RangeError(`pushRows needs one token list per row (${B}), got ${Array.isArray(rows) ? rows.length : typeof rows}`);
    const V = this.c.vocabSize;
    rows.forEach((r, b) => {
      for (let i = 0; i < r.length; i++) {
        const t = r[i];
        if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`${B === 1 ? "" : `row ${b}: `}token ${i} = ${t} is outside the vocabulary [0, ${V})`);
      }
    });
    const longest = Math.max(...rows.map((r) => r.length));
    if (this.T === 0) {
      if (B > 1 && rows.some((r) => r.length === 0)) throw new RangeError("pushRows: every row of a batch needs at least one token in its first push");
      this.pads = rows.map((r) => longest - r.length);
      this.posBase = this.c.absPosEmb ? this.posBase.fill(0) : [...this.pads];
    } else if (rows.some((r) => r.length !== longest)) {
      throw new RangeError(`pushRows: after the first push every row gets the same number of tokens, got ${rows.map((r) => r.length).join(", ")}`);
    }
    rows.forEach((r, b) => {
      const line = this.timeline[b];
      for (let i = r.length; i < longest; i++) line.push(PAD_SLOT_TOKEN);
      for (let i = 0; i < r.length; i++) line.push(r[i]);
    });
    this.T += longest;
  }

  /** Forget every stream and every cached value. */
  clear(): void {
    for (const line of this.timeline) line.length = 0;
    this.pads.fill(0);
    this.T = 0;
    this.invalidate(0);
  }

  /** Keep only rows `keep` (strictly ascending row indices), in that order; their caches stay valid. */
  retainRows(keep: readonly number[]): void {
    for (let i = 0; i < keep.length; i++) {
      if (!Number.isInteger(keep[i]) || keep[i] < 0 || keep[i] >= this.batch || (i > 0 && keep[i] <= keep[i - 1])) {
        throw new RangeError(`retainRows: keep must be strictly ascending row indices in [0, ${this.batch}), got [${keep.join(", ")}]`);
      }
    }
    if (keep.length === 0) throw new RangeError("retainRows: keep at least one row");
    for (const buf of this.buffers()) buf.retain(keep);
    this.timeline = keep.map((b) => this.timeline[b]);
    this.pads = keep.map((b) => this.pads[b]);
    this.posBase = keep.map((b) => this.posBase[b]);
    if (this.latentWindows.length > 0) this.latentWindows = keep.map((b) => this.latentWindows[b]);
  }

  /**
   * Last-position logits (V) of the last `window` tokens (default min(T, maxWindow)) with
   * `prefixLen` prefix positions: window in [1, min(T, maxWindow)], prefixLen in
   * [max(0, window - maxLatents), min(window - 1, max_seq_len - max_latents)] (maxWindow,
   * maxLatents: the model's, or the capped view; see the header).
   */
  logits(prefixLen: number, window?: number): Float32Array {
    this.requireOneRow("logits");
    if (this.T === 0) throw new RangeError("logits: the token stream is empty; push a prompt first");
    return this.logitsRows([{ window: window ?? Math.min(this.T, this.maxWindow), prefixLen }]);
  }

  /** Last-position logits (B, V), row b from its last steps[b].window tokens with steps[b].prefixLen prefix positions (see `logits`). */
  logitsRows(steps: readonly RowStep[]): Float32Array {
    const B = this.batch;
    if (!Array.isArray(steps) || steps.length !== B) throw new RangeError(`logitsRows needs one step per row (${B}), got ${Array.isArray(steps) ? steps.length : typeof steps}`);
    if (this.T === 0) throw new RangeError("logitsRows: the token streams are empty; push the prompts first");
    const T = this.T;
    const visible: number[] = []; // per row: its window start on the timeline
    let ls = Infinity;
    steps.forEach((st, b) => {
      const [v, first] = this.checkStep(st, b);
      visible.push(v);
      ls = Math.min(ls, first);
    });
    steps.forEach((st, b) => {
      if (T - st.window + st.prefixLen > ls && st.prefixLen > 0) {
        throw new RangeError(`row ${b}: batched rows must share their first latent position (or have no prefix); row ${b}'s first latent is ${st.window - st.prefixLen} from the end, another row's ${T - ls}`);
      }
    });
    const w0 = Math.min(...visible); // the first key any row sees
    const c = this.c;
    const stats: DecoderStepStats = { rebuilt: false, newTokens: 0, prefixTokens: 0, latentRows: 0 };

    // Invalidation: absolute positions re-based, a window start moved back, or a prefix token would
    // turn back into a latent.
    const rebase = c.absPosEmb && visible.some((v, b) => v !== this.posBase[b]);
    if (rebase || w0 < this.validFrom || ls < this.kvFormEnd) {
      stats.rebuilt = this.filled > w0 || this.kvFormEnd > w0;
      this.invalidate(w0);
      if (c.absPosEmb) this.posBase = visible.slice();
    }
    if (this.filled < w0) this.filled = w0;
    if (this.kvFormEnd < w0) this.kvFormEnd = w0;
    this.makeRoom(w0, T);
    this.validFrom = w0;

    const g = new Graph(this.backend, false);
    // 1. New tokens: embeddings and angles.
    if (this.filled < T) {
      stats.newTokens = T - this.filled;
      this.embed(g, this.filled, T);
      this.filled = T;
    }
    // 2. Latent rows [r0, T) to compute: only the new ones while the first latent and the window
    // starts are unchanged; tokens [kvFormEnd, ls) entering the prefix get their prefix-form K/V.
    let r0 = ls;
    const sameWindows = this.latentWindows.length === B && visible.every((v, b) => v === this.latentWindows[b]);
    if (this.latentStart === ls && sameWindows && this.latentDone > ls) r0 = this.latentDone;
    if (r0 === T) r0 = T - 1; // nothing new (repeated call): recompute the last position
    stats.prefixTokens = ls - this.kvFormEnd;
    stats.latentRows = T - r0;
    const out = this.latents(g, w0, this.kvFormEnd, ls, r0, T, visible);
    this.kvFormEnd = ls;
    this.latentStart = ls;
    this.latentWindows = visible;
    this.latentDone = T;
    this.lastStats = stats;
    return out;
  }

  /** Row b's window start and first latent on the timeline, after checking its step. */
  private checkStep(st: RowStep, b: number): [number, number] {
    const where = this.batch === 1 ? "" : `row ${b}: `;
    if (typeof st !== "object" || st === null) throw new TypeError(`${where}a step must be { window, prefixLen }, got ${String(st)}`);
    const own = this.T - this.pads[b];
    const maxN = Math.min(own, this.maxWindow);
    const n = st.window;
    if (!Number.isInteger(n) || n < 1 || n > maxN) throw new RangeError(`${where}window must be an integer in [1, ${maxN}] (at most the stream length and ${this.maxWindow}), got ${n}`);
    const lo = Math.max(0, n - this.maxLatents);
    const hi = Math.min(n - 1, this.maxPrefix);
    const p = st.prefixLen;
    if (!Number.isInteger(p) || p < lo || p > hi) throw new RangeError(`${where}prefixLen must be an integer in [${lo}, ${hi}] for a window of ${n} tokens, got ${p}`);
    const v = this.T - n;
    return [v, v + p];
  }

  private requireOneRow(what: string): void {
    if (this.batch !== 1) throw new RangeError(`${what} is for a one-row decoder; this one has ${this.batch} rows (use the *Rows methods)`);
  }

  private requireRow(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.batch) throw new RangeError(`row must be an integer in [0, ${this.batch}), got ${b}`);
  }

  private buffers(): RowBuffer[] {
    return [this.X, this.Kc, this.Vc, this.cos, this.sin, ...this.layerK, ...this.layerV];
  }

  private invalidate(w0: number): void {
    for (const buf of [this.X, this.Kc, this.Vc, this.cos, this.sin]) buf.base = w0;
    this.filled = w0;
    this.validFrom = w0;
    this.kvFormEnd = w0;
    this.latentStart = -1;
    this.latentWindows = [];
    this.latentDone = -1;
  }

  /** Make indices [w0, T) addressable, moving the still-needed [w0, filled) to the front if needed. */
  private makeRoom(w0: number, T: number): void {
    if (T - this.X.base <= this.X.capacity) return;
    const to = Math.max(this.filled, w0);
    for (const buf of [this.X, this.Kc, this.Vc, this.cos, this.sin]) buf.compact(w0, to);
  }

  /** A (B, count, width) Var of indices [start, start + count) of a buffer (no copy for one row). */
  private view(g: Graph, buf: RowBuffer, start: number, count: number): Var {
    return new Var(new Tensor([this.batch, count, buf.width], buf.view(start, count, (n) => g.alloc(n))));
  }

  private angles(g: Graph, start: number, count: number): RotaryAngles {
    const alloc = (n: number) => g.alloc(n);
    return { cos: this.cos.view(start, count, alloc), sin: this.sin.view(start, count, alloc), rotDim: this.cos.width };
  }

  /** Key padding (B, count) of indices [start, start + count): 1 before each row's window start; null if nothing is masked. */
  private keyPad(start: number, count: number, visible: readonly number[]): Uint8Array | null {
    if (visible.every((v) => v <= start)) return null;
    const pad = new Uint8Array(this.batch * count);
    visible.forEach((v, b) => pad.fill(1, b * count, b * count + Math.min(count, Math.max(0, v - start))));
    return pad;
  }

  /** X rows and rotary angles for timeline indices [a, b). */
  private embed(g: Graph, a: number, b: number): void {
    const B = this.batch;
    const count = b - a;
    const ids = new Int32Array(B * count);
    const pos = new Int32Array(B * count);
    for (let r = 0; r < B; r++) {
      for (let i = 0; i < count; i++) {
        ids[r * count + i] = this.timeline[r][a + i];
        pos[r * count + i] = Math.max(0, a + i - this.posBase[r]);
      }
    }
    const x = embed(g, this.layers.embedding, ids, pos, [B, count]); // (B, count, C)
    this.X.write(x.data, a, count);
    const ang = rotaryAngles(pos, this.invFreq); // (B·count, rotDim)
    this.cos.write(ang.cos, a, count);
    this.sin.write(ang.sin, a, count);
  }

  /**
   * Hidden states of latents [r0, T) (keys from w0, first latent ls), with the prefix-form K/V of
   * the tokens [p0, ls) that entered the prefix and the per-layer self-attention K/V of the new
   * latents cached on the way; returns the logits (B, V) of position T - 1.
   */
  private latents(g: Graph, w0: number, p0: number, ls: number, r0: number, T: number, visible: readonly number[]): Float32Array {
    const c = this.c;
    const layers = this.layers;
    const H = c.numHeads;
    const L = layers.selfAttention.length;
    const R = T - r0;
    const M = T - ls;
    // New cross-attention K/V rows: [p0, ls) in prefix form, then [r0, T) in latent form. Tokens
    // enter the prefix only when the latent set moved, and then every latent is recomputed
    // (r0 = ls), so the new rows [k0, T) are contiguous.
    if (p0 < ls && r0 !== ls) throw new Error(`CachedDecoder: prefix rows [${p0}, ${ls}) are new but latents start at ${r0}`);
    const k0 = p0 < ls ? p0 : r0;
    const crossCache: KeyValueCache = (k, v) => {
      this.Kc.write(k.data, k0, T - k0);
      this.Vc.write(v.data, k0, T - k0);
      return { k: this.view(g, this.Kc, w0, T - w0), v: this.view(g, this.Vc, w0, T - w0) }; // (B, T - w0, C)
    };
    const prefix = p0 < ls ? this.view(g, this.X, p0, ls - p0) : null; // (B, ls - p0, C)
    let h = crossAttentionLayer(g, layers.crossAttention, this.view(g, this.X, r0, R), prefix, {
      heads: H,
      rotary: { q: this.angles(g, r0, R), k: this.angles(g, k0, T - k0) },
      kvCache: crossCache,
      keyPad: this.keyPad(w0, T - w0, visible),
      queryRows: L === 0 ? 1 : R,
    }); // (B, R or 1, C)

    const ang = this.angles(g, r0, R);
    const selfPad = this.keyPad(ls, M, visible);
    for (let l = 0; l < L; l++) {
      const K = this.layerK[l];
      const V = this.layerV[l];
      K.base = V.base = ls;
      const selfCache: KeyValueCache = (k, v) => {
        K.write(k.data, r0, R);
        V.write(v.data, r0, R);
        return { k: this.view(g, K, ls, M), v: this.view(g, V, ls, M) }; // (B, M, C)
      };
      h = selfAttentionLayer(g, layers.selfAttention[l], h, {
        heads: H,
        rotary: selfAttentionUsesRotary(c, l) ? { q: ang, k: ang } : null,
        kvCache: selfCache,
        keyPad: selfPad,
        queryRows: l === L - 1 ? 1 : R,
      }); // (B, R or 1, C)
    }
    return tiedOutput(g, layers.output, h).data; // (B, 1, V)
  }
}
