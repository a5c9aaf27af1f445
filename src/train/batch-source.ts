// The trainer's data interfaces: a resumable stream of training micro-batches (`BatchSource`, with
// an adapter from the window sampler of src/data/windows.ts) and the fixed windows it validates on
// (`ValidationSet`).
//
// Contract:
// - `next()` returns one micro-batch: `inputs` (B, N) row-major token ids (N = `seqLen`, which
//   defaults to the model's max_seq_len; set it for shorter rows), `labels` either
//   (B, M) — the targets of the M latent positions — or (B, N) next-token targets for every
//   position (labels[t] = window[t + 1]), of which the trainer keeps the last M per row.
//   Labels may be -100 (ignored). `padMask` (B, N), 1 = left padding, is optional.
// - `getState()` returns plain JSON that captures everything that decides the following batches;
//   `setState(getState())` on a fresh source built over the same data makes it yield the same
//   batches again. The trainer stores it in trainer-state.json for exact resume.

import { assertIntegerInRange } from "../util/integer-range.js";
import type { EvaluateOptions } from "./evaluate.js";

/** One micro-batch of training examples. */
export interface TrainBatch {
  /** (B, N) token ids. */
  inputs: Int32Array;
  /** N, the row length of `inputs`, in [1, max_seq_len]. Default: the model's max_seq_len. */
  seqLen?: number;
  /** (B, M) latent targets, or (B, N) next-token targets of which the last M per row are used. */
  labels: Int32Array;
  /** (B, N), 1 = padding (on the left). */
  padMask?: Uint8Array;
}

/** A resumable stream of micro-batches. */
export interface BatchSource {
  next(): TrainBatch;
  /** JSON-serialisable position/RNG state. */
  getState(): unknown;
  setState(state: unknown): void;
}

/** What `samplerBatchSource` needs from a sampler (satisfied by `WindowSampler`). */
export interface WindowSamplerLike<S> {
  sample(batch: number): { inputs: Int32Array; labels: Int32Array; seqLen: number };
  getState(): S;
  setState(state: S): void;
}

/**
 * A BatchSource drawing `batchSize` random windows per micro-batch from a `WindowSampler`
 * (inputs = window[0:N], labels = window[1:N+1]; the trainer keeps the latent part).
 */
export function samplerBatchSource<S>(sampler: WindowSamplerLike<S>, batchSize: number): BatchSource {
  assertIntegerInRange("batchSize", batchSize, 1);
  return {
    next: () => {
      const b = sampler.sample(batchSize);
      return { inputs: b.inputs, labels: b.labels, seqLen: b.seqLen };
    },
    getState: () => sampler.getState(),
    setState: (s) => sampler.setState(s as S),
  };
}

/**
 * Fixed validation windows (e.g. `fixedWindows(valStream, maxSeqLen + 1, count)`) and how to score
 * them (the options of `evaluate`, src/train/evaluate.ts: targets, byte lengths, ...).
 */
export interface ValidationSet extends EvaluateOptions {
  windows: readonly Int32Array[];
}
