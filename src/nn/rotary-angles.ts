// Rotary angle tables for a set of token positions (the reference's FrequencyPositionEncoding):
// angle[row, c] = position[row] · invFreq[c >> 1] for c < rotDim — each frequency repeated for an
// adjacent channel pair — stored as cos and sin tables of shape (rows, rotDim).

import type { RotaryAngles } from "../ops/rotary.js";

/** invFreq[i] = 10000^(-2i / rotDim), i < rotDim / 2. */
export function rotaryInverseFrequencies(rotDim: number): Float32Array {
  const out = new Float32Array(rotDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.pow(10000, (2 * i) / rotDim);
  return out;
}

/** `alloc` provides the (rows, rotDim) tables, e.g. a graph's pooled scratch. */
type Alloc = (n: number) => Float32Array;
const fresh: Alloc = (n) => new Float32Array(n);

export function rotaryAngles(positions: ArrayLike<number>, invFreq: Float32Array, alloc: Alloc = fresh): RotaryAngles {
  const rotDim = invFreq.length * 2;
  const rows = positions.length;
  const cos = alloc(rows * rotDim);
  const sin = alloc(rows * rotDim);
  for (let r = 0; r < rows; r++) {
    const p = positions[r];
    for (let c = 0; c < rotDim; c++) {
      const a = p * invFreq[c >> 1];
      cos[r * rotDim + c] = Math.cos(a);
      sin[r * rotDim + c] = Math.sin(a);
    }
  }
  return { cos, sin, rotDim };
}

/** Select rows of an angle table: the rows of `index` in order (for kept / latent positions). */
export function selectAngles(a: RotaryAngles, index: ArrayLike<number>, alloc: Alloc = fresh): RotaryAngles {
  const { rotDim } = a;
  const cos = alloc(index.length * rotDim);
  const sin = alloc(index.length * rotDim);
  for (let i = 0; i < index.length; i++) {
    const s = index[i] * rotDim;
    cos.set(a.cos.subarray(s, s + rotDim), i * rotDim);
    sin.set(a.sin.subarray(s, s + rotDim), i * rotDim);
  }
  return { cos, sin, rotDim };
}

/**
 * Rows [start, start + count) of each of `batch` consecutive blocks of `rowsPerBatch` rows (the
 * angle-table form of ops/rows.ts). A view, without copying, when the rows are contiguous.
 */
export function angleRows(a: RotaryAngles, batch: number, rowsPerBatch: number, start: number, count: number, alloc: Alloc = fresh): RotaryAngles {
  const { rotDim } = a;
  if (a.cos.length !== batch * rowsPerBatch * rotDim || start < 0 || start + count > rowsPerBatch) {
    throw new RangeError(`angleRows: rows [${start}, ${start + count}) of ${batch} x ${rowsPerBatch} rows do not fit a table of ${a.cos.length / rotDim} rows`);
  }
  if (batch === 1 || count === rowsPerBatch) {
    return { cos: a.cos.subarray(start * rotDim, (start + count * batch) * rotDim), sin: a.sin.subarray(start * rotDim, (start + count * batch) * rotDim), rotDim };
  }
  const cos = alloc(batch * count * rotDim);
  const sin = alloc(batch * count * rotDim);
  for (let b = 0; b < batch; b++) {
    const s = (b * rowsPerBatch + start) * rotDim;
    cos.set(a.cos.subarray(s, s + count * rotDim), b * count * rotDim);
    sin.set(a.sin.subarray(s, s + count * rotDim), b * count * rotDim);
  }
  return { cos, sin, rotDim };
}
