// linear: y = x · Wᵀ (+ b), the torch nn.Linear convention (W stored [out, in]).
// x (rows, in), W (out, in), b (out) -> y (rows, out). An Int8Weight (ops/linear-int8.ts) computes
// with its int8 rows instead.

import type { Graph, Var } from "../autograd.js";
import { Int8Weight, linearInt8 } from "./linear-int8.js";

export function linear(g: Graph, x: Var, w: Var, b: Var | null = null): Var {
  if (w instanceof Int8Weight) return linearInt8(g, x, w, b); // generation with int8 weights
  const [outF, inF] = w.shape;
  const rows = x.value.size / inF;
  if (!Number.isInteger(rows) || x.shape[x.shape.length - 1] !== inF) {
    throw new RangeError(`linear: input [${x.shape.join(", ")}] does not end in ${inF} features`);
  }
  if (b !== null && b.value.size !== outF) throw new RangeError(`linear: bias has ${b.value.size} elements, expected ${outF}`);
  const be = g.backend;
  const y = g.output([...x.shape.slice(0, -1), outF], x, w, b);
  be.matmul(x.data, w.data, y.data, rows, outF, inF, false, true, false); // (rows, out)
  if (b !== null) be.addBias(y.data, b.data, rows, outF);
  if (y.requiresGrad) {
    g.record(() => {
      const dy = y.grad;
      if (x.requiresGrad) be.matmul(dy, w.data, x.grad, rows, inF, outF, false, false, true); // dx += dy·W
      if (w.requiresGrad) be.matmul(dy, x.data, w.grad, outF, inF, rows, true, false, true); // dW += dyᵀ·x
      if (b !== null && b.requiresGrad) be.sumRows(dy, b.grad, rows, outF);
    });
  }
  return y;
}
