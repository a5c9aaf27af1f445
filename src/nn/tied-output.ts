// The reference's output head: optional final LayerNorm (`out_norm`), then logits tied to the token
// embedding, h · txt_embeddingᵀ (+ `output_adapter.bias`). Shared by PerceiverAR and Transformer-XL.

import type { Graph, Var } from "../autograd.js";
import { layerNorm } from "../ops/layer-norm.js";
import { linear } from "../ops/linear.js";
import { onesInit, zerosInit, type ParameterStore } from "./parameters.js";

export const TOKEN_EMBEDDING = "input_adapter.txt_embedding.weight";

export interface OutputHead {
  outputNorm: boolean;
  outputBias: boolean;
}

export function addOutputParameters(ps: ParameterStore, channels: number, vocabSize: number, o: OutputHead): void {
  if (o.outputNorm) {
    ps.add("out_norm.weight", [channels], onesInit);
    ps.add("out_norm.bias", [channels], zerosInit);
  }
  if (o.outputBias) ps.add("output_adapter.bias", [vocabSize], zerosInit);
}

/** h (B, T, C) -> logits (B, T, V). */
export function tiedOutput(g: Graph, ps: ParameterStore, h: Var, o: OutputHead): Var {
  const x = o.outputNorm ? layerNorm(g, h, ps.get("out_norm.weight"), ps.get("out_norm.bias")) : h;
  return linear(g, x, ps.get(TOKEN_EMBEDDING), o.outputBias ? ps.get("output_adapter.bias") : null);
}
