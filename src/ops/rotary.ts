// rotary: rotary position embedding on the first `rotDim` channels of every head.
// x (B, T, H·D); angles cos/sin (B·T, rotDim) per row (see nn/rotary-angles.ts). rotDim (even,
// <= D) is checked once, at the backend boundary.

import type { Graph, Var } from "../autograd.js";

export interface RotaryAngles {
  cos: Float32Array;
  sin: Float32Array;
  rotDim: number;
}

export function rotary(g: Graph, x: Var, angles: RotaryAngles, heads: number): Var {
  const width = x.shape[x.shape.length - 1];
  const rows = x.value.size / width;
  const headDim = width / heads;
  const { cos, sin, rotDim } = angles;
  if (!Number.isInteger(headDim)) throw new RangeError(`rotary: ${width} channels do not split into ${heads} heads`);
  if (cos.length !== rows * rotDim || sin.length !== rows * rotDim) {
    throw new RangeError(`rotary: angle tables hold ${cos.length} values, expected ${rows} x ${rotDim}`);
  }
  const be = g.backend;
  const y = g.output(x.shape, x);
  be.rotaryForward(x.data, cos, sin, y.data, rows, heads, headDim, rotDim);
  if (y.requiresGrad) g.record(() => be.rotaryBackward(y.grad, cos, sin, x.grad, rows, heads, headDim, rotDim));
  return y;
}
