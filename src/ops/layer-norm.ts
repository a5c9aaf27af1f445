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
  const mean = g.alloc(rows);
  const rstd = g.alloc(rows);
  be.layerNormForward(x.data, gamma.data, beta.data, y.data, mean, rstd, rows, cols, eps);
  if (y.requiresGrad) {
    g.record(() => {
      // Gradient buffers are only materialised for inputs that need them; others get scratch.
      const dx = x.requiresGrad ? x.grad : g.alloc(x.value.size);
      const dgamma = gamma.requiresGrad ? gamma.grad : g.alloc(cols);
      const dbeta = beta.requiresGrad ? beta.grad : g.alloc(cols);
      be.layerNormBackward(y.grad, x.data, gamma.data, mean, rstd, dx, dgamma, dbeta, rows, cols);
    });
  }
  return y;
}
