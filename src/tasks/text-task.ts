// The text task in Node: text-task-core.ts's task (tokenizing, the split, validation, evaluation,
// sampling) over a corpus read from disk by src/data/text-corpus.ts `loadTextCorpus` (the built-in
// SOTU addresses, a .txt/.jsonl file or a folder), tokenized with the byte tokenizer or the spec's
// tokenizer.json file.

import { ByteTokenizer } from "../data/byte-tokenizer.js";
import { HfTokenizer } from "../data/hf-tokenizer.js";
import { loadTextCorpus, type TextCorpus } from "../data/text-corpus.js";
import type { Tokenizer } from "../data/tokenizer.js";
import type { TaskSpec } from "./task.js";
import { TextTaskCore } from "./text-task-core.js";

export class TextTask extends TextTaskCore {
  /** `tokenizer` overrides the spec's tokenizer file (e.g. the model folder's own tokenizer.json, already loaded). */
  constructor(spec: TaskSpec, tokenizer?: Tokenizer) {
    super(spec, tokenizer ?? (spec.tokenizer ? HfTokenizer.fromFile(spec.tokenizer) : new ByteTokenizer()));
  }

  protected override loadCorpus(): TextCorpus {
    return loadTextCorpus(this.spec.data);
  }
}
