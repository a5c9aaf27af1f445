// Small text fixtures for CLI and data tests: a corpus of plain prose written by the test (one
// file of `bytes` bytes, deterministic), and a SentencePiece-style tokenizer.json (Unigram pieces
// with the Metaspace pre-tokenizer and decoder, whose decode drops the word marker of a sequence's
// first piece, as xlnet/t5 tokenizers do).

import { writeFileSync } from "node:fs";
import type { HfTokenizerJson } from "../../src/data/hf-tokenizer.js";
import { Rng } from "../../src/util/rng.js";

const WORDS = ["the", "congress", "shall", "make", "no", "law", "respecting", "an", "establishment", "of", "religion", "or", "prohibiting", "free", "exercise", "thereof"];

/** Deterministic prose of exactly `bytes` ASCII bytes (sentences of the words above). */
export function prose(bytes: number, seed = 1): string {
  const rng = new Rng(seed);
  let s = "";
  while (s.length < bytes) {
    const n = 4 + rng.nextInt(8);
    const words = Array.from({ length: n }, () => WORDS[rng.nextInt(WORDS.length)]);
    s += words.join(" ").replace(/^./, (c) => c.toUpperCase()) + ". ";
  }
  return s.slice(0, bytes);
}

/** A text file of `bytes` bytes of prose. */
export function writeProse(file: string, bytes: number, seed = 1): string {
  writeFileSync(file, prose(bytes, seed));
  return file;
}

/** Pieces of the SentencePiece-style tokenizer: ids 0-2 are <pad>, </s>, <unk>. */
export const SP_PIECES = ["<pad>", "</s>", "<unk>", "▁The", "▁Congress", "▁shall", "▁make", "▁no", "▁law", "▁", "s", "h", "a", "l", "T", "e", "C", "o", "n", "g", "r", "m", "k", "w"];

/** A SentencePiece-style tokenizer.json (Unigram + Metaspace) over SP_PIECES. */
export function sentencePieceTokenizer(): HfTokenizerJson {
  return {
    version: "1.0",
    added_tokens: ["<pad>", "</s>", "<unk>"].map((content, id) => ({ id, content, special: true })),
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    post_processor: null,
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 2, vocab: SP_PIECES.map((p) => [p, p.length > 2 ? -1 : -10]), byte_fallback: false },
  };
}
