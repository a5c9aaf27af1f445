// Training, validation and evaluation over one long token stream (text, music): random windows of
// seqLen + 1 tokens for training, evenly spread fixed windows for validation, and evaluation of a
// model on those windows (the last K targets of each, through the capped view of `evaluate`).

import type { PerceiverARConfig } from "../models/config.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { DataError } from "../data/data-error.js";
import { fixedWindows, WindowSampler } from "../data/windows.js";
import { samplerBatchSource, type BatchSource, type ValidationSet } from "../train/batch-source.js";
import { evaluate } from "../train/evaluate.js";
import type { TaskEvalOptions, TaskEvaluation } from "./task.js";

export function streamTrainSource(stream: Int32Array, seqLen: number, batchSize: number, seed: number): BatchSource {
  return samplerBatchSource(new WindowSampler(stream, { maxSeqLen: seqLen, seed }), batchSize);
}

/**
 * Scored tokens a text or music run validates on by default (384 windows at 128 latents). Measured
 * on the npm-start model: 40 placements of 384 of SOTU's 684 validation windows came within
 * 0.0185 bits/byte of all 684 in 90% of cases (256 windows: 0.023; 16, the old default: 0.14).
 */
export const VALIDATION_TOKENS = 49_152;
/** At most this many input tokens per default validation (~3 s on 2 cores at text-small), so long contexts stay bounded in time. */
export const VALIDATION_INPUT_TOKENS = 400_000;
/** At least this many windows, however long the context. */
const MIN_VALIDATION_WINDOWS = 16;

/** Windows of a stream task's default validation: VALIDATION_TOKENS / max_latents (each window scores its last max_latents targets), bounded by VALIDATION_INPUT_TOKENS. */
export function streamValidationCount(config: Pick<PerceiverARConfig, "maxLatents" | "maxSeqLen">): number {
  const byTokens = Math.ceil(VALIDATION_TOKENS / config.maxLatents);
  const byTime = Math.floor(VALIDATION_INPUT_TOKENS / (config.maxSeqLen + 1));
  return Math.max(MIN_VALIDATION_WINDOWS, Math.min(byTokens, byTime));
}

/** Up to `count` windows (as many as the stream holds, at least 1). */
export function streamValidation(stream: Int32Array, seqLen: number, count: number, tokenByteLength?: (id: number) => number): ValidationSet {
  if (stream.length < seqLen + 1) {
    throw new DataError(`the validation data has ${stream.length} tokens, fewer than one window of ${seqLen + 1} (context ${seqLen} + 1)${stream.length === 0 ? "; the run was trained without validation (--eval-windows 0): pass --data to evaluate on other data" : ""}`);
  }
  const n = Math.max(1, Math.min(count, Math.floor(stream.length / (seqLen + 1))));
  return { windows: fixedWindows(stream, seqLen + 1, n), tokenByteLength };
}

/**
 * `model` on `validation` (windows of the model's max_seq_len + 1 tokens) with at most
 * `o.numLatents` latents; metrics: the headline `metricName` (from `headline`), then loss (nats per
 * token), bits per token, accuracy, scored tokens and the context used.
 */
export function evaluateValidation(
  model: PerceiverAR,
  validation: ValidationSet,
  o: TaskEvalOptions,
  metricName: string,
  /** The task's metric of a result (its `metric`), reported under `metricName`. */
  headline: (r: TaskEvaluation["result"]) => number,
): TaskEvaluation {
  const result = evaluate(model, validation.windows, { ...validation, numLatents: o.numLatents, batchSize: o.batchSize, onProgress: o.onProgress });
  return {
    result,
    metrics: { [metricName]: headline(result), loss: result.loss, bitsPerToken: result.bitsPerToken, accuracy: result.accuracy, tokens: result.tokens, contextLen: result.contextLen },
  };
}
