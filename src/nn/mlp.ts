// The reference's residual MLP block: x + down(GELU(up(LN(x)))), no biases on the linears
// (torch Sequential(LayerNorm, Linear(C, wC), GELU, Linear(wC, C)) in a residual wrapper).

import type { Graph, Var } from "../autograd.js";
import { add } from "../ops/add.js";
import { gelu } from "../ops/gelu.js";
import { linear } from "../ops/linear.js";
import { createLayerNorm, norm, type LayerNormParams } from "./norm.js";
import type { MlpNames } from "./parameter-names.js";
import type { ParameterStore, WeightInit } from "./parameters.js";

export interface MlpParams {
  norm: LayerNormParams;
  /** (wC, C) */
  up: Var;
  /** (C, wC) */
  down: Var;
}

export function createMlp(ps: ParameterStore, names: MlpNames, channels: number, widening: number, init: WeightInit): MlpParams {
  return {
    norm: createLayerNorm(ps, names.norm, channels),
    up: ps.add(names.up, [widening * channels, channels], init),
    down: ps.add(names.down, [channels, widening * channels], init),
  };
}

/** x (B, T, C) -> x + MLP(x) (B, T, C). */
export function residualMlp(g: Graph, p: MlpParams, x: Var): Var {
  const u = gelu(g, linear(g, norm(g, x, p.norm), p.up)); // (B, T, wC)
  return add(g, x, linear(g, u, p.down)); // (B, T, C)
}
