// Projected multi-head attention block shared by models built on the engine's ops:
//   o_proj( attention( rot(q_proj(xq)), rot(k_proj(xkv)), v_proj(xkv) ) )
// with the reference's parameter names under `<prefix>`: `q_proj.weight`, `k_proj.weight`,
// `v_proj.weight`, `o_proj.weight` (all [C, C], no biases) and optionally `o_proj.bias` [C].
// The same sequence of ops as PerceiverAR's attention layers (linear, rotary, fused attention).
//
// Contract: xq (B, Tq, C), xkv (B, Tk, C) -> (B, Tq, C). Query i sees keys j <= causalOffset + i
// (null: no causal mask). Rotary angle tables, when given, have B·Tq (queries) and B·Tk (keys)
// rows; null skips the rotation.

import type { Graph, Var } from "../autograd.js";
import { attention } from "../ops/attention.js";
import { linear } from "../ops/linear.js";
import { rotary, type RotaryAngles } from "../ops/rotary.js";
import type { ParameterStore } from "./parameters.js";
import { normalInit, zerosInit } from "./parameters.js";

/** Register `<prefix>.{q,k,v,o}_proj.weight` ([C, C], normal(0, std)) and optionally `o_proj.bias`. */
export function addAttentionParameters(ps: ParameterStore, prefix: string, channels: number, uniform: () => number, std: number, outBias: boolean): void {
  for (const p of ["q", "k", "v", "o"]) ps.add(`${prefix}.${p}_proj.weight`, [channels, channels], normalInit(uniform, std));
  if (outBias) ps.add(`${prefix}.o_proj.bias`, [channels], zerosInit);
}

export interface AttentionBlockOptions {
  heads: number;
  causalOffset: number | null;
  qAngles: RotaryAngles | null;
  kAngles: RotaryAngles | null;
  keyPad?: Uint8Array | null;
  outBias?: boolean;
}

/** xq (B, Tq, C), xkv (B, Tk, C) -> (B, Tq, C). */
export function attentionBlock(g: Graph, ps: ParameterStore, prefix: string, xq: Var, xkv: Var, o: AttentionBlockOptions): Var {
  const H = o.heads;
  let q = linear(g, xq, ps.get(`${prefix}.q_proj.weight`)); // (B, Tq, C)
  let k = linear(g, xkv, ps.get(`${prefix}.k_proj.weight`)); // (B, Tk, C)
  const v = linear(g, xkv, ps.get(`${prefix}.v_proj.weight`)); // (B, Tk, C)
  if (o.qAngles !== null) q = rotary(g, q, o.qAngles, H);
  if (o.kAngles !== null) k = rotary(g, k, o.kAngles, H);
  const a = attention(g, q, k, v, { heads: H, causalOffset: o.causalOffset, keyPad: o.keyPad ?? null }); // (B, Tq, C)
  return linear(g, a, ps.get(`${prefix}.o_proj.weight`), o.outBias ? ps.get(`${prefix}.o_proj.bias`) : null); // (B, Tq, C)
}
