// The text-generation pipeline (transformers.js style): prompt text in, generated text out, with the
// model's tokenizer.
//
// Contract: `textGenerationPipeline(model, tokenizer)` returns a callable `generator`:
// - `await generator(prompt, options)` -> { text, tokens, finishReason } for one prompt, and an
//   array of them for an array of prompts (generated together, generate.ts generateBatch: each row
//   as if alone, the weight reads shared);
// - `for await (const piece of generator.stream(prompt, options))` yields the text as it is
//   generated; `generator.streamBatch(prompts, options)` yields { row, text } pieces;
// - the text is the continuation only (text-streamer.ts: decoded in the prompt's context, cut
//   before the first stop string); `finishReason` is "stop" (a stop string), "eos" (the tokenizer's
//   end-of-sequence token, which ends generation) or "length" (maxNewTokens);
// - options: maxNewTokens (default DEFAULT_MAX_NEW_TOKENS), stop strings, sampling (greedy,
//   temperature, topK, topP, seed: one per prompt or one for all), the schedule ("exact" |
//   "reset", resetFill), numLatents, maxLatents, useCache, weights ("f32" | "int8"): as in
//   generate.ts, validated there.
// - The prompt is encoded without special tokens; an empty prompt (no tokens) is an error.

import type { Tokenizer } from "../data/tokenizer.js";
import { generateBatchStream, type BatchGenerateOptions } from "../generate/generate.js";
import type { SamplingOptions } from "../generate/sampling.js";
import type { WeightFormat } from "../generate/int8-layers.js";
import type { ScheduleChoice } from "../generate/schedule.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { TextStreamer } from "./text-streamer.js";

/** Tokens generated per prompt when not told: a paragraph or so, as transformers' pipelines default to a short continuation. */
export const DEFAULT_MAX_NEW_TOKENS = 100;

export interface TextGenerationOptions extends SamplingOptions, ScheduleChoice {
  /** Tokens to generate per prompt, an integer >= 0 (default DEFAULT_MAX_NEW_TOKENS). */
  maxNewTokens?: number;
  /** Stop before the first occurrence of any of these strings (each non-empty). */
  stop?: string | readonly string[];
  /** Sampling seed: one safe integer for every prompt (default 0), or one per prompt. */
  seed?: number | readonly number[];
  numLatents?: number;
  maxLatents?: number;
  useCache?: boolean;
  /** "f32" (default) or "int8" weight-only matrices (generate.ts). */
  weights?: WeightFormat;
  /** Called with each generated token, its index among the prompt's new tokens, and the prompt's row. */
  onToken?: (token: number, index: number, row: number) => void;
}

export type FinishReason = "stop" | "eos" | "length";

export interface TextGenerationResult {
  /** The generated continuation (without the prompt and without the stop string). */
  text: string;
  /** Every generated token (up to and including the one that completed a stop string, or EOS). */
  tokens: number[];
  finishReason: FinishReason;
}

/** A piece of one prompt's continuation in a batch stream. */
export interface TextPiece {
  row: number;
  text: string;
}

export interface TextGenerationPipeline {
  (prompt: string, options?: TextGenerationOptions): Promise<TextGenerationResult>;
  (prompts: readonly string[], options?: TextGenerationOptions): Promise<TextGenerationResult[]>;
  /** The continuation of one prompt, piece by piece. */
  stream(prompt: string, options?: TextGenerationOptions): AsyncGenerator<string, void, undefined>;
  /** The continuations of several prompts, generated together, piece by piece. */
  streamBatch(prompts: readonly string[], options?: TextGenerationOptions): AsyncGenerator<TextPiece, void, undefined>;
  readonly task: "text-generation";
  readonly model: PerceiverAR;
  readonly tokenizer: Tokenizer;
}

/** The pipeline over a loaded model and its tokenizer. */
export function textGenerationPipeline(model: PerceiverAR, tokenizer: Tokenizer): TextGenerationPipeline {
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new RangeError(`the tokenizer's vocabulary (${tokenizer.vocabSize} ids, ${tokenizer.kind}) does not fit the model's vocab_size ${model.config.vocabSize}`);
  }
  async function run(prompts: readonly string[], o: TextGenerationOptions): Promise<TextGenerationResult[]> {
    const out = prompts.map(() => ({ text: "", tokens: [] as number[], finishReason: "length" as FinishReason }));
    for await (const e of runRows(model, tokenizer, prompts, o)) {
      const r = out[e.row];
      r.text += e.text;
      if (e.token !== null) r.tokens.push(e.token);
      if (e.finish !== null) r.finishReason = e.finish;
    }
    return out;
  }
  const generator = ((input: string | readonly string[], options: TextGenerationOptions = {}) => {
    if (typeof input === "string") return run([input], options).then((r) => r[0]);
    if (!Array.isArray(input) || input.some((p) => typeof p !== "string")) return Promise.reject(new TypeError("prompt must be a string or an array of strings"));
    return run(input, options);
  }) as TextGenerationPipeline;
  Object.defineProperties(generator, {
    task: { value: "text-generation", enumerable: true },
    model: { value: model, enumerable: true },
    tokenizer: { value: tokenizer, enumerable: true },
    stream: {
      value: async function* (prompt: string, options: TextGenerationOptions = {}): AsyncGenerator<string, void, undefined> {
        if (typeof prompt !== "string") throw new TypeError("stream(prompt): prompt must be a string (streamBatch takes several)");
        for await (const e of runRows(model, tokenizer, [prompt], options)) if (e.text !== "") yield e.text;
      },
    },
    streamBatch: {
      value: async function* (prompts: readonly string[], options: TextGenerationOptions = {}): AsyncGenerator<TextPiece, void, undefined> {
        if (!Array.isArray(prompts) || prompts.some((p) => typeof p !== "string")) throw new TypeError("streamBatch(prompts): prompts must be an array of strings");
        for await (const e of runRows(model, tokenizer, prompts, options)) if (e.text !== "") yield { row: e.row, text: e.text };
      },
    },
  });
  return generator;
}

/** What happened to one row: a token and the text it completed, or the row's end. */
interface RowEvent {
  row: number;
  token: number | null;
  text: string;
  finish: FinishReason | null;
}

async function* runRows(model: PerceiverAR, tokenizer: Tokenizer, prompts: readonly string[], o: TextGenerationOptions): AsyncGenerator<RowEvent, void, undefined> {
  if (typeof o !== "object" || o === null) throw new TypeError(`options must be an object, got ${String(o)}`);
  if (prompts.length === 0) throw new RangeError("prompts must not be empty");
  const stops = stopStrings(o.stop);
  const ids = prompts.map((p, b) => {
    const t = tokenizer.encode(p);
    if (t.length === 0) throw new RangeError(`${prompts.length === 1 ? "prompt" : `prompts[${b}]`} must not be empty (it encodes to no tokens)`);
    return t;
  });
  const streamers = ids.map((t) => new TextStreamer(tokenizer, t, stops));
  const eosId = tokenizer.eosId ?? undefined;
  const { stop: _stop, maxNewTokens, onToken, ...rest } = o;
  if (onToken !== undefined && typeof onToken !== "function") throw new TypeError("onToken must be a function (token, index, row) => void");
  const options: BatchGenerateOptions = { ...rest, maxNewTokens: maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, ...(eosId !== undefined ? { eosId } : {}), stop: (row) => streamers[row].stopped };
  const counts = ids.map(() => 0);
  const ended = ids.map(() => false);
  for await (const t of generateBatchStream(model, ids, options)) {
    onToken?.(t.token, t.index, t.row);
    const s = streamers[t.row];
    const text = s.push(t.token);
    counts[t.row]++;
    yield { row: t.row, token: t.token, text, finish: null };
    const finish: FinishReason | null = s.stopped ? "stop" : t.token === eosId ? "eos" : counts[t.row] === options.maxNewTokens ? "length" : null;
    if (finish !== null) {
      ended[t.row] = true;
      yield { row: t.row, token: null, text: s.finish(), finish };
    }
  }
  for (let b = 0; b < ids.length; b++) if (!ended[b]) yield { row: b, token: null, text: streamers[b].finish(), finish: "length" };
}

function stopStrings(stop: TextGenerationOptions["stop"]): string[] {
  if (stop === undefined) return [];
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new RangeError(`stop must be a non-empty string or an array of non-empty strings, got ${JSON.stringify(stop)}`);
  }
  return [...list];
}
