/**
 * The package's one pseudo-random generator (xoshiro128**, seeded via splitmix32): data sampling,
 * parameter initialisation, cross-attention dropout, generation sampling.
 *
 * Contract:
 * - Same seed => same sequence on every platform (pure 32-bit integer arithmetic, no Math.random).
 * - The full generator state is four uint32 numbers; `getState()` returns a plain JSON-serialisable
 *   object and `setState()` / `Rng.fromState()` restore it exactly, so training can resume from a
 *   checkpoint and draw the same samples it would have drawn without interruption.
 * - Not cryptographically secure.
 */

import { assertIntegerInRange, formatValue } from "./integer-range.js";

/** Name of the algorithm, recorded in serialised state so foreign states are rejected. */
export const RNG_ALGORITHM = "xoshiro128**" as const;

/** JSON-serialisable generator state: four uint32 words (not all zero). */
export interface RngState {
  readonly algorithm: typeof RNG_ALGORITHM;
  readonly s: readonly [number, number, number, number];
}

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One splitmix32 step on `state`; returns [newState, outputUint32]. */
function splitmix32(state: number): [number, number] {
  const st = (state + 0x9e3779b9) | 0;
  let z = st;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return [st, (z ^ (z >>> 15)) >>> 0];
}

/**
 * Deterministic xoshiro128** generator.
 *
 * @example
 * const rng = new Rng(42);
 * const saved = rng.getState();          // plain JSON
 * const a = rng.nextInt(10);
 * rng.setState(saved);
 * rng.nextInt(10) === a;                 // true
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed any safe integer (negative allowed); both the low and high 32 bits are used.
   */
  constructor(seed: number = 0) {
    assertIntegerInRange("seed", seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const lo = seed >>> 0; // two's complement low word (works for negatives)
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    let st = lo;
    let out: number;
    [st, out] = splitmix32(st ^ Math.imul(hi, 0x85ebca6b));
    st ^= out;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      [st, out] = splitmix32(st);
      words.push(out);
    }
    this.s0 = words[0]!;
    this.s1 = words[1]!;
    this.s2 = words[2]!;
    this.s3 = words[3]!;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Creates a generator positioned exactly at `state`. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** Next uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Next float uniformly distributed in [0, 1) (32-bit resolution). */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Next integer uniformly distributed in [0, n), without modulo bias.
   * @param n exclusive upper bound, an integer in [1, 2^32]
   */
  nextInt(n: number): number {
    assertIntegerInRange("n", n, 1, TWO_POW_32);
    if (n === 1) return 0;
    // Reject the top partial bucket so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** Returns the current state as plain JSON-serialisable numbers. */
  getState(): RngState {
    return { algorithm: RNG_ALGORITHM, s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  /**
   * Restores a state previously returned by `getState()` (possibly after a JSON round trip).
   * @throws TypeError/RangeError naming the bad field if the state is malformed
   */
  setState(state: RngState): void {
    if (typeof state !== "object" || state === null) {
      throw new TypeError(`rng state must be an object {algorithm, s}, got ${formatValue(state)}`);
    }
    if (state.algorithm !== RNG_ALGORITHM) {
      throw new RangeError(`rng state.algorithm must be ${JSON.stringify(RNG_ALGORITHM)}, got ${formatValue(state.algorithm)}`);
    }
    if (!Array.isArray(state.s) || state.s.length !== 4) {
      throw new RangeError(`rng state.s must be an array of 4 uint32 numbers, got ${formatValue(state.s)}`);
    }
    for (let i = 0; i < 4; i++) assertIntegerInRange(`rng state.s[${i}]`, state.s[i], 0, TWO_POW_32 - 1);
    if (state.s.every((w) => w === 0)) {
      throw new RangeError("rng state.s must not be all zeros (xoshiro128** would be stuck at 0)");
    }
    this.s0 = state.s[0] | 0;
    this.s1 = state.s[1] | 0;
    this.s2 = state.s[2] | 0;
    this.s3 = state.s[3] | 0;
  }

  /** An independent copy positioned at the same state. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }
}

/**
 * A uniform [0, 1) source drawing from `new Rng(seed)`: for APIs that take `random: () => number`
 * (model initialisation, dropout, sampling).
 */
export function uniformSource(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.nextFloat();
}
