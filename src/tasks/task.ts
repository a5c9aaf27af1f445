// A Task ties a kind of data to training: its vocabulary, a resumable training batch source,
// fixed validation windows and how to report them, and how to turn tokens back into something a
// person can read, look at or listen to. The CLI stores a task's `spec` in the run folder
// (task.json) so `eval` and `sample` rebuild the same task later.

import type { BatchSource } from "../train/batch-source.js";
import type { ValidationSet } from "../train/trainer.js";

export type TaskName = "text" | "copy" | "image" | "music";

/** JSON description of a task, enough to rebuild it (stored as run-folder/task.json). */
export interface TaskSpec {
  task: TaskName;
  /** Data source: corpus name or path (text), dataset name (image), folder or "piano" (music). */
  data?: string;
  /** Path of a tokenizer.json (text with a non-byte tokenizer). */
  tokenizer?: string;
  /** Seed of the data pipeline (sampling order, splits). */
  seed?: number;
}

export interface Task {
  readonly spec: TaskSpec;
  readonly vocabSize: number;
  /** Token used for padding. */
  readonly padId: number;
  /** End-of-sequence token, if the task has one. */
  readonly eosId: number | null;
  /** Unit of the headline validation metric, e.g. "bits/byte", "bits/dim", "nats/event". */
  readonly metricName: string;
  /** Training batches of `batchSize` rows of `seqLen` tokens. */
  /** `numLatents` lets tasks that train on variable-length examples keep every latent on real tokens. */
  trainSource(seqLen: number, batchSize: number, seed: number, numLatents?: number): BatchSource;
  /** Fixed validation windows of seqLen + 1 tokens. */
  validation(seqLen: number, count: number): ValidationSet;
  /** The headline metric from an evaluation's loss in nats/token (and bits/byte). */
  metric(e: { loss: number; bitsPerByte: number; bitsPerToken: number }): number;
  /** Fetch the task's data set into the cache when it is not there yet (tasks with downloadable data). */
  ensureData?(log: (message: string) => void): Promise<void>;
  /** Human-readable text for tokens (text task), or a short description otherwise. */
  describeTokens(tokens: ArrayLike<number>): string;
}
