/**
 * Tokenizer contract shared by the data pipeline, training and generation.
 *
 * Contract:
 * - Token ids are integers in [0, vocabSize).
 * - `padId` is always a valid id (used to fill padded positions); `eosId` is null when the tokenizer
 *   has no end-of-sequence token (then document boundaries are not marked in token streams).
 * - `decode` never throws: ids it cannot map (out of range, non-integer) are skipped, special tokens
 *   are not rendered.
 * - `isByteLevel` is true when every string can be encoded without an unknown token because the
 *   vocabulary covers all 256 byte values (byte tokenizer, byte-level BPE, BPE with byte fallback).
 *
 * Also provides `createStreamingDecoder`, a generic incremental decoder for generation output.
 */

/** Text tokenizer used by the model: maps text to ids in [0, vocabSize) and back. */
export interface Tokenizer {
  /** Number of token ids; valid ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  /** Id used for padding. */
  readonly padId: number;
  /** End-of-sequence id, or null if the tokenizer has none. */
  readonly eosId: number | null;
  /** Encodes text to token ids (no special tokens added unless the implementation documents it). */
  encode(text: string): number[];
  /** Decodes ids to text; never throws, skips special and unknown ids. */
  decode(ids: ArrayLike<number>): string;
  /** Short identifier of the implementation, e.g. "byte" or "hf:BPE". */
  readonly kind: string;
  /** True if any text is encodable without unknown tokens (vocabulary covers all bytes). */
  readonly isByteLevel: boolean;
}

/** Incremental decoder for streaming generation output. */
export interface StreamingDecoder {
  /** Adds one token id; returns the newly completed text (possibly ""). */
  push(id: number): string;
  /** Returns any text still held back (incomplete characters become U+FFFD) and resets. */
  flush(): string;
}

/** A tokenizer that provides its own streaming decoder. */
export interface StreamingTokenizer extends Tokenizer {
  streamingDecoder(): StreamingDecoder;
}

function hasStreamingDecoder(t: Tokenizer): t is StreamingTokenizer {
  return typeof (t as Partial<StreamingTokenizer>).streamingDecoder === "function";
}

/**
 * Returns a streaming decoder for any tokenizer: the tokenizer's own `streamingDecoder()` if it has
 * one, otherwise a generic one (the prefix/read-offset scheme used by HF text-generation-inference):
 * it re-decodes the ids since the last emitted token and only emits text once it grows and no longer
 * ends with U+FFFD (i.e. a character spread over several tokens is complete). For tokenizers whose
 * decoding is prefix-stable (byte-level, most BPE), the concatenated output of all `push` calls plus
 * `flush()` equals `tokenizer.decode(allIds)`.
 *
 * `context`: ids that come before the streamed ones (a prompt); their text is not emitted, but the
 * generic decoder decodes the first pieces after them (SentencePiece drops a word's leading space
 * at the start of a decode, so a continuation decoded alone would glue onto the prompt). Then the
 * output is decode(context + ids) minus decode(context). A tokenizer's own decoder (byte-level,
 * where context changes nothing) ignores it.
 */
export function createStreamingDecoder(tokenizer: Tokenizer, context: ArrayLike<number> = []): StreamingDecoder {
  if (hasStreamingDecoder(tokenizer)) return tokenizer.streamingDecoder();
  let ids: number[] = Array.from(context);
  let prefixOffset = 0;
  let readOffset = ids.length;
  return {
    push(id: number): string {
      ids.push(id);
      const prefixText = tokenizer.decode(ids.slice(prefixOffset, readOffset));
      const newText = tokenizer.decode(ids.slice(prefixOffset));
      if (newText.length <= prefixText.length || newText.endsWith("\uFFFD")) return "";
      const out = newText.slice(prefixText.length);
      prefixOffset = readOffset;
      readOffset = ids.length;
      if (prefixOffset > 1024) {
        ids = ids.slice(prefixOffset);
        readOffset -= prefixOffset;
        prefixOffset = 0;
      }
      return out;
    },
    flush(): string {
      const prefixText = tokenizer.decode(ids.slice(prefixOffset, readOffset));
      const newText = tokenizer.decode(ids.slice(prefixOffset));
      ids = [];
      prefixOffset = 0;
      readOffset = 0;
      return newText.length > prefixText.length ? newText.slice(prefixText.length) : "";
    },
  };
}
