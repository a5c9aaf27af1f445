// The text task: a corpus (the built-in SOTU addresses, a file or a folder) tokenized with the
// byte tokenizer or a tokenizer.json, split by document into train and validation streams.
// Metric: bits per byte (bits per token × tokens / UTF-8 bytes of the scored tokens).

import { ByteTokenizer } from "../data/byte-tokenizer.js";
import { HfTokenizer } from "../data/hf-tokenizer.js";
import { loadTextCorpus, splitByDocument, tokenizeDocuments } from "../data/text-corpus.js";
import type { Tokenizer } from "../data/tokenizer.js";
import type { BatchSource } from "../train/batch-source.js";
import { streamTrainSource, streamValidation } from "./token-stream.js";
import type { ValidationSet } from "../train/trainer.js";
import type { Task, TaskSpec } from "./task.js";

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

  metric(e: { bitsPerByte: number }): number {
    return e.bitsPerByte;
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
