// A training session without a run folder, for browsers (and any caller that keeps its state in
// memory): the Trainer's optimizer step from the pure pieces — `model.lossAndGrad` on one
// micro-batch, the global-norm clip, AdamW at the warmup + cosine learning rate — and validation
// through `evaluate`. No file I/O, no checkpoints: the caller saves the model (saveModelToBlobs).
//
// Contract:
// - `step()` draws one micro-batch from the BatchSource (inputs (B, N), labels (B, N) next-token
//   targets as from samplerBatchSource), keeps the labels of the M = min(N, maxLatents) latent
//   positions, and applies one AdamW update with lr = learningRate(step); a NaN/Inf loss or
//   gradient throws NonFiniteError before anything is updated (grad-clip.ts).
// - Defaults are TRAINING_DEFAULTS' (src/train/defaults.ts); `maxSteps` may grow between calls
//   (`extend`), the schedule then follows the new length from the next step on.
// - Same model init, data, seed and backend give the same losses (the dropout RNG is seeded).
// The Trainer (src/train/trainer.ts) is the full loop with run folders, gradient accumulation and
// exact resume; when its step is split from its file I/O this session should call that step.

import type { PerceiverAR } from "../models/perceiver-ar.js";
import { AdamW } from "../train/adamw.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import { defaultMinLr, defaultWarmupSteps, TRAINING_DEFAULTS } from "../train/defaults.js";
import { evaluate, type EvalResult } from "../train/evaluate.js";
import { assertFiniteLoss, clipGradNorm } from "../train/grad-clip.js";
import { learningRate, validateSchedule, type ScheduleOptions } from "../train/schedule.js";
import { Rng } from "../util/rng.js";

export interface SessionOptions {
  lr?: number;
  maxSteps?: number;
  warmupSteps?: number;
  minLr?: number;
  weightDecay?: number;
  clipNorm?: number;
  seed?: number;
}

export interface SessionStep {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Label tokens of this step. */
  tokens: number;
  seconds: number;
}

export class TrainingSession {
  readonly optimizer: AdamW;
  private readonly schedule: ScheduleOptions;
  private readonly clipNorm: number;
  private readonly random: () => number;
  private completed = 0;

  constructor(
    readonly model: PerceiverAR,
    readonly data: BatchSource,
    options: SessionOptions = {},
    readonly validation?: ValidationSet,
  ) {
    const D = TRAINING_DEFAULTS;
    const maxSteps = options.maxSteps ?? D.maxSteps.value;
    const lr = options.lr ?? D.lr.value;
    this.schedule = { lr, maxSteps, warmupSteps: options.warmupSteps ?? defaultWarmupSteps(maxSteps), minLr: options.minLr ?? defaultMinLr(lr) };
    validateSchedule(this.schedule);
    this.clipNorm = options.clipNorm ?? D.clipNorm.value;
    this.optimizer = new AdamW(model.parameters, model.backend, {
      beta1: D.beta1.value,
      beta2: D.beta2.value,
      eps: D.eps.value,
      weightDecay: options.weightDecay ?? D.weightDecay.value,
      decayEmbeddings: D.decayEmbeddings.value,
      decayNorms: D.decayNorms.value,
    });
    const rng = new Rng(options.seed ?? D.seed.value);
    this.random = () => rng.nextFloat();
  }

  get completedSteps(): number {
    return this.completed;
  }

  get maxSteps(): number {
    return this.schedule.maxSteps;
  }

  /** Plan `steps` more steps than are completed (continue after a stop or the end). */
  extend(steps: number): void {
    this.schedule.maxSteps = Math.max(this.schedule.maxSteps, this.completed + steps);
    validateSchedule(this.schedule);
  }

  /** One optimizer step (see the header). */
  step(): SessionStep {
    const t0 = performance.now();
    const model = this.model;
    const c = model.config;
    const batch = this.data.next();
    const N = batch.seqLen ?? c.maxSeqLen;
    const B = batch.inputs.length / N;
    const M = Math.min(N, c.maxLatents);
    const P = N - M;
    let labels = batch.labels;
    if (labels.length === B * N) {
      labels = new Int32Array(B * M); // (B, M): labels[:, P:]
      for (let b = 0; b < B; b++) labels.set(batch.labels.subarray(b * N + P, (b + 1) * N), b * M);
    }
    const stepNo = this.completed + 1;
    model.zeroGrads();
    const r = model.lossAndGrad({ data: batch.inputs, shape: [B, N] }, { data: labels, shape: [B, M] }, { prefixLen: P, padMask: batch.padMask ?? null, training: true, random: this.random });
    assertFiniteLoss(r.loss, stepNo);
    const gradNorm = clipGradNorm(model.parameters, this.clipNorm > 0 ? this.clipNorm : Infinity, stepNo);
    const lr = learningRate(stepNo, this.schedule);
    this.optimizer.update(lr);
    this.completed = stepNo;
    return { step: stepNo, loss: r.loss, lr, gradNorm, tokens: r.count, seconds: (performance.now() - t0) / 1000 };
  }

  /** Validation loss and accuracy (no RNG), or null without a validation set. */
  evaluate(): EvalResult | null {
    if (this.validation === undefined) return null;
    const { windows, ...opts } = this.validation;
    return evaluate(this.model, windows, opts);
  }
}
