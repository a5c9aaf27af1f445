// Autoregressive generation with the reference's schedule (schedule.ts) for one prompt.
//
// Contract:
// - `generateStream(model, prompt, options)` is an async iterator yielding each new token as soon as
//   it is chosen; it yields to the event loop between tokens, and stops after `maxNewTokens` tokens
//   or right after yielding `eosId` (the EOS token is included). Breaking out of the loop stops it.
// - `generate(...)` collects the stream into an array.
// - With `useCache` (default) logits come from an exact KV-cached decoder (cached-decoder.ts); with
//   `useCache: false` every step runs `model.forward` on the step's window and prefix length. Both
//   give the same tokens (logits agree within float32 rounding).
// - Sampling is seeded: the same seed (default 0) and options give the same tokens. A custom
//   uniform [0, 1) source can be passed as `random` instead.
// - `maxLatents` (an integer in [1, model.config.maxLatents], default the model's max_latents)
//   caps the latents: generation runs the schedule on schedule.ts `effectiveConfig` — latents grow
//   from numLatents up to the cap, then the prefix grows to max_seq_len - max_latents (the model's
//   prefix limit), then a window of at most (max_seq_len - max_latents) + maxLatents tokens slides.
//   Fewer latents = less compute per token and a shorter context. Cached and uncached runs still
//   agree (both evaluate `model.forward` on the same windows and prefix lengths).
// - Options are validated before any work; errors name the field and its allowed range.

import { Rng } from "../util/rng.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { CachedDecoder } from "./cached-decoder.js";
import { sampleToken, validateSamplingOptions, type SamplingOptions } from "./sampling.js";
import { defaultNumLatents, effectiveConfig, generationSchedule, validateSchedule, type ScheduleConfig } from "./schedule.js";

export interface GenerateOptions extends SamplingOptions {
  /** Number of tokens to generate, an integer >= 0. */
  maxNewTokens: number;
  /** Initial latent positions at the end of the prompt (see schedule.ts), at most `maxLatents`. Default: the smallest valid value (1 for prompts that fit). */
  numLatents?: number;
  /**
   * Use at most this many latents, an integer in [1, model.config.maxLatents]; default the model's
   * max_latents. The window is then at most (max_seq_len - max_latents) + maxLatents tokens.
   */
  maxLatents?: number;
  /** Seed of the sampling generator, a safe integer. Default 0. */
  seed?: number;
  /** A uniform [0, 1) source, used instead of `seed`. */
  random?: () => number;
  /** Stop after generating this token, in [0, vocab_size). */
  eosId?: number;
  /** Use the exact KV-cached decoder (default true) or a full forward per step. */
  useCache?: boolean;
  /** Called with each new token and its 0-based index among the new tokens. */
  onToken?: (token: number, index: number) => void;
}

/** Generate up to maxNewTokens tokens after `prompt`; resolves to the new tokens. */
export async function generate(model: PerceiverAR, prompt: ArrayLike<number>, options: GenerateOptions): Promise<number[]> {
  const out: number[] = [];
  for await (const t of generateStream(model, prompt, options)) out.push(t);
  return out;
}

/** Yield new tokens one by one as they are produced. Validation happens on the first `next()`. */
export async function* generateStream(model: PerceiverAR, prompt: ArrayLike<number>, options: GenerateOptions): AsyncGenerator<number, void, undefined> {
  const { numLatents, random, view } = validateGenerateOptions(model, prompt, options);
  const logitsAt = options.useCache === false ? uncachedStepper(model, prompt, view.maxSeqLen) : cachedStepper(model, prompt, view.maxLatents);
  const steps = generationSchedule(view, prompt.length, numLatents, options.maxNewTokens);
  let index = 0;
  for (const step of steps) {
    const logits = logitsAt.logits(step.prefixLen);
    const token = sampleToken(logits, options, random);
    logitsAt.push(token);
    options.onToken?.(token, index++);
    yield token;
    if (token === options.eosId) return;
    await yieldToEventLoop();
  }
}

/** Last-position logits (V) of a full forward pass on `window` with `prefixLen` prefix positions (no cache). */
export function lastPositionLogits(model: PerceiverAR, window: ArrayLike<number>, prefixLen: number): Float32Array {
  const logits = model.forward([window], { prefixLen }); // (1, M, V)
  const V = model.config.vocabSize;
  return logits.data.slice(logits.data.length - V);
}

interface Stepper {
  logits(prefixLen: number): Float32Array;
  push(token: number): void;
}

function cachedStepper(model: PerceiverAR, prompt: ArrayLike<number>, maxLatents: number): Stepper {
  const d = new CachedDecoder(model, { maxLatents });
  d.push(prompt);
  return { logits: (p) => d.logits(p), push: (t) => d.push([t]) };
}

/** Full forwards on the last `maxWindow` tokens (the schedule view's maxSeqLen). */
function uncachedStepper(model: PerceiverAR, prompt: ArrayLike<number>, maxWindow: number): Stepper {
  const stream = Array.from(prompt);
  return {
    logits: (p) => lastPositionLogits(model, stream.slice(Math.max(0, stream.length - maxWindow)), p),
    push: (t) => void stream.push(t),
  };
}

function validateGenerateOptions(
  model: PerceiverAR,
  prompt: ArrayLike<number>,
  o: GenerateOptions,
): { numLatents: number; random: () => number; view: ScheduleConfig } {
  if (typeof o !== "object" || o === null) throw new TypeError(`generate options must be an object, got ${String(o)}`);
  const V = model.config.vocabSize;
  if (prompt === null || typeof prompt !== "object" || typeof prompt.length !== "number" || prompt.length < 1) {
    throw new RangeError("prompt must be a non-empty array of token ids");
  }
  for (let i = 0; i < prompt.length; i++) {
    const t = prompt[i];
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`prompt[${i}] = ${t} must be an integer token id in [0, ${V})`);
  }
  if (typeof o.maxNewTokens !== "number" || !Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) {
    throw new RangeError(`maxNewTokens must be an integer >= 0, got ${String(o.maxNewTokens)}`);
  }
  const view = effectiveConfig(model.config, o.maxLatents ?? model.config.maxLatents, "maxLatents");
  const numLatents = o.numLatents ?? defaultNumLatents(view, prompt.length);
  validateSchedule(view, prompt.length, numLatents);
  validateSamplingOptions(o);
  if (o.eosId !== undefined && (!Number.isInteger(o.eosId) || o.eosId < 0 || o.eosId >= V)) {
    throw new RangeError(`eosId must be an integer token id in [0, ${V}), got ${String(o.eosId)}`);
  }
  if (o.useCache !== undefined && typeof o.useCache !== "boolean") throw new TypeError(`useCache must be true or false, got ${JSON.stringify(o.useCache)}`);
  if (o.onToken !== undefined && typeof o.onToken !== "function") throw new TypeError("onToken must be a function (token, index) => void");
  if (o.random !== undefined && typeof o.random !== "function") throw new TypeError("random must be a function returning a number in [0, 1)");
  let random = o.random;
  if (random === undefined) {
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer in [${Number.MIN_SAFE_INTEGER}, ${Number.MAX_SAFE_INTEGER}], got ${String(seed)}`);
    const rng = new Rng(seed);
    random = () => rng.nextFloat();
  }
  return { numLatents, random, view };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
