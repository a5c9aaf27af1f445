// layerNorm over the last axis (eps 1e-5 as torch nn.LayerNorm): x (..., C), gamma/beta (C).

import type { Graph, Var } from "../autograd.js";

export const LAYER_NORM_EPS = 1e-5;

export function layerNorm(g: Graph, x: Var, gamma: Var, beta: Var, eps = LAYER_NORM_EPS): Var {
  const cols = gamma.value.size;
  if (x.shape[x.shape.length - 1] !== cols || beta.value.size !== cols) {
    throw new RangeError(`layerNorm: input [${x.shape.join(", ")}] does not match ${cols} channels`);
  }
  const rows = x.value.size / cols;
  const be = g.backend;
  const y = g.output(x.shape, x, gamma, beta);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  be.layerNormForward(x.data, gamma.data, beta.data, y.data, mean, rstd, rows, cols, eps);
  if (y.requiresGrad) {
    g.record(() => {
      // Gradient buffers are only materialised for inputs that need them; others get scratch.
      const dx = x.requiresGrad ? x.grad : new Float32Array(x.value.size);
      const dgamma = gamma.requiresGrad ? gamma.grad : new Float32Array(cols);
      const dbeta = beta.requiresGrad ? beta.grad : new Float32Array(cols);
      be.layerNormBackward(y.grad, x.data, gamma.data, mean, rstd, dx, dgamma, dbeta, rows, cols);
    });
  }
  return y;
}
