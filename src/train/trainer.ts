// Trainer: the training loop as a library API (AdamW, warmup + cosine schedule, gradient
// accumulation and clipping, periodic evaluation, crash-safe checkpoints, exact resume).
//
// Contract:
// - One `step()` = one optimizer update: `gradAccumulation` micro-batches from the BatchSource,
//   each through `model.lossAndGrad(inputs, labels, {prefixLen: P, training: true, random})`,
//   with P = N - min(N, maxLatents) (N = the batch's seqLen, default max_seq_len; windows of
//   N + 1 tokens, inputs = window[0:N], labels = window[1:N+1][P:], the latent positions only).
//   Cross-attention dropout draws from a seeded `Rng` (src/util/rng.ts) whose state is saved.
// - The step's gradient is the token-weighted mean over all micro-batches (exactly the gradient
//   of the mean loss over every counted label, also when micro-batches count different numbers of
//   labels); the reported loss is that mean.
// - Before anything is updated: a NaN/Inf loss or gradient norm throws `NonFiniteError`; the
//   weights, the optimizer moments and the step count stay as they were (the batch source and the
//   dropout RNG have advanced, so a retry sees the next batch; `Trainer.resume` restarts from the
//   last checkpoint). Then gradients are clipped to `clipNorm` (global L2, 0 = off) and AdamW
//   applies lr = schedule(step).
// - Determinism: same model init + same data + same seed + same backend = the same losses bit
//   for bit, at any native thread count (test/train-reproducible.test.ts). Every reduction runs in
//   a fixed order; evaluation uses no RNG.
// - Two ways to get a trainer: `Trainer.create(model, data, options)` starts a new run (refusing a
//   runDir that already holds a checkpoint), `Trainer.resume(runDir, data, {backend, overrides})`
//   loads the last checkpoint (weights, moments, step, dropout RNG, data-source state, best val
//   loss) and continues exactly as an uninterrupted run; `overrides` may change RESUME_OVERRIDES
//   (length, schedule, decay, clipping, cadences), listed afterwards in `resumeChanges`.
// - A trainer with a runDir holds the folder's lock (src/train/run-lock.ts) from create/resume
//   until `close()` or the process's exit; another process's trainer on the same folder is
//   refused, and a checkpoint is only written while the lock is still this trainer's.
// - `train()` validates at every evalEvery-th step and once more where it stops (the end, a
//   signal, the accuracy target); every validation is logged and can become runDir/best.
// - Options that are not given come from src/train/defaults.ts (each with its reason and range there).

import { mkdirSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import { getNativeThreads } from "../backend/native/index.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { isIntegerInRange } from "../util/integer-range.js";
import { Rng, type RngState } from "../util/rng.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { AdamW } from "./adamw.js";
import type { BatchSource, TrainBatch, ValidationSet } from "./batch-source.js";
import { defaultMinLr, defaultWarmupSteps, limitText, TRAINING_DEFAULTS, withinLimit, type TrainingDefault } from "./defaults.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { assertFiniteLoss, clipGradNorm, scaleGradients } from "./grad-clip.js";
import { writeLossPlotFromRun } from "./loss-plot.js";
import { poolUpToHalfOfMemory } from "./memory-policy.js";
import { appendMetric, findCheckpoint, RunFolderError, syncMetrics, truncateMetrics, type TrainerState } from "./run-folder.js";
import { acquireRunLock, type RunLock } from "./run-lock.js";
import { readCheckpoint, writeBestModel, writeCheckpoint } from "./trainer-checkpoint.js";
import { learningRate, validateSchedule } from "./schedule.js";

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

/** Extra, non-serialised inputs of a trainer. */
export interface TrainerInit {
  validation?: ValidationSet;
}

/**
 * Options that may change when a run is resumed or extended: its length and learning-rate
 * schedule, the optimizer's decay and clipping, and the cadence of validation, checkpoints and
 * logs. Everything else (model, data, seed, batch composition) is fixed by the checkpoint.
 */
export const RESUME_OVERRIDES = ["maxSteps", "lr", "minLr", "warmupSteps", "weightDecay", "clipNorm", "evalEvery", "checkpointEvery", "logEvery", "saveBest", "stopAtAccuracy"] as const;
export type ResumeOverrides = Partial<Pick<TrainerOptions, (typeof RESUME_OVERRIDES)[number]>>;

/** Options of `Trainer.resume`. */
export interface ResumeInit extends TrainerInit {
  /** Backend to load the model on. Exact resume needs the backend the run used. */
  backend: Backend;
  /**
   * Settings to change from the checkpoint's (RESUME_OVERRIDES). Without any, the run continues
   * exactly as an uninterrupted one; a new maxSteps or schedule applies from the next step (the
   * warmup + cosine schedule of the new settings, evaluated at that step).
   */
  overrides?: ResumeOverrides;
}

/** Result of one optimizer step. */
export interface StepResult {
  /** 1-based number of the step just taken. */
  step: number;
  /** Mean cross-entropy (nats/token) over the step's labels, before the update. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Label (predicted) tokens per second of wall time for this step. */
  tokensPerSec: number;
  /** Label tokens in this step. */
  tokens: number;
}

/** Progress events of `train()`. */
export type ProgressEvent =
  | ({ kind: "train" } & StepResult)
  | ({ kind: "eval"; step: number; best: boolean } & EvalResult)
  | { kind: "checkpoint"; step: number; dir: string }
  /** Work between steps is starting or progressing: validation (windows done of total) or checkpoint writing. */
  | { kind: "phase"; phase: "validation" | "checkpoint"; step: number; done: number; total: number };

/** Options of `train()`. */
export interface TrainRunOptions {
  onProgress?: (e: ProgressEvent) => void;
  /** Stop after the current step (a checkpoint is written when there is a runDir). */
  signal?: AbortSignal;
}

/** Result of `train()`. */
export interface TrainSummary {
  step: number;
  lastLoss: number | null;
  bestValLoss: number | null;
  bestStep: number | null;
  /** "accuracy": a validation reached `stopAtAccuracy`. */
  stoppedBy: "maxSteps" | "abort" | "accuracy";
  /** The last validation of this call (at the stop, whatever stopped it), or null without one. */
  lastEval: EvalResult | null;
}

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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class Trainer {
  readonly model: PerceiverAR;
  readonly data: BatchSource;
  readonly options: Readonly<TrainerOptions>;
  readonly optimizer: AdamW;
  validation: ValidationSet | undefined;
  private readonly dropoutRng: Rng;
  private readonly random: () => number;
  private completed = 0;
  private tokensSeen = 0;
  private bestValLoss: number | null = null;
  private bestStep: number | null = null;
  private lastCheckpointStep = -1;
  private readonly lock: RunLock | null;
  /** After `Trainer.resume`: the options that the overrides changed (empty otherwise). */
  resumeChanges: { option: keyof TrainerOptions; from: unknown; to: unknown }[] = [];
  /** After `Trainer.resume`: backend and threads of the session that wrote the checkpoint (null for older runs). */
  resumedFrom: { backend: string; threads: number | null } | null = null;

  /** Use `Trainer.create` (a new run) or `Trainer.resume` (a run folder's last checkpoint). */
  private constructor(model: PerceiverAR, data: BatchSource, options: TrainerOptions, init: TrainerInit, lock: RunLock | null) {
    this.lock = lock;
    this.model = model;
    this.data = data;
    this.options = Object.freeze(options);
    poolUpToHalfOfMemory(model);
    const o = this.options;
    this.optimizer = new AdamW(model.parameters, model.backend, {
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      decayEmbeddings: o.decayEmbeddings,
      decayNorms: o.decayNorms,
    });
    this.dropoutRng = new Rng(o.seed);
    const rng = this.dropoutRng;
    this.random = () => rng.nextFloat();
    this.validation = init.validation;
  }

  /**
   * Start a new run. With a `runDir` that already holds a checkpoint this throws (use
   * `Trainer.resume`); a metrics.jsonl left by a run that never checkpointed is cleared.
   */
  static create(model: PerceiverAR, data: BatchSource, options: TrainerOptionsInput = {}, init: TrainerInit = {}): Trainer {
    const o = resolveTrainerOptions(options);
    const lock = o.runDir !== null ? acquireRunLock(o.runDir) : null;
    try {
      if (o.runDir !== null) {
        const existing = findCheckpoint(o.runDir);
        if (existing !== null) {
          throw new RunFolderError(`run folder ${o.runDir} already holds a checkpoint (${existing}); continue it with Trainer.resume(runDir, ...) or choose a new runDir`);
        }
      }
      const t = new Trainer(model, data, o, init, lock);
      if (o.runDir !== null) {
        mkdirSync(o.runDir, { recursive: true });
        truncateMetrics(o.runDir, null);
      }
      return t;
    } catch (e) {
      lock?.release();
      throw e;
    }
  }

  /**
   * Continue a run from `runDir`'s last checkpoint. `data` must be a fresh batch source over the
   * same data as the original run: its state is restored from the checkpoint. `init.overrides`
   * change settings that may change on resume (see ResumeOverrides); `resumeChanges` lists them.
   */
  static resume(runDir: string, data: BatchSource, init: ResumeInit): Trainer {
    const lock = acquireRunLock(runDir);
    try {
      const ck = readCheckpoint(runDir, init.backend);
      const saved = { stopAtAccuracy: null, ...(ck.state.options as object) } as TrainerOptions; // runs older than stopAtAccuracy lack it
      const overrides = stripUndefined(init.overrides ?? {});
      const unknown = Object.keys(overrides).filter((k) => !(RESUME_OVERRIDES as readonly string[]).includes(k));
      if (unknown.length > 0) throw new RangeError(`these options cannot change on resume: ${unknown.join(", ")}; those that can: ${RESUME_OVERRIDES.join(", ")}`);
      const options = resolveTrainerOptions({ ...saved, ...overrides, runDir });
      const t = new Trainer(ck.model, data, options, init, lock);
      t.optimizer.importState(ck.optimizer);
      t.dropoutRng.setState(ck.state.dropoutRng as RngState);
      data.setState(ck.state.data);
      t.completed = ck.state.step;
      t.tokensSeen = ck.state.tokensSeen;
      t.bestValLoss = ck.state.bestValLoss;
      t.bestStep = ck.state.bestStep;
      t.lastCheckpointStep = ck.state.step;
      t.resumeChanges = (Object.keys(overrides) as (keyof TrainerOptions)[])
        .filter((k) => !Object.is(saved[k], options[k]))
        .map((k) => ({ option: k, from: saved[k], to: options[k] }));
      t.resumedFrom = ck.state.compute ?? null;
      truncateMetrics(runDir, ck.state.step);
      return t;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Release the run folder's lock (also released when the process exits). The trainer must not checkpoint afterwards. */
  close(): void {
    this.lock?.release();
  }

  /** Optimizer steps completed so far. */
  get completedSteps(): number {
    return this.completed;
  }

  /** Best validation loss so far (nats/token) and its step. */
  get best(): { valLoss: number | null; step: number | null } {
    return { valLoss: this.bestValLoss, step: this.bestStep };
  }

  /** The learning rate of the 1-based step `step`. */
  lrAt(step: number): number {
    return learningRate(step, this.options);
  }

  /** Run one optimizer step (see the file header). */
  step(): StepResult {
    const t0 = performance.now();
    const o = this.options;
    const model = this.model;
    const params = model.parameters;
    const stepNo = this.completed + 1;
    model.zeroGrads();
    let lossSum = 0;
    let total = 0;
    let lastCount = 0;
    for (let k = 0; k < o.gradAccumulation; k++) {
      const { inputs, labels, padMask, prefixLen, count } = this.prepareBatch(this.data.next(), k);
      if (count === 0) continue;
      // Keep grads = Σ_j c_j·g_j / c_last (g_j = gradient of micro-batch j's mean loss).
      if (lastCount !== 0 && lastCount !== count) scaleGradients(params, lastCount / count);
      const r = model.lossAndGrad(inputs, labels, { prefixLen, padMask, training: true, random: this.random });
      lossSum += r.loss * r.count;
      total += r.count;
      lastCount = r.count;
    }
    if (total === 0) throw new RangeError(`step ${stepNo}: the ${o.gradAccumulation} micro-batch(es) contain no labels other than -100; nothing to train on`);
    const loss = lossSum / total;
    assertFiniteLoss(loss, stepNo);
    scaleGradients(params, lastCount / total);
    const gradNorm = clipGradNorm(params, o.clipNorm > 0 ? o.clipNorm : Infinity, stepNo);
    const lr = this.lrAt(stepNo);
    this.optimizer.update(lr);
    this.completed = stepNo;
    this.tokensSeen += total;
    const seconds = (performance.now() - t0) / 1000;
    return { step: stepNo, loss, lr, gradNorm, tokensPerSec: seconds > 0 ? total / seconds : 0, tokens: total };
  }

  /** Validate one micro-batch and cut its labels to the latent positions. */
  private prepareBatch(batch: TrainBatch, k: number) {
    const c = this.model.config;
    const B = this.options.batchSize;
    const { inputs, labels } = batch;
    if (!(inputs instanceof Int32Array) || !(labels instanceof Int32Array)) throw new TypeError(`batch source: micro-batch ${k}: inputs and labels must be Int32Arrays`);
    const N = batch.seqLen ?? c.maxSeqLen;
    if (!isIntegerInRange(N, 1, c.maxSeqLen)) {
      throw new RangeError(`batch source: micro-batch ${k}: seqLen must be an integer in [1, max_seq_len = ${c.maxSeqLen}], got ${String(N)}`);
    }
    if (inputs.length !== B * N) {
      throw new RangeError(`batch source: micro-batch ${k}: inputs has ${inputs.length} ids, expected (batchSize ${B}, seqLen ${N}) = ${B * N}`);
    }
    const M = Math.min(N, c.maxLatents);
    const P = N - M;
    let lat: Int32Array;
    if (labels.length === B * M) lat = labels;
    else if (labels.length === B * N) {
      lat = new Int32Array(B * M); // (B, M): labels[:, P:]
      for (let b = 0; b < B; b++) lat.set(labels.subarray(b * N + P, (b + 1) * N), b * M);
    } else {
      throw new RangeError(`batch source: micro-batch ${k}: labels has ${labels.length} values, expected (batch ${B}, latents ${M}) = ${B * M} or (batch ${B}, N ${N}) = ${B * N}`);
    }
    let count = 0;
    for (let i = 0; i < lat.length; i++) if (lat[i] !== IGNORE_INDEX) count++;
    return {
      inputs: { data: inputs, shape: [B, N] as [number, number] },
      labels: { data: lat, shape: [B, M] as [number, number] },
      padMask: batch.padMask ?? null,
      prefixLen: P,
      count,
    };
  }

  /** Validation metrics on the validation set, or null without one. Uses no RNG. `onProgress` receives windows scored of the total. */
  evaluate(onProgress?: (done: number, total: number) => void): EvalResult | null {
    if (this.validation === undefined) return null;
    const { windows, ...opts } = this.validation;
    return evaluate(this.model, windows, { ...opts, ...(onProgress !== undefined ? { onProgress } : {}) });
  }

  /** Everything but weights and moments that resuming needs. */
  state(): TrainerState {
    return {
      step: this.completed,
      options: { ...this.options },
      dropoutRng: this.dropoutRng.getState(),
      data: this.data.getState(),
      tokensSeen: this.tokensSeen,
      bestValLoss: this.bestValLoss,
      bestStep: this.bestStep,
      compute: { backend: this.model.backend.name, threads: this.model.backend.name === "native" ? getNativeThreads() : null },
    };
  }

  /** Write a checkpoint of the current state to runDir/checkpoint (crash-safe); returns its folder. */
  saveCheckpoint(): string {
    const runDir = this.requireRunDir();
    this.lock?.assertHeld();
    syncMetrics(runDir);
    const dir = writeCheckpoint(runDir, this.model, this.optimizer.exportState(), this.state());
    this.lastCheckpointStep = this.completed;
    writeLossPlotFromRun(runDir);
    return dir;
  }

  private requireRunDir(): string {
    if (this.options.runDir === null) throw new RunFolderError("this trainer has no runDir; pass options.runDir to write checkpoints");
    return this.options.runDir;
  }

  /** Evaluate, log, and track the best loss (saving runDir/best when it improves). */
  private evalAndLog(onProgress?: (e: ProgressEvent) => void): EvalResult | null {
    const step = this.completed;
    const r = this.evaluate((done, total) => onProgress?.({ kind: "phase", phase: "validation", step, done, total }));
    if (r === null) return null;
    const best = this.bestValLoss === null || r.loss < this.bestValLoss;
    if (best) {
      this.bestValLoss = r.loss;
      this.bestStep = step;
    }
    const runDir = this.options.runDir;
    if (runDir !== null) {
      appendMetric(runDir, { type: "eval", step, valLoss: r.loss, accuracy: r.accuracy, bitsPerToken: r.bitsPerToken, bitsPerByte: r.bitsPerByte, tokens: r.tokens, numLatents: r.numLatents });
      if (best && this.options.saveBest) writeBestModel(runDir, this.model);
    }
    onProgress?.({ kind: "eval", step, best, ...r });
    return r;
  }

  /**
   * Train until `maxSteps` (or until `signal` aborts), evaluating every `evalEvery` steps and at
   * the end, checkpointing every `checkpointEvery` steps and at the end (with a runDir).
   * Yields to the event loop between steps so signals and progress output get through.
   */
  async train(run: TrainRunOptions = {}): Promise<TrainSummary> {
    const o = this.options;
    let lastLoss: number | null = null;
    let stoppedBy: TrainSummary["stoppedBy"] = "maxSteps";
    let lastEval: EvalResult | null = null;
    let lastEvalStep = -1;
    const firstStep = this.completed;
    const checkpoint = () => {
      run.onProgress?.({ kind: "phase", phase: "checkpoint", step: this.completed, done: 0, total: 1 });
      run.onProgress?.({ kind: "checkpoint", step: this.completed, dir: this.saveCheckpoint() });
    };
    while (this.completed < o.maxSteps) {
      if (run.signal?.aborted) {
        stoppedBy = "abort";
        break;
      }
      const r = this.step();
      lastLoss = r.loss;
      if (o.runDir !== null && r.step % o.logEvery === 0) {
        appendMetric(o.runDir, { type: "train", step: r.step, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSec: r.tokensPerSec, tokens: r.tokens });
      }
      run.onProgress?.({ kind: "train", ...r });
      if (o.evalEvery > 0 && r.step % o.evalEvery === 0) {
        lastEval = this.evalAndLog(run.onProgress);
        lastEvalStep = r.step;
        if (lastEval !== null && o.stopAtAccuracy !== null && lastEval.accuracy >= o.stopAtAccuracy) stoppedBy = "accuracy";
      }
      if (o.runDir !== null && o.checkpointEvery > 0 && r.step % o.checkpointEvery === 0) checkpoint();
      if (stoppedBy === "accuracy") break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // A validation at the stop (the end, or a Ctrl-C), logged and considered for best/ like any other.
    if (lastEvalStep !== this.completed && this.completed > firstStep) lastEval = this.evalAndLog(run.onProgress);
    if (o.runDir !== null && this.lastCheckpointStep !== this.completed) checkpoint();
    this.model.pool.clear(); // hand the step buffers back: whatever runs next has other shapes
    return { step: this.completed, lastLoss, bestValLoss: this.bestValLoss, bestStep: this.bestStep, stoppedBy, lastEval };
  }
}
