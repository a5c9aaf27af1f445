// Validation loss over a fixed set of token windows: nats per token, bits per token, bits per byte.
//
// Contract:
// - Input: windows of equal length L + 1 (typically `fixedWindows(stream, maxSeqLen + 1, count)`
//   from src/data/windows.ts: deterministic, no RNG). No dropout, no gradients.
// - With `numLatents` = K (default: the model's maxLatents), each window is scored with context
//   length N = min(L, (maxSeqLen - maxLatents) + K) taken from the END of the window, prefix
//   P = N - K, and only the last K positions are scored: inputs = w[L-N : L], labels =
//   w[L-N+1 : L+1][P:]. (The model's prefix can hold at most maxSeqLen - maxLatents positions,
//   as in the reference, so fewer latents means a shorter context, never a longer prefix.) Every
//   window therefore scores its own last K tokens.
// - loss = total nats / scored tokens (float64 sums in window order: deterministic);
//   bitsPerToken = loss / ln 2; bitsPerByte = bitsPerToken · tokens / bytes, where bytes sums
//   `tokenByteLength(label)` over the scored labels (default 1 per token: exact for the byte
//   tokenizer, where tokens == bytes). Labels equal to -100 are ignored. accuracy = scored tokens
//   whose argmax logit is the label / scored tokens (ties: the lowest id wins).

import type { Backend } from "../backend/backend.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";

const IGNORE = -100;

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Latent positions scored per window, integer in [1, maxLatents]. Default maxLatents. */
  numLatents?: number;
  /** Windows per forward pass, integer >= 1. Default 8, fewer for long windows (at most ~2^20 tokens per pass). */
  batchSize?: number;
  /** UTF-8 bytes represented by a token id (for bits per byte). Default: 1 for every id. */
  tokenByteLength?: (id: number) => number;
  /** Backend override. */
  backend?: Backend;
}

/** Result of `evaluate`. */
export interface EvalResult {
  /** Mean negative log-likelihood in nats per scored token. */
  loss: number;
  bitsPerToken: number;
  bitsPerByte: number;
  /** Fraction of scored tokens whose most likely prediction (argmax) is the label. */
  accuracy: number;
  /** Number of scored tokens. */
  tokens: number;
  /** Bytes the scored tokens stand for. */
  bytes: number;
  windows: number;
  numLatents: number;
  /** Context length N used per window. */
  contextLen: number;
}

/** Windows of `tokens` each to score per forward pass: at most `most`, at most ~2^20 tokens in all, at least 1. */
export function windowsPerPass(tokens: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(2 ** 20 / tokens)));
}

/**
 * Validation loss of `model` over `windows` (each of the same length >= 2).
 * @throws RangeError naming the option or window that is out of range
 */
export function evaluate(model: PerceiverAR, windows: readonly Int32Array[], options: EvaluateOptions = {}): EvalResult {
  const c = model.config;
  if (windows.length === 0) throw new RangeError("evaluate: windows must contain at least 1 window, got 0");
  const windowLen = windows[0].length;
  if (windowLen < 2) throw new RangeError(`evaluate: windows must have at least 2 tokens (context + 1), got ${windowLen}`);
  const K = options.numLatents ?? c.maxLatents;
  if (!Number.isInteger(K) || K < 1 || K > c.maxLatents) throw new RangeError(`numLatents must be an integer in [1, maxLatents = ${c.maxLatents}], got ${String(K)}`);
  const batchSize = options.batchSize ?? windowsPerPass(windowLen - 1, 8);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${String(batchSize)}`);
  const L = windowLen - 1;
  const N = Math.min(L, c.maxSeqLen - c.maxLatents + K);
  if (N > c.maxSeqLen) throw new RangeError(`evaluate: context ${N} exceeds max_seq_len ${c.maxSeqLen}`);
  const M = Math.min(K, N);
  const P = N - M;
  const byteLen = options.tokenByteLength ?? (() => 1);

  let nats = 0;
  let correct = 0;
  let tokens = 0;
  let bytes = 0;
  for (let start = 0; start < windows.length; start += batchSize) {
    const B = Math.min(batchSize, windows.length - start);
    const inputs = new Int32Array(B * N); // (B, N)
    const labels = new Int32Array(B * M); // (B, M)
    for (let b = 0; b < B; b++) {
      const w = windows[start + b];
      if (w.length !== windowLen) throw new RangeError(`evaluate: windows[${start + b}] has ${w.length} tokens, windows[0] has ${windowLen}; all must be equal`);
      inputs.set(w.subarray(L - N, L), b * N);
      labels.set(w.subarray(L - N + 1 + P, L + 1), b * M);
    }
    const r = model.loss({ data: inputs, shape: [B, N] }, { data: labels, shape: [B, M] }, { prefixLen: P, backend: options.backend });
    nats += r.loss * r.count;
    correct += r.correct ?? 0;
    tokens += r.count;
    for (let i = 0; i < labels.length; i++) if (labels[i] !== IGNORE) bytes += byteLen(labels[i]);
  }
  const loss = tokens > 0 ? nats / tokens : 0;
  const bitsPerToken = loss / Math.LN2;
  return {
    loss,
    accuracy: tokens > 0 ? correct / tokens : 0,
    bitsPerToken,
    bitsPerByte: bytes > 0 ? (bitsPerToken * tokens) / bytes : 0,
    tokens,
    bytes,
    windows: windows.length,
    numLatents: M,
    contextLen: N,
  };
}
