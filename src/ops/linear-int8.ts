// Int8 weight-only linear layers, for generation: y = x · Wᵀ (+ b) with W stored as int8 rows and
// one float32 scale per row (W[j, :] ≈ scale[j] · q[j, :], scale[j] = max|W[j, :]| / 127, q rounded
// to nearest). Reading a weight matrix is what one generated token costs on a large model (one
// latent row per layer), and int8 reads a quarter of float32's bytes.
//
// Contract:
// - `Int8Weight` wraps a float32 weight Var: it is that Var's value for every other use (an
//   embedding lookup reads the float32 rows), and `linear` (ops/linear.ts) computes with its int8
//   form, quantised from the float32 values on first use and kept. Later changes to the float32
//   values are not seen: quantise a model's weights once they are final.
// - `linearInt8` records no backward: a graph that needs gradients through it is an error.
// - x (rows, in), W (out, in), b (out) -> y (rows, out), as `linear`.

import { Var, type Graph } from "../autograd.js";

/** Largest int8 magnitude used (symmetric: -127..127, so that q = 0 is exact and the range is even). */
const INT8_MAX = 127;

export interface Int8Rows {
  /** (rows, cols) int8. */
  q: Int8Array;
  /** (rows) float32 scales. */
  scale: Float32Array;
}

/** Per-row symmetric int8 quantisation of w (rows, cols). */
export function quantizeRows(w: Float32Array, rows: number, cols: number): Int8Rows {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let j = 0; j < rows; j++) {
    const row = j * cols;
    let max = 0;
    for (let p = 0; p < cols; p++) {
      const a = w[row + p] < 0 ? -w[row + p] : w[row + p];
      if (a > max) max = a;
    }
    const s = max > 0 ? max / INT8_MAX : 1;
    scale[j] = s;
    // |w| / s <= 127 (up to rounding), so no clamp; the Int8Array store truncates the rounded value.
    const inv = max > 0 ? INT8_MAX / max : 0;
    for (let p = 0; p < cols; p++) q[row + p] = Math.round(w[row + p] * inv);
  }
  return { q, scale };
}

export class Int8Weight extends Var {
  private rows: Int8Rows | null = null;

  /** The int8 twin of `w` (a 2-D float32 weight, (out, in)). */
  constructor(readonly source: Var) {
    super(source.value, false);
    if (source.shape.length !== 2) throw new RangeError(`Int8Weight: a weight matrix (out, in) is needed, got shape [${source.shape.join(", ")}]`);
  }

  get int8(): Int8Rows {
    if (this.rows === null) this.rows = quantizeRows(this.value.data, this.shape[0], this.shape[1]);
    return this.rows;
  }
}

/** y = x · Wᵀ (+ b) with W's int8 form. x (rows, in) -> y (rows, out). */
export function linearInt8(g: Graph, x: Var, w: Int8Weight, b: Var | null = null): Var {
  const [outF, inF] = w.shape;
  const rows = x.value.size / inF;
  if (!Number.isInteger(rows) || x.shape[x.shape.length - 1] !== inF) {
    throw new RangeError(`linear (int8): input [${x.shape.join(", ")}] does not end in ${inF} features`);
  }
  if (g.recording && (x.requiresGrad || (b !== null && b.requiresGrad))) throw new Error("linear (int8): int8 weights are for inference; this graph records gradients");
  const { q, scale } = w.int8;
  const y = g.output([...x.shape.slice(0, -1), outF]);
  g.backend.matmulInt8(x.data, q, scale, y.data, rows, outF, inF); // (rows, out)
  if (b !== null) g.backend.addBias(y.data, b.data, rows, outF);
  return y;
}
