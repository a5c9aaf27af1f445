// A Task ties a kind of data to training, evaluation and sampling: its vocabulary, a resumable
// training batch source, fixed validation windows and how to report them, evaluation of a model
// (optionally with fewer latents than it was trained with), sampling (text to a stream, images to
// a PNG, music to a MIDI file), and how to turn tokens back into something a person can read.
// The CLI only calls these methods, never asks which task it has. It stores a task's `spec` in
// the run folder (task.json) so `eval` and `sample` rebuild the same task later.
//
// Every evaluation goes through the one scoring routine, src/train/evaluate.ts `evaluate`, and
// so through src/generate/schedule.ts `effectiveConfig` for the capped-latents view.

import type { GenerateOptions } from "../generate/generate.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { TextSplit } from "../data/text-split.js";
import type { PerceiverARConfig } from "../models/config.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import type { EvalResult } from "../train/evaluate.js";

export type TaskName = "text" | "copy" | "image" | "music";

/**
 * JSON description of a task, enough to rebuild it (stored as run-folder/task.json; paths in
 * there are portable, see src/tasks/task-file.ts).
 */
export interface TaskSpec {
  task: TaskName;
  /** Data source: corpus name or path (text), dataset name (image), folder or "piano" (music). */
  data?: string;
  /** Path of a tokenizer.json (text with a non-byte tokenizer). */
  tokenizer?: string;
  /** Seed of the data pipeline (sampling order, splits). */
  seed?: number;
  /** Text: how the corpus was split into training and validation (decided by `planRun`). Absent: by document. */
  split?: TextSplit;
  /** Validation windows (images, examples) the run validates on (0 = none); absent: the task's default. */
  validationWindows?: number;
}

/** Options of `Task.evaluate`. */
export interface TaskEvalOptions {
  /** Validation windows (text, music), held-out examples (copy) or validation images (image), integer >= 1. */
  count: number;
  /** Use at most this many latents, an integer in [1, max_latents]. Default: the model's max_latents. */
  numLatents?: number;
  /** Windows per forward pass (see `evaluate`). */
  batchSize?: number;
  /** Receives forward passes done of the total (progress displays). */
  onProgress?: (done: number, total: number) => void;
}

/** Result of `Task.evaluate`. */
export interface TaskEvaluation {
  /** What the scoring routine returned. */
  result: EvalResult;
  /** The figures to report, by name, the task's headline metric first (e.g. "bits/byte", "accuracy", "bitsPerDim"). */
  metrics: Record<string, number>;
}

/** Options of `Task.sample`. Fields a task does not use are ignored. */
export interface SampleRequest {
  /** Sampling settings (temperature, top-k/p, seed, latents, cache). */
  generation: Omit<GenerateOptions, "maxNewTokens" | "eosId">;
  /** Tokens to generate per sample; default: the task's (text 500, music 1024, a whole image, the mirrored half). */
  maxNewTokens?: number;
  /** Text: the prompt (default "The "); music: the primer length in events (default 256). */
  prompt?: string;
  /** Text: stop before the first occurrence of any of these strings. */
  stop?: string[];
  /** Images and copy examples: how many samples, integer >= 1 (default 4 images, 1 copy example). */
  count?: number;
  /** Images: complete the top half of validation images instead of sampling from scratch. */
  complete?: boolean;
  /** Output file (images: PNG grid, music: .mid). */
  out?: string;
  /** Images: enlarge the grid this many times (nearest neighbour), integer in [1, 16]. Default 1. */
  scale?: number;
  /** Receives generated text as it is produced (text), without added newlines. */
  write: (text: string) => void;
  /** Receives result lines (file written, per-sample summaries). */
  log: (line: string) => void;
  /** Receives progress lines (one per finished image, ...). */
  progress?: (line: string) => void;
  /** Receives the progress of the sample being generated: tokens done of at most `total`. */
  tick?: (done: number, total: number) => void;
}

/** Result of `Task.sample`. */
export interface SampleResult {
  /** Tokens generated in all. */
  tokens: number;
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
  /**
   * Training batches of `batchSize` rows of `seqLen` tokens. `numLatents` lets tasks that train on
   * variable-length examples keep every latent on real tokens.
   */
  trainSource(seqLen: number, batchSize: number, seed: number, numLatents?: number): BatchSource;
  /** Fixed validation windows of seqLen + 1 tokens (what the trainer validates on). */
  validation(seqLen: number, count: number): ValidationSet;
  /** The headline metric from an evaluation's loss in nats/token (and bits/byte). */
  metric(e: EvalResult): number;
  /** Held-out evaluation of `model` (what `perceiver-ar eval` reports). */
  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation;
  /** Generate from `model` and deliver the result (streamed text, a PNG, a MIDI file, a summary). */
  sample(model: PerceiverAR, request: SampleRequest): Promise<SampleResult>;
  /** Lines printed at the end of `perceiver-ar train` (a held-out summary, a short sample, or none); `tick` receives the progress of a sample. */
  trainingReport(model: PerceiverAR, o: { sampleTokens: number; tick?: (done: number, total: number) => void }): Promise<string[]>;
  /**
   * Validation windows (images, examples) a run of `config` validates on when not told: enough
   * that the figure ranks checkpoints and agrees with `eval` (see src/train/defaults.ts evalWindows).
   */
  defaultValidationCount(config: PerceiverARConfig): number;
  /**
   * Decide what a new run of windows of `seqLen` tokens needs decided about its data (text: how
   * the corpus is split; recorded in `spec`), with the lines the run prints about it.
   */
  planRun?(o: { seqLen: number; validationWindows: number }): string[];
  /** Fetch the task's data set into the cache when it is not there yet (tasks with downloadable data). */
  ensureData?(log: (message: string) => void): Promise<void>;
  /** Human-readable text for tokens (text task), or a short description otherwise. */
  describeTokens(tokens: ArrayLike<number>): string;
}
