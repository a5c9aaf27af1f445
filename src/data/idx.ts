// The IDX array format (MNIST's files): `parseIdx` validates the magic (0, 0, type, ndim), the
// element type and the exact byte length, and returns the dimensions and typed data (big-endian
// elements converted to the platform's order).

/** A parsed IDX array. */
export interface IdxArray {
  /** Dimension sizes, outermost first. */
  dims: number[];
  /** Element type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64). */
  typeCode: number;
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** Parse an IDX file (the MNIST format). Throws naming the bad magic / type / length. */
export function parseIdx(buf: Uint8Array, what = "IDX data"): IdxArray {
  if (buf.length < 4) throw new Error(`${what}: ${buf.length} bytes, too short for an IDX header (4 bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${what}: bad IDX magic, first two bytes must be 0x00 0x00, got 0x${hex(buf[0]!)} 0x${hex(buf[1]!)}`);
  }
  const typeCode = buf[2]!;
  const width = IDX_TYPES[typeCode];
  if (width === undefined) {
    throw new Error(`${what}: unsupported IDX element type 0x${hex(typeCode)} (allowed 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`);
  }
  const ndim = buf[3]!;
  if (ndim < 1) throw new Error(`${what}: IDX dimension count must be >= 1, got ${ndim}`);
  const headerLen = 4 + 4 * ndim;
  if (buf.length < headerLen) throw new Error(`${what}: truncated IDX header (${buf.length} < ${headerLen} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count * width;
  if (buf.length !== expected) {
    throw new Error(`${what}: IDX size mismatch: dims [${dims.join(", ")}] need ${expected} bytes, got ${buf.length}`);
  }
  const body = buf.subarray(headerLen);
  let data: IdxArray["data"];
  if (typeCode === 0x08) data = new Uint8Array(body.buffer, body.byteOffset, count);
  else if (typeCode === 0x09) data = new Int8Array(body.buffer, body.byteOffset, count);
  else {
    const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const arr =
      typeCode === 0x0b
        ? new Int16Array(count)
        : typeCode === 0x0c
          ? new Int32Array(count)
          : typeCode === 0x0d
            ? new Float32Array(count)
            : new Float64Array(count);
    for (let i = 0; i < count; i++) {
      arr[i] =
        typeCode === 0x0b
          ? bv.getInt16(2 * i, false)
          : typeCode === 0x0c
            ? bv.getInt32(4 * i, false)
            : typeCode === 0x0d
              ? bv.getFloat32(4 * i, false)
              : bv.getFloat64(8 * i, false);
    }
    data = arr;
  }
  return { dims, typeCode, data };
}

/** A byte as two hex digits (for error messages). */
export function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
