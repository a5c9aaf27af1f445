/**
 * UTF-8 byte tokenizer.
 *
 * Contract (id layout, fixed):
 *   id 0        = PAD  (BYTE_PAD_ID)
 *   id 1        = EOS  (BYTE_EOS_ID)
 *   ids 2..257  = UTF-8 byte values 0..255, id = byte + BYTE_OFFSET (2)
 *   vocabSize   = 258  (BYTE_VOCAB_SIZE)
 * - encode(text) = UTF-8 bytes of text (U+FEFF / BOM preserved; lone surrogates become U+FFFD as per
 *   TextEncoder) shifted by BYTE_OFFSET. No special tokens are added.
 * - decode(ids) never throws: PAD/EOS are skipped, out-of-range or non-integer ids are skipped, and
 *   invalid UTF-8 sequences become U+FFFD (WHATWG TextDecoder, fatal: false).
 * - streamingDecoder() yields text as soon as complete UTF-8 characters are available; the
 *   concatenation of all push() results plus flush() equals decode(allIds).
 */

import type { StreamingDecoder, StreamingTokenizer } from "./tokenizer.js";

/** Padding id of the byte tokenizer. */
export const BYTE_PAD_ID = 0;
/** End-of-sequence id of the byte tokenizer. */
export const BYTE_EOS_ID = 1;
/** Number of special ids before the byte ids; byte b has id b + BYTE_OFFSET. */
export const BYTE_OFFSET = 2;
/** Number of distinct byte values. */
export const BYTE_COUNT = 256;
/** Vocabulary size: 2 specials + 256 bytes = 258. */
export const BYTE_VOCAB_SIZE = BYTE_OFFSET + BYTE_COUNT;

const encoder = new TextEncoder();

function newDecoder(): TextDecoder {
  // ignoreBOM: keep a leading U+FEFF so that decode(encode(s)) === s for every well-formed string.
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
}

/** Converts ids to raw bytes, skipping specials and anything that is not a byte id. */
function idsToBytes(ids: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(ids.length);
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = ids[i]! - BYTE_OFFSET;
    // Also rejects NaN and non-integers (b | 0) !== b.
    if (b >= 0 && b < BYTE_COUNT && (b | 0) === b) out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Streaming UTF-8 decoder over byte-tokenizer ids (see `ByteTokenizer.streamingDecoder`). */
export class ByteStreamingDecoder implements StreamingDecoder {
  private decoder = newDecoder();
  private readonly one = new Uint8Array(1);

  /** Adds one id; returns the characters completed by it ("" for specials / partial characters). */
  push(id: number): string {
    const b = id - BYTE_OFFSET;
    if (!(b >= 0 && b < BYTE_COUNT && (b | 0) === b)) return "";
    this.one[0] = b;
    return this.decoder.decode(this.one, { stream: true });
  }

  /** Adds several ids; returns the completed text. */
  pushAll(ids: ArrayLike<number>): string {
    return this.decoder.decode(idsToBytes(ids), { stream: true });
  }

  /** Emits pending bytes (an incomplete trailing character becomes U+FFFD) and resets the decoder. */
  flush(): string {
    const out = this.decoder.decode();
    this.decoder = newDecoder();
    return out;
  }
}

/** Tokenizer over raw UTF-8 bytes with PAD=0, EOS=1 and bytes at ids 2..257. */
export class ByteTokenizer implements StreamingTokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly padId = BYTE_PAD_ID;
  readonly eosId: number | null = BYTE_EOS_ID;
  readonly kind = "byte";
  readonly isByteLevel = true;
  /** Id of byte value 0. */
  readonly offset = BYTE_OFFSET;

  /** UTF-8 encodes `text` and shifts every byte by BYTE_OFFSET. */
  encode(text: string): number[] {
    const bytes = encoder.encode(text);
    const ids = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i]! + BYTE_OFFSET;
    return ids;
  }

  /** Like `encode` but returns an Int32Array (no intermediate JS array). */
  encodeToInt32(text: string): Int32Array {
    const bytes = encoder.encode(text);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i]! + BYTE_OFFSET;
    return ids;
  }

  /** Decodes ids to text; never throws (see file header for the rules). */
  decode(ids: ArrayLike<number>): string {
    return newDecoder().decode(idsToBytes(ids));
  }

  /** True for PAD and EOS. */
  isSpecial(id: number): boolean {
    return id === BYTE_PAD_ID || id === BYTE_EOS_ID;
  }

  /** Returns a fresh incremental decoder for streaming generation output. */
  streamingDecoder(): ByteStreamingDecoder {
    return new ByteStreamingDecoder();
  }
}
