/**
 * Hugging Face tokenizer (tokenizer.json) adapter over `@huggingface/tokenizers` (pure JS).
 *
 * Contract:
 * - Built from a parsed tokenizer.json (+ optional tokenizer_config.json), on any platform; from
 *   files on disk with `HfTokenizer.fromFile` of hf-tokenizer.ts (Node).
 * - encode(text) does NOT add special tokens (BOS/EOS/CLS...) by default, because the data pipeline
 *   inserts EOS itself between documents; pass `{ addSpecialTokens: true }` to change that.
 * - decode(ids) never throws: ids outside [0, vocabSize) or without a vocabulary entry are skipped,
 *   special tokens are skipped, and tokenization-space clean-up (" ." -> ".") is OFF unless the
 *   tokenizer_config.json sets `clean_up_tokenization_spaces: true` (keeps decode(encode(s)) === s
 *   for lossless tokenizers).
 * - padId: config `pad_token`, else tokenizer.json `padding.pad_id`, else a well-known pad token
 *   ("<pad>", "[PAD]", "<|pad|>"), else 0. eosId: config `eos_token`, else a well-known EOS token
 *   ("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>"), else null.
 * - vocabSize = 1 + the largest id of the model vocabulary or added tokens.
 * - isByteLevel: true for ByteLevel pre-tokenizer/decoder or a BPE model with `byte_fallback`.
 */

import { Tokenizer as HfCoreTokenizer } from "@huggingface/tokenizers";
import type { Tokenizer } from "./tokenizer.js";

/** Parsed tokenizer.json (only the fields this adapter inspects are typed). */
export interface HfTokenizerJson {
  model: { type: string; byte_fallback?: boolean; [key: string]: unknown };
  added_tokens?: Array<{ id: number; content: string; special?: boolean; [key: string]: unknown }>;
  pre_tokenizer?: unknown;
  decoder?: unknown;
  padding?: { pad_id?: number; pad_token?: string; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/** Parsed tokenizer_config.json (special tokens may be strings or `{content}` objects). */
export interface HfTokenizerConfig {
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** Options of the HfTokenizer adapter. */
export interface HfTokenizerOptions {
  /** Let the tokenizer's post-processor add its special tokens on encode (default false). */
  addSpecialTokens?: boolean;
}

const PAD_CANDIDATES = ["<pad>", "[PAD]", "<|pad|>", "<|padding|>"];
const EOS_CANDIDATES = ["<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>"];

function tokenContent(t: unknown): string | null {
  if (typeof t === "string") return t;
  if (typeof t === "object" && t !== null && typeof (t as { content?: unknown }).content === "string") {
    return (t as { content: string }).content;
  }
  return null;
}

function hasType(component: unknown, type: string): boolean {
  if (typeof component !== "object" || component === null) return false;
  const c = component as Record<string, unknown>;
  if (c.type === type) return true;
  for (const key of ["pretokenizers", "decoders"]) {
    const list = c[key];
    if (Array.isArray(list) && list.some((x) => hasType(x, type))) return true;
  }
  return false;
}

/** `Tokenizer` backed by a Hugging Face tokenizer.json. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number | null;
  readonly kind: string;
  readonly isByteLevel: boolean;
  /** The wrapped `@huggingface/tokenizers` instance. */
  readonly inner: HfCoreTokenizer;
  private readonly addSpecialTokens: boolean;
  private readonly cleanUpSpaces: boolean;

  /**
   * @param tokenizerJson parsed tokenizer.json (must contain a `model` object)
   * @param config parsed tokenizer_config.json, or {} / undefined
   */
  constructor(tokenizerJson: HfTokenizerJson, config: HfTokenizerConfig = {}, options: HfTokenizerOptions = {}) {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null || Array.isArray(tokenizerJson)) {
      throw new TypeError(`tokenizerJson must be a parsed tokenizer.json object, got ${typeof tokenizerJson}`);
    }
    const model = tokenizerJson.model;
    if (typeof model !== "object" || model === null || typeof model.type !== "string") {
      throw new TypeError(
        `tokenizerJson.model must be an object with a string "type" (BPE | WordPiece | Unigram), got ${JSON.stringify(model)?.slice(0, 100)}`,
      );
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new TypeError(`config must be a parsed tokenizer_config.json object, got ${typeof config}`);
    }
    // The library iterates `added_tokens` unconditionally and requires these keys to exist.
    const json = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...tokenizerJson,
      added_tokens: tokenizerJson.added_tokens ?? [],
    };
    this.inner = new HfCoreTokenizer(json, config);
    this.addSpecialTokens = options.addSpecialTokens ?? false;
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;

    let maxId = -1;
    for (const id of this.inner.get_vocab(true).values()) if (id > maxId) maxId = id;
    for (const t of json.added_tokens) if (t.id > maxId) maxId = t.id;
    if (maxId < 0) throw new RangeError("tokenizerJson.model.vocab is empty: the vocabulary must have at least 1 token");
    this.vocabSize = maxId + 1;

    const idOf = (token: string | null): number | null => {
      if (token === null) return null;
      const id = this.inner.token_to_id(token);
      return id === undefined ? null : id;
    };
    const firstKnown = (candidates: string[]): number | null => {
      for (const c of candidates) {
        const id = idOf(c);
        if (id !== null) return id;
      }
      return null;
    };
    const paddingId = tokenizerJson.padding?.pad_id;
    this.padId =
      idOf(tokenContent(config.pad_token)) ??
      (Number.isInteger(paddingId) && (paddingId as number) >= 0 && (paddingId as number) < this.vocabSize ? (paddingId as number) : null) ??
      firstKnown(PAD_CANDIDATES) ??
      0;
    this.eosId = idOf(tokenContent(config.eos_token)) ?? firstKnown(EOS_CANDIDATES);
    this.isByteLevel =
      hasType(tokenizerJson.pre_tokenizer, "ByteLevel") || hasType(tokenizerJson.decoder, "ByteLevel") || model.byte_fallback === true;
    this.kind = `hf:${model.type}`;
  }

  /** Same as the constructor (parsed tokenizer.json and optional tokenizer_config.json). */
  static fromObjects(tokenizerJson: HfTokenizerJson, config?: HfTokenizerConfig, options?: HfTokenizerOptions): HfTokenizer {
    return new HfTokenizer(tokenizerJson, config, options);
  }

  /** Encodes text to ids (special tokens only if `addSpecialTokens` was set). */
  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: this.addSpecialTokens }).ids;
  }

  /** Decodes ids to text; never throws, skips special tokens and unknown ids. */
  decode(ids: ArrayLike<number>): string {
    const valid: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.inner.id_to_token(id) !== undefined) valid.push(id);
    }
    if (valid.length === 0) return "";
    try {
      return this.inner.decode(valid, { skip_special_tokens: true, clean_up_tokenization_spaces: this.cleanUpSpaces });
    } catch {
      // Decoders of some models can fail on unusual id sequences; decoding must never throw.
      return "";
    }
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }
}
