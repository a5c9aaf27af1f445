// The one scoring routine: loss, accuracy, bits per token and bits per byte of a model over fixed
// token windows. Training validation, `perceiver-ar eval` and every task's evaluation (text, copy,
// image, music) call it.
//
// Contract:
// - Input: windows of equal length L + 1 (typically `fixedWindows(stream, maxSeqLen + 1, count)`
//   from src/data/windows.ts: deterministic, no RNG). Target t (t = 1..L) of a window is the token
//   window[t], predicted from window[0..t); `targets` replaces those labels (targets[w][t - 1]; the
//   value IGNORE_INDEX = -100 leaves a target unscored, e.g. the random half of a copy example).
//   No dropout, no gradients.
// - With `numLatents` = K (default: the model's maxLatents) the model is used through the capped
//   view of src/generate/schedule.ts `effectiveConfig`: at most K latents and a context of at most
//   N' = (maxSeqLen - maxLatents) + K tokens (the prefix limit stays the model's, as in the
//   reference, so fewer latents means a shorter context, never a longer prefix).
// - Targets are scored in chunks. A chunk ending at target e uses inputs window[e - n : e] with
//   n = min(e, N'), m = min(K, n) latents and prefix P = n - m; it scores targets e-m+1 .. e that no
//   earlier chunk scored.
//   * span "last" (default): one chunk, e = L: every window scores its own last K targets (all of
//     them when L < K) from a context of min(L, N') tokens. This is what training validation does.
//   * span "all": chunks end at e = K, 2K, ..., L: every target of the window is scored exactly once
//     (the last chunk overlaps the one before; its already-scored targets are ignored). A target
//     beyond N' sees only the N' tokens before it (the capped view's window), like generation with
//     the same cap.
// - loss = total nats / scored targets (float64 sums in chunk, then window order: deterministic);
//   bitsPerToken = loss / ln 2; bitsPerByte = bitsPerToken · tokens / bytes, where bytes sums
//   `tokenByteLength(label)` over the scored labels (default 1 per token: exact for the byte
//   tokenizer, where tokens == bytes). accuracy = scored targets whose argmax logit is the label /
//   scored targets (ties: the lowest id wins).

import type { Backend } from "../backend/backend.js";
import { effectiveConfig } from "../generate/schedule.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { assertIntegerInRange } from "../util/integer-range.js";

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Latent cap K, integer in [1, maxLatents]. Default maxLatents. */
  numLatents?: number;
  /** "last" (default): score each window's last K targets; "all": score every target once, in chunks of K. */
  span?: "last" | "all";
  /** Per window, L labels replacing window[1..L] as targets (IGNORE_INDEX = not scored). Default: the window itself. */
  targets?: readonly Int32Array[];
  /** Windows per forward pass, integer >= 1. Default 8, fewer for long windows (at most ~2^20 tokens per pass). */
  batchSize?: number;
  /** UTF-8 bytes represented by a token id (for bits per byte). Default: 1 for every id. */
  tokenByteLength?: (id: number) => number;
  /** Backend override. */
  backend?: Backend;
  /** Called after every forward pass with the window-chunks scored so far and their total (for progress displays). */
  onProgress?: (done: number, total: number) => void;
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
  /** Latents of the longest chunk: min(K, its context). */
  numLatents: number;
  /** Context length n of the longest chunk (for span "last": the context of every window). */
  contextLen: number;
}

/** Windows of `tokens` each to score per forward pass: at most `most`, at most ~2^20 tokens in all, at least 1. */
export function windowsPerPass(tokens: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(2 ** 20 / tokens)));
}

/** One chunk of the scoring plan: targets (from, end] of every window, from a context of n tokens with m latents. */
interface Chunk {
  from: number;
  end: number;
  n: number;
  m: number;
}

/** The chunks that score span `span` of windows with L targets, through the view (N', K). */
function scoringPlan(L: number, span: "last" | "all", contextCap: number, K: number): Chunk[] {
  const chunk = (from: number, end: number): Chunk => {
    const n = Math.min(end, contextCap);
    return { from, end, n, m: Math.min(K, n) };
  };
  if (span === "last") return [chunk(Math.max(0, L - K), L)];
  const plan: Chunk[] = [];
  for (let scored = 0; scored < L; scored = Math.min(scored + K, L)) plan.push(chunk(scored, Math.min(scored + K, L)));
  return plan;
}

/**
 * Loss and accuracy of `model` over `windows` (each of the same length >= 2); see the file header.
 * @throws RangeError naming the option or window that is out of range
 */
export function evaluate(model: PerceiverAR, windows: readonly Int32Array[], options: EvaluateOptions = {}): EvalResult {
  if (windows.length === 0) throw new RangeError("evaluate: windows must contain at least 1 window, got 0");
  const windowLen = windows[0].length;
  if (windowLen < 2) throw new RangeError(`evaluate: windows must have at least 2 tokens (context + 1), got ${windowLen}`);
  const K = options.numLatents ?? model.config.maxLatents;
  const view = effectiveConfig(model.config, K, "numLatents");
  const span = options.span ?? "last";
  if (span !== "last" && span !== "all") throw new RangeError(`evaluate: span must be "last" or "all", got ${JSON.stringify(span)}`);
  const L = windowLen - 1;
  const batchSize = options.batchSize ?? windowsPerPass(Math.min(L, view.maxSeqLen), 8);
  assertIntegerInRange("batchSize", batchSize, 1);
  for (let w = 0; w < windows.length; w++) {
    if (windows[w].length !== windowLen) throw new RangeError(`evaluate: windows[${w}] has ${windows[w].length} tokens, windows[0] has ${windowLen}; all must be equal`);
  }
  const targets = options.targets;
  if (targets !== undefined) {
    if (targets.length !== windows.length) throw new RangeError(`evaluate: targets must hold one array per window (${windows.length}), got ${targets.length}`);
    targets.forEach((t, w) => {
      if (t.length !== L) throw new RangeError(`evaluate: targets[${w}] has ${t.length} labels, expected window length - 1 = ${L}`);
    });
  }
  const byteLen = options.tokenByteLength ?? (() => 1);
  const plan = scoringPlan(L, span, view.maxSeqLen, K);

  let nats = 0;
  let correct = 0;
  let tokens = 0;
  let bytes = 0;
  const passes = plan.length * Math.ceil(windows.length / batchSize);
  let passesDone = 0;
  for (const { from, end, n, m } of plan) {
    const P = n - m;
    for (let start = 0; start < windows.length; start += batchSize) {
      const B = Math.min(batchSize, windows.length - start);
      const inputs = new Int32Array(B * n); // (B, n): window[end - n : end]
      const labels = new Int32Array(B * m); // (B, m): targets end - m + 1 .. end
      for (let b = 0; b < B; b++) {
        const w = windows[start + b];
        inputs.set(w.subarray(end - n, end), b * n);
        for (let i = 0; i < m; i++) {
          const t = end - m + 1 + i;
          labels[b * m + i] = t <= from ? IGNORE_INDEX : targets !== undefined ? targets[start + b][t - 1] : w[t];
        }
      }
      const r = model.loss({ data: inputs, shape: [B, n] }, { data: labels, shape: [B, m] }, { prefixLen: P, backend: options.backend });
      nats += r.loss * r.count;
      correct += r.correct ?? 0;
      tokens += r.count;
      for (let i = 0; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) bytes += byteLen(labels[i]);
      options.onProgress?.(++passesDone, passes);
    }
  }
  const longest = plan.reduce((a, c) => (c.n > a.n ? c : a), plan[0]);
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
    numLatents: longest.m,
    contextLen: longest.n,
  };
}
