// The generation schedules: which (window, prefix length) the model sees before each new token.
//
// "exact" — the reference's schedule (krasserm/perceiver-io), as recorded in
// ../shared/golden/rot/generate.json. Generation starts from a prompt of length L0 with
// `numLatents` latent positions at the end of the prompt. Before sampling the token of step s
// (s = 0, 1, ...), the stream holds T = L0 + s tokens and the model sees
//   window    n = min(T, maxSeqLen)                 the last n tokens of the stream
//   latents   m = min(numLatents + s, maxLatents)   latent positions at the end of the window
//   prefixLen   = n - m
// so the number of latents grows by one per step up to maxLatents, then prefixLen grows by one per
// step up to maxSeqLen - maxLatents, then the window slides (windowStart = T - n grows by one).
// Valid numLatents: an integer in [max(1, min(L0, maxSeqLen) - (maxSeqLen - maxLatents)),
// min(maxLatents, min(L0, maxSeqLen))]; errors name the field and that range. Once the latents are
// full, every step moves the first latent, so a cached decoder recomputes all M latents per token.
//
// "reset" — the official implementation's decoding with a latent reset (Perceiver AR paper,
// appendix E.3; flaxformer's `decoding_latent_reset_fill`). The latent set keeps its first position
// while the latents grow (cheap for a cached decoder: one new latent row per token); when the next
// token would make M + 1 latents, one full pass re-starts the latents at the last R = resetFill
// positions, and they grow again. With Pmax = maxSeqLen - maxLatents, the first latent ls and the
// window start w0 are
//   start:  ls = L0 - numLatents,  w0 = max(0, ls - Pmax)
//   step s: if T - ls > maxLatents:  ls = T - R,  w0 = max(0, ls - Pmax)      (kind "reset")
//   window = T - w0, prefixLen = ls - w0 (at most Pmax), latents T - ls (from R up to maxLatents)
// so a full pass happens once every M - R + 1 tokens. Valid numLatents: [1, min(maxLatents, L0)]
// (a smaller value than the exact minimum drops the oldest prompt tokens from the window); default
// `defaultResetNumLatents`. resetFill: an integer in [1, maxLatents], default
// `defaultResetFill` = max(M - 128, floor(M / 2), 1) (flaxformer's default). With resetFill = M the
// reset schedule is the exact one (for numLatents the exact schedule accepts). Every (window,
// prefixLen) of either schedule is one `model.forward` accepts: the cached decoder computes exactly
// what that forward computes; the reset schedule differs from the exact one only in WHICH windows
// and latent splits it asks for (the cost: earlier tokens see fewer latents; bench/generate.ts
// measures it in bits/byte).
//
// Fewer latents at test time: `effectiveConfig(config, cap)` (cap = GenerateOptions.maxLatents, an
// integer in [1, config.maxLatents]) is the {maxSeqLen, maxLatents} view the schedule runs on:
//   maxLatents = cap,  maxSeqLen = (config.maxSeqLen - config.maxLatents) + cap
// The prefix limit maxSeqLen - maxLatents stays the model's (as in the reference and
// src/train/evaluate.ts), so fewer latents means a shorter window, never a longer prefix, and every
// (window, prefixLen) of the capped schedule is one `model.forward` accepts with the real config.

import type { PerceiverARConfig } from "../models/config.js";

/** The two schedules (see the header). */
export type ScheduleName = "exact" | "reset";
export const SCHEDULE_NAMES: readonly ScheduleName[] = ["exact", "reset"];

/** Which schedule, and for "reset" how many latents a reset re-fills. */
export interface ScheduleChoice {
  /** Default "exact". */
  schedule?: ScheduleName;
  /** "reset" only: latents after a reset, an integer in [1, maxLatents]; default `defaultResetFill`. */
  resetFill?: number;
}

/** A validated choice: the schedule and, for "reset", its fill (the exact schedule has none). */
export interface ResolvedSchedule {
  schedule: ScheduleName;
  resetFill: number | null;
}

/** What changed since the previous step; decides what a cached decoder must recompute. */
export type StepKind = "prefill" | "grow-latents" | "grow-prefix" | "slide" | "reset";

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

/** Latents a reset keeps when not told: all but the last 128 positions, at least half, at least 1 (flaxformer's default). */
export function defaultResetFill(maxLatents: number): number {
  return Math.max(maxLatents - 128, Math.floor(maxLatents / 2), 1);
}

/** Throws a RangeError naming the field unless the choice is valid for `config`; returns it resolved. */
export function resolveSchedule(config: ScheduleConfig, choice: ScheduleChoice = {}): ResolvedSchedule {
  if (typeof choice !== "object" || choice === null) throw new TypeError(`schedule options must be an object, got ${String(choice)}`);
  const schedule = choice.schedule ?? "exact";
  if (!SCHEDULE_NAMES.includes(schedule)) throw new RangeError(`schedule must be one of ${SCHEDULE_NAMES.map((n) => JSON.stringify(n)).join(", ")}, got ${JSON.stringify(schedule)}`);
  if (schedule === "exact") {
    if (choice.resetFill !== undefined) throw new RangeError(`resetFill applies to schedule "reset" only (schedule is "exact"), got resetFill ${JSON.stringify(choice.resetFill)}`);
    return { schedule, resetFill: null };
  }
  const M = config.maxLatents;
  const R = choice.resetFill ?? defaultResetFill(M);
  if (typeof R !== "number" || !Number.isInteger(R) || R < 1 || R > M) {
    throw new RangeError(`resetFill must be an integer in [1, ${M}] (at most max_latents, or the maxLatents cap), got ${JSON.stringify(R)}`);
  }
  return { schedule, resetFill: R };
}

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
export function numLatentsRange(config: ScheduleConfig, promptLength: number, choice: ScheduleChoice = {}): [number, number] {
  const n = Math.min(promptLength, config.maxSeqLen);
  const maxPrefix = config.maxSeqLen - config.maxLatents;
  const hi = Math.min(config.maxLatents, n);
  return [(choice.schedule ?? "exact") === "reset" ? 1 : Math.max(1, n - maxPrefix), hi];
}

/**
 * The default initial number of latents: the smallest the exact schedule accepts (1 for prompts
 * that fit; the reference's default); for "reset" at most the reset fill (a long prompt then
 * starts with R latents instead of a full pass over M).
 */
export function defaultNumLatents(config: ScheduleConfig, promptLength: number, choice: ScheduleChoice = {}): number {
  const exactMin = numLatentsRange(config, promptLength)[0];
  const { resetFill } = resolveSchedule(config, choice);
  return resetFill === null ? exactMin : Math.min(exactMin, resetFill);
}

/** Throws a RangeError naming the field unless promptLength, numLatents and the choice are valid. */
export function validateSchedule(config: ScheduleConfig, promptLength: number, numLatents: number, choice: ScheduleChoice = {}): void {
  if (!Number.isInteger(promptLength) || promptLength < 1) {
    throw new RangeError(`prompt length must be an integer >= 1, got ${promptLength}`);
  }
  const { schedule } = resolveSchedule(config, choice);
  const [lo, hi] = numLatentsRange(config, promptLength, choice);
  if (typeof numLatents !== "number" || !Number.isInteger(numLatents) || numLatents < lo || numLatents > hi) {
    const why =
      schedule === "reset"
        ? `at least 1, at most max_latents (or the maxLatents cap) = ${config.maxLatents} and at most the prompt length`
        : `at least 1 and at least window - (max_seq_len - max_latents) = ${Math.min(promptLength, config.maxSeqLen)} - ${config.maxSeqLen - config.maxLatents}; ` +
          `at most max_latents (or the maxLatents cap) = ${config.maxLatents} and at most the prompt length`;
    throw new RangeError(`numLatents must be an integer in [${lo}, ${hi}] for a prompt of ${promptLength} tokens (${why}), got ${JSON.stringify(numLatents)}`);
  }
}

/** The (window, prefixLen) of step `step`. */
export function scheduleStep(config: ScheduleConfig, promptLength: number, numLatents: number, step: number, choice: ScheduleChoice = {}): ScheduleStep {
  validateSchedule(config, promptLength, numLatents, choice);
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer >= 0, got ${step}`);
  return stepUnchecked(config, promptLength, numLatents, step, resolveSchedule(config, choice).resetFill);
}

/** Steps 0 .. count-1 of the schedule. */
export function* generationSchedule(config: ScheduleConfig, promptLength: number, numLatents: number, count: number, choice: ScheduleChoice = {}): Generator<ScheduleStep> {
  validateSchedule(config, promptLength, numLatents, choice);
  const { resetFill } = resolveSchedule(config, choice);
  for (let s = 0; s < count; s++) yield stepUnchecked(config, promptLength, numLatents, s, resetFill);
}

function stepUnchecked(config: ScheduleConfig, promptLength: number, numLatents: number, step: number, resetFill: number | null): ScheduleStep {
  return resetFill === null ? exactStep(config, promptLength, numLatents, step) : resetStep(config, promptLength, numLatents, step, resetFill);
}

function exactStep(config: ScheduleConfig, promptLength: number, numLatents: number, step: number): ScheduleStep {
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

/** The reset schedule in closed form: the first reset at step M + 1 - numLatents, then one every M - R + 1 steps. */
function resetStep(config: ScheduleConfig, promptLength: number, numLatents: number, step: number, R: number): ScheduleStep {
  const M = config.maxLatents;
  const maxPrefix = config.maxSeqLen - M;
  const streamLength = promptLength + step;
  const firstReset = M + 1 - numLatents;
  const period = M - R + 1;
  let latentStart = promptLength - numLatents;
  let kind: StepKind = step === 0 ? "prefill" : "grow-latents";
  if (step >= firstReset) {
    const lastReset = firstReset + Math.floor((step - firstReset) / period) * period;
    latentStart = promptLength + lastReset - R;
    if (step === lastReset) kind = "reset";
  }
  const windowStart = Math.max(0, latentStart - maxPrefix);
  const window = streamLength - windowStart;
  return { step, streamLength, windowStart, window, prefixLen: latentStart - windowStart, numLatents: streamLength - latentStart, kind };
}
