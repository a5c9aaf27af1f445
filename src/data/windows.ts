/**
 * Training/evaluation windows over a token stream.
 *
 * Contract:
 * - A training example is a window of `maxSeqLen + 1` consecutive tokens; inputs are its first
 *   maxSeqLen tokens and labels the last maxSeqLen (labels[t] = inputs[t + 1], next-token targets).
 * - `WindowSampler` draws window starts uniformly from [0, stream.length - (maxSeqLen + 1)] with the
 *   seeded `Rng`; same stream + seed => same batches. `getState()`/`setState()` are plain JSON and
 *   resume the exact sequence of batches.
 * - `fixedWindows` returns `count` non-overlapping windows spread evenly over the whole stream (the
 *   first starts at 0, the last ends at stream.length when count > 1): deterministic, no RNG.
 * - Streams shorter than one window are rejected with an error naming both lengths.
 * - Batches are row-major: element (b, t) is at b * maxSeqLen + t.
 */

import { Rng, type RngState } from "../util/rng.js";
import { assertIntegerInRange, formatValue } from "../util/integer-range.js";

/** A batch of next-token examples, row-major (batch, seqLen). */
export interface WindowBatch {
  readonly inputs: Int32Array;
  readonly labels: Int32Array;
  readonly batch: number;
  readonly seqLen: number;
  /** Start offset of each window in the stream. */
  readonly starts: readonly number[];
}

/** Options of `WindowSampler`. */
export interface WindowSamplerOptions {
  /** Model context length; windows have maxSeqLen + 1 tokens. Integer >= 1. */
  maxSeqLen: number;
  /** RNG seed (safe integer). Default 0. */
  seed?: number;
}

/** JSON-serialisable sampler state for checkpoint resume. */
export interface WindowSamplerState {
  readonly rng: RngState;
  /** Number of windows drawn so far (informational). */
  readonly windowsDrawn: number;
}

function checkStream(stream: Int32Array, windowLen: number, what: string): void {
  if (!(stream instanceof Int32Array)) {
    throw new TypeError(`${what}: stream must be an Int32Array of token ids, got ${formatValue(stream)}`);
  }
  if (stream.length < windowLen) {
    throw new RangeError(
      `${what}: token stream has ${stream.length} tokens but one window needs ${windowLen} (maxSeqLen + 1); use a longer corpus or a smaller maxSeqLen`,
    );
  }
}

/**
 * Copies windows (each of length seqLen + 1) into a (batch, seqLen) inputs/labels pair.
 * @param windows windows of identical length >= 2
 */
export function batchFromWindows(windows: readonly Int32Array[], starts: readonly number[] = []): WindowBatch {
  if (windows.length === 0) throw new RangeError("windows must contain at least 1 window, got 0");
  const windowLen = windows[0]!.length;
  if (windowLen < 2) throw new RangeError(`window length must be >= 2 (maxSeqLen + 1), got ${windowLen}`);
  const seqLen = windowLen - 1;
  const inputs = new Int32Array(windows.length * seqLen);
  const labels = new Int32Array(windows.length * seqLen);
  windows.forEach((w, b) => {
    if (w.length !== windowLen) throw new RangeError(`windows[${b}].length must equal windows[0].length = ${windowLen}, got ${w.length}`);
    inputs.set(w.subarray(0, seqLen), b * seqLen);
    labels.set(w.subarray(1), b * seqLen);
  });
  return { inputs, labels, batch: windows.length, seqLen, starts: starts.slice() };
}

/** Seeded random sampler of (maxSeqLen + 1)-token windows from a token stream. */
export class WindowSampler {
  readonly maxSeqLen: number;
  /** maxSeqLen + 1. */
  readonly windowLen: number;
  /** Number of distinct window starts: stream.length - windowLen + 1. */
  readonly numStarts: number;
  private readonly stream: Int32Array;
  private readonly rng: Rng;
  private windowsDrawn = 0;

  constructor(stream: Int32Array, options: WindowSamplerOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object {maxSeqLen, seed?}");
    assertIntegerInRange("maxSeqLen", options.maxSeqLen, 1, 2 ** 31 - 2);
    this.maxSeqLen = options.maxSeqLen;
    this.windowLen = options.maxSeqLen + 1;
    checkStream(stream, this.windowLen, "WindowSampler");
    this.stream = stream;
    this.numStarts = stream.length - this.windowLen + 1;
    this.rng = new Rng(options.seed ?? 0);
  }

  /** Draws the next random window start. */
  nextStart(): number {
    this.windowsDrawn++;
    return this.rng.nextInt(this.numStarts);
  }

  /**
   * Samples `batch` random windows.
   * @param batch integer >= 1
   * @returns inputs/labels of shape (batch, maxSeqLen), labels = inputs shifted by one
   */
  sample(batch: number): WindowBatch {
    assertIntegerInRange("batch", batch, 1, Math.floor((2 ** 31 - 1) / this.maxSeqLen));
    const T = this.maxSeqLen;
    const inputs = new Int32Array(batch * T);
    const labels = new Int32Array(batch * T);
    const starts: number[] = [];
    for (let b = 0; b < batch; b++) {
      const s = this.nextStart();
      starts.push(s);
      inputs.set(this.stream.subarray(s, s + T), b * T);
      labels.set(this.stream.subarray(s + 1, s + 1 + T), b * T);
    }
    return { inputs, labels, batch, seqLen: T, starts };
  }

  /** Current state (plain JSON) for checkpointing. */
  getState(): WindowSamplerState {
    return { rng: this.rng.getState(), windowsDrawn: this.windowsDrawn };
  }

  /** Restores a state from `getState()`; subsequent batches continue the saved sequence. */
  setState(state: WindowSamplerState): void {
    if (typeof state !== "object" || state === null) throw new TypeError(`sampler state must be an object {rng, windowsDrawn}, got ${formatValue(state)}`);
    assertIntegerInRange("state.windowsDrawn", state.windowsDrawn, 0, Number.MAX_SAFE_INTEGER);
    this.rng.setState(state.rng);
    this.windowsDrawn = state.windowsDrawn;
  }
}

/**
 * Deterministic evaluation windows: `count` non-overlapping windows of `windowLen` tokens spread
 * evenly over the stream. Window i starts at i * windowLen + floor(i * slack / (count - 1)) where
 * slack = stream.length - count * windowLen (window 0 starts at 0; for count > 1 the last window ends
 * exactly at the end of the stream).
 * @returns zero-copy `subarray` views into `stream` (do not mutate)
 * @throws RangeError if the stream is shorter than one window or count windows do not fit
 */
export function fixedWindows(stream: Int32Array, windowLen: number, count: number): Int32Array[] {
  assertIntegerInRange("windowLen", windowLen, 1, 2 ** 31 - 1);
  checkStream(stream, windowLen, "fixedWindows");
  const maxCount = Math.floor(stream.length / windowLen);
  assertIntegerInRange(`count (stream of ${stream.length} tokens fits at most ${maxCount} windows of ${windowLen})`, count, 1, maxCount);
  return fixedWindowStarts(stream.length, windowLen, count).map((start) => stream.subarray(start, start + windowLen));
}

/** Start offsets used by `fixedWindows(stream, windowLen, count)` for a stream of `streamLength`. */
export function fixedWindowStarts(streamLength: number, windowLen: number, count: number): number[] {
  assertIntegerInRange("streamLength", streamLength, 0, Number.MAX_SAFE_INTEGER);
  assertIntegerInRange("windowLen", windowLen, 1, Number.MAX_SAFE_INTEGER);
  const maxCount = Math.floor(streamLength / windowLen);
  assertIntegerInRange(`count (stream of ${streamLength} tokens fits at most ${maxCount} windows of ${windowLen})`, count, 1, maxCount);
  const slack = streamLength - count * windowLen;
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    let extra = 0;
    if (count > 1) {
      const prod = i * slack;
      extra = Number.isSafeInteger(prod) ? Math.floor(prod / (count - 1)) : Math.min(slack, Math.floor(i * (slack / (count - 1))));
    }
    starts.push(i * windowLen + extra);
  }
  return starts;
}
