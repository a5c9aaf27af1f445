// Warm start: copy a trained PerceiverAR's parameters into a freshly initialised one whose context
// length (max_seq_len) differs — the step of a context curriculum (train short, continue long).
//
// Every field of the two configs except max_seq_len (and the training-only cross_attention_dropout)
// must agree; every parameter is copied as is, except the learned absolute position table
// (maxSeqLen, C), which is re-mapped around the latents:
//   source rows [0, min(Ps, Pt))   -> target rows [0, min(Ps, Pt))      (prefix: from the start)
//   source rows [Ns - M, Ns)       -> target rows [Nt - M, Nt)          (latents: always the last M)
//   other target rows keep their fresh initialisation (positions the source never saw)
// where N = max_seq_len, M = max_latents, P = N - M. The latents sit at the end of every training
// window, so their rows keep their meaning when the context grows; prefix rows keep their
// distance from the start of the window.
//
// Rotary compensation (abs_pos_emb models): the cross-attention rotates the first r channels of
// every head of q and k by position · ω_i. The latents move by Δ = Nt - Ns positions while the
// retained prefix rows stay put, so each rotated channel pair (2i, 2i+1) of the cross-attention's
// q_proj rows is pre-rotated by -Δ·ω_i: R(ω·t_new)·R(-ω·Δ) = R(ω·t_old). Every score between a
// latent query and a retained prefix key is then exactly the source's. The price: scores between a
// latent query and the latent keys inside the cross-attention see their rotary offset moved by Δ.
// (Rotary-only models have no table to re-map: every offset simply grows, so nothing is rotated.)

import { rotatedChannelsPerHead, type PerceiverARConfig } from "./config.js";
import type { PerceiverAR } from "./perceiver-ar.js";

/** Config fields that may differ between the source and the target of a warm start. */
const MAY_DIFFER: ReadonlySet<keyof PerceiverARConfig> = new Set(["maxSeqLen", "crossAttentionDropout"]);

export class WarmStartError extends Error {
  override name = "WarmStartError";
}

/** Copy `source`'s parameters and buffers into `target` (see the file header for the position rows). */
export function warmStart(target: PerceiverAR, source: PerceiverAR): void {
  const s = source.config;
  const t = target.config;
  const differing = (Object.keys(t) as (keyof PerceiverARConfig)[]).filter((k) => !MAY_DIFFER.has(k) && s[k] !== t[k]);
  if (differing.length > 0) {
    const list = differing.map((k) => `${k} (source ${String(s[k])}, target ${String(t[k])})`).join(", ");
    throw new WarmStartError(`a warm start may only change max_seq_len; these config fields differ: ${list}`);
  }
  const positionTable = target.layers.embedding.position;
  for (const [name, to] of target.parameters) {
    const from = source.parameters.get(name);
    if (from === undefined) throw new WarmStartError(`the source model has no parameter ${name}`);
    if (to === positionTable) remapPositionTable(from.data, s.maxSeqLen, to.data, t.maxSeqLen, t.maxLatents, t.numChannels);
    else to.data.set(from.data);
  }
  for (const [name, buffer] of target.store.buffers) {
    const from = source.store.buffers.get(name);
    if (from !== undefined) buffer.data.set(from.data);
  }
  if (t.absPosEmb && t.maxSeqLen !== s.maxSeqLen) {
    const invFreq = target.layers.rotaryInvFreq;
    const q = target.layers.crossAttention.attention.q.data;
    rotateQueryRows(q, t.numChannels, t.numHeads, rotatedChannelsPerHead(t), invFreq, -(t.maxSeqLen - s.maxSeqLen));
  }
}

/**
 * Pre-rotate the rotary channel pairs of a query projection's output rows by `shift` positions:
 * rows (h·D + 2i, h·D + 2i + 1) of weight (C out, C in) become R(shift·invFreq[i]) applied to the
 * pair, for 2i < rotDim. A query at position p then scores like the original one at p + shift.
 */
export function rotateQueryRows(weight: Float32Array, C: number, heads: number, rotDim: number, invFreq: Float32Array, shift: number): void {
  const D = C / heads;
  for (let h = 0; h < heads; h++) {
    for (let k = 0; k < rotDim; k += 2) {
      const angle = shift * invFreq[k >> 1];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const r0 = (h * D + k) * C; // row of channel 2i, then 2i + 1
      const r1 = r0 + C;
      for (let i = 0; i < C; i++) {
        const a = weight[r0 + i];
        const b = weight[r1 + i];
        weight[r0 + i] = cos * a - sin * b;
        weight[r1 + i] = sin * a + cos * b;
      }
    }
  }
}

/** Re-map a (Ns, C) position table into a (Nt, C) one, latents at the end (see file header). */
export function remapPositionTable(from: Float32Array, Ns: number, to: Float32Array, Nt: number, M: number, C: number): void {
  if (from.length !== Ns * C || to.length !== Nt * C) throw new RangeError(`position tables must be (${Ns}, ${C}) and (${Nt}, ${C})`);
  const latents = Math.min(M, Ns, Nt);
  const prefixRows = Math.min(Ns - latents, Nt - latents);
  to.set(from.subarray(0, prefixRows * C), 0); //                  prefix rows from the start
  to.set(from.subarray((Ns - latents) * C), (Nt - latents) * C); // latent rows at the end
}
