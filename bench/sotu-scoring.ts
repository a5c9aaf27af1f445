// The data and the scoring rule of the equal-wall-clock benchmark (bench/equal-wallclock.ts), in
// one place so that every contender (our Perceiver AR, our Transformer baseline, the PyTorch GPT of
// bench/torch_gpt.py) trains on the same tokens and is scored on the same bytes.
//
// Contract:
// - `sotuStreams()`: the built-in SOTU corpus, byte-level, split exactly as `npm start` splits it
//   (by document, seed 0: 221 training documents, 12 validation documents), as token streams.
// - `scoredRanges(validationLength, windowLen, scored)`: the scored target positions. The
//   validation stream is cut into every window that fits (`fixedWindows` of src/data/windows.ts:
//   684 windows of 1,025 tokens on SOTU) and the last `scored` targets of each window are scored
//   (128: the 87,552 bytes on which `npm start` of 1,024 context and 128 latents reports its
//   all-window validation). A range (a, b] scores the stream tokens a+1 .. b, each predicted
//   from the tokens before it.
// - `chunkPlan(ranges, context, stride)`: how a causal model whose input holds at most `context`
//   tokens scores those ranges: chunks of at most `stride` targets, from the range's end backwards;
//   a chunk ending at e reads the inputs stream[max(0, e - context), e) and scores its targets
//   (lo, e]. Every target is scored exactly once and sees at least context - stride + 1 tokens
//   (fewer only at the start of the stream). Perceiver AR uses stride = its latents (every
//   latent's target has a full prefix); a Transformer or the GPT use stride = context / 4.
//   bench/torch_gpt.py implements the same rule over the exported ranges, and its token and byte
//   counts and position checksum are compared with `planSummary` before its bits/byte is printed.
// - `scoreModel(model, stream, plan)`: nats, tokens and bytes of a PerceiverAR over a plan (no
//   dropout, no gradients); the latents of a chunk are the last min(maxLatents, n) inputs.
// - `exportForPython(dir, streams, ranges)`: train.u16 / validation.u16 (token ids, little-endian
//   uint16) and scored.json (the ranges and the byte length of every token id) for the Python side.

import * as fs from "node:fs";
import * as path from "node:path";
import { ByteTokenizer } from "../src/data/byte-tokenizer.js";
import type { TextStreams } from "../src/data/text-split.js";
import { fixedWindowStarts } from "../src/data/windows.js";
import type { PerceiverAR } from "../src/models/perceiver-ar.js";
import { TextTask } from "../src/tasks/text-task.js";
import { IGNORE_INDEX } from "../src/util/ignore-index.js";

/** Windows and scored targets of the benchmark's validation (`npm start`'s windows at context 1,024 and 128 latents). */
export const SCORED_WINDOW = 1025;
export const SCORED_PER_WINDOW = 128;

/** The text task's streams (without its split record) and how many bytes each token id stands for. */
export interface SotuStreams extends Omit<TextStreams, "split"> {
  /** UTF-8 bytes of a token id (1 for byte ids, 0 for PAD/EOS). */
  tokenBytes: (id: number) => number;
}

/** SOTU split as `npm start` splits it (the text task, by document, seed 0). */
export function sotuStreams(): SotuStreams {
  const tokenizer = new ByteTokenizer();
  const task = new TextTask({ task: "text", data: "sotu", seed: 0 }, tokenizer);
  const notes = task.planRun({ seqLen: SCORED_WINDOW - 1, validationWindows: 1 });
  const { train, validation } = task.data();
  if (task.spec.split?.by !== "document") throw new Error(`SOTU was not split by document (${JSON.stringify(task.spec.split)}): the benchmark needs npm start's split`);
  return { train, validation, describe: notes.join("; "), tokenBytes: (id) => (tokenizer.isSpecial(id) ? 0 : 1) };
}

/** A scored range: the targets a+1 .. b of the stream. */
export type ScoredRange = readonly [number, number];

/** The last `scored` targets of every `windowLen`-token window of the validation stream. */
export function scoredRanges(validationLength: number, windowLen = SCORED_WINDOW, scored = SCORED_PER_WINDOW): ScoredRange[] {
  if (!(Number.isInteger(scored) && scored >= 1 && scored <= windowLen - 1)) throw new RangeError(`scored must be an integer in [1, windowLen - 1 = ${windowLen - 1}], got ${scored}`);
  const count = Math.floor(validationLength / windowLen);
  return fixedWindowStarts(validationLength, windowLen, count).map((s) => [s + windowLen - 1 - scored, s + windowLen - 1] as const);
}

/** One forward of a plan: inputs stream[end - n, end), scoring targets (from, end]. */
export interface Chunk {
  end: number;
  n: number;
  from: number;
}

/** Chunks of at most `stride` targets over `ranges` for a model of `context` input tokens (file header). */
export function chunkPlan(ranges: readonly ScoredRange[], context: number, stride: number): Chunk[] {
  if (!(Number.isInteger(stride) && stride >= 1 && stride <= context)) throw new RangeError(`stride must be an integer in [1, context = ${context}], got ${stride}`);
  const plan: Chunk[] = [];
  for (const [a, b] of ranges) {
    for (let e = b; e > a; e -= stride) plan.push({ end: e, n: Math.min(e, context), from: Math.max(a, e - stride) });
  }
  return plan;
}

export interface PlanSummary {
  tokens: number;
  bytes: number;
  /** Sum of the scored positions mod 2^32: the same positions on both sides. */
  positionChecksum: number;
}

/** Scored tokens, their bytes and a checksum of their positions. */
export function planSummary(stream: Int32Array, plan: readonly Chunk[], tokenBytes: (id: number) => number): PlanSummary {
  let tokens = 0;
  let bytes = 0;
  let sum = 0;
  for (const c of plan) {
    for (let t = c.from + 1; t <= c.end; t++) {
      tokens++;
      bytes += tokenBytes(stream[t]);
      sum = (sum + t) >>> 0;
    }
  }
  return { tokens, bytes, positionChecksum: sum };
}

export interface Score {
  nats: number;
  tokens: number;
  bytes: number;
  bitsPerByte: number;
}

/** Bits per byte of `nats` over `bytes`. */
export function bitsPerByte(nats: number, bytes: number): number {
  return nats / Math.LN2 / bytes;
}

/** Windows of n tokens per forward pass: at most 8, at most ~2^20 tokens. */
const MAX_SCORING_BATCH = 8;
const MAX_SCORING_TOKENS = 2 ** 20;

/** `model` (eval mode) over `plan`; chunks of equal n are batched. */
export function scoreModel(model: PerceiverAR, stream: Int32Array, plan: readonly Chunk[], tokenBytes: (id: number) => number, onProgress?: (done: number, total: number) => void): Score {
  const M = model.config.maxLatents;
  const byN = new Map<number, Chunk[]>();
  for (const c of plan) {
    if (c.n > model.config.maxSeqLen) throw new RangeError(`chunk of ${c.n} inputs exceeds the model's max_seq_len ${model.config.maxSeqLen}`);
    const m = Math.min(M, c.n);
    if (c.end - c.from > m) throw new RangeError(`chunk scores ${c.end - c.from} targets but the model has ${m} latents there`);
    const list = byN.get(c.n) ?? [];
    list.push(c);
    byN.set(c.n, list);
  }
  let nats = 0;
  let tokens = 0;
  let bytes = 0;
  let done = 0;
  for (const [n, chunks] of byN) {
    const m = Math.min(M, n);
    const batch = Math.max(1, Math.min(MAX_SCORING_BATCH, Math.floor(MAX_SCORING_TOKENS / n)));
    for (let s = 0; s < chunks.length; s += batch) {
      const part = chunks.slice(s, s + batch);
      const B = part.length;
      const inputs = new Int32Array(B * n); // (B, n)
      const labels = new Int32Array(B * m).fill(IGNORE_INDEX); // (B, m): targets end - m + 1 .. end
      part.forEach((c, r) => {
        inputs.set(stream.subarray(c.end - n, c.end), r * n);
        for (let t = c.from + 1; t <= c.end; t++) {
          labels[r * m + (t - (c.end - m + 1))] = stream[t];
          bytes += tokenBytes(stream[t]);
        }
      });
      const res = model.loss({ data: inputs, shape: [B, n] }, { data: labels, shape: [B, m] }, { prefixLen: n - m });
      nats += res.loss * res.count;
      tokens += res.count;
      done += B;
      onProgress?.(done, plan.length);
    }
  }
  model.pool.clear();
  return { nats, tokens, bytes, bitsPerByte: bitsPerByte(nats, bytes) };
}

/** Files of the Python side (see the file header). */
export function exportForPython(dir: string, streams: SotuStreams, ranges: readonly ScoredRange[], vocabSize: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const u16 = (a: Int32Array): Buffer => {
    const out = Buffer.alloc(a.length * 2);
    for (let i = 0; i < a.length; i++) out.writeUInt16LE(a[i], 2 * i);
    return out;
  };
  fs.writeFileSync(path.join(dir, "train.u16"), u16(streams.train));
  fs.writeFileSync(path.join(dir, "validation.u16"), u16(streams.validation));
  const tokenBytes = Array.from({ length: vocabSize }, (_, id) => streams.tokenBytes(id));
  fs.writeFileSync(path.join(dir, "scored.json"), JSON.stringify({ vocabSize, tokenBytes, ranges }));
}
