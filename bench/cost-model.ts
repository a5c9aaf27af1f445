// The cost model of /work/shared/DESIGN.md §2: forward FLOPs of one step, per model kind; a
// training step (forward + backward) counts TRAINING_FLOPS_PER_FORWARD forwards. The benchmarks
// divide these by measured seconds to report achieved GFLOP/s.
//
// d = width, V = vocab, L = self-attention layers after the cross-attention, N = context,
// M = latents, P = N - M prefix positions, p = cross-attention (prefix) dropout, Nkv = M + (1-p)·P:
//   Perceiver AR: 4·Nkv·d² (k, v projections) + 4·M·d² (q, o) + 4·d·pairs_cross (scores and the
//                 weighted sum) + 16·M·d² (MLP) + L·(24·M·d² + 4·d·pairs_self) + 2·M·d·V (logits)
//   Decoder-only Transformer: the case M = N (P = 0): (L+1)·(24·N·d² + 4·d·pairs) + 2·N·d·V
//   Transformer-XL (segment S, memory R): L·(24·S·d² + 4·R·d² + 4·d·pairs) + 2·S·d·V, with the
//                 memory's k/v projections (4·R·d²) recomputed per layer
// `attention: "causal"` (the default) counts the causally visible query-key pairs only (latent i
// sees Nkv - M + i + 1 keys: pairs_cross = M·(Nkv - M) + M(M+1)/2, pairs_self = M(M+1)/2), the work
// a kernel that skips masked tiles does (DESIGN.md: "halve with causal skipping"); "dense" counts
// every pair (M·Nkv and M²), as an implementation that computes the full score matrix and then
// masks it (e.g. the PyTorch einsum script) does.

/** Backward ≈ 2 × forward (gradients of the inputs and of the weights), so a step ≈ 3 forwards. */
export const TRAINING_FLOPS_PER_FORWARD = 3;

export type AttentionCount = "causal" | "dense";

export interface PerceiverArCost {
  /** Context N (positions in the forward). */
  N: number;
  /** Latents M (positions with a loss), at most N. */
  M: number;
  /** Width d. */
  d: number;
  /** Self-attention layers L after the cross-attention layer. */
  L: number;
  /** Vocabulary V. */
  V: number;
  /** Cross-attention (prefix) dropout p in [0, 1); default 0. */
  p?: number;
}

/** Forward FLOPs of Perceiver AR (a Transformer when M = N); see the header. */
export function perceiverArForwardFlops(s: PerceiverArCost, attention: AttentionCount = "causal"): number {
  const { N, M, d, L, V } = s;
  const kept = (N - M) * (1 - (s.p ?? 0)); // prefix positions the latents attend to
  const nkv = M + kept;
  const tri = (M * (M + 1)) / 2;
  const crossPairs = attention === "causal" ? M * kept + tri : M * nkv;
  const selfPairs = attention === "causal" ? tri : M * M;
  return 4 * nkv * d * d + 4 * M * d * d + 4 * d * crossPairs + 16 * M * d * d + L * (24 * M * d * d + 4 * d * selfPairs) + 2 * M * d * V;
}

export interface TransformerXlCost {
  /** Segment S (positions with a loss). */
  S: number;
  /** Memory R (cached positions per layer). */
  R: number;
  d: number;
  /** Layers. */
  L: number;
  V: number;
}

/** Forward FLOPs of Transformer-XL (segment S over memory R); see the header. */
export function transformerXlForwardFlops(s: TransformerXlCost, attention: AttentionCount = "causal"): number {
  const { S, R, d, L, V } = s;
  const pairs = attention === "causal" ? S * R + (S * (S + 1)) / 2 : S * (S + R);
  return L * (24 * S * d * d + 4 * R * d * d + 4 * d * pairs) + 2 * S * d * V;
}
