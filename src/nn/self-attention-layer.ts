// One reference self-attention layer `self_attention.<l>` (a pre-LN Transformer block), the single
// forward used by PerceiverAR's latent stack, Transformer-XL and the cached decoder:
//   x = x + attention(LN(x));  x = x + MLP(x)      (MLP = residual LN -> Linear -> GELU -> Linear)
//
// Contract: x (B, T, C) -> (B, Tq, C), Tq = `queryRows` (default T).
// - `memory` (B, Lm, C): layer-input states of earlier positions (Transformer-XL), prepended to the
//   key/value side after the same LayerNorm; the queries are x's rows, so query i sees the whole
//   memory and x's rows <= i. Gradients flow through the memory's keys into LN, k_proj and v_proj.
// - `kvCache`: see multi-head-attention.ts (the cached decoder stores K/V of new rows, returns all).
// - `queryRows`: only the last Tq rows run the query side (attention output, residual, MLP); the
//   key side still covers all T rows. The cached decoder's last layer needs one row only.
// - `rotary`: angle tables of x's T query rows and of the key rows (memory + x).

import type { Graph, Var } from "../autograd.js";
import { add } from "../ops/add.js";
import { concatSeq } from "../ops/concat.js";
import { lastRows } from "../ops/rows.js";
import { createMlp, residualMlp, type MlpParams } from "./mlp.js";
import { createAttention, forLastQueries, multiHeadAttention, type AttentionParams, type MultiHeadAttentionOptions } from "./multi-head-attention.js";
import { createLayerNorm, norm, type LayerNormParams } from "./norm.js";
import type { SelfAttentionLayerNames } from "./parameter-names.js";
import type { ParameterStore, WeightInit } from "./parameters.js";

export interface SelfAttentionLayerParams {
  norm: LayerNormParams;
  attention: AttentionParams;
  mlp: MlpParams;
}

export interface SelfAttentionLayerOptions extends MultiHeadAttentionOptions {
  memory?: Var | null;
  queryRows?: number;
}

export function createSelfAttentionLayer(ps: ParameterStore, names: SelfAttentionLayerNames, channels: number, widening: number, init: WeightInit): SelfAttentionLayerParams {
  return {
    norm: createLayerNorm(ps, names.norm, channels),
    attention: createAttention(ps, names.attention, channels, init),
    mlp: createMlp(ps, names.mlp, channels, widening, init),
  };
}

/** x (B, T, C) -> (B, queryRows, C). */
export function selfAttentionLayer(g: Graph, p: SelfAttentionLayerParams, x: Var, o: SelfAttentionLayerOptions): Var {
  const [B, T] = x.shape;
  const Tq = o.queryRows ?? T;
  const n = norm(g, x, p.norm); // (B, T, C)
  const kv = o.memory ? concatSeq(g, norm(g, o.memory, p.norm), n) : n; // (B, Lm + T, C)
  const attn = multiHeadAttention(g, p.attention, lastRows(g, n, Tq), kv, forLastQueries(g, o, B, T, Tq)); // (B, Tq, C)
  const h = add(g, lastRows(g, x, Tq), attn); // x = x + attn(ln(x))
  return residualMlp(g, p.mlp, h); //           x = x + mlp(ln(x))
}
