// add: elementwise a + b of equal shapes (residual connections).

import type { Graph, Var } from "../autograd.js";

export function add(g: Graph, a: Var, b: Var): Var {
  const n = a.value.size;
  if (b.value.size !== n) throw new RangeError(`add: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] differ`);
  const be = g.backend;
  const y = g.output(a.shape, a, b);
  be.add(a.data, b.data, y.data, n);
  if (y.requiresGrad) {
    g.record(() => {
      if (a.requiresGrad) be.axpy(1, y.grad, a.grad, n);
      if (b.requiresGrad) be.axpy(1, y.grad, b.grad, n);
    });
  }
  return y;
}
