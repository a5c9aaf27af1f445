// The reference's causal cross-attention layer `cross_attention` (Perceiver AR's first layer), the
// single forward used by PerceiverAR and the cached decoder:
//   q  = LN_q(latents);  kv = concat(LN_kv(prefix), q)      (the latent keys use the q norm)
//   h  = latents + attention(q -> kv);  h = h + MLP(h)
//
// Contract: latents (B, M, C), prefix (B, P, C) or null -> (B, Mq, C), Mq = `queryRows` (default M).
// Latent i sees the whole prefix and latents <= i (right-aligned causality, see
// multi-head-attention.ts); `keyPad` (B, P + M) masks padded keys.
// - `rotary`: angle tables of the M latent rows (queries) and of the P + M key rows.
// - `kvCache`: the cached decoder passes only the rows whose K/V are new (the prefix rows that just
//   entered the prefix, and the latent rows it recomputes) and attends over its cache.
// - `queryRows`: only the last Mq latents run the query side (attention output, residual, MLP).

import type { Graph, Var } from "../autograd.js";
import { add } from "../ops/add.js";
import { concatSeq } from "../ops/concat.js";
import { lastRows } from "../ops/rows.js";
import { createMlp, residualMlp, type MlpParams } from "./mlp.js";
import { createAttention, forLastQueries, multiHeadAttention, type AttentionParams, type MultiHeadAttentionOptions } from "./multi-head-attention.js";
import { createLayerNorm, norm, type LayerNormParams } from "./norm.js";
import type { CrossAttentionLayerNames } from "./parameter-names.js";
import type { ParameterStore, WeightInit } from "./parameters.js";

export interface CrossAttentionLayerParams {
  qNorm: LayerNormParams;
  kvNorm: LayerNormParams;
  attention: AttentionParams;
  mlp: MlpParams;
}

export interface CrossAttentionLayerOptions extends MultiHeadAttentionOptions {
  queryRows?: number;
}

export function createCrossAttentionLayer(ps: ParameterStore, names: CrossAttentionLayerNames, channels: number, widening: number, init: WeightInit): CrossAttentionLayerParams {
  return {
    qNorm: createLayerNorm(ps, names.qNorm, channels),
    kvNorm: createLayerNorm(ps, names.kvNorm, channels),
    attention: createAttention(ps, names.attention, channels, init),
    mlp: createMlp(ps, names.mlp, channels, widening, init),
  };
}

/** latents (B, M, C), prefix (B, P, C) | null -> (B, queryRows, C). */
export function crossAttentionLayer(g: Graph, p: CrossAttentionLayerParams, latents: Var, prefix: Var | null, o: CrossAttentionLayerOptions): Var {
  const [B, M] = latents.shape;
  const Mq = o.queryRows ?? M;
  const q = norm(g, latents, p.qNorm); // (B, M, C)
  const kv = prefix === null ? q : concatSeq(g, norm(g, prefix, p.kvNorm), q); // (B, P + M, C)
  const attn = multiHeadAttention(g, p.attention, lastRows(g, q, Mq), kv, forLastQueries(g, o, B, M, Mq)); // (B, Mq, C)
  const h = add(g, lastRows(g, latents, Mq), attn); // h = latents + attn(ln_q(latents) -> kv)
  return residualMlp(g, p.mlp, h); //                  h = h + mlp(ln(h))
}
