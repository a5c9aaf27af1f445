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

/** Context tokens a streaming decoder re-decodes with the new ones (enough for any decoder's look-behind, as in HF text-generation-inference). */
const STREAM_CONTEXT_TOKENS = 8;

/**
 * Returns a streaming decoder for any tokenizer: the tokenizer's own `streamingDecoder()` if it has
 * one, otherwise a generic one (the prefix/read-offset scheme used by HF text-generation-inference):
 * it re-decodes the ids since the last emitted token and only emits text once it grows and no longer
 * ends with U+FFFD (i.e. a character spread over several tokens is complete). For tokenizers whose
 * decoding is prefix-stable (byte-level, most BPE), the concatenated output of all `push` calls plus
 * `flush()` equals `tokenizer.decode(allIds)`.
 *
 * `context` (e.g. the prompt, already shown) is decoded with the new tokens but not emitted: the
 * output is then what `decode(context + ids)` adds to `decode(context)`. Without it, decoders that
 * drop the word marker of a sequence's first token (SentencePiece's "▁The" -> "The") would glue
 * the first generated word to the prompt. (The byte tokenizer's own decoder needs no context: its
 * output does not depend on earlier bytes once the prompt's characters are complete.)
 */
export function createStreamingDecoder(tokenizer: Tokenizer, context: ArrayLike<number> = []): StreamingDecoder {
  if (hasStreamingDecoder(tokenizer)) return tokenizer.streamingDecoder();
  const start = Math.max(0, context.length - STREAM_CONTEXT_TOKENS);
  let ids: number[] = Array.from({ length: context.length - start }, (_, i) => context[start + i]!);
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

/** The text `ids` add after `context`: decode(context + ids) without decode(context) (see createStreamingDecoder). */
export function decodeContinuation(tokenizer: Tokenizer, context: ArrayLike<number>, ids: ArrayLike<number>): string {
  const d = createStreamingDecoder(tokenizer, context);
  let out = "";
  for (let i = 0; i < ids.length; i++) out += d.push(ids[i]!);
  return out + d.flush();
}
