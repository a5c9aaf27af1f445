// The reference's output head: optional final LayerNorm (`out_norm`), then logits tied to the token
// embedding, h · txt_embeddingᵀ (+ `output_adapter.bias`). Shared by PerceiverAR, Transformer-XL
// and the cached decoder.

import type { Graph, Var } from "../autograd.js";
import { linear } from "../ops/linear.js";
import { createLayerNorm, norm, type LayerNormParams } from "./norm.js";
import { OUTPUT_HEAD } from "./parameter-names.js";
import { zerosInit, type ParameterStore } from "./parameters.js";

export interface OutputHeadParams {
  /** The final LayerNorm, or null (output_norm false). */
  norm: LayerNormParams | null;
  /** The token embedding (V, C), shared with the input. */
  embedding: Var;
  /** (V) or null (output_bias false). */
  bias: Var | null;
}

export interface OutputHeadOptions {
  outputNorm: boolean;
  outputBias: boolean;
}

export function createOutputHead(ps: ParameterStore, embedding: Var, o: OutputHeadOptions): OutputHeadParams {
  const [vocabSize, channels] = embedding.shape;
  return {
    norm: o.outputNorm ? createLayerNorm(ps, OUTPUT_HEAD.norm, channels) : null,
    embedding,
    bias: o.outputBias ? ps.add(OUTPUT_HEAD.bias, [vocabSize], zerosInit) : null,
  };
}

/** h (B, T, C) -> logits (B, T, V). */
export function tiedOutput(g: Graph, p: OutputHeadParams, h: Var): Var {
  const x = p.norm === null ? h : norm(g, h, p.norm);
  return linear(g, x, p.embedding, p.bias);
}
