// attention: fused multi-head scaled dot-product attention with a causal offset and key padding.
// q (B, Tq, H·D), k and v (B, Tk, H·D) -> (B, Tq, H·D). Query i sees keys j <= causalOffset + i
// that are not padded. The (Tq, Tk) matrix is never stored; the backward recomputes it from lse.
// A query whose every visible key is padded (a padded latent when the padding is longer than the
// prefix) reads the mean of all Tk values, as the reference PyTorch implementation computes it
// (see Backend.attentionForward).

import type { AttentionShape } from "../backend/backend.js";
import type { Graph, Var } from "../autograd.js";

export interface AttentionOptions {
  heads: number;
  /** Query i sees keys j <= causalOffset + i; null for no causal mask. */
  causalOffset: number | null;
  /** (B, Tk), 1 = padding key (masked out), or null. */
  keyPad?: Uint8Array | null;
}

export function attention(g: Graph, q: Var, k: Var, v: Var, o: AttentionOptions): Var {
  const [B, Tq, W] = q.shape;
  const Tk = k.shape[1];
  const D = W / o.heads;
  if (!Number.isInteger(D)) throw new RangeError(`attention: ${W} channels do not split into ${o.heads} heads`);
  if (k.shape[0] !== B || k.shape[2] !== W || v.shape[0] !== B || v.shape[1] !== Tk || v.shape[2] !== W) {
    throw new RangeError(`attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] are inconsistent`);
  }
  const keyPad = o.keyPad ?? null;
  if (keyPad !== null && keyPad.length !== B * Tk) throw new RangeError(`attention: keyPad has ${keyPad.length} entries, expected ${B * Tk}`);
  const s: AttentionShape = { batch: B, heads: o.heads, queries: Tq, keys: Tk, headDim: D, causalOffset: o.causalOffset, scale: 1 / Math.sqrt(D) };
  const be = g.backend;
  const out = g.output([B, Tq, W], q, k, v);
  const lse = g.alloc(B * o.heads * Tq);
  be.attentionForward(s, q.data, k.data, v.data, keyPad, out.data, lse);
  if (out.requiresGrad) {
    g.record(() => {
      // The kernel's gradient outputs must not alias: an input passed twice (attention(x, x, x))
      // gets its second gradient in scratch, added afterwards.
      const dq = q.requiresGrad ? q.grad : g.alloc(q.value.size);
      const dk = k.requiresGrad && k !== q ? k.grad : g.alloc(k.value.size);
      const dv = v.requiresGrad && v !== q && v !== k ? v.grad : g.alloc(v.value.size);
      be.attentionBackward(s, q.data, k.data, v.data, keyPad, out.data, out.grad, lse, dq, dk, dv);
      if (k.requiresGrad && k === q) be.axpy(1, dk, k.grad, dk.length);
      if (v.requiresGrad && (v === q || v === k)) be.axpy(1, dv, v.grad, dv.length);
    });
  }
  return out;
}
