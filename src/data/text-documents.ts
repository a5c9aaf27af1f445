/**
 * Documents in memory, pure (no files; browsers use it as it is): the corpus type, the documents of
 * one file's text, the deterministic split by document, and tokenization. Reading corpora from disk
 * (built-in corpora, files, folders) is text-corpus.ts, which re-exports all of this.
 *
 * Contract:
 * - `decodeText(bytes)`: UTF-8 (a leading BOM removed); bytes that are not valid UTF-8 are read as
 *   Latin-1 (windows-1252) instead, and `latin1` says so.
 * - `fileDocuments(text, fileName)`: a .jsonl file's text is one document per line, the line's
 *   `text` field (blank lines skipped, any other line that is not a JSON object with a string `text`
 *   is an error naming the file and line); any other text is ONE document, unless it contains form
 *   feeds ("\f") or lines that are exactly "<|endoftext|>": then it is split at those separators,
 *   each part trimmed of surrounding whitespace and empty parts dropped. Whitespace-only documents
 *   are dropped.
 * - `corpusFromText(name, text)`: the corpus of one file's text (a pasted text, a dropped file),
 *   its documents as `fileDocuments` gives them, sources `name` or `name#i`.
 * - `splitByDocument` assigns whole documents to train/validation with a seeded shuffle: same corpus
 *   + same options = same split; splits are disjoint, cover every document and keep corpus order;
 *   with >= 2 documents and validationFraction > 0 each split gets at least one document.
 * - `tokenizeDocuments` concatenates the token ids of all documents into one Int32Array, appending
 *   the tokenizer's EOS after EVERY document (including the last) when `appendEos` is true and the
 *   tokenizer has an EOS id.
 */

import { DataError } from "./data-error.js";
import type { Tokenizer } from "./tokenizer.js";
import { Rng } from "../util/rng.js";
import { assertIntegerInRange, formatValue } from "../util/integer-range.js";

/** A named list of documents. */
export interface TextCorpus {
  /** Corpus name, e.g. "sotu", a file/directory name, or "<name>:train". */
  readonly name: string;
  /** Document texts. */
  readonly documents: readonly string[];
  /** Per-document origin (same length as documents), e.g. "1790 George Washington" or a relative path. */
  readonly sources: readonly string[];
  /** What a person should know about how the files were read (e.g. a file decoded as Latin-1). */
  readonly notes?: readonly string[];
}

/** Options of `splitByDocument`. */
export interface SplitOptions {
  /** Fraction of documents used for validation, in [0, 1). Default 0.05. */
  validationFraction?: number;
  /** Shuffle seed (safe integer). Default 0. */
  seed?: number;
}

/** Result of `splitByDocument`. */
export interface CorpusSplit {
  readonly train: TextCorpus;
  readonly validation: TextCorpus;
  /** Indices (into the original corpus, ascending) of the training documents. */
  readonly trainIndices: readonly number[];
  /** Indices (into the original corpus, ascending) of the validation documents. */
  readonly validationIndices: readonly number[];
}

/** Options of `tokenizeDocuments`. */
export interface TokenizeDocumentsOptions {
  /** Append the tokenizer's EOS id after every document (if it has one). Default true. */
  appendEos?: boolean;
}

/** Line that separates documents inside a single text file. */
export const DOCUMENT_SEPARATOR_LINE = "<|endoftext|>";
/** Extension of files holding one JSON document per line. */
export const JSONL_EXTENSION = ".jsonl";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1"); // WHATWG: windows-1252, a superset of ISO-8859-1's printable range

/** Text of a file's bytes: UTF-8 (BOM removed), or Latin-1 when they are not valid UTF-8 (`latin1`). */
export function decodeText(bytes: Uint8Array): { text: string; latin1: boolean } {
  let text: string;
  let latin1Used = false;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = latin1.decode(bytes);
    latin1Used = true;
  }
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, latin1: latin1Used };
}

/** The `text` field of every non-blank line of a .jsonl file. */
export function parseJsonlDocuments(text: string, label: string): string[] {
  const docs: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new DataError(`${label}:${i + 1}: not a JSON line (${(e as Error).message}); a .jsonl corpus holds one JSON object with a "text" field per line`);
    }
    const t = typeof row === "object" && row !== null && !Array.isArray(row) ? (row as Record<string, unknown>).text : undefined;
    if (typeof t !== "string") throw new DataError(`${label}:${i + 1}: the line has no string "text" field; a .jsonl corpus holds one JSON object with a "text" field per line`);
    if (t.trim() !== "") docs.push(t);
  }
  return docs;
}

/** The documents of one file's text (see the file header); `splitSeparators` false keeps a non-.jsonl text whole. */
export function fileDocuments(text: string, fileName: string, splitSeparators = true): string[] {
  if (fileName.toLowerCase().endsWith(JSONL_EXTENSION)) return parseJsonlDocuments(text, fileName);
  if (splitSeparators) return splitFileText(text);
  return text.trim() === "" ? [] : [text];
}

/**
 * Splits the contents of one text file into documents (see file header). Exported for reuse/tests.
 */
export function splitFileText(text: string): string[] {
  const separator = /\f|^<\|endoftext\|>\r?$/m;
  if (!separator.test(text)) return text.trim() === "" ? [] : [text];
  return text
    .split(/\f|^<\|endoftext\|>\r?$/gm)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** The corpus of one file's text (see the file header); it may hold no documents (the caller decides whether that is an error). */
export function corpusFromText(name: string, text: string): TextCorpus {
  const documents = fileDocuments(text, name);
  return { name, documents, sources: documents.map((_, i) => (documents.length === 1 ? name : `${name}#${i}`)) };
}

/**
 * Deterministic train/validation split by whole documents (seeded Fisher–Yates shuffle of the
 * document indices; the first round(n * validationFraction) — clamped to [1, n-1] when n >= 2 and
 * validationFraction > 0 — go to validation). Both splits keep the original document order.
 */
export function splitByDocument(corpus: TextCorpus, options: SplitOptions = {}): CorpusSplit {
  const validationFraction = options.validationFraction ?? 0.05;
  const seed = options.seed ?? 0;
  if (typeof validationFraction !== "number" || !(validationFraction >= 0 && validationFraction < 1)) {
    throw new RangeError(`validationFraction must be a number in [0, 1), got ${formatValue(validationFraction)}`);
  }
  assertIntegerInRange("seed", seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const n = corpus.documents.length;
  if (n === 0) throw new RangeError(`corpus ${JSON.stringify(corpus.name)} has 0 documents; splitByDocument needs at least 1`);
  let nVal = Math.round(n * validationFraction);
  if (validationFraction > 0 && n >= 2) nVal = Math.min(n - 1, Math.max(1, nVal));
  if (n < 2) nVal = 0;
  const perm = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const validationIndices = perm.slice(0, nVal).sort((a, b) => a - b);
  const trainIndices = perm.slice(nVal).sort((a, b) => a - b);
  const sources = corpus.sources ?? corpus.documents.map((_, i) => `#${i}`);
  const pick = (idx: number[], suffix: string): TextCorpus => ({
    name: `${corpus.name}:${suffix}`,
    documents: idx.map((i) => corpus.documents[i]!),
    sources: idx.map((i) => sources[i] ?? `#${i}`),
  });
  return { train: pick(trainIndices, "train"), validation: pick(validationIndices, "validation"), trainIndices, validationIndices };
}

/**
 * Tokenizes documents and concatenates them into one token stream.
 * @param docs document texts or a corpus
 * @returns Int32Array of ids; with appendEos (default) and a tokenizer EOS: doc0 EOS doc1 EOS ... docN EOS
 * @throws RangeError if the tokenizer produces an id outside [0, vocabSize) (names the document)
 */
export function tokenizeDocuments(
  docs: readonly string[] | TextCorpus,
  tokenizer: Tokenizer,
  options: TokenizeDocumentsOptions = {},
): Int32Array {
  const list: readonly string[] = Array.isArray(docs) ? (docs as readonly string[]) : (docs as TextCorpus).documents;
  const eos = (options.appendEos ?? true) ? tokenizer.eosId : null;
  const V = tokenizer.vocabSize;
  // Growable buffer: avoids holding every document's number[] at once (sotu is ~10.8M tokens).
  let out = new Int32Array(1 << 16);
  let pos = 0;
  const reserve = (extra: number): void => {
    if (pos + extra <= out.length) return;
    let cap = out.length;
    while (cap < pos + extra) cap *= 2;
    const grown = new Int32Array(cap);
    grown.set(out.subarray(0, pos));
    out = grown;
  };
  for (let d = 0; d < list.length; d++) {
    const text = list[d];
    if (typeof text !== "string") throw new TypeError(`docs[${d}] must be a string, got ${typeof text}`);
    const ids = tokenizer.encode(text);
    reserve(ids.length + 1);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < V)) {
        throw new RangeError(`tokenizer ${tokenizer.kind} produced id ${id} at token ${i} of document ${d}; ids must be integers in [0, ${V - 1}]`);
      }
      out[pos++] = id;
    }
    if (eos !== null) out[pos++] = eos;
  }
  return out.slice(0, pos);
}
