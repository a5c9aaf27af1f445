// Parameters of one reference self-attention layer `self_attention.<l>`: a pre-LN residual
// attention block (`.0.module.norm`, `.0.module.attention.{q,k,v,o}_proj`, no biases) and a
// residual MLP (`.1.module.{0,1,3}`). Shared by PerceiverAR's latent stack and Transformer-XL.

import { addAttentionParameters } from "./attention-block.js";
import { addMlpParameters } from "./mlp.js";
import { onesInit, zerosInit, type ParameterStore } from "./parameters.js";

export function addSelfAttentionLayerParameters(ps: ParameterStore, layer: number, channels: number, widening: number, uniform: () => number, std: number): void {
  const sa = `self_attention.${layer}.0.module`;
  ps.add(`${sa}.norm.weight`, [channels], onesInit);
  ps.add(`${sa}.norm.bias`, [channels], zerosInit);
  addAttentionParameters(ps, `${sa}.attention`, channels, uniform, std, false);
  addMlpParameters(ps, `self_attention.${layer}.1.module`, channels, widening, uniform, std);
}
