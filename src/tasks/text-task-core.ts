// The text task, pure (no files; browsers run it as it is): a corpus (a TextCorpus given in memory,
// or loaded by a subclass: Node's TextTask loads the built-in SOTU addresses, a .txt/.jsonl file or
// a folder) tokenized with the byte tokenizer or a tokenizer.json, split into train and validation
// streams as src/data/text-split.ts decides for a new run (by document, or inside the documents
// when there are too few) and as task.json records afterwards. Metric: bits per byte (bits per
// token × tokens / UTF-8 bytes of the scored tokens). Samples are text continuing a prompt,
// streamed as they are generated and decoded with the prompt as context.

import { ByteTokenizer } from "../data/byte-tokenizer.js";
import { DataError } from "../data/data-error.js";
import type { TextCorpus } from "../data/text-documents.js";
import { applyTextSplit, planTextSplit, type TextSplit } from "../data/text-split.js";
import { decodeContinuation, type Tokenizer } from "../data/tokenizer.js";
import { generate, generateStream } from "../generate/generate.js";
import { TextStreamer } from "../pipeline/text-streamer.js";
import type { PerceiverARConfig } from "../models/config.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import type { EvalResult } from "../train/evaluate.js";
import { evaluateValidation, streamTrainSource, streamValidation, streamValidationCount } from "./token-stream.js";
import { assertIntegerInRange } from "../util/integer-range.js";
import type { SampleRequest, SampleResult, Task, TaskEvalOptions, TaskEvaluation, TaskSpec } from "./task.js";

/** Prompt of samples when none is given, and of the sample printed after training. */
const DEFAULT_PROMPT = "The ";
/** Tokens `perceiver-ar sample` generates when not told. */
const DEFAULT_SAMPLE_TOKENS = 500;
/** Settings of the sample printed after training: a little below temperature 1, the 40 likeliest tokens. */
const TRAINING_SAMPLE = { temperature: 0.8, topK: 40, seed: 1 } as const;

export class TextTaskCore implements Task {
  readonly spec: TaskSpec;
  readonly tokenizer: Tokenizer;
  readonly metricName: string;
  private streams: { train: Int32Array; validation: Int32Array } | null = null;
  private corpusCache: TextCorpus | null = null;
  private byteLengths: Int32Array | null = null;

  /** `corpus`: the documents, given in memory (else `loadCorpus` supplies them when first needed). */
  constructor(spec: TaskSpec, tokenizer: Tokenizer, corpus?: TextCorpus) {
    this.spec = { task: "text", data: spec.data ?? corpus?.name ?? "sotu", tokenizer: spec.tokenizer, seed: spec.seed ?? 0, ...(spec.split !== undefined ? { split: spec.split } : {}) };
    this.tokenizer = tokenizer;
    this.metricName = "bits/byte";
    this.corpusCache = corpus ?? null;
  }

  /** The corpus of `spec.data` when none was given (Node's TextTask reads it from disk). */
  protected loadCorpus(): TextCorpus {
    throw new DataError(`text task: no corpus given for ${JSON.stringify(this.spec.data)}; pass its documents to the constructor (reading corpora from disk is Node's TextTask)`);
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }
  get padId(): number {
    return this.tokenizer.padId;
  }
  get eosId(): number | null {
    return this.tokenizer.eosId;
  }

  private corpus(): TextCorpus {
    this.corpusCache ??= this.loadCorpus();
    return this.corpusCache;
  }

  /**
   * Decide how a new run splits its corpus (recorded in `spec.split`, so task.json keeps it) and
   * say how: notes on reading the files, then the split.
   */
  planRun(o: { seqLen: number; validationWindows: number }): string[] {
    const corpus = this.corpus();
    const s = planTextSplit(corpus, this.tokenizer, { seqLen: o.seqLen, validationWindows: o.validationWindows, seed: this.spec.seed ?? 0 });
    this.spec.split = s.split;
    this.streams = { train: s.train, validation: s.validation };
    return [...(corpus.notes ?? []), s.describe];
  }

  /** Train and validation token streams (loaded and tokenized once), split as `spec.split` says (by document when it says nothing). */
  data(): { train: Int32Array; validation: Int32Array } {
    if (this.streams === null) {
      const split: TextSplit = this.spec.split ?? { by: "document" };
      const s = applyTextSplit(this.corpus(), this.tokenizer, split, this.spec.seed ?? 0);
      this.streams = { train: s.train, validation: s.validation };
    }
    return this.streams;
  }

  trainSource(seqLen: number, batchSize: number, seed: number): BatchSource {
    return streamTrainSource(this.data().train, seqLen, batchSize, seed);
  }

  validation(seqLen: number, count: number): ValidationSet {
    return streamValidation(this.data().validation, seqLen, count, (id) => this.tokenBytes(id));
  }

  /** Windows enough for VALIDATION_TOKENS scored tokens (the last max_latents of each window). */
  defaultValidationCount(config: PerceiverARConfig): number {
    return streamValidationCount(config);
  }

  metric(e: EvalResult): number {
    return e.bitsPerByte;
  }

  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation {
    return evaluateValidation(model, this.validation(model.config.maxSeqLen, o.count), o, this.metricName, (r) => this.metric(r));
  }

  /**
   * `count` samples (default 1), each the prompt and then the continuation as it is generated
   * (stops early at EOS or before a stop string), decoded with the prompt as context. Sample i uses seed + i. Every option
   * is checked (the generator's first step) before anything is written.
   */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const text = r.prompt ?? DEFAULT_PROMPT;
    const prompt = this.tokenizer.encode(text);
    if (prompt.length === 0) throw new RangeError("prompt (--prompt) must not be empty");
    const count = r.count ?? 1;
    assertIntegerInRange("count (--count)", count, 1);
    const maxNewTokens = r.maxNewTokens ?? DEFAULT_SAMPLE_TOKENS;
    let tokens = 0;
    for (let i = 0; i < count; i++) {
      const seed = (r.generation.seed ?? 0) + i;
      const stream = generateStream(model, prompt, { ...r.generation, seed, maxNewTokens, eosId: this.eosId ?? undefined });
      let next = await stream.next(); // validates the options: errors come before any output
      if (count > 1) r.write(`${i > 0 ? "\n\n" : ""}--- sample ${i + 1}/${count} (seed ${seed}) ---\n`);
      r.write(text);
      const dec = new TextStreamer(this.tokenizer, prompt, r.stop ?? []); // the pipeline's: context decoding, stop strings
      for (let k = 1; !next.done; next = await stream.next(), k++) {
        r.write(dec.push(next.value));
        r.tick?.(k, maxNewTokens);
        tokens++;
        if (dec.stopped) {
          await stream.return();
          break;
        }
      }
      r.write(dec.finish());
    }
    return { tokens };
  }

  async trainingReport(model: PerceiverAR, o: { sampleTokens: number; tick?: (done: number, total: number) => void }): Promise<string[]> {
    if (o.sampleTokens === 0) return [];
    const prompt = this.tokenizer.encode(DEFAULT_PROMPT);
    const out = await generate(model, prompt, { ...TRAINING_SAMPLE, maxNewTokens: o.sampleTokens, eosId: this.eosId ?? undefined, onToken: (_, i) => o.tick?.(i + 1, o.sampleTokens) });
    return [`sample (temperature ${TRAINING_SAMPLE.temperature}, top-k ${TRAINING_SAMPLE.topK}):\n${DEFAULT_PROMPT}${decodeContinuation(this.tokenizer, prompt, out)}`];
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return this.tokenizer.decode(tokens);
  }

  /** UTF-8 bytes a token stands for (1 for byte tokens, 0 for specials). */
  private tokenBytes(id: number): number {
    if (this.byteLengths === null) {
      const lens = new Int32Array(this.vocabSize);
      const enc = new TextEncoder();
      for (let i = 0; i < lens.length; i++) lens[i] = this.tokenizer instanceof ByteTokenizer ? (this.tokenizer.isSpecial(i) ? 0 : 1) : enc.encode(this.tokenizer.decode([i])).length;
      this.byteLengths = lens;
    }
    return id >= 0 && id < this.byteLengths.length ? this.byteLengths[id] : 0;
  }
}
