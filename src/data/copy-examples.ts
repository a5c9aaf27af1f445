/**
 * The examples of the synthetic copy task of the Perceiver AR paper (`random_mirrored`): L uniformly
 * random symbols, then the same L symbols reversed, then EOS. (The task around them, with its
 * validation, evaluation and sampling, is src/tasks/copy-task.ts.)
 *
 * Token layout (same ids as the byte tokenizer): PAD = 0, EOS = 1, symbols 0..255 -> ids 2..257,
 * vocabSize = 258.
 *
 * Example layout for context length C (integer >= 2); the example has exactly C + 1 tokens:
 *   L = floor(C / 2), P = C - 2L (0 if C is even, 1 if odd)
 *   tokens = [PAD] * P ++ x[0..L) ++ reverse(x) ++ [EOS]
 *   index:   0..P-1      P..P+L-1    P+L..P+2L-1   C
 * The single PAD (odd C only) is put FIRST so that EOS is always the last token.
 * inputs = tokens[0..C), labels = tokens[1..C] (next-token targets).
 * Scored ("mirrored half") label positions: j in [P+L-1, P+2L-1), i.e. exactly the positions whose
 * label is one of the L reversed symbols (the EOS target and the random first half are not scored).
 * `CopyTaskDataset` (seeded, infinite) replaces unscored labels by IGNORE_INDEX (-100) when
 * `scoreOnlyMirrored` is true (default).
 */

import { BYTE_EOS_ID, BYTE_OFFSET, BYTE_PAD_ID, BYTE_VOCAB_SIZE } from "./byte-tokenizer.js";
import { Rng, type RngState } from "../util/rng.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { assertIntegerInRange, formatValue } from "../util/integer-range.js";

/** Padding id. */
export const COPY_PAD_ID = BYTE_PAD_ID;
/** End-of-sequence id (last token of every example). */
export const COPY_EOS_ID = BYTE_EOS_ID;
/** Id of symbol 0; symbol s has id s + COPY_SYMBOL_OFFSET. */
export const COPY_SYMBOL_OFFSET = BYTE_OFFSET;
/** Alphabet size of the random symbols. */
export const COPY_NUM_SYMBOLS = 256;
/** Vocabulary size (258). */
export const COPY_VOCAB_SIZE = BYTE_VOCAB_SIZE;
/** Smallest supported context length (L = 1). */
export const COPY_MIN_CONTEXT_LENGTH = 2;

/** One copy-task example. */
export interface CopyExample {
  /** All contextLength + 1 tokens. */
  readonly tokens: Int32Array;
  /** tokens[0..contextLength) (a subarray view of tokens). */
  readonly inputs: Int32Array;
  /** tokens[1..contextLength] (a subarray view of tokens, unmasked). */
  readonly labels: Int32Array;
  /** 1 at label positions whose target is in the mirrored half, else 0 (length contextLength). */
  readonly scoredMask: Uint8Array;
  /** L: number of random symbols (= number of mirrored symbols). */
  readonly halfLength: number;
  /** P: number of leading PAD tokens (0 or 1). */
  readonly padLength: number;
  /** Token index where the mirrored half starts (P + L). */
  readonly mirrorStart: number;
}

/** Layout numbers for a context length (see file header). */
export function copyLayout(contextLength: number): { halfLength: number; padLength: number; mirrorStart: number; eosIndex: number } {
  assertIntegerInRange("contextLength", contextLength, COPY_MIN_CONTEXT_LENGTH, 2 ** 30);
  const halfLength = Math.floor(contextLength / 2);
  const padLength = contextLength - 2 * halfLength;
  return { halfLength, padLength, mirrorStart: padLength + halfLength, eosIndex: contextLength };
}

/**
 * Makes one example with total length contextLength + 1 (see file header for the layout).
 * @param rng source of the random symbols (advanced by L draws)
 * @param contextLength integer >= 2
 */
export function makeCopyExample(rng: Rng, contextLength: number): CopyExample {
  const { halfLength: L, padLength: P, mirrorStart, eosIndex } = copyLayout(contextLength);
  const tokens = new Int32Array(contextLength + 1);
  for (let i = 0; i < P; i++) tokens[i] = COPY_PAD_ID;
  for (let i = 0; i < L; i++) {
    const id = rng.nextInt(COPY_NUM_SYMBOLS) + COPY_SYMBOL_OFFSET;
    tokens[P + i] = id;
    tokens[P + 2 * L - 1 - i] = id;
  }
  tokens[eosIndex] = COPY_EOS_ID;
  const scoredMask = new Uint8Array(contextLength);
  scoredMask.fill(1, mirrorStart - 1, mirrorStart - 1 + L);
  return {
    tokens,
    inputs: tokens.subarray(0, contextLength),
    labels: tokens.subarray(1),
    scoredMask,
    halfLength: L,
    padLength: P,
    mirrorStart,
  };
}

/** Options of `CopyTaskDataset`. */
export interface CopyTaskOptions {
  /** Model context length C (examples have C + 1 tokens). Integer >= 2. */
  contextLength: number;
  /** RNG seed (safe integer). Default 0. */
  seed?: number;
  /** Set labels outside the mirrored half to IGNORE_INDEX (-100). Default true. */
  scoreOnlyMirrored?: boolean;
}

/** A batch of copy-task examples, row-major (batch, contextLength). */
export interface CopyBatch {
  readonly inputs: Int32Array;
  /** Next-token labels; IGNORE_INDEX outside the mirrored half if scoreOnlyMirrored. */
  readonly labels: Int32Array;
  /** 1 where the label is a mirrored-half symbol. */
  readonly scoredMask: Uint8Array;
  readonly batch: number;
  readonly seqLen: number;
}

/** JSON-serialisable dataset state for checkpoint resume. */
export interface CopyTaskState {
  readonly rng: RngState;
}

/** Infinite, seeded stream of copy-task batches. */
export class CopyTaskDataset {
  readonly contextLength: number;
  readonly scoreOnlyMirrored: boolean;
  readonly vocabSize = COPY_VOCAB_SIZE;
  private readonly rng: Rng;

  constructor(options: CopyTaskOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object {contextLength, seed?, scoreOnlyMirrored?}, got ${formatValue(options)}`);
    }
    copyLayout(options.contextLength); // validates
    this.contextLength = options.contextLength;
    this.scoreOnlyMirrored = options.scoreOnlyMirrored ?? true;
    this.rng = new Rng(options.seed ?? 0);
  }

  /** Next single example (advances the RNG). */
  next(): CopyExample {
    return makeCopyExample(this.rng, this.contextLength);
  }

  /**
   * Samples `batch` fresh examples.
   * @param batch integer >= 1
   */
  sample(batch: number): CopyBatch {
    const C = this.contextLength;
    assertIntegerInRange("batch", batch, 1, Math.floor((2 ** 31 - 1) / C));
    const inputs = new Int32Array(batch * C);
    const labels = new Int32Array(batch * C);
    const scoredMask = new Uint8Array(batch * C);
    for (let b = 0; b < batch; b++) {
      const ex = this.next();
      inputs.set(ex.inputs, b * C);
      scoredMask.set(ex.scoredMask, b * C);
      if (this.scoreOnlyMirrored) {
        for (let j = 0; j < C; j++) labels[b * C + j] = ex.scoredMask[j] ? ex.labels[j]! : IGNORE_INDEX;
      } else {
        labels.set(ex.labels, b * C);
      }
    }
    return { inputs, labels, scoredMask, batch, seqLen: C };
  }

  /** Current state (plain JSON). */
  getState(): CopyTaskState {
    return { rng: this.rng.getState() };
  }

  /** Restores a state from `getState()`. */
  setState(state: CopyTaskState): void {
    if (typeof state !== "object" || state === null) throw new TypeError(`copy task state must be an object {rng}, got ${formatValue(state)}`);
    this.rng.setState(state.rng);
  }
}
