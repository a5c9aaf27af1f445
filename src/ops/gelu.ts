// gelu: elementwise x·Φ(x) (erf form, torch nn.GELU default).

import type { Graph, Var } from "../autograd.js";

export function gelu(g: Graph, x: Var): Var {
  const be = g.backend;
  const n = x.value.size;
  const y = g.output(x.shape, x);
  be.geluForward(x.data, y.data, n);
  if (y.requiresGrad) g.record(() => be.geluBackward(x.data, y.grad, x.grad, n));
  return y;
}
