// Learning-rate schedule: linear warmup, then cosine decay to a floor.
//
// Contract:
// - Steps are 1-based optimizer steps: `learningRate(t)` is the rate used by the t-th update.
// - Warmup (1 <= t <= warmupSteps): lr · t / warmupSteps, so the first update already moves the
//   weights and step `warmupSteps` runs at the peak `lr`.
// - Decay (warmupSteps < t <= maxSteps): minLr + (lr - minLr) · ½ · (1 + cos(π · progress)),
//   progress = (t - warmupSteps) / (maxSteps - warmupSteps); step maxSteps runs at exactly minLr
//   (with warmupSteps = maxSteps there is no decay phase: the last step runs at the peak).
// - t > maxSteps stays at minLr (training past the planned end is allowed, it just does not decay
//   further). t < 1 or non-integer t is an error.
// - The reference (krasserm/perceiver-io `CosineWithWarmupLR`) evaluates the same curve at the
//   0-based step count, so its first update uses lr 0 and it decays to 0; ours is shifted by one
//   step and decays to `minLr` (the reference's floor is 0; the Trainer's default is in
//   src/train/defaults.ts).
// - `validateSchedule` rejects bad settings with errors naming the field and its allowed range.

import { assertIntegerInRange, isIntegerInRange } from "../util/integer-range.js";

/** Settings of the warmup + cosine schedule. */
export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. Finite, > 0. */
  lr: number;
  /** Number of linear-warmup steps, integer in [0, maxSteps]. */
  warmupSteps: number;
  /** Planned number of optimizer steps, integer >= 1. */
  maxSteps: number;
  /** Floor reached at maxSteps, in [0, lr]. */
  minLr: number;
}

/** Throws a RangeError naming the first invalid field of `o` and its allowed range. */
export function validateSchedule(o: ScheduleOptions): void {
  if (typeof o.lr !== "number" || !(o.lr > 0) || !Number.isFinite(o.lr)) {
    throw new RangeError(`lr must be a finite number > 0, got ${String(o.lr)}`);
  }
  assertIntegerInRange("maxSteps", o.maxSteps, 1);
  if (!isIntegerInRange(o.warmupSteps, 0, o.maxSteps)) {
    throw new RangeError(`warmupSteps must be an integer in [0, maxSteps = ${o.maxSteps}], got ${String(o.warmupSteps)}`);
  }
  if (typeof o.minLr !== "number" || !(o.minLr >= 0 && o.minLr <= o.lr)) {
    throw new RangeError(`minLr must be a number in [0, lr = ${o.lr}], got ${String(o.minLr)}`);
  }
}

/**
 * The learning rate of the `step`-th optimizer update (1-based).
 * @throws RangeError if the options are invalid or `step` is not an integer >= 1
 */
export function learningRate(step: number, o: ScheduleOptions): number {
  validateSchedule(o);
  assertIntegerInRange("step", step, 1);
  if (step <= o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  if (step >= o.maxSteps) return o.minLr;
  const progress = (step - o.warmupSteps) / (o.maxSteps - o.warmupSteps);
  return o.minLr + (o.lr - o.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** A validated schedule as a function of the 1-based step. */
export function cosineSchedule(o: ScheduleOptions): (step: number) => number {
  validateSchedule(o);
  const frozen = { ...o };
  return (step) => learningRate(step, frozen);
}
