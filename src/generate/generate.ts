// Autoregressive generation for one prompt or a batch of prompts, with the schedules of
// schedule.ts ("exact", the reference's; "reset", the official implementation's latent reset).
//
// Contract (one prompt):
// - `generateStream(model, prompt, options)` is an async iterator yielding each new token as soon as
//   it is chosen; it yields to the event loop between tokens, and stops after `maxNewTokens` tokens
//   or right after yielding `eosId` (the EOS token is included). Breaking out of the loop stops it.
// - `generate(...)` collects the stream into an array.
// - With `useCache` (default) logits come from an exact KV-cached decoder (cached-decoder.ts); with
//   `useCache: false` every step runs `model.forward` on the step's window and prefix length. Both
//   give the same tokens (logits agree within float32 rounding), for either schedule.
// - Sampling is seeded: the same seed (default 0) and options give the same tokens. A custom
//   uniform [0, 1) source can be passed as `random` instead.
// - `schedule` ("exact" default, or "reset" with `resetFill` latents after each reset; see
//   schedule.ts): which windows and latent splits the model sees. "reset" is much faster once the
//   latents are full (one full pass every M - R + 1 tokens instead of one per token) at a small
//   cost in prediction quality.
// - `maxLatents` (an integer in [1, model.config.maxLatents], default the model's max_latents)
//   caps the latents: generation runs the schedule on schedule.ts `effectiveConfig` — latents grow
//   from numLatents up to the cap, then the prefix grows to max_seq_len - max_latents (the model's
//   prefix limit), then a window of at most (max_seq_len - max_latents) + maxLatents tokens slides.
//   Fewer latents = less compute per token and a shorter context. Cached and uncached runs still
//   agree (both evaluate `model.forward` on the same windows and prefix lengths).
// - `weights: "int8"`: int8 weight-only matrices with per-row scales (int8-layers.ts; the cached
//   decoder only): a quarter of the weight bytes per token, at the quality cost bench/generate.ts
//   measures.
// - Options are validated before any work; errors name the field and its allowed range.
//
// Contract (a batch, `generateBatch` / `generateBatchStream`): each prompt is generated as
// `generate(model, prompts[b], { ...options, numLatents: min(numLatents, prompts[b].length),
// seed: seeds[b], maxNewTokens: maxNewTokens[b] })` would generate it — the same tokens for greedy
// decoding, logits equal within float32 rounding (tested) — but all rows advance together through
// one batched decoder (left-padded; padding is masked, never read), which amortises the weight
// reads over the rows. Every row has its own sampler state (`seed`: one number for every row, or
// one per row) and its own stop conditions (EOS, its maxNewTokens, `stop(row, tokens)`); a finished
// row leaves the batch. The stream yields { row, token, index } for each row at each step.
// `numLatents` is shared: default the largest of the rows' defaults (for "reset": at most resetFill
// and at most the shortest prompt, so that every row resets at the same step).

import { Rng } from "../util/rng.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { CachedDecoder } from "./cached-decoder.js";
import { WEIGHT_FORMATS, type WeightFormat } from "./int8-layers.js";
import { sampleToken, validateSamplingOptions, type SamplingOptions } from "./sampling.js";
import { defaultNumLatents, effectiveConfig, generationSchedule, resolveSchedule, validateSchedule, type ScheduleChoice, type ScheduleConfig, type ScheduleStep } from "./schedule.js";

export interface GenerateOptions extends SamplingOptions, ScheduleChoice {
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
  /** "f32" (default) or "int8": int8 weight-only matrices with per-row scales (cached decoder only; int8-layers.ts). */
  weights?: WeightFormat;
  /** Called with each new token and its 0-based index among the new tokens. */
  onToken?: (token: number, index: number) => void;
}

export interface BatchGenerateOptions extends SamplingOptions, ScheduleChoice {
  /** Tokens to generate per row: one integer >= 0 for every row, or one per row. */
  maxNewTokens: number | readonly number[];
  /** Initial latent positions, shared by the rows (row b uses min(numLatents, its prompt length)); see the header for the default. */
  numLatents?: number;
  /** As GenerateOptions.maxLatents. */
  maxLatents?: number;
  /** Sampling seed: one safe integer for every row (default 0), or one per row. */
  seed?: number | readonly number[];
  /** Stop a row after it generates this token. */
  eosId?: number;
  /** As GenerateOptions.useCache (uncached: one full forward per row and step). */
  useCache?: boolean;
  /** As GenerateOptions.weights. */
  weights?: WeightFormat;
  /** Called after each new token of a row with the row's tokens so far; true stops that row. */
  stop?: (row: number, tokens: readonly number[]) => boolean;
}

/** One new token of one row of a batch. */
export interface BatchToken {
  row: number;
  token: number;
  /** 0-based index among the row's new tokens. */
  index: number;
}

/** Generate up to maxNewTokens tokens after `prompt`; resolves to the new tokens. */
export async function generate(model: PerceiverAR, prompt: ArrayLike<number>, options: GenerateOptions): Promise<number[]> {
  const out: number[] = [];
  for await (const t of generateStream(model, prompt, options)) out.push(t);
  return out;
}

/** Yield new tokens one by one as they are produced. Validation happens on the first `next()`. */
export async function* generateStream(model: PerceiverAR, prompt: ArrayLike<number>, options: GenerateOptions): AsyncGenerator<number, void, undefined> {
  const plan = planSingle(model, prompt, options);
  for await (const t of decodeRows(model, plan)) {
    options.onToken?.(t.token, t.index);
    yield t.token;
  }
}

/** Generate for every prompt together; resolves to each row's new tokens. */
export async function generateBatch(model: PerceiverAR, prompts: ReadonlyArray<ArrayLike<number>>, options: BatchGenerateOptions): Promise<number[][]> {
  const out: number[][] = Array.isArray(prompts) ? prompts.map(() => []) : [];
  for await (const t of generateBatchStream(model, prompts, options)) out[t.row].push(t.token);
  return out;
}

/** Yield { row, token, index } as the rows' tokens are produced (each step: every unfinished row, in row order). */
export async function* generateBatchStream(model: PerceiverAR, prompts: ReadonlyArray<ArrayLike<number>>, options: BatchGenerateOptions): AsyncGenerator<BatchToken, void, undefined> {
  yield* decodeRows(model, planBatch(model, prompts, options));
}

/** Last-position logits (V) of a full forward pass on `window` with `prefixLen` prefix positions (no cache). */
export function lastPositionLogits(model: PerceiverAR, window: ArrayLike<number>, prefixLen: number): Float32Array {
  const logits = model.forward([window], { prefixLen }); // (1, M, V)
  const V = model.config.vocabSize;
  return logits.data.slice(logits.data.length - V);
}

/** Everything a generation run needs, validated. */
interface Plan {
  prompts: ReadonlyArray<ArrayLike<number>>;
  /** Per row. */
  numLatents: number[];
  maxNewTokens: number[];
  random: Array<() => number>;
  view: ScheduleConfig;
  choice: ScheduleChoice;
  sampling: SamplingOptions;
  eosId: number | undefined;
  useCache: boolean;
  weights: WeightFormat;
  stop: ((row: number, tokens: readonly number[]) => boolean) | undefined;
}

/** Steps all rows through their schedules together; a row leaves when it stops. */
async function* decodeRows(model: PerceiverAR, p: Plan): AsyncGenerator<BatchToken, void, undefined> {
  const V = model.config.vocabSize;
  let active = p.prompts.map((_, b) => b).filter((b) => p.maxNewTokens[b] > 0);
  if (active.length === 0) return;
  const schedules = p.prompts.map((prompt, b) => generationSchedule(p.view, prompt.length, p.numLatents[b], p.maxNewTokens[b], p.choice));
  const generated: number[][] = p.prompts.map(() => []);
  const logitsOf = p.useCache ? cachedRows(model, active.map((b) => p.prompts[b]), p.view.maxLatents, p.weights) : uncachedRows(model, p.prompts);
  while (active.length > 0) {
    const steps = active.map((b) => schedules[b].next().value as ScheduleStep);
    const logits = logitsOf.logits(active, steps); // (active, V)
    const next: number[] = [];
    const keep: number[] = [];
    for (let i = 0; i < active.length; i++) {
      const b = active[i];
      const token = sampleToken(logits.subarray(i * V, (i + 1) * V), p.sampling, p.random[b]);
      generated[b].push(token);
      yield { row: b, token, index: generated[b].length - 1 };
      const done = token === p.eosId || generated[b].length === p.maxNewTokens[b] || p.stop?.(b, generated[b]) === true;
      if (!done) {
        keep.push(i);
        next.push(token);
      }
    }
    logitsOf.advance(keep, next);
    active = keep.map((i) => active[i]);
    if (active.length > 0) await yieldToEventLoop();
  }
}

interface RowStepper {
  /** Logits (rows, V) of the active rows (original row indices), at their steps. */
  logits(rows: readonly number[], steps: readonly ScheduleStep[]): Float32Array;
  /** Keep the active rows at positions `keep` (of the last logits call) and append their tokens. */
  advance(keep: readonly number[], tokens: readonly number[]): void;
}

function cachedRows(model: PerceiverAR, prompts: ReadonlyArray<ArrayLike<number>>, maxLatents: number, weights: WeightFormat): RowStepper {
  const d = new CachedDecoder(model, { maxLatents, batch: prompts.length, weights });
  d.pushRows(prompts);
  return {
    logits: (_rows, steps) => d.logitsRows(steps),
    advance: (keep, tokens) => {
      if (keep.length === 0) return;
      if (keep.length < d.batch) d.retainRows(keep);
      d.pushRows(tokens.map((t) => [t]));
    },
  };
}

/** Full forwards, row by row, on each step's window. */
function uncachedRows(model: PerceiverAR, prompts: ReadonlyArray<ArrayLike<number>>): RowStepper {
  const streams = prompts.map((pr) => Array.from(pr));
  let rows: readonly number[] = [];
  const V = model.config.vocabSize;
  return {
    logits: (active, steps) => {
      rows = active;
      const out = new Float32Array(active.length * V);
      active.forEach((b, i) => out.set(lastPositionLogits(model, streams[b].slice(steps[i].windowStart), steps[i].prefixLen), i * V));
      return out;
    },
    advance: (keep, tokens) => keep.forEach((i, j) => streams[rows[i]].push(tokens[j])),
  };
}

function planSingle(model: PerceiverAR, prompt: ArrayLike<number>, o: GenerateOptions): Plan {
  if (typeof o !== "object" || o === null) throw new TypeError(`generate options must be an object, got ${String(o)}`);
  checkPrompt(model, prompt, "prompt");
  checkTokenCount(o.maxNewTokens, "maxNewTokens");
  const view = effectiveConfig(model.config, o.maxLatents ?? model.config.maxLatents, "maxLatents");
  const choice = scheduleChoice(o);
  resolveSchedule(view, choice);
  const numLatents = o.numLatents ?? defaultNumLatents(view, prompt.length, choice);
  validateSchedule(view, prompt.length, numLatents, choice);
  checkCommon(model, o);
  if (o.onToken !== undefined && typeof o.onToken !== "function") throw new TypeError("onToken must be a function (token, index) => void");
  if (o.random !== undefined && typeof o.random !== "function") throw new TypeError("random must be a function returning a number in [0, 1)");
  const random = o.random ?? seeded(o.seed ?? 0, "seed");
  return { prompts: [prompt], numLatents: [numLatents], maxNewTokens: [o.maxNewTokens], random: [random], view, choice, sampling: o, eosId: o.eosId, useCache: o.useCache !== false, weights: weightFormat(o), stop: undefined };
}

function planBatch(model: PerceiverAR, prompts: ReadonlyArray<ArrayLike<number>>, o: BatchGenerateOptions): Plan {
  if (typeof o !== "object" || o === null) throw new TypeError(`generate options must be an object, got ${String(o)}`);
  if (!Array.isArray(prompts) || prompts.length < 1) throw new RangeError("prompts must be a non-empty array of prompts (arrays of token ids)");
  const B = prompts.length;
  prompts.forEach((pr, b) => checkPrompt(model, pr, `prompts[${b}]`));
  const perRow = <T>(x: T | readonly T[], field: string): T[] => {
    if (!Array.isArray(x)) return new Array<T>(B).fill(x as T);
    if (x.length !== B) throw new RangeError(`${field} must be one value or one per prompt (${B}), got ${x.length} values`);
    return [...x];
  };
  const maxNewTokens = perRow(o.maxNewTokens, "maxNewTokens");
  maxNewTokens.forEach((n, b) => checkTokenCount(n, Array.isArray(o.maxNewTokens) ? `maxNewTokens[${b}]` : "maxNewTokens"));
  const view = effectiveConfig(model.config, o.maxLatents ?? model.config.maxLatents, "maxLatents");
  const choice = scheduleChoice(o);
  const { resetFill } = resolveSchedule(view, choice);
  const lengths = prompts.map((pr) => pr.length);
  const shortest = Math.min(...lengths);
  const widest = Math.max(...lengths.map((n) => defaultNumLatents(view, n)));
  const shared = o.numLatents ?? (resetFill === null ? widest : Math.min(widest, resetFill, shortest));
  if (resetFill !== null && B > 1 && !(typeof shared === "number" && shared <= shortest)) {
    throw new RangeError(`numLatents must be at most the shortest prompt (${shortest} tokens) with schedule "reset" and several prompts (so that every row resets at the same step), got ${JSON.stringify(shared)}`);
  }
  const numLatents = lengths.map((n, b) => {
    const m = typeof shared === "number" ? Math.min(shared, n) : shared;
    try {
      validateSchedule(view, n, m, choice);
    } catch (e) {
      throw new RangeError(`prompts[${b}]: ${(e as Error).message}`);
    }
    return m;
  });
  checkCommon(model, o);
  if (o.stop !== undefined && typeof o.stop !== "function") throw new TypeError("stop must be a function (row, tokens) => boolean");
  const seeds = perRow(o.seed ?? 0, "seed");
  const random = seeds.map((s, b) => seeded(s, Array.isArray(o.seed) ? `seed[${b}]` : "seed"));
  return { prompts, numLatents, maxNewTokens, random, view, choice, sampling: o, eosId: o.eosId, useCache: o.useCache !== false, weights: weightFormat(o), stop: o.stop };
}

function weightFormat(o: { weights?: WeightFormat; useCache?: boolean }): WeightFormat {
  const w = o.weights ?? "f32";
  if (!WEIGHT_FORMATS.includes(w)) throw new RangeError(`weights must be one of ${WEIGHT_FORMATS.map((f) => JSON.stringify(f)).join(", ")}, got ${JSON.stringify(w)}`);
  if (w === "int8" && o.useCache === false) throw new RangeError('weights "int8" needs the cached decoder (useCache true)');
  return w;
}

function scheduleChoice(o: ScheduleChoice): ScheduleChoice {
  return { ...(o.schedule !== undefined ? { schedule: o.schedule } : {}), ...(o.resetFill !== undefined ? { resetFill: o.resetFill } : {}) };
}

function checkPrompt(model: PerceiverAR, prompt: ArrayLike<number>, field: string): void {
  const V = model.config.vocabSize;
  if (prompt === null || typeof prompt !== "object" || typeof prompt.length !== "number" || prompt.length < 1) {
    throw new RangeError(`${field} must be a non-empty array of token ids`);
  }
  for (let i = 0; i < prompt.length; i++) {
    const t = prompt[i];
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`${field}[${i}] = ${t} must be an integer token id in [0, ${V})`);
  }
}

function checkTokenCount(n: unknown, field: string): void {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new RangeError(`${field} must be an integer >= 0, got ${String(n)}`);
}

function checkCommon(model: PerceiverAR, o: SamplingOptions & { eosId?: number; useCache?: boolean }): void {
  const V = model.config.vocabSize;
  validateSamplingOptions(o);
  if (o.eosId !== undefined && (!Number.isInteger(o.eosId) || o.eosId < 0 || o.eosId >= V)) {
    throw new RangeError(`eosId must be an integer token id in [0, ${V}), got ${String(o.eosId)}`);
  }
  if (o.useCache !== undefined && typeof o.useCache !== "boolean") throw new TypeError(`useCache must be true or false, got ${JSON.stringify(o.useCache)}`);
}

function seeded(seed: unknown, field: string): () => number {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) throw new RangeError(`${field} must be a safe integer in [${Number.MIN_SAFE_INTEGER}, ${Number.MAX_SAFE_INTEGER}], got ${String(seed)}`);
  const rng = new Rng(seed);
  return () => rng.nextFloat();
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
