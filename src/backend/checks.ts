// Argument validation shared by backends: every check throws a RangeError (or TypeError for a
// wrong array type) naming the offending argument, BEFORE any kernel touches memory. The native
// backend calls these in front of every addon call; the reference backend may reuse them.

import type { AttentionShape } from "./backend.js";

type NumArray = Float32Array | Int32Array | Uint8Array;

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

function checkArray<T extends NumArray>(
  name: string,
  a: unknown,
  ctor: { new (n: number): T; name: string },
  need: number,
): asserts a is T {
  if (!(a instanceof ctor)) {
    throw new TypeError(`${name} must be a ${ctor.name}`);
  }
  if (a.length < need) {
    throw new RangeError(`${name} has ${a.length} elements, needs at least ${need}`);
  }
}

/** `a` is a Float32Array with at least `need` elements. */
export function checkF32(name: string, a: unknown, need: number): asserts a is Float32Array {
  checkArray(name, a, Float32Array, need);
}

/** `a` is an Int32Array with at least `need` elements. */
export function checkI32(name: string, a: unknown, need: number): asserts a is Int32Array {
  checkArray(name, a, Int32Array, need);
}

/** `a` is a Uint8Array with at least `need` elements. */
export function checkU8(name: string, a: unknown, need: number): asserts a is Uint8Array {
  checkArray(name, a, Uint8Array, need);
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

/** Validates an AttentionShape; returns the element counts of q (and out), k (and v), lse. */
export function checkAttentionShape(s: AttentionShape): { nq: number; nk: number; nlse: number } {
  if (s === null || typeof s !== "object") throw new TypeError("attention shape must be an object");
  checkSize("shape.batch", s.batch);
  checkSize("shape.heads", s.heads);
  checkSize("shape.queries", s.queries);
  checkSize("shape.keys", s.keys);
  checkSize("shape.headDim", s.headDim);
  if (s.causalOffset !== null) checkInteger("shape.causalOffset", s.causalOffset);
  checkFinite("shape.scale", s.scale);
  return {
    nq: sizeProduct("q", s.batch, s.queries, s.heads, s.headDim),
    nk: sizeProduct("k", s.batch, s.keys, s.heads, s.headDim),
    nlse: sizeProduct("lse", s.batch, s.heads, s.queries),
  };
}

/** rotDim is even and <= headDim. */
export function checkRotDim(rotDim: number, headDim: number): void {
  checkSize("rotDim", rotDim);
  if (rotDim % 2 !== 0 || rotDim > headDim) {
    throw new RangeError(`rotDim must be even and <= headDim (${headDim}), got ${rotDim}`);
  }
}
