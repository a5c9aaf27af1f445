// Tensor: a row-major, contiguous Float32Array with a shape. Nothing more.
//
// Strided views are not supported on purpose: every op reads and writes whole contiguous buffers,
// which keeps kernels simple and lets backends take the raw arrays directly. (A contiguous range of
// another tensor's buffer, a subarray, is still a whole contiguous buffer: see Graph.view.)

export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  constructor(shape: readonly number[], data?: Float32Array) {
    const size = shapeSize(shape);
    if (data !== undefined && data.length !== size) {
      throw new RangeError(`Tensor data has ${data.length} elements, shape [${shape.join(", ")}] needs ${size}`);
    }
    this.shape = [...shape];
    this.data = data ?? new Float32Array(size);
  }

  get size(): number {
    return this.data.length;
  }

  /** The same data with another shape of equal size (shares the buffer). */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(shape, this.data);
  }

  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice());
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}
