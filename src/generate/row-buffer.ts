// RowBuffer: the cached decoder's storage of one per-position quantity (embeddings, keys, values,
// rotary angles) for `batch` rows of a token timeline.
//
// Contract: `rows` x `capacity` slots of `width` floats, laid out (rows, capacity, width); slot s of
// row b holds timeline index `base + s`. `view(start, count)` is (rows, count, width) of timeline
// indices [start, start + count): the storage itself, without a copy, for one row; a copy into
// `alloc`'d memory for several (their slices are not contiguous). `write` stores (rows, count,
// width) values at [start, start + count). `compact(from, to)` moves indices [from, to) to the front
// and makes `from` the new base. `retain(keep)` keeps the listed rows (ascending), in that order.

export class RowBuffer {
  readonly width: number;
  readonly capacity: number;
  private readonly data: Float32Array;
  /** Rows in use (at most the rows it was made for). */
  rows: number;
  /** Timeline index of slot 0. */
  base = 0;

  /** `alloc` gives the (zero-filled) storage: the backend's (backend/storage.ts), default plain. */
  constructor(rows: number, capacity: number, width: number, alloc: (n: number) => Float32Array = (n) => new Float32Array(n)) {
    this.rows = rows;
    this.capacity = capacity;
    this.width = width;
    this.data = alloc(rows * capacity * width);
  }

  /** Offset of timeline index `index` of row b. */
  private offset(b: number, index: number): number {
    const s = index - this.base;
    if (s < 0 || s > this.capacity) throw new RangeError(`RowBuffer: index ${index} is outside slots [${this.base}, ${this.base + this.capacity}]`);
    return (b * this.capacity + s) * this.width;
  }

  /** (rows, count, width) values of indices [start, start + count). */
  view(start: number, count: number, alloc: (n: number) => Float32Array): Float32Array {
    const n = count * this.width;
    if (start - this.base + count > this.capacity) throw new RangeError(`RowBuffer: indices [${start}, ${start + count}) exceed the capacity ${this.capacity} from ${this.base}`);
    if (this.rows === 1) return this.data.subarray(this.offset(0, start), this.offset(0, start) + n);
    const out = alloc(this.rows * n);
    for (let b = 0; b < this.rows; b++) out.set(this.data.subarray(this.offset(b, start), this.offset(b, start) + n), b * n);
    return out;
  }

  /** Store (rows, count, width) `values` at indices [start, start + count). */
  write(values: Float32Array, start: number, count: number): void {
    const n = count * this.width;
    if (values.length !== this.rows * n) throw new RangeError(`RowBuffer.write: ${values.length} values, expected ${this.rows} x ${count} x ${this.width}`);
    if (start - this.base + count > this.capacity) throw new RangeError(`RowBuffer: indices [${start}, ${start + count}) exceed the capacity ${this.capacity} from ${this.base}`);
    for (let b = 0; b < this.rows; b++) this.data.set(values.subarray(b * n, (b + 1) * n), this.offset(b, start));
  }

  /** Move indices [from, to) to the front; `from` becomes the base. */
  compact(from: number, to: number): void {
    for (let b = 0; b < this.rows; b++) this.data.copyWithin(this.offset(b, this.base), this.offset(b, from), this.offset(b, Math.max(from, to)));
    this.base = from;
  }

  /** Keep rows `keep` (ascending indices into the current rows), in that order. */
  retain(keep: readonly number[]): void {
    const rowSize = this.capacity * this.width;
    keep.forEach((b, i) => {
      if (b !== i) this.data.copyWithin(i * rowSize, b * rowSize, (b + 1) * rowSize);
    });
    this.rows = keep.length;
  }
}
