// The reference's input adapter: token embedding (V, C) plus, optionally, a learned absolute
// position embedding (N, C): x[i] = txt_embedding[ids[i]] (+ pos_embedding[positions[i]]).
// The token embedding is also the (tied) output projection, see tied-output.ts.

import type { Graph, Var } from "../autograd.js";
import { add } from "../ops/add.js";
import { gatherRows } from "../ops/gather-rows.js";
import { POSITION_EMBEDDING, TOKEN_EMBEDDING } from "./parameter-names.js";
import type { ParameterStore, WeightInit } from "./parameters.js";

export interface EmbeddingParams {
  /** (V, C) */
  token: Var;
  /** (maxPositions, C), or null without learned positions. */
  position: Var | null;
}

/** `maxPositions` null: no learned position embedding. */
export function createEmbedding(ps: ParameterStore, vocabSize: number, channels: number, maxPositions: number | null, init: WeightInit): EmbeddingParams {
  return {
    token: ps.add(TOKEN_EMBEDDING, [vocabSize, channels], init),
    position: maxPositions === null ? null : ps.add(POSITION_EMBEDDING, [maxPositions, channels], init),
  };
}

/** ids and positions (as many as the product of `shape`; null without a position table) -> x (...shape, C). */
export function embed(g: Graph, p: EmbeddingParams, ids: Int32Array, positions: Int32Array | null, shape: readonly number[]): Var {
  const x = gatherRows(g, p.token, ids, shape);
  if (p.position === null) return x;
  if (positions === null) throw new RangeError("embed: a model with a position embedding needs positions");
  return add(g, x, gatherRows(g, p.position, positions, shape));
}
