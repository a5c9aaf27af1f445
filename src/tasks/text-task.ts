// The text task: a corpus (the built-in SOTU addresses, a file or a folder) tokenized with the
// byte tokenizer or a tokenizer.json, split by document into train and validation streams.
// Metric: bits per byte (bits per token × tokens / UTF-8 bytes of the scored tokens). Samples are
// text continuing a prompt, streamed as they are generated.

import { ByteTokenizer } from "../data/byte-tokenizer.js";
import { HfTokenizer } from "../data/hf-tokenizer.js";
import { loadTextCorpus, splitByDocument, tokenizeDocuments } from "../data/text-corpus.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { generate } from "../generate/generate.js";
import { textGenerationPipeline } from "../pipeline/text-generation.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import type { EvalResult } from "../train/evaluate.js";
import { evaluateValidation, streamTrainSource, streamValidation } from "./token-stream.js";
import type { SampleRequest, SampleResult, Task, TaskEvalOptions, TaskEvaluation, TaskSpec } from "./task.js";

/** Prompt of samples when none is given, and of the sample printed after training. */
const DEFAULT_PROMPT = "The ";
/** Tokens `perceiver-ar sample` generates when not told. */
const DEFAULT_SAMPLE_TOKENS = 500;
/** Settings of the sample printed after training: a little below temperature 1, the 40 likeliest tokens. */
const TRAINING_SAMPLE = { temperature: 0.8, topK: 40, seed: 1 } as const;

export class TextTask implements Task {
  readonly spec: TaskSpec;
  readonly tokenizer: Tokenizer;
  readonly metricName: string;
  private streams: { train: Int32Array; validation: Int32Array } | null = null;
  private byteLengths: Int32Array | null = null;

  constructor(spec: TaskSpec) {
    this.spec = { task: "text", data: spec.data ?? "sotu", tokenizer: spec.tokenizer, seed: spec.seed ?? 0 };
    this.tokenizer = spec.tokenizer ? HfTokenizer.fromFile(spec.tokenizer) : new ByteTokenizer();
    this.metricName = "bits/byte";
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

  /** Train and validation token streams (loaded and tokenized once). */
  data(): { train: Int32Array; validation: Int32Array } {
    if (this.streams === null) {
      const corpus = loadTextCorpus(this.spec.data);
      const split = splitByDocument(corpus, { seed: this.spec.seed });
      this.streams = {
        train: tokenizeDocuments(split.train, this.tokenizer),
        validation: tokenizeDocuments(split.validation, this.tokenizer),
      };
    }
    return this.streams;
  }

  trainSource(seqLen: number, batchSize: number, seed: number): BatchSource {
    return streamTrainSource(this.data().train, seqLen, batchSize, seed);
  }

  validation(seqLen: number, count: number): ValidationSet {
    return streamValidation(this.data().validation, seqLen, count, (id) => this.tokenBytes(id));
  }

  metric(e: EvalResult): number {
    return e.bitsPerByte;
  }

  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation {
    return evaluateValidation(model, this.validation(model.config.maxSeqLen, o.count), o, this.metricName, (r) => r.bitsPerByte);
  }

  /** Writes the prompt, then the continuation as it is generated (the text-generation pipeline: stops at EOS or a stop string). */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const text = r.prompt ?? DEFAULT_PROMPT;
    if (this.tokenizer.encode(text).length === 0) throw new RangeError("prompt (--prompt) must not be empty");
    let tokens = 0;
    const options = { ...r.generation, maxNewTokens: r.maxNewTokens ?? DEFAULT_SAMPLE_TOKENS, stop: r.stop, onToken: () => void tokens++ };
    r.write(text);
    for await (const piece of textGenerationPipeline(model, this.tokenizer).stream(text, options)) r.write(piece);
    return { tokens };
  }

  async trainingReport(model: PerceiverAR, o: { sampleTokens: number }): Promise<string[]> {
    if (o.sampleTokens === 0) return [];
    const out = await generate(model, this.tokenizer.encode(DEFAULT_PROMPT), { ...TRAINING_SAMPLE, maxNewTokens: o.sampleTokens, eosId: this.eosId ?? undefined });
    return [`sample (temperature ${TRAINING_SAMPLE.temperature}, top-k ${TRAINING_SAMPLE.topK}):\n${DEFAULT_PROMPT}${this.describeTokens(out)}`];
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
