// The reference's residual MLP block: x + Linear2(GELU(Linear1(LayerNorm(x)))), no biases on the
// linears. Parameter names: `<prefix>.0.{weight,bias}` (norm), `<prefix>.1.weight`, `<prefix>.3.weight`.

import type { Graph, Var } from "../autograd.js";
import { add } from "../ops/add.js";
import { gelu } from "../ops/gelu.js";
import { layerNorm } from "../ops/layer-norm.js";
import { linear } from "../ops/linear.js";
import type { ParameterStore } from "./parameters.js";
import { normalInit, onesInit, zerosInit } from "./parameters.js";

export function addMlpParameters(ps: ParameterStore, prefix: string, channels: number, widening: number, uniform: () => number, std: number): void {
  ps.add(`${prefix}.0.weight`, [channels], onesInit);
  ps.add(`${prefix}.0.bias`, [channels], zerosInit);
  ps.add(`${prefix}.1.weight`, [widening * channels, channels], normalInit(uniform, std));
  ps.add(`${prefix}.3.weight`, [channels, widening * channels], normalInit(uniform, std));
}

/** x (B, T, C) -> x + MLP(x) (B, T, C). */
export function residualMlp(g: Graph, ps: ParameterStore, prefix: string, x: Var): Var {
  const h = layerNorm(g, x, ps.get(`${prefix}.0.weight`), ps.get(`${prefix}.0.bias`));
  const u = gelu(g, linear(g, h, ps.get(`${prefix}.1.weight`))); // (B, T, wC)
  return add(g, x, linear(g, u, ps.get(`${prefix}.3.weight`)));
}
