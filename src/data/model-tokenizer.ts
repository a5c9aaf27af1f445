// The tokenizer of a text model: which one, and whether it fits the model.
//
// Contract (`modelTokenizer`):
// - The first of: `override` (--tokenizer), `fromTask` (the run's task.json), a tokenizer.json in
//   one of `folders` (the model folder, then its run folder), else the byte tokenizer. A named
//   tokenizer file that does not exist is a DataError naming it.
// - With `vocabSize` (the model's vocab_size) the tokenizer must have exactly that many ids: a
//   smaller one would leave ids the text cannot show, a larger one ids the model cannot read, and
//   a byte tokenizer on a model trained with another vocabulary prints mojibake. A mismatch is a
//   DataError naming both sizes and the file.

import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { DataError } from "./data-error.js";
import { HfTokenizer } from "./hf-tokenizer.js";
import type { Tokenizer } from "./tokenizer.js";

export const TOKENIZER_FILE = "tokenizer.json";

export interface ModelTokenizer {
  tokenizer: Tokenizer;
  /** The tokenizer.json used, or undefined for bytes. */
  file?: string;
}

export interface ModelTokenizerOptions {
  override?: string;
  fromTask?: string;
  folders: readonly string[];
  /** The model's vocab_size, or null to skip the check. */
  vocabSize: number | null;
}

function tokenizerFile(p: string, what: string): string {
  const file = existsSync(p) && statSync(p).isDirectory() ? path.join(p, TOKENIZER_FILE) : p;
  if (!existsSync(file)) throw new DataError(`${what} ${file} does not exist`);
  return file;
}

/** The model's tokenizer (see the file header). */
export function modelTokenizer(o: ModelTokenizerOptions): ModelTokenizer {
  let file: string | undefined;
  if (o.override !== undefined) file = tokenizerFile(o.override, "--tokenizer");
  else if (o.fromTask !== undefined) file = tokenizerFile(o.fromTask, "the run's tokenizer");
  else file = o.folders.map((d) => path.join(d, TOKENIZER_FILE)).find((f) => existsSync(f));
  let tokenizer: Tokenizer;
  try {
    tokenizer = file !== undefined ? HfTokenizer.fromFile(file) : new ByteTokenizer();
  } catch (e) {
    throw new DataError(`cannot use tokenizer ${file}: ${(e as Error).message}`);
  }
  if (o.vocabSize !== null && tokenizer.vocabSize !== o.vocabSize) {
    if (file === undefined) {
      throw new DataError(
        `the model has ${o.vocabSize} token ids (vocab_size) and no tokenizer.json beside it; the byte tokenizer has ${tokenizer.vocabSize}: pass --tokenizer <tokenizer.json> with the tokenizer it was trained with`,
      );
    }
    throw new DataError(`tokenizer ${file} has ${tokenizer.vocabSize} token ids, but the model's vocab_size is ${o.vocabSize}: they do not belong together; pass --tokenizer with the model's own tokenizer.json`);
  }
  return { tokenizer, ...(file !== undefined ? { file } : {}) };
}
