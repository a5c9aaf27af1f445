// gatherRows: y[i, :] = table[index[i], :]. The embedding lookup (table = embedding weights,
// index = token ids or positions) and row selection (prefix / latent / kept positions).
// table (..., C) viewed as (R, C) rows, index (n) with values in [0, R) -> y (...outShape, C).
// Gradient: scatter-add. Index ranges are checked once, at the backend boundary.
// gatherRowsSum: the sum of several such gathers (token + position embedding) as one op.

import type { Graph, Var } from "../autograd.js";

/**
 * y[i, :] = Σ_t tables[t][indices[t][i], :] (e.g. token + position embeddings) in one op: the
 * backward scatter-adds dy into every table directly, with no gradient buffer per term.
 */
export function gatherRowsSum(g: Graph, terms: ReadonlyArray<{ table: Var; index: Int32Array }>, outShape: readonly number[]): Var {
  if (terms.length === 1) return gatherRows(g, terms[0].table, terms[0].index, outShape);
  const cols = terms[0].table.shape[terms[0].table.shape.length - 1];
  const count = terms[0].index.length;
  for (const t of terms) {
    if (t.table.shape[t.table.shape.length - 1] !== cols || t.index.length !== count) {
      throw new RangeError(`gatherRowsSum: every term needs ${cols} columns and ${count} indices, got [${t.table.shape.join(", ")}] with ${t.index.length}`);
    }
  }
  const be = g.backend;
  const y = g.output([...outShape, cols], ...terms.map((t) => t.table));
  if (y.value.size !== count * cols) throw new RangeError(`gatherRowsSum: output shape [${outShape.join(", ")}] does not hold ${count} rows`);
  be.gatherRows(terms[0].table.data, terms[0].index, y.data, count, cols);
  const rowsOf = g.alloc(count * cols, false);
  for (const t of terms.slice(1)) {
    be.gatherRows(t.table.data, t.index, rowsOf, count, cols);
    be.add(y.data, rowsOf, y.data, count * cols); // in order: ((t0 + t1) + t2) ...
  }
  if (y.requiresGrad) {
    g.record(() => {
      for (const t of terms) if (t.table.requiresGrad) be.scatterAddRows(y.grad, t.index, t.table.grad, count, cols);
    });
  }
  return y;
}

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
