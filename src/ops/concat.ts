// concatSeq: per-batch concatenation along the sequence axis.
// a (B, Ta, C), b (B, Tb, C) -> y (B, Ta + Tb, C). Memory-bound copies, done in TypeScript.

import type { Graph, Var } from "../autograd.js";

export function concatSeq(g: Graph, a: Var, b: Var): Var {
  const [B, Ta, C] = a.shape;
  const Tb = b.shape[1];
  if (b.shape[0] !== B || b.shape[2] !== C) {
    throw new RangeError(`concatSeq: [${a.shape.join(", ")}] and [${b.shape.join(", ")}] do not share batch and channels`);
  }
  const T = Ta + Tb;
  const y = g.output([B, T, C], a, b);
  for (let i = 0; i < B; i++) {
    y.data.set(a.data.subarray(i * Ta * C, (i + 1) * Ta * C), i * T * C);
    y.data.set(b.data.subarray(i * Tb * C, (i + 1) * Tb * C), (i * T + Ta) * C);
  }
  if (y.requiresGrad) {
    const be = g.backend;
    g.record(() => {
      const dy = y.grad;
      for (let i = 0; i < B; i++) {
        if (a.requiresGrad) be.axpy(1, dy.subarray(i * T * C, (i * T + Ta) * C), a.grad.subarray(i * Ta * C, (i + 1) * Ta * C), Ta * C);
        if (b.requiresGrad) be.axpy(1, dy.subarray((i * T + Ta) * C, (i + 1) * T * C), b.grad.subarray(i * Tb * C, (i + 1) * Tb * C), Tb * C);
      }
    });
  }
  return y;
}
