// Training and validation over one long token stream (text, music): random windows of seqLen + 1
// tokens for training, evenly spread fixed windows for validation.

import { fixedWindows, WindowSampler } from "../data/windows.js";
import { samplerBatchSource, type BatchSource } from "../train/batch-source.js";
import type { ValidationSet } from "../train/trainer.js";

export function streamTrainSource(stream: Int32Array, seqLen: number, batchSize: number, seed: number): BatchSource {
  return samplerBatchSource(new WindowSampler(stream, { maxSeqLen: seqLen, seed }), batchSize);
}

/** Up to `count` windows (as many as the stream holds, at least 1). */
export function streamValidation(stream: Int32Array, seqLen: number, count: number, tokenByteLength?: (id: number) => number): ValidationSet {
  const n = Math.max(1, Math.min(count, Math.floor(stream.length / (seqLen + 1))));
  return { windows: fixedWindows(stream, seqLen + 1, n), tokenByteLength };
}
