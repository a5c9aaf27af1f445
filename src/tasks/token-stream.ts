// Training, validation and evaluation over one long token stream (text, music): random windows of
// seqLen + 1 tokens for training, evenly spread fixed windows for validation, and evaluation of a
// model on those windows (the last K targets of each, through the capped view of `evaluate`).

import type { PerceiverAR } from "../models/perceiver-ar.js";
import { fixedWindows, WindowSampler } from "../data/windows.js";
import { samplerBatchSource, type BatchSource, type ValidationSet } from "../train/batch-source.js";
import { evaluate } from "../train/evaluate.js";
import type { TaskEvalOptions, TaskEvaluation } from "./task.js";

export function streamTrainSource(stream: Int32Array, seqLen: number, batchSize: number, seed: number): BatchSource {
  return samplerBatchSource(new WindowSampler(stream, { maxSeqLen: seqLen, seed }), batchSize);
}

/** Up to `count` windows (as many as the stream holds, at least 1). */
export function streamValidation(stream: Int32Array, seqLen: number, count: number, tokenByteLength?: (id: number) => number): ValidationSet {
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
  headline: (r: TaskEvaluation["result"]) => number,
): TaskEvaluation {
  const result = evaluate(model, validation.windows, { ...validation, numLatents: o.numLatents, batchSize: o.batchSize });
  return {
    result,
    metrics: { [metricName]: headline(result), loss: result.loss, bitsPerToken: result.bitsPerToken, accuracy: result.accuracy, tokens: result.tokens, contextLen: result.contextLen },
  };
}
