// Trainer: the training loop as a library API for Node: the one training step and loop of
// training-loop.ts (AdamW, warmup + cosine schedule, gradient accumulation and clipping,
// validation with the best loss; its header has the step's contract: the token-weighted gradient,
// the NaN/Inf guard, determinism) with a run folder around it: crash-safe checkpoints, exact
// resume, the folder's lock, metrics.jsonl, runDir/best and the loss plot.
//
// Contract:
// - Determinism: same model init + same data + same seed + same backend = the same losses bit
//   for bit, at any native thread count (test/train-reproducible.test.ts).
// - A NonFiniteError leaves weights, moments and the step count as they were; `Trainer.resume`
//   restarts from the last checkpoint.
// - Two ways to get a trainer: `Trainer.create(model, data, options)` starts a new run (refusing a
//   runDir that already holds a checkpoint), `Trainer.resume(runDir, data, {backend, overrides})`
//   loads the last checkpoint (weights, moments, step, dropout RNG, data-source state, best val
//   loss) and continues exactly as an uninterrupted run; `overrides` may change RESUME_OVERRIDES
//   (length, schedule, decay, clipping, cadences), listed afterwards in `resumeChanges`.
// - A trainer with a runDir holds the folder's lock (src/train/run-lock.ts) from create/resume
//   until `close()` or the process's exit; another process's trainer on the same folder is
//   refused, and a checkpoint is only written while the lock is still this trainer's.
// - `train()` validates at every evalEvery-th step and once more where it stops (the end, a
//   signal, the accuracy target); every validation is logged and can become runDir/best; it
//   checkpoints every checkpointEvery steps and where it stops.
// - Options that are not given come from src/train/defaults.ts (trainer-options.ts resolves them).

import { mkdirSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import { getNativeThreads } from "../backend/native/index.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { AdamW } from "./adamw.js";
import type { BatchSource, ValidationSet } from "./batch-source.js";
import type { EvalResult } from "./evaluate.js";
import { writeLossPlotFromRun } from "./loss-plot.js";
import { poolUpToHalfOfMemory } from "./memory-policy.js";
import { appendMetric, findCheckpoint, RunFolderError, syncMetrics, truncateMetrics, type TrainerState } from "./run-folder.js";
import { acquireRunLock, type RunLock } from "./run-lock.js";
import { readCheckpoint, writeBestModel, writeCheckpoint } from "./trainer-checkpoint.js";
import { RESUME_OVERRIDES, resolveTrainerOptions, stripUndefined, type ResumeOverrides, type TrainerOptions, type TrainerOptionsInput } from "./trainer-options.js";
import { TrainingLoop, type RunSummary, type StepResult } from "./training-loop.js";

export { RESUME_OVERRIDES, resolveTrainerOptions, type ResumeOverrides, type TrainerOptions, type TrainerOptionsInput } from "./trainer-options.js";
export type { StepResult } from "./training-loop.js";

/** Extra, non-serialised inputs of a trainer. */
export interface TrainerInit {
  validation?: ValidationSet;
}

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
export type TrainSummary = RunSummary;

export class Trainer {
  readonly options: Readonly<TrainerOptions>;
  /** The training step and loop this trainer runs (training-loop.ts). */
  readonly loop: TrainingLoop;
  private lastCheckpointStep = -1;
  private readonly lock: RunLock | null;
  /** After `Trainer.resume`: the options that the overrides changed (empty otherwise). */
  resumeChanges: { option: keyof TrainerOptions; from: unknown; to: unknown }[] = [];
  /** After `Trainer.resume`: backend and threads of the session that wrote the checkpoint (null for older runs). */
  resumedFrom: { backend: string; threads: number | null } | null = null;

  /** Use `Trainer.create` (a new run) or `Trainer.resume` (a run folder's last checkpoint). */
  private constructor(model: PerceiverAR, data: BatchSource, options: TrainerOptions, init: TrainerInit, lock: RunLock | null) {
    this.lock = lock;
    this.options = Object.freeze(options);
    poolUpToHalfOfMemory(model);
    this.loop = new TrainingLoop(model, data, this.options, init.validation);
  }

  get model(): PerceiverAR {
    return this.loop.model;
  }

  get data(): BatchSource {
    return this.loop.data;
  }

  get optimizer(): AdamW {
    return this.loop.optimizer;
  }

  get validation(): ValidationSet | undefined {
    return this.loop.validation;
  }

  set validation(v: ValidationSet | undefined) {
    this.loop.validation = v;
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
      t.loop.setState(ck.state);
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
    return this.loop.completedSteps;
  }

  /** Best validation loss so far (nats/token) and its step. */
  get best(): { valLoss: number | null; step: number | null } {
    return this.loop.best;
  }

  /** The learning rate of the 1-based step `step`. */
  lrAt(step: number): number {
    return this.loop.lrAt(step);
  }

  /** Run one optimizer step (training-loop.ts). */
  step(): StepResult {
    return this.loop.step();
  }

  /** Validation metrics on the validation set, or null without one. Uses no RNG. `onProgress` receives windows scored of the total. */
  evaluate(onProgress?: (done: number, total: number) => void): EvalResult | null {
    return this.loop.evaluate(onProgress);
  }

  /** Everything but weights and moments that resuming needs. */
  state(): TrainerState {
    return {
      ...this.loop.getState(),
      options: { ...this.options },
      compute: { backend: this.model.backend.name, threads: this.model.backend.name === "native" ? getNativeThreads() : null },
    };
  }

  /** Write a checkpoint of the current state to runDir/checkpoint (crash-safe); returns its folder. */
  saveCheckpoint(): string {
    const runDir = this.requireRunDir();
    this.lock?.assertHeld();
    syncMetrics(runDir);
    const dir = writeCheckpoint(runDir, this.model, this.optimizer.exportState(), this.state());
    this.lastCheckpointStep = this.completedSteps;
    writeLossPlotFromRun(runDir);
    return dir;
  }

  private requireRunDir(): string {
    if (this.options.runDir === null) throw new RunFolderError("this trainer has no runDir; pass options.runDir to write checkpoints");
    return this.options.runDir;
  }

  /**
   * Train until `maxSteps` (or until `signal` aborts), evaluating every `evalEvery` steps and at
   * the end, checkpointing every `checkpointEvery` steps and at the end (with a runDir).
   * Yields to the event loop between steps so signals and progress output get through.
   */
  async train(run: TrainRunOptions = {}): Promise<TrainSummary> {
    const o = this.options;
    const runDir = o.runDir;
    const onProgress = run.onProgress;
    const checkpoint = () => {
      onProgress?.({ kind: "phase", phase: "checkpoint", step: this.completedSteps, done: 0, total: 1 });
      onProgress?.({ kind: "checkpoint", step: this.completedSteps, dir: this.saveCheckpoint() });
    };
    const summary: RunSummary = await this.loop.run({
      signal: run.signal,
      onStep: (r) => {
        if (runDir !== null && r.step % o.logEvery === 0) {
          appendMetric(runDir, { type: "train", step: r.step, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSec: r.tokensPerSec, tokens: r.tokens });
        }
        onProgress?.({ kind: "train", ...r });
      },
      onValidationProgress: (step, done, total) => onProgress?.({ kind: "phase", phase: "validation", step, done, total }),
      onValidation: (step, r, best) => {
        if (runDir !== null) {
          appendMetric(runDir, { type: "eval", step, valLoss: r.loss, accuracy: r.accuracy, bitsPerToken: r.bitsPerToken, bitsPerByte: r.bitsPerByte, tokens: r.tokens, numLatents: r.numLatents });
          if (best && o.saveBest) writeBestModel(runDir, this.model);
        }
        onProgress?.({ kind: "eval", step, best, ...r });
      },
      afterStep: (r) => {
        if (runDir !== null && o.checkpointEvery > 0 && r.step % o.checkpointEvery === 0) checkpoint();
      },
    });
    if (runDir !== null && this.lastCheckpointStep !== this.completedSteps) checkpoint();
    return summary;
  }
}
