// The Trainer's settings, pure (no files, no processes): the options of a run, their defaults
// (src/train/defaults.ts, each with its reason and range) and their validation, and which of them
// may change when a run is resumed. The Node Trainer (trainer.ts) and the browser's
// TrainingSession (src/browser/training-session.ts) resolve their options here.

import { defaultMinLr, defaultWarmupSteps, limitText, TRAINING_DEFAULTS, withinLimit, type TrainingDefault } from "./defaults.js";
import { validateSchedule } from "./schedule.js";

/** Trainer settings. All are stored in trainer-state.json; defaults and their reasons: src/train/defaults.ts. */
export interface TrainerOptions {
  /** Examples per micro-batch (rows returned by the batch source), integer >= 1. */
  batchSize: number;
  /** Micro-batches per optimizer step, integer >= 1. */
  gradAccumulation: number;
  /** Peak learning rate, > 0. */
  lr: number;
  /** Linear warmup steps, integer in [0, maxSteps]. */
  warmupSteps: number;
  /** Optimizer steps to train, integer >= 1. */
  maxSteps: number;
  /** Learning rate at maxSteps (cosine floor), in [0, lr]. */
  minLr: number;
  /** Decoupled weight decay of the weight matrices, >= 0. */
  weightDecay: number;
  /** Adam first-moment decay, in [0, 1). */
  beta1: number;
  /** Adam second-moment decay, in [0, 1). */
  beta2: number;
  /** Adam denominator epsilon, > 0. */
  eps: number;
  /** Clip the global gradient norm to this, > 0; 0 disables clipping. */
  clipNorm: number;
  /** Apply weight decay to the embeddings too. */
  decayEmbeddings: boolean;
  /** Apply weight decay to LayerNorm weights/biases too. */
  decayNorms: boolean;
  /** Seed of the cross-attention dropout RNG, safe integer. */
  seed: number;
  /** Evaluate every this many steps (and at the end), integer >= 0; 0 = only at the end. */
  evalEvery: number;
  /** Checkpoint every this many steps (and at the end), integer >= 0; 0 = only at the end. */
  checkpointEvery: number;
  /** Append a train record to metrics.jsonl every this many steps, integer >= 1. */
  logEvery: number;
  /** Run folder for checkpoints and metrics, or null for none. */
  runDir: string | null;
  /** Save runDir/best (config + weights) whenever the validation loss improves. */
  saveBest: boolean;
  /** Stop early once a validation's next-token accuracy reaches this fraction, in (0, 1]; null = never. */
  stopAtAccuracy: number | null;
}

/** Options of `Trainer.create`: any subset; the rest comes from TRAINING_DEFAULTS. */
export type TrainerOptionsInput = Partial<TrainerOptions>;

/**
 * Options that may change when a run is resumed or extended: its length and learning-rate
 * schedule, the optimizer's decay and clipping, and the cadence of validation, checkpoints and
 * logs. Everything else (model, data, seed, batch composition) is fixed by the checkpoint.
 */
export const RESUME_OVERRIDES = ["maxSteps", "lr", "minLr", "warmupSteps", "weightDecay", "clipNorm", "evalEvery", "checkpointEvery", "logEvery", "saveBest", "stopAtAccuracy"] as const;
export type ResumeOverrides = Partial<Pick<TrainerOptions, (typeof RESUME_OVERRIDES)[number]>>;

/** Fill defaults and validate; errors name the field and its allowed range. */
export function resolveTrainerOptions(input: TrainerOptionsInput): TrainerOptions {
  if (typeof input !== "object" || input === null) throw new TypeError("trainer options must be an object (any subset of the TrainerOptions fields)");
  const known = new Set([
    "batchSize", "gradAccumulation", "lr", "warmupSteps", "maxSteps", "minLr", "weightDecay", "beta1", "beta2", "eps", "clipNorm",
    "decayEmbeddings", "decayNorms", "seed", "evalEvery", "checkpointEvery", "logEvery", "runDir", "saveBest", "stopAtAccuracy",
  ]);
  const unknown = Object.keys(input).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new RangeError(`unknown trainer option(s): ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  const given = stripUndefined(input);
  const D = TRAINING_DEFAULTS;
  const maxSteps = given.maxSteps ?? D.maxSteps.value;
  const lr = given.lr ?? D.lr.value;
  const o: TrainerOptions = {
    batchSize: D.batchSize.value,
    gradAccumulation: D.gradAccumulation.value,
    lr,
    warmupSteps: typeof maxSteps === "number" ? defaultWarmupSteps(maxSteps) : 0,
    minLr: typeof lr === "number" ? defaultMinLr(lr) : 0,
    weightDecay: D.weightDecay.value,
    beta1: D.beta1.value,
    beta2: D.beta2.value,
    eps: D.eps.value,
    clipNorm: D.clipNorm.value,
    decayEmbeddings: D.decayEmbeddings.value,
    decayNorms: D.decayNorms.value,
    seed: D.seed.value,
    evalEvery: D.evalEvery.value,
    checkpointEvery: D.checkpointEvery.value,
    logEvery: D.logEvery.value,
    runDir: null,
    saveBest: D.saveBest.value,
    stopAtAccuracy: D.stopAtAccuracy.value,
    ...given,
    maxSteps,
  };
  for (const f of Object.keys(o) as (keyof TrainerOptions)[]) {
    const limit = (TRAINING_DEFAULTS as Record<string, TrainingDefault<unknown>>)[f]?.limit;
    if (limit === undefined || (f === "stopAtAccuracy" && o[f] === null)) continue;
    if (!withinLimit(o[f], limit)) throw new RangeError(`${f} must be ${limitText(limit)}${f === "stopAtAccuracy" ? " or null" : ""}, got ${String(o[f])}`);
  }
  validateSchedule(o);
  if (o.lr * o.weightDecay >= 1) throw new RangeError(`lr times weightDecay must be < 1 (AdamW multiplies the weights by 1 - lr · weightDecay every step), got lr = ${o.lr}, weightDecay = ${o.weightDecay}`);
  for (const f of ["decayEmbeddings", "decayNorms", "saveBest"] as const) {
    if (typeof o[f] !== "boolean") throw new TypeError(`${f} must be true or false, got ${String(o[f])}`);
  }
  if (o.runDir !== null && (typeof o.runDir !== "string" || o.runDir === "")) throw new TypeError(`runDir must be a non-empty path or null, got ${String(o.runDir)}`);
  return o;
}

/** `o` without its undefined fields (so that they do not override defaults). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
