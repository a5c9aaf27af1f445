// A LayerNorm's parameters (weight = ones, bias = zeros at initialisation), bound once, and its
// application over the last axis: x (..., C) -> (..., C).

import type { Graph, Var } from "../autograd.js";
import { layerNorm } from "../ops/layer-norm.js";
import type { LayerNormNames } from "./parameter-names.js";
import { onesInit, zerosInit, type ParameterStore } from "./parameters.js";

export interface LayerNormParams {
  weight: Var;
  bias: Var;
}

export function createLayerNorm(ps: ParameterStore, names: LayerNormNames, channels: number): LayerNormParams {
  return { weight: ps.add(names.weight, [channels], onesInit), bias: ps.add(names.bias, [channels], zerosInit) };
}

export function norm(g: Graph, x: Var, p: LayerNormParams): Var {
  return layerNorm(g, x, p.weight, p.bias);
}
