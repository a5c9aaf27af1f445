// The reference's generation schedule (krasserm/perceiver-io), as recorded in
// ../shared/golden/rot/generate.json.
//
// Contract: generation starts from a prompt of length L0 with `numLatents` latent positions at the
// end of the prompt. Before sampling the token of step s (s = 0, 1, ...), the stream holds
// T = L0 + s tokens and the model sees
//   window    n = min(T, maxSeqLen)                 the last n tokens of the stream
//   latents   m = min(numLatents + s, maxLatents)   latent positions at the end of the window
//   prefixLen   = n - m
// so the number of latents grows by one per step up to maxLatents, then prefixLen grows by one per
// step up to maxSeqLen - maxLatents, then the window slides (windowStart = T - n grows by one).
// Valid numLatents: an integer in [max(1, min(L0, maxSeqLen) - (maxSeqLen - maxLatents)),
// min(maxLatents, min(L0, maxSeqLen))]; errors name the field and that range.
//
// Fewer latents at test time: `effectiveConfig(config, cap)` (cap = GenerateOptions.maxLatents, an
// integer in [1, config.maxLatents]) is the {maxSeqLen, maxLatents} view the schedule runs on:
//   maxLatents = cap,  maxSeqLen = (config.maxSeqLen - config.maxLatents) + cap
// The prefix limit maxSeqLen - maxLatents stays the model's (as in the reference and
// src/train/evaluate.ts), so fewer latents means a shorter window, never a longer prefix, and every
// (window, prefixLen) of the capped schedule is one `model.forward` accepts with the real config.

import type { PerceiverARConfig } from "../models/config.js";

/** What changed since the previous step; decides what a cached decoder must recompute. */
export type StepKind = "prefill" | "grow-latents" | "grow-prefix" | "slide";

export interface ScheduleStep {
  /** 0-based step index (step s samples the (s+1)-th new token). */
  step: number;
  /** Tokens in the stream before this step's token is sampled: promptLength + step. */
  streamLength: number;
  /** Stream index of the window's first token: streamLength - window. */
  windowStart: number;
  /** Number of tokens the model sees (input length). */
  window: number;
  /** Prefix positions of the window; the remaining window - prefixLen are latents. */
  prefixLen: number;
  /** Latent positions: window - prefixLen. */
  numLatents: number;
  kind: StepKind;
}

export type ScheduleConfig = Pick<PerceiverARConfig, "maxSeqLen" | "maxLatents">;

/** Throws a RangeError naming `field` unless cap is an integer in [1, config.maxLatents]. */
export function validateLatentCap(config: ScheduleConfig, cap: unknown, field = "maxLatents"): asserts cap is number {
  if (typeof cap !== "number" || !Number.isInteger(cap) || cap < 1 || cap > config.maxLatents) {
    throw new RangeError(`${field} must be an integer in [1, ${config.maxLatents}] (at most the model's max_latents), got ${JSON.stringify(cap)}`);
  }
}

/**
 * The schedule's view of a model used with at most `cap` latents (default: all of them):
 * { maxLatents: cap, maxSeqLen: (maxSeqLen - maxLatents) + cap }. The prefix limit is unchanged.
 */
export function effectiveConfig(config: ScheduleConfig, cap: number = config.maxLatents, field = "maxLatents"): ScheduleConfig {
  validateLatentCap(config, cap, field);
  return { maxSeqLen: config.maxSeqLen - config.maxLatents + cap, maxLatents: cap };
}

/** The allowed range [min, max] of the initial number of latents for a prompt length. */
export function numLatentsRange(config: ScheduleConfig, promptLength: number): [number, number] {
  const n = Math.min(promptLength, config.maxSeqLen);
  const maxPrefix = config.maxSeqLen - config.maxLatents;
  return [Math.max(1, n - maxPrefix), Math.min(config.maxLatents, n)];
}

/** The smallest valid initial number of latents (1 for prompts that fit; the reference's default). */
export function defaultNumLatents(config: ScheduleConfig, promptLength: number): number {
  return numLatentsRange(config, promptLength)[0];
}

/** Throws a RangeError naming the field unless promptLength and numLatents are valid. */
export function validateSchedule(config: ScheduleConfig, promptLength: number, numLatents: number): void {
  if (!Number.isInteger(promptLength) || promptLength < 1) {
    throw new RangeError(`prompt length must be an integer >= 1, got ${promptLength}`);
  }
  const [lo, hi] = numLatentsRange(config, promptLength);
  if (typeof numLatents !== "number" || !Number.isInteger(numLatents) || numLatents < lo || numLatents > hi) {
    throw new RangeError(
      `numLatents must be an integer in [${lo}, ${hi}] for a prompt of ${promptLength} tokens ` +
        `(at least 1 and at least window - (max_seq_len - max_latents) = ${Math.min(promptLength, config.maxSeqLen)} - ${config.maxSeqLen - config.maxLatents}; ` +
        `at most max_latents (or the maxLatents cap) = ${config.maxLatents} and at most the prompt length), got ${JSON.stringify(numLatents)}`,
    );
  }
}

/** The (window, prefixLen) of step `step`. */
export function scheduleStep(config: ScheduleConfig, promptLength: number, numLatents: number, step: number): ScheduleStep {
  validateSchedule(config, promptLength, numLatents);
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer >= 0, got ${step}`);
  return stepUnchecked(config, promptLength, numLatents, step);
}

/** Steps 0 .. count-1 of the schedule. */
export function* generationSchedule(config: ScheduleConfig, promptLength: number, numLatents: number, count: number): Generator<ScheduleStep> {
  validateSchedule(config, promptLength, numLatents);
  for (let s = 0; s < count; s++) yield stepUnchecked(config, promptLength, numLatents, s);
}

function stepUnchecked(config: ScheduleConfig, promptLength: number, numLatents: number, step: number): ScheduleStep {
  const streamLength = promptLength + step;
  const window = Math.min(streamLength, config.maxSeqLen);
  const latents = Math.min(numLatents + step, config.maxLatents);
  const windowStart = streamLength - window;
  let kind: StepKind = "prefill";
  if (step > 0) {
    const prevLatents = Math.min(numLatents + step - 1, config.maxLatents);
    const prevStart = streamLength - 1 - Math.min(streamLength - 1, config.maxSeqLen);
    kind = windowStart > prevStart ? "slide" : latents > prevLatents ? "grow-latents" : "grow-prefix";
  }
  return { step, streamLength, windowStart, window, prefixLen: window - latents, numLatents: latents, kind };
}
