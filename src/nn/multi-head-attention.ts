// Projected multi-head attention, the attention half of both layer kinds:
//   o_proj( attention( rot(q_proj(xq)), rot(k_proj(xkv)), v_proj(xkv) ) ) [+ o_proj.bias]
//
// Contract: xq (B, Tq, C), xkv (B, Tk, C) -> (B, Tq, C).
// - Causality is right-aligned: the queries are the LAST Tq of the keys attended to, so query i
//   sees keys j <= (keys - Tq) + i. This covers every caller: the cross-attention (keys = prefix +
//   latents, queries = latents), self-attention (queries = keys), Transformer-XL (memory + segment)
//   and the cached decoder (cached keys + the new rows).
// - `rotary`, when given, holds the angle tables of the Tq query rows and the Tk key rows (B·Tq and
//   B·Tk rows, see rotary-angles.ts); null skips the rotation (a layer without rotary).
// - `kvCache`, when given, receives the projected (and rotated) keys and values of the Tk rows of
//   xkv and returns the keys and values to attend to (B, Tk', C), e.g. a cache that stores the new
//   rows and returns all rows so far. Without it the keys are those of xkv.
// - `keyPad` (B, Tk'), 1 = padded key, masks keys out.

import type { Graph, Var } from "../autograd.js";
import { attention } from "../ops/attention.js";
import { linear } from "../ops/linear.js";
import { rotary, type RotaryAngles } from "../ops/rotary.js";
import type { AttentionNames } from "./parameter-names.js";
import { zerosInit, type ParameterStore, type WeightInit } from "./parameters.js";
import { angleRows } from "./rotary-angles.js";

export interface AttentionParams {
  /** (C, C) each, torch nn.Linear layout [out, in]. */
  q: Var;
  k: Var;
  v: Var;
  o: Var;
  /** (C) or null. */
  oBias: Var | null;
}

/** Angle tables of the query rows and of the key rows of one attention call. */
export interface RotaryTables {
  q: RotaryAngles;
  k: RotaryAngles;
}

/** Keys and values (B, Tk, C) of the rows just projected -> those to attend to (B, Tk', C). */
export type KeyValueCache = (k: Var, v: Var) => { k: Var; v: Var };

export interface MultiHeadAttentionOptions {
  heads: number;
  rotary?: RotaryTables | null;
  keyPad?: Uint8Array | null;
  kvCache?: KeyValueCache | null;
}

export function createAttention(ps: ParameterStore, names: AttentionNames, channels: number, init: WeightInit): AttentionParams {
  const q = ps.add(names.q, [channels, channels], init);
  const k = ps.add(names.k, [channels, channels], init);
  const v = ps.add(names.v, [channels, channels], init);
  const o = ps.add(names.o, [channels, channels], init);
  const oBias = names.oBias === null ? null : ps.add(names.oBias, [channels], zerosInit);
  return { q, k, v, o, oBias };
}

/** xq (B, Tq, C), xkv (B, Tk, C) -> (B, Tq, C). */
export function multiHeadAttention(g: Graph, p: AttentionParams, xq: Var, xkv: Var, o: MultiHeadAttentionOptions): Var {
  const H = o.heads;
  let q = linear(g, xq, p.q); // (B, Tq, C)
  let k = linear(g, xkv, p.k); // (B, Tk, C)
  let v = linear(g, xkv, p.v); // (B, Tk, C)
  if (o.rotary) {
    q = rotary(g, q, o.rotary.q, H);
    k = rotary(g, k, o.rotary.k, H);
  }
  if (o.kvCache) ({ k, v } = o.kvCache(k, v)); // (B, Tk', C)
  const causalOffset = k.shape[1] - q.shape[1]; // right-aligned: the queries are the last keys
  const a = attention(g, q, k, v, { heads: H, causalOffset, keyPad: o.keyPad ?? null }); // (B, Tq, C)
  return linear(g, a, p.o, p.oBias); // (B, Tq, C)
}

/**
 * The options of a layer that runs its query side for the last `count` of its T rows only: the
 * rotary query table cut to those rows of each batch element (the key table is unchanged).
 */
export function forLastQueries(g: Graph, o: MultiHeadAttentionOptions, batch: number, T: number, count: number): MultiHeadAttentionOptions {
  if (count === T || !o.rotary) return o;
  return { ...o, rotary: { q: angleRows(o.rotary.q, batch, T, T - count, count, (n) => g.alloc(n)), k: o.rotary.k } };
}
