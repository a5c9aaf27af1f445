// The one training step and loop, pure (no files, no processes, no addon): the Node Trainer
// (trainer.ts: run folders, locks, checkpoints, metrics files) and the browser's TrainingSession
// (src/browser/training-session.ts: state in memory) both run this.
//
// Contract of `step()` (one optimizer update):
// - `gradAccumulation` micro-batches from the BatchSource, each through
//   `model.lossAndGrad(inputs, labels, {prefixLen: P, padMask, training: true, random})`, with
//   P = N - min(N, maxLatents) (N = the batch's seqLen, default max_seq_len; inputs (B, N), labels
//   (B, M) or (B, N) of which the latent part labels[:, P:] is kept). Cross-attention dropout
//   draws from a seeded `Rng` (src/util/rng.ts) whose state is part of `getState()`.
// - The step's gradient is the token-weighted mean over all micro-batches (exactly the gradient of
//   the mean loss over every counted label, also when micro-batches count different numbers of
//   labels); the reported loss is that mean.
// - Before anything is updated: a NaN/Inf loss or gradient norm throws `NonFiniteError`; the
//   weights, the optimizer moments and the step count stay as they were (the batch source and the
//   dropout RNG have advanced, so a retry sees the next batch). Then gradients are clipped to
//   `clipNorm` (global L2, 0 = off) and AdamW applies lr = learningRate(step) (schedule.ts).
// - Determinism: same model init + data + seed + backend = the same losses bit for bit. Every
//   reduction runs in a fixed order; evaluation uses no RNG.
// Contract of `run(hooks)`: steps until maxSteps, an aborted `signal`, or a validation reaching
// `stopAtAccuracy`; validates at every evalEvery-th step and once more where it stops (unless it
// just did, and only if it took a step); yields to the event loop between steps (so a stop
// request or a signal gets through); hooks see every step and validation as it happens.
// Validation bookkeeping: `validate()` scores the ValidationSet (src/train/evaluate.ts) and keeps
// the best loss and its step. `getState()`/`setState()` carry everything but weights and optimizer
// moments that continuing exactly needs (plain JSON).

import type { PerceiverAR } from "../models/perceiver-ar.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { isIntegerInRange } from "../util/integer-range.js";
import { Rng, type RngState } from "../util/rng.js";
import { AdamW } from "./adamw.js";
import type { BatchSource, TrainBatch, ValidationSet } from "./batch-source.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { assertFiniteLoss, clipGradNorm, scaleGradients } from "./grad-clip.js";
import { learningRate, validateSchedule } from "./schedule.js";
import type { TrainerOptions } from "./trainer-options.js";

/** The settings the step and the loop read (a resolved TrainerOptions has them all). */
export type LoopOptions = Pick<
  TrainerOptions,
  "batchSize" | "gradAccumulation" | "lr" | "warmupSteps" | "maxSteps" | "minLr" | "weightDecay" | "beta1" | "beta2" | "eps" | "clipNorm" | "decayEmbeddings" | "decayNorms" | "seed" | "evalEvery" | "stopAtAccuracy"
>;

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

/** Everything but weights and optimizer moments that continuing a loop exactly needs (JSON). */
export interface LoopState {
  /** Optimizer steps completed. */
  step: number;
  /** State of the cross-attention dropout RNG. */
  dropoutRng: unknown;
  /** `getState()` of the training batch source. */
  data: unknown;
  /** Label tokens trained on so far. */
  tokensSeen: number;
  /** Best validation loss so far (nats/token) and its step, or null. */
  bestValLoss: number | null;
  bestStep: number | null;
}

/** What `run` tells its caller as it goes. All optional. */
export interface LoopHooks {
  /** Stop before the next step once aborted. */
  signal?: AbortSignal;
  /** After every step. */
  onStep?(r: StepResult): void;
  /** While validating: windows scored of the total. */
  onValidationProgress?(step: number, done: number, total: number): void;
  /** After every validation, with whether it is the best so far. */
  onValidation?(step: number, r: EvalResult, best: boolean): void;
  /** After a step and its validation, before the yield (the Trainer checkpoints here). */
  afterStep?(r: StepResult): void;
}

/** Result of `run`. */
export interface RunSummary {
  step: number;
  lastLoss: number | null;
  bestValLoss: number | null;
  bestStep: number | null;
  /** "accuracy": a validation reached `stopAtAccuracy`. */
  stoppedBy: "maxSteps" | "abort" | "accuracy";
  /** The last validation of this call (at the stop, whatever stopped it), or null without one. */
  lastEval: EvalResult | null;
}

/** A macrotask turn (setImmediate where there is one: Node, the page's worker; else setTimeout 0). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

export class TrainingLoop {
  readonly model: PerceiverAR;
  readonly data: BatchSource;
  readonly optimizer: AdamW;
  validation: ValidationSet | undefined;
  private opts: Readonly<LoopOptions>;
  private readonly dropoutRng: Rng;
  private readonly random: () => number;
  private completed = 0;
  private tokensSeen = 0;
  private bestValLoss: number | null = null;
  private bestStep: number | null = null;

  /** `options` must be resolved (resolveTrainerOptions): the loop does not fill defaults. */
  constructor(model: PerceiverAR, data: BatchSource, options: Readonly<LoopOptions>, validation?: ValidationSet) {
    validateSchedule(options);
    this.model = model;
    this.data = data;
    this.opts = options;
    this.optimizer = new AdamW(model.parameters, model.backend, {
      beta1: options.beta1,
      beta2: options.beta2,
      eps: options.eps,
      weightDecay: options.weightDecay,
      decayEmbeddings: options.decayEmbeddings,
      decayNorms: options.decayNorms,
    });
    const rng = new Rng(options.seed);
    this.dropoutRng = rng;
    this.random = () => rng.nextFloat();
    this.validation = validation;
  }

  get options(): Readonly<LoopOptions> {
    return this.opts;
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
    return learningRate(step, this.opts);
  }

  /** Plan the run to `maxSteps` steps in all; the schedule follows the new length from the next step. */
  planSteps(maxSteps: number): void {
    const next = { ...this.opts, maxSteps };
    validateSchedule(next);
    this.opts = next;
  }

  /** Run one optimizer step (see the file header). */
  step(): StepResult {
    const t0 = performance.now();
    const o = this.opts;
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
    const B = this.opts.batchSize;
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

  /** Validation metrics on the validation set, or null without one. Uses no RNG; keeps no record (see `validate`). */
  evaluate(onProgress?: (done: number, total: number) => void): EvalResult | null {
    if (this.validation === undefined) return null;
    const { windows, ...opts } = this.validation;
    return evaluate(this.model, windows, { ...opts, ...(onProgress !== undefined ? { onProgress } : {}) });
  }

  /** Evaluate at the current step and track the best loss; hooks see the progress and the result. Null without a validation set. */
  validate(hooks: Pick<LoopHooks, "onValidationProgress" | "onValidation"> = {}): EvalResult | null {
    const step = this.completed;
    const r = this.evaluate(hooks.onValidationProgress !== undefined ? (done, total) => hooks.onValidationProgress!(step, done, total) : undefined);
    if (r === null) return null;
    const best = this.bestValLoss === null || r.loss < this.bestValLoss;
    if (best) {
      this.bestValLoss = r.loss;
      this.bestStep = step;
    }
    hooks.onValidation?.(step, r, best);
    return r;
  }

  /** Steps until maxSteps, an abort or the accuracy target, validating on the way (see the file header). */
  async run(hooks: LoopHooks = {}): Promise<RunSummary> {
    let lastLoss: number | null = null;
    let stoppedBy: RunSummary["stoppedBy"] = "maxSteps";
    let lastEval: EvalResult | null = null;
    let lastEvalStep = -1;
    const firstStep = this.completed;
    while (this.completed < this.opts.maxSteps) {
      if (hooks.signal?.aborted) {
        stoppedBy = "abort";
        break;
      }
      const r = this.step();
      lastLoss = r.loss;
      hooks.onStep?.(r);
      const o = this.opts;
      if (o.evalEvery > 0 && r.step % o.evalEvery === 0) {
        lastEval = this.validate(hooks);
        lastEvalStep = r.step;
        if (lastEval !== null && o.stopAtAccuracy !== null && lastEval.accuracy >= o.stopAtAccuracy) stoppedBy = "accuracy";
      }
      hooks.afterStep?.(r);
      if (stoppedBy === "accuracy") break;
      await yieldToEventLoop();
    }
    // A validation at the stop (the end, or an abort), recorded like any other.
    if (lastEvalStep !== this.completed && this.completed > firstStep) lastEval = this.validate(hooks);
    this.model.pool.clear(); // hand the step buffers back: whatever runs next has other shapes
    return { step: this.completed, lastLoss, bestValLoss: this.bestValLoss, bestStep: this.bestStep, stoppedBy, lastEval };
  }

  /** Everything but weights and moments that continuing needs (see LoopState). */
  getState(): LoopState {
    return {
      step: this.completed,
      dropoutRng: this.dropoutRng.getState(),
      data: this.data.getState(),
      tokensSeen: this.tokensSeen,
      bestValLoss: this.bestValLoss,
      bestStep: this.bestStep,
    };
  }

  /** Restore `getState()` (with the optimizer's moments restored separately: `optimizer.importState`). */
  setState(s: LoopState): void {
    this.dropoutRng.setState(s.dropoutRng as RngState);
    this.data.setState(s.data);
    this.completed = s.step;
    this.tokensSeen = s.tokensSeen;
    this.bestValLoss = s.bestValLoss;
    this.bestStep = s.bestStep;
  }
}
