// A training session without a run folder, for browsers (and any caller that keeps its state in
// memory): the one training step and loop of src/train/training-loop.ts (gradient accumulation,
// clipping, AdamW at the warmup + cosine learning rate, validation with the best loss, `run`
// with an AbortSignal), with its options resolved from the same defaults as the Node Trainer's.
// No file I/O, no checkpoints: the caller saves the model (saveModelToBlobs) and, to continue
// later, `getState()` with `optimizer.exportState()`.
//
// Contract:
// - Options are TrainerOptions (src/train/trainer-options.ts) without the run folder's (runDir,
//   checkpointEvery, logEvery, saveBest); what is not given comes from TRAINING_DEFAULTS, and
//   `batchSize` must be the rows of the batch source's micro-batches.
// - `step()` is the loop's step plus its wall time in `seconds`.
// - `extend(steps)` plans `steps` more steps than are completed (continue after a stop or the
//   end); the schedule then follows the new length from the next step on.
// - Same model init, data, seed and backend give the same losses as the Node Trainer with the
//   same options (test/train-trainer.test.ts).

import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import { resolveTrainerOptions, type TrainerOptionsInput } from "../train/trainer-options.js";
import { TrainingLoop, type StepResult } from "../train/training-loop.js";

/** Options of a session: the Trainer's, without those of a run folder. */
export type SessionOptions = Omit<TrainerOptionsInput, "runDir" | "checkpointEvery" | "logEvery" | "saveBest">;

/** Result of `TrainingSession.step`. */
export interface SessionStep extends StepResult {
  /** Wall time of the step. */
  seconds: number;
}

export class TrainingSession extends TrainingLoop {
  constructor(model: PerceiverAR, data: BatchSource, options: SessionOptions = {}, validation?: ValidationSet) {
    const run = ["runDir", "checkpointEvery", "logEvery", "saveBest"].filter((k) => k in options);
    if (run.length > 0) throw new RangeError(`a TrainingSession has no run folder: ${run.join(", ")} cannot be set (the Node Trainer has them)`);
    super(model, data, resolveTrainerOptions(options), validation);
  }

  get maxSteps(): number {
    return this.options.maxSteps;
  }

  /** Plan `steps` more steps than are completed (continue after a stop or the end). */
  extend(steps: number): void {
    this.planSteps(Math.max(this.options.maxSteps, this.completedSteps + steps));
  }

  /** One optimizer step (training-loop.ts) and its wall time. */
  override step(): SessionStep {
    const t0 = performance.now();
    const r = super.step();
    return { ...r, seconds: (performance.now() - t0) / 1000 };
  }
}
