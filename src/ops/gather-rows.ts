// gatherRows: y[i, :] = table[index[i], :]. The embedding lookup (table = embedding weights,
// index = token ids or positions) and row selection (prefix / latent / kept positions).
// table (..., C) viewed as (R, C) rows, index (n) with values in [0, R) -> y (...outShape, C).
// Gradient: scatter-add. Index ranges are checked once, at the backend boundary.

import type { Graph, Var } from "../autograd.js";

export function gatherRows(g: Graph, table: Var, index: Int32Array, outShape: readonly number[]): Var {
  const cols = table.shape[table.shape.length - 1];
  const count = index.length;
  const be = g.backend;
  const y = g.output([...outShape, cols], table);
  if (y.value.size !== count * cols) throw new RangeError(`gatherRows: output shape [${outShape.join(", ")}] does not hold ${count} rows`);
  be.gatherRows(table.data, index, y.data, count, cols);
  if (y.requiresGrad) g.record(() => be.scatterAddRows(y.grad, index, table.grad, count, cols));
  return y;
}
