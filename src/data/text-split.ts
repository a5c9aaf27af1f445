// How a text corpus becomes a training and a validation token stream, decided once per run and
// recorded in task.json (`split`), so that `eval` later scores the same held-out text.
//
// Contract (`planTextSplit`, for a new run with windows of seqLen + 1 tokens and V validation
// windows wanted):
// - V = 0: no validation; every document trains ({by: "none"}).
// - By document ({by: "document"}, the default when it works): `splitByDocument` holds out ~5% of
//   the documents (seeded), if those documents hold at least min(V, MIN_DOCUMENT_SPLIT_WINDOWS)
//   windows (whole held-out documents are the better test; fewer windows than V is only noisier).
// - Inside the documents ({by: "tail", validationTokens}) otherwise, as nanoGPT does with one
//   input.txt: the documents are tokenized in corpus order and the last V windows' worth of
//   tokens, at most TAIL_FRACTION of them and at least one window, are validation, the rest
//   training. A single file, a few files or a short .jsonl end up here.
// - A corpus too small for one training and one validation window (or one training window when
//   V = 0) is a DataError that says how many bytes and tokens it has and how many it needs.
// `applyTextSplit` rebuilds the streams of a recorded split; the same corpus, tokenizer and seed
// give the same streams. `describe` is the line the run prints about it.

import { DataError } from "./data-error.js";
import { splitByDocument, tokenizeDocuments, type TextCorpus } from "./text-documents.js";
import type { Tokenizer } from "./tokenizer.js";

/** How a run's text was split (task.json `split`). */
export type TextSplit = { by: "document" } | { by: "tail"; validationTokens: number } | { by: "none" };

/** Share of the documents held out by a document split (as splitByDocument's default). */
export const VALIDATION_FRACTION = 0.05;
/** Largest share of the tokens held out by a split inside the documents (nanoGPT holds out 10% of input.txt). */
export const TAIL_FRACTION = 0.1;
/** A document split needs held-out documents with at least this many windows (or V, if fewer are wanted). */
export const MIN_DOCUMENT_SPLIT_WINDOWS = 16;

export interface TextStreams {
  train: Int32Array;
  validation: Int32Array;
  split: TextSplit;
  /** One line for the run's output: how the corpus was split. */
  describe: string;
}

export interface PlanOptions {
  /** Tokens the model sees: windows are seqLen + 1 tokens. */
  seqLen: number;
  /** Validation windows wanted, integer >= 0 (0 = no validation). */
  validationWindows: number;
  /** Seed of the document split. */
  seed: number;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** UTF-8 bytes of a corpus (for messages). */
function corpusBytes(corpus: TextCorpus): number {
  const enc = new TextEncoder();
  let n = 0;
  for (const d of corpus.documents) n += enc.encode(d).length;
  return n;
}

function tooSmall(corpus: TextCorpus, tokens: number, needTokens: number, what: string): DataError {
  const bytes = corpusBytes(corpus);
  const bytesPerToken = tokens > 0 ? bytes / tokens : 1;
  return new DataError(
    `corpus ${JSON.stringify(corpus.name)} is too small: it has ${fmt(bytes)} bytes (${fmt(tokens)} tokens), but ${what} needs ${fmt(needTokens)} tokens ` +
      `(about ${fmt(Math.ceil(needTokens * bytesPerToken))} bytes); use more text, a shorter --context, or --eval-windows 0 for no validation`,
  );
}

/** Decide the split of a new run (see the file header). */
export function planTextSplit(corpus: TextCorpus, tokenizer: Tokenizer, o: PlanOptions): TextStreams {
  const windowLen = o.seqLen + 1;
  if (o.validationWindows === 0) {
    const s = applyTextSplit(corpus, tokenizer, { by: "none" }, o.seed);
    if (s.train.length < windowLen) throw tooSmall(corpus, s.train.length, windowLen, `one training window (context ${fmt(o.seqLen)} + 1)`);
    return s;
  }
  if (corpus.documents.length >= 2) {
    const s = applyTextSplit(corpus, tokenizer, { by: "document" }, o.seed);
    if (s.validation.length >= Math.min(o.validationWindows, MIN_DOCUMENT_SPLIT_WINDOWS) * windowLen && s.train.length >= windowLen) return s;
  }
  const all = tokenizeDocuments(corpus, tokenizer);
  if (all.length < 2 * windowLen) throw tooSmall(corpus, all.length, 2 * windowLen, `one training and one validation window (context ${fmt(o.seqLen)} + 1 each)`);
  const validationTokens = Math.max(windowLen, Math.min(o.validationWindows * windowLen, Math.floor(all.length * TAIL_FRACTION)));
  return applyTextSplit(corpus, tokenizer, { by: "tail", validationTokens }, o.seed);
}

/** The streams of a recorded split. */
export function applyTextSplit(corpus: TextCorpus, tokenizer: Tokenizer, split: TextSplit, seed: number): TextStreams {
  const docs = `${fmt(corpus.documents.length)} document${corpus.documents.length === 1 ? "" : "s"}`;
  if (split.by === "none") {
    const train = tokenizeDocuments(corpus, tokenizer);
    return { train, validation: new Int32Array(0), split, describe: `${corpus.name}: ${docs}, ${fmt(train.length)} tokens, all for training (no validation)` };
  }
  if (split.by === "document") {
    const s = splitByDocument(corpus, { seed, validationFraction: VALIDATION_FRACTION });
    const train = tokenizeDocuments(s.train, tokenizer);
    const validation = tokenizeDocuments(s.validation, tokenizer);
    return {
      train,
      validation,
      split,
      describe: `${corpus.name}: split by document: ${fmt(s.train.documents.length)} for training (${fmt(train.length)} tokens), ${fmt(s.validation.documents.length)} for validation (${fmt(validation.length)} tokens)`,
    };
  }
  const all = tokenizeDocuments(corpus, tokenizer);
  const v = split.validationTokens;
  if (!Number.isInteger(v) || v < 1 || v >= all.length) {
    throw new DataError(`split: validationTokens = ${String(v)} must be an integer in [1, ${all.length - 1}] for corpus ${JSON.stringify(corpus.name)} of ${fmt(all.length)} tokens (was the corpus changed?)`);
  }
  const cut = all.length - v;
  return {
    train: all.subarray(0, cut),
    validation: all.subarray(cut),
    split,
    describe:
      `${corpus.name}: ${docs}, too few to hold out whole documents, so split inside them: the first ${fmt(cut)} tokens for training, ` +
      `the last ${fmt(v)} (${((100 * v) / all.length).toFixed(1)}%) for validation`,
  };
}
