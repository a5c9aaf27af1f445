// Integer batches at a model's boundary (token ids, labels, pad masks): nested arrays (rows of
// equal length) or a row-major Int32Array with its (rows, cols) shape, turned into one row-major
// typed array after EVERY entry has been checked. Nothing is coerced: NaN, null, 3.7, "7" or
// 2^32 + 5 in a nested array is an error (an Int32Array store would silently make them 0, 3, 7, 5).
// Errors are RangeErrors naming the argument, the row and column, and the allowed values.

/** Token ids of a batch: nested arrays (batch rows of equal length) or a row-major (batch, seqLen) Int32Array with its shape. */
export type TokenBatch = ArrayLike<number>[] | IntBatch;

export interface IntBatch {
  data: Int32Array;
  shape: readonly [number, number];
}

/** The integers an entry may take: [lo, hi), plus `also` when given; `describe` names them in errors. */
export interface IntRange {
  lo: number;
  hi: number;
  also?: number;
  describe: string;
}

/** Token ids of a vocabulary of V: [0, V). */
export function vocabularyRange(V: number): IntRange {
  return { lo: 0, hi: V, describe: `the vocabulary [0, ${V})` };
}

/** Labels: [0, V) or the ignore index. */
export function labelRange(V: number, ignoreIndex: number): IntRange {
  return { lo: 0, hi: V, also: ignoreIndex, describe: `the vocabulary [0, ${V}) or the ignore index ${ignoreIndex}` };
}

/** Pad masks: 0 (token) or 1 (padding). */
export const PAD_MASK_RANGE: IntRange = { lo: 0, hi: 2, describe: "{0, 1} (1 = padding)" };

/** Any value an Int32Array holds without wrapping, at least 0. */
export const NON_NEGATIVE_INT32: IntRange = { lo: 0, hi: 2 ** 31, describe: "[0, 2^31)" };

export function isIntBatch(x: unknown): x is IntBatch {
  return typeof x === "object" && x !== null && (x as IntBatch).data instanceof Int32Array && Array.isArray((x as IntBatch).shape);
}

/** The (rows, cols) of a batch, checked for consistency (equal row lengths, data length = rows x cols). */
export function batchShape(x: TokenBatch | Uint8Array, what: string): [number, number] {
  if (x instanceof Uint8Array) throw new TypeError(`${what}: a flat Uint8Array has no shape of its own`);
  if (isIntBatch(x)) {
    const [B, T] = x.shape;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 0 || T < 0 || x.data.length !== B * T) {
      throw new RangeError(`${what}: data length ${x.data.length} does not match shape [${x.shape.join(", ")}]`);
    }
    return [B, T];
  }
  if (!Array.isArray(x)) throw new TypeError(`${what} must be an array of rows or { data: Int32Array, shape: [rows, cols] }`);
  const B = x.length;
  const T = B > 0 ? lengthOf(x[0], what, 0) : 0;
  for (let b = 1; b < B; b++) {
    const n = lengthOf(x[b], what, b);
    if (n !== T) throw new RangeError(`${what} rows must all have length ${T}; row ${b} has ${n}`);
  }
  return [B, T];
}

/**
 * Row-major Int32Array (rows, cols) of a batch whose every entry is an integer in `range`. An
 * IntBatch's own data array is returned (not copied) once its values are checked.
 */
export function toIntBatch(x: TokenBatch, what: string, range: IntRange): Int32Array {
  const [B, T] = batchShape(x, what);
  if (isIntBatch(x)) {
    for (let i = 0; i < x.data.length; i++) checkEntry(x.data[i], what, Math.floor(i / T), i % T, range);
    return x.data;
  }
  const rows = x as ArrayLike<number>[];
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const row = rows[b];
    for (let t = 0; t < T; t++) out[b * T + t] = checkEntry(row[t], what, b, t, range);
  }
  return out;
}

/** A pad mask (B, T) as a Uint8Array of 0/1: nested arrays, or a flat Uint8Array of B·T entries. */
export function toPadMask(x: Uint8Array | ArrayLike<number>[], B: number, T: number, what = "padMask"): Uint8Array {
  if (x instanceof Uint8Array) {
    if (x.length !== B * T) throw new RangeError(`${what} must have shape (batch ${B}, seqLen ${T}), got ${x.length} values`);
    for (let i = 0; i < x.length; i++) checkEntry(x[i], what, Math.floor(i / T), i % T, PAD_MASK_RANGE);
    return x;
  }
  const [rows, cols] = batchShape(x, what);
  if (rows !== B || cols !== T) throw new RangeError(`${what} must have shape (batch ${B}, seqLen ${T}), got (${rows}, ${cols})`);
  return Uint8Array.from(toIntBatch(x, what, PAD_MASK_RANGE));
}

function lengthOf(row: unknown, what: string, b: number): number {
  const n = (row as ArrayLike<number> | null | undefined)?.length;
  if (typeof n !== "number") throw new TypeError(`${what}[${b}] must be an array of integers, got ${show(row)}`);
  return n;
}

function checkEntry(v: unknown, what: string, b: number, t: number, r: IntRange): number {
  const integer = typeof v === "number" && Number.isInteger(v);
  if (integer && ((v >= r.lo && v < r.hi) || v === r.also)) return v;
  throw new RangeError(`${what}[${b}][${t}] = ${show(v)} is ${integer ? "outside" : "not an integer in"} ${r.describe}`);
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
