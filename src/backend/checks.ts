// Primitive argument checks of the backend boundary (used by validate.ts, which builds every
// kernel's validation from them): each throws a RangeError naming the argument (`name`, e.g.
// "matmul: m") and its allowed range.

/** A size/count: a non-negative safe integer. */
export function checkSize(name: string, v: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(v)}`);
  }
}

/** Any safe integer (may be negative). */
export function checkInteger(name: string, v: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new RangeError(`${name} must be an integer, got ${String(v)}`);
  }
}

/** A finite number. */
export function checkFinite(name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a finite number, got ${String(v)}`);
  }
}

/** Product of sizes, throwing when it exceeds the safe integer range. */
export function sizeProduct(name: string, ...dims: number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  if (!Number.isSafeInteger(p)) throw new RangeError(`${name}: size ${p} is too large`);
  return p;
}

/** index[0:count] all lie in [0, limit). */
export function checkIndices(name: string, index: Int32Array, count: number, limit: number): void {
  for (let i = 0; i < count; i++) {
    const v = index[i];
    if (v < 0 || v >= limit) {
      throw new RangeError(`${name}[${i}] = ${v} is out of range [0, ${limit})`);
    }
  }
}

/** labels[0:rows] all lie in [0, vocab) or equal ignoreIndex. */
export function checkLabels(
  name: string,
  labels: Int32Array,
  rows: number,
  vocab: number,
  ignoreIndex: number,
): void {
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (y !== ignoreIndex && (y < 0 || y >= vocab)) {
      throw new RangeError(
        `${name}[${r}] = ${y} is out of range [0, ${vocab}) and is not ignoreIndex (${ignoreIndex})`,
      );
    }
  }
}

/** rotDim is even and <= headDim. */
export function checkRotDim(name: string, rotDim: number, headDim: number): void {
  if (rotDim % 2 !== 0 || rotDim > headDim) {
    throw new RangeError(`${name} must be even and <= headDim (${headDim}), got ${rotDim}`);
  }
}
