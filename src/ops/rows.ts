// rows: a contiguous run of sequence positions, the slice y = x[:, start : start + count, :].
// x (B, T, C) -> y (B, count, C). Memory-bound copies done in TypeScript (as concatSeq); the
// backward adds dy back into those rows of dx (backend axpy), the other rows get nothing.
//
// This is how a model says "latents = rows P..N of x" instead of building index arrays; a random
// subset of rows (cross-attention dropout) is a gatherRows instead.

import type { Graph, Var } from "../autograd.js";

export function rows(g: Graph, x: Var, start: number, count: number): Var {
  if (x.shape.length !== 3) throw new RangeError(`rows: input must be (batch, seq, channels), got shape [${x.shape.join(", ")}]`);
  const [B, T, C] = x.shape;
  if (!Number.isInteger(start) || start < 0 || start > T) throw new RangeError(`rows: start ${start} must be an integer in [0, ${T}]`);
  if (!Number.isInteger(count) || count < 0 || start + count > T) {
    throw new RangeError(`rows: count ${count} must be an integer in [0, ${T - start}] (start ${start} of ${T} rows)`);
  }
  const y = g.output([B, count, C], x);
  const n = count * C; // elements per batch row of y
  for (let b = 0; b < B; b++) {
    const from = (b * T + start) * C;
    y.data.set(x.data.subarray(from, from + n), b * n);
  }
  if (y.requiresGrad && n > 0) {
    const be = g.backend;
    g.record(() => {
      const dy = y.grad;
      const dx = x.grad;
      for (let b = 0; b < B; b++) {
        const from = (b * T + start) * C;
        be.axpy(1, dy.subarray(b * n, (b + 1) * n), dx.subarray(from, from + n), n);
      }
    });
  }
  return y;
}

/** The last `count` rows of x (B, T, C): rows(x, T - count, count), or x itself when count = T. */
export function lastRows(g: Graph, x: Var, count: number): Var {
  const T = x.shape[1];
  return count === T ? x : rows(g, x, T - count, count);
}
