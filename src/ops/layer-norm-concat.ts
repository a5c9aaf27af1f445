// layerNormConcat: concat_seq(LN_a(a), LN_b(b)) in one op, each LayerNorm writing its rows of the
// concatenated output directly (no separate normalised tensors, no copy, no gradient copy back).
// a (B, Ta, C), b (B, Tb, C); each with its own gamma/beta (C) -> y (B, Ta + Tb, C).
// The key/value side of the cross-attention (LN_kv(prefix) then LN_q(latents)) and of a
// Transformer-XL layer (LN(memory) then LN(x), one parameter pair twice).

import type { Graph, Var } from "../autograd.js";
import { LAYER_NORM_EPS } from "./layer-norm.js";

export interface NormedInput {
  x: Var;
  gamma: Var;
  beta: Var;
}

export function layerNormConcat(g: Graph, first: NormedInput, second: NormedInput, eps = LAYER_NORM_EPS): Var {
  const [B, Ta, C] = first.x.shape;
  const Tb = second.x.shape[1];
  if (first.x.shape.length !== 3 || second.x.shape.length !== 3 || second.x.shape[0] !== B || second.x.shape[2] !== C) {
    throw new RangeError(`layerNormConcat: inputs [${first.x.shape.join(", ")}] and [${second.x.shape.join(", ")}] must be (batch, seq, channels) with equal batch and channels`);
  }
  for (const p of [first, second]) {
    if (p.gamma.value.size !== C || p.beta.value.size !== C) throw new RangeError(`layerNormConcat: gamma/beta of ${p.gamma.value.size}/${p.beta.value.size} elements, expected ${C}`);
  }
  const T = Ta + Tb;
  const be = g.backend;
  const y = g.output([B, T, C], first.x, first.gamma, first.beta, second.x, second.gamma, second.beta);
  // Per part and batch element: its rows of x, its rows of y, and the saved row statistics.
  const parts = [
    { p: first, rows: Ta, offset: 0 },
    { p: second, rows: Tb, offset: Ta },
  ].filter((s) => s.rows > 0);
  const stats = parts.map((s) => ({ mean: g.alloc(B * s.rows), rstd: g.alloc(B * s.rows) }));
  const xRows = (s: (typeof parts)[number], data: Float32Array, b: number) => data.subarray(b * s.rows * C, (b + 1) * s.rows * C);
  const yRows = (s: (typeof parts)[number], data: Float32Array, b: number) => data.subarray((b * T + s.offset) * C, (b * T + s.offset + s.rows) * C);
  const statRows = (a: Float32Array, s: (typeof parts)[number], b: number) => a.subarray(b * s.rows, (b + 1) * s.rows);
  parts.forEach((s, i) => {
    for (let b = 0; b < B; b++) {
      be.layerNormForward(xRows(s, s.p.x.data, b), s.p.gamma.data, s.p.beta.data, yRows(s, y.data, b), statRows(stats[i].mean, s, b), statRows(stats[i].rstd, s, b), s.rows, C, eps);
    }
  });
  if (y.requiresGrad) {
    g.record(() => {
      parts.forEach((s, i) => {
        if (!g.needsGrad(s.p.x, s.p.gamma, s.p.beta)) return;
        // Gradient buffers are only materialised for inputs that need them; others get scratch.
        const dx = s.p.x.requiresGrad ? s.p.x.grad : g.alloc(s.p.x.value.size);
        const dgamma = s.p.gamma.requiresGrad ? s.p.gamma.grad : g.alloc(C);
        const dbeta = s.p.beta.requiresGrad ? s.p.beta.grad : g.alloc(C);
        for (let b = 0; b < B; b++) {
          be.layerNormBackward(yRows(s, y.grad, b), xRows(s, s.p.x.data, b), s.p.gamma.data, statRows(stats[i].mean, s, b), statRows(stats[i].rstd, s, b), xRows(s, dx, b), dgamma, dbeta, s.rows, C);
        }
      });
    });
  }
  return y;
}
