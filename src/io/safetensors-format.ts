// Reading and writing Hugging Face safetensors files.
//
// Format: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (possibly padded with trailing
// spaces), then the data buffer. The JSON object maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data buffer), plus an
// optional "__metadata__" string→string map. All tensor data is little-endian.
//
// Contract:
// - `readSafetensorsIndex(reader)` reads only the header, through a ByteReader (a file on disk is
//   never read whole), and validates everything before trusting it: a truncated, malformed or
//   ambiguous input throws a `SafetensorsError` naming the file (when known), the tensor and the
//   problem, never any other error type. The header's structure is bounded before JSON.parse runs
//   (depth 3, SAFETENSORS_HEADER_LIMITS entries, shapes of rank <= 64), so a hostile header costs
//   time and memory linear in its size and small; duplicate names, duplicate or unknown entry
//   fields are refused. Tensors must tile the data buffer exactly (no gaps, overlaps or trailing
//   bytes). `readSafetensorsTensor` / `readFloatsInto` then read one tensor at a time.
// - Floating-point tensors (F32, F16, BF16, and F64 narrowed) are returned as fresh Float32Arrays;
//   F16/BF16 widening is exact. I32 → Int32Array, I64 → BigInt64Array, U8 (and BOOL) →
//   Uint8Array. Returned arrays never alias the input buffer. `parseSafetensors(bytes)` and
//   `readSafetensorsFile(path)` read every tensor (index + reads).
// - `serializeSafetensors` writes tensors in the order given (a Map keeps insertion order; note a
//   plain object lists integer-like keys first), "__metadata__" first in the header, and pads the
//   header with spaces to a multiple of 8 bytes like the reference writer. Float32Array data may
//   be stored as F16 or BF16 with round-to-nearest-even.
// - This file is the format, platform-neutral (the browser entry uses it); reading and writing
//   files on disk (atomic, or tensor by tensor) is safetensors.ts's (Node).
// - Parsing returns tensors in data-buffer order, so write → read preserves the order.

import { bytesReader, type ByteReader } from "./byte-reader.js";
import { checkJsonBounds, JsonBoundsError } from "./json-bounds.js";

/** Tensor element types this module writes (and reads). */
export type SafeDType = "F32" | "F16" | "BF16" | "I32" | "I64" | "U8";

/** Element types that are accepted on read only and converted: F64 → F32, BOOL → U8. */
export type ReadOnlyDType = "F64" | "BOOL";

/** Typed arrays that can hold tensor data. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor as read from a safetensors file. */
export interface StoredTensor {
  /**
   * The dtype stored in the file. F64 and BOOL tensors are reported as "F32" and "U8" (the type of
   * `data`), with the original name in `sourceDtype`.
   */
  dtype: SafeDType;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /**
   * Fresh, aligned copy of the values: Float32Array for F32/F16/BF16/F64, Int32Array for I32,
   * BigInt64Array for I64, Uint8Array for U8/BOOL.
   */
  data: TensorData;
  /** Set only when the file dtype was converted on read ("F64" → F32, "BOOL" → U8). */
  sourceDtype?: ReadOnlyDType;
}

/** A tensor to be written. */
export interface WritableTensor {
  /**
   * Dtype to store. Defaults from the array type: Float32Array → F32, Int32Array → I32,
   * BigInt64Array → I64, Uint8Array → U8. A Float32Array may also be stored as F16 or BF16
   * (rounded to nearest, ties to even).
   */
  dtype?: SafeDType;
  /** Dimensions; their product must equal `data.length`. */
  shape: number[];
  data: TensorData;
}

/** Result of parsing a safetensors file. */
export interface SafetensorsContents {
  /** Tensors in data-buffer order. */
  tensors: Map<string, StoredTensor>;
  /** The "__metadata__" map, or `{}` when absent. */
  metadata: Record<string, string>;
}

/** Thrown for every malformed file or invalid tensor passed to the writer. */
export class SafetensorsError extends Error {
  /** The file involved, when known. */
  readonly file: string | undefined;
  /** The tensor involved, when the problem is specific to one. */
  readonly tensor: string | undefined;

  constructor(problem: string, options: { file?: string; tensor?: string; cause?: unknown } = {}) {
    const where = options.file !== undefined ? `safetensors file "${options.file}"` : "safetensors data";
    const what = options.tensor !== undefined ? `tensor ${JSON.stringify(options.tensor)}: ` : "";
    super(`${where}: ${what}${problem}`, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "SafetensorsError";
    this.file = options.file;
    this.tensor = options.tensor;
  }
}

/** Largest header accepted on read, as in the reference implementation. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

/** File dtypes, with F64/BOOL that are converted on read. */
export type FileDType = SafeDType | ReadOnlyDType;

const DTYPE_SIZE: Record<FileDType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  I64: 8,
  U8: 1,
  F64: 8,
  BOOL: 1,
};

const FILE_DTYPES = Object.keys(DTYPE_SIZE) as FileDType[];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Half-precision conversions (on raw bit patterns).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Raw IEEE-754 binary32 bits of `x` (after rounding `x` to float32). */
export function f32ToBits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]!;
}

/** The float32 value with raw bits `bits`. */
export function bitsToF32(bits: number): number {
  u32Scratch[0] = bits >>> 0;
  return f32Scratch[0]!;
}

/** Converts float32 bits to binary16 bits, rounding to nearest, ties to even. NaN stays NaN. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {
    if (abs === 0x7f800000) return sign | 0x7c00; // infinity
    return sign | 0x7e00 | ((abs >>> 13) & 0x3ff); // quiet NaN, keep the top payload bits
  }
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to infinity
  if (abs >= 0x38800000) {
    // Normal in f16 (>= 2^-14): rebias the exponent (127 → 15) and round 13 mantissa bits away.
    let h = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff);
    const rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (abs <= 0x33000000) return sign; // <= 2^-25: rounds to (signed) zero
  // Subnormal in f16: mantissa = round(|x| · 2^24) = round(significand · 2^(E - 126)).
  const exp = abs >>> 23; // 102..112
  const sig = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - exp; // 14..24
  let h = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++; // may carry into the smallest normal
  return sign | h;
}

/** Converts binary16 bits to float32 bits (exact). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 31) return (sign | 0x7f800000 | (man << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
  if (man === 0) return sign >>> 0;
  // Subnormal: man · 2^-24, renormalised.
  let e = 113; // biased f32 exponent of 2^-14
  let m = man;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** Converts binary32 bits to bfloat16 bits, rounding to nearest, ties to even. NaN stays NaN. */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Binary16 bits (0..0xffff) of `x` rounded to half precision, ties to even. */
export function f32ToF16Bits(x: number): number {
  return f32BitsToF16Bits(f32ToBits(x));
}

/** The (exactly representable) float value of binary16 bits `h`. */
export function f16BitsToF32(h: number): number {
  return bitsToF32(f16BitsToF32Bits(h & 0xffff));
}

/** Bfloat16 bits (0..0xffff) of `x` rounded to bfloat16, ties to even. */
export function f32ToBf16Bits(x: number): number {
  return f32BitsToBf16Bits(f32ToBits(x));
}

/** The float value of bfloat16 bits `h` (the upper half of a float32). */
export function bf16BitsToF32(h: number): number {
  return bitsToF32((h & 0xffff) << 16);
}

let f16Table: Uint32Array | undefined;

/** Lazily built table: f16 bits → f32 bits. */
function getF16Table(): Uint32Array {
  if (f16Table === undefined) {
    const table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
    f16Table = table;
  }
  return f16Table;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Reverses the byte order of each `size`-byte element in place (for big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Bytes converted per step when widening F16/BF16/F64 into a Float32Array (one reused scratch buffer). */
const WIDEN_CHUNK_BYTES = 1 << 16;
let scratchBuffer: Uint8Array | undefined;

/** The module's widening scratch (allocated once; reading is synchronous, so one is enough). */
function widenScratch(): Uint8Array {
  scratchBuffer ??= new Uint8Array(WIDEN_CHUNK_BYTES);
  return scratchBuffer;
}

/** Decodes little-endian bytes of `dtype` into a fresh typed array (floats widen to float32). */
function decodeBytes(bytes: Uint8Array, dtype: FileDType): TensorData {
  const size = DTYPE_SIZE[dtype];
  if (!LITTLE_ENDIAN) swapBytes(bytes, size);
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "U8":
    case "BOOL":
      return new Uint8Array(buf);
    default: {
      const out = new Float32Array(bytes.length / size);
      widenInto(new Uint8Array(buf), dtype, out, 0);
      return out;
    }
  }
}

/** Widens host-order `bytes` of a float dtype into out[at, at + n). */
function widenInto(bytes: Uint8Array, dtype: FileDType, out: Float32Array, at: number): void {
  switch (dtype) {
    case "F32":
      out.set(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), at);
      return;
    case "F64": {
      const d = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
      for (let i = 0; i < d.length; i++) out[at + i] = d[i]!;
      return;
    }
    case "F16": {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
      const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, h.length);
      const table = getF16Table();
      for (let i = 0; i < h.length; i++) bits[i] = table[h[i]!]!;
      return;
    }
    case "BF16": {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
      const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
      return;
    }
    default:
      throw new Error(`widenInto: ${dtype} is not a float dtype`);
  }
}

/** Whether tensors of this file dtype are read as float32. */
export function isFloatDType(dtype: string): boolean {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";
}

/**
 * Reads `count` elements of float `dtype` stored little-endian at `offset` of `reader` into
 * `target` (a Float32Array of at least `count` elements), widening on the way: F32 is read
 * straight into the target's memory, F16/BF16/F64 through a bounded scratch buffer.
 */
export function readFloatsInto(reader: ByteReader, offset: number, dtype: FileDType, count: number, target: Float32Array): void {
  if (target.length < count) throw new RangeError(`readFloatsInto: target has ${target.length} elements, need ${count}`);
  const size = DTYPE_SIZE[dtype];
  if (dtype === "F32" && LITTLE_ENDIAN) {
    reader.readInto(offset, new Uint8Array(target.buffer, target.byteOffset, count * 4));
    return;
  }
  const perChunk = Math.max(1, Math.floor(WIDEN_CHUNK_BYTES / size));
  const scratch = widenScratch();
  for (let done = 0; done < count; done += perChunk) {
    const n = Math.min(perChunk, count - done);
    const bytes = scratch.subarray(0, n * size);
    reader.readInto(offset + done * size, bytes);
    if (!LITTLE_ENDIAN) swapBytes(bytes, size);
    widenInto(bytes, dtype, target, done);
  }
}

/** Short, bounded rendering of a JSON value for error messages. */
function describe(value: unknown): string {
  let s: string;
  try {
    s = value === undefined ? "undefined" : JSON.stringify(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One tensor of a safetensors file: where its bytes are, not the bytes. */
export interface SafetensorsEntry {
  name: string;
  dtype: FileDType;
  shape: number[];
  /** Absolute byte range [begin, end) in the file. */
  begin: number;
  end: number;
}

/** The parsed header of a safetensors file: every tensor's place, nothing read yet. */
export interface SafetensorsIndex {
  /** Entries in data-buffer order. */
  entries: Map<string, SafetensorsEntry>;
  /** The "__metadata__" map, or `{}` when absent. */
  metadata: Record<string, string>;
}

/**
 * Structural bounds of a header, checked before JSON.parse builds anything: the deepest legal
 * header is 3 levels (top object > entry > shape array).
 */
export const SAFETENSORS_HEADER_LIMITS = {
  /** Tensors (+ "__metadata__") per file: the largest published shards hold a few thousand. */
  maxEntries: 1 << 16,
  /** "__metadata__" keys: writers store a handful (format, step, ...). */
  maxMetadataEntries: 1 << 12,
  /** Dimensions of a shape: PyTorch's own limit on tensor rank is 64. */
  maxRank: 64,
};

/** Bytes per element of each file dtype. */
export function dtypeSize(dtype: FileDType): number {
  return DTYPE_SIZE[dtype];
}

/**
 * Reads and validates the header of a safetensors file (8-byte length, JSON), without reading
 * any tensor data.
 *
 * @throws SafetensorsError for every malformed or ambiguous header (duplicate names included).
 */
export function readSafetensorsIndex(reader: ByteReader, file: string | undefined = reader.name): SafetensorsIndex {
  const fail = (problem: string, tensor?: string): never => {
    const opts: { file?: string; tensor?: string } = {};
    if (file !== undefined) opts.file = file;
    if (tensor !== undefined) opts.tensor = tensor;
    throw new SafetensorsError(problem, opts);
  };

  const size = reader.size;
  if (size < 8) fail(`file is ${size} bytes, shorter than the 8-byte header length prefix`);
  const prefix = new Uint8Array(8);
  reader.readInto(0, prefix);
  const headerLen64 = new DataView(prefix.buffer).getBigUint64(0, true);
  if (headerLen64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`header length ${headerLen64} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  const headerLen = Number(headerLen64);
  if (headerLen > size - 8) {
    fail(`header length ${headerLen} exceeds the ${size - 8} bytes after the length prefix (file truncated or corrupt)`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const headerBytes = new Uint8Array(headerLen);
  reader.readInto(8, headerBytes);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("header is not valid UTF-8");
  }
  const L = SAFETENSORS_HEADER_LIMITS;
  try {
    checkJsonBounds(text, { maxDepth: 3, maxKeys: [L.maxEntries, Math.max(L.maxMetadataEntries, 8)], maxArrayLength: L.maxRank });
  } catch (e) {
    if (e instanceof JsonBoundsError) return fail(`header: ${e.message}`);
    throw e;
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(header)) {
    return fail(`header must be a JSON object, got ${Array.isArray(header) ? "an array" : describe(header)}`);
  }

  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const name of Object.keys(header)) {
    const raw = header[name];
    if (name === METADATA_KEY) {
      if (!isPlainObject(raw)) fail(`"${METADATA_KEY}" must be an object of strings, got ${describe(raw)}`);
      const pairs: [string, string][] = [];
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") {
          fail(`"${METADATA_KEY}" value for key ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
        }
        pairs.push([k, v as string]);
      }
      if (pairs.length > L.maxMetadataEntries) fail(`"${METADATA_KEY}" has ${pairs.length} entries, more than the ${L.maxMetadataEntries} accepted`);
      metadata = Object.fromEntries(pairs);
      continue;
    }
    if (!isPlainObject(raw)) fail(`header entry must be an object, got ${describe(raw)}`, name);
    const info = raw as Record<string, unknown>;
    for (const key of Object.keys(info)) {
      if (key !== "dtype" && key !== "shape" && key !== "data_offsets") fail(`unknown header field ${JSON.stringify(key)} (expected dtype, shape, data_offsets)`, name);
    }

    const dtype = info["dtype"];
    if (dtype === undefined) fail(`missing "dtype"`, name);
    if (typeof dtype !== "string") fail(`"dtype" must be a string, got ${describe(dtype)}`, name);
    if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype as string)) {
      fail(`unknown or unsupported dtype ${describe(dtype)} (supported: ${FILE_DTYPES.join(", ")})`, name);
    }
    const dt = dtype as FileDType;

    const shape = info["shape"];
    if (!Array.isArray(shape)) fail(`"shape" must be an array of non-negative integers, got ${describe(shape)}`, name);
    let count = 1;
    for (const d of shape as unknown[]) {
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
        fail(`"shape" must be an array of non-negative integers, got ${describe(shape)}`, name);
      }
      count *= d as number;
    }

    const offsets = info["data_offsets"];
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`"data_offsets" must be two non-negative integers [begin, end], got ${describe(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`"data_offsets" begin ${begin} is greater than end ${end}`, name);
    if (end > dataLen) {
      fail(`"data_offsets" end ${end} is beyond the ${dataLen}-byte data buffer (file truncated or corrupt)`, name);
    }
    const nbytes = count * DTYPE_SIZE[dt];
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(nbytes) || nbytes !== end - begin) {
      const expected = Number.isSafeInteger(nbytes) ? `${nbytes} bytes` : "an overflowing byte count";
      fail(
        `shape ${describe(shape)} with dtype ${dt} needs ${expected}, but data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
        name,
      );
    }
    entries.push({ name, dtype: dt, shape: (shape as number[]).slice(), begin, end });
  }

  // The tensors must tile the data buffer exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of entries) {
    if (e.begin < expected) {
      fail(`data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(previous!.name)} [${previous!.begin}, ${previous!.end}]`, e.name);
    }
    if (e.begin > expected) {
      fail(`gap in data buffer: bytes [${expected}, ${e.begin}) before this tensor belong to no tensor`, e.name);
    }
    expected = e.end;
    previous = e;
  }
  if (expected !== dataLen) {
    fail(`data buffer has ${dataLen - expected} trailing bytes not covered by any tensor (tensors end at ${expected}, buffer is ${dataLen} bytes)`);
  }
  const byName = new Map<string, SafetensorsEntry>();
  for (const e of entries) byName.set(e.name, { ...e, begin: dataStart + e.begin, end: dataStart + e.end });
  return { entries: byName, metadata };
}

/** Reads one tensor of an index into a fresh typed array (see StoredTensor). */
export function readSafetensorsTensor(reader: ByteReader, entry: SafetensorsEntry): StoredTensor {
  const n = entry.end - entry.begin;
  let data: TensorData;
  if (isFloatDType(entry.dtype)) {
    data = new Float32Array(n / DTYPE_SIZE[entry.dtype]);
    readFloatsInto(reader, entry.begin, entry.dtype, data.length, data);
  } else {
    const bytes = new Uint8Array(n); // a fresh, aligned buffer the typed array takes over
    reader.readInto(entry.begin, bytes);
    data = decodeBytes(bytes, entry.dtype);
  }
  const t: StoredTensor = {
    dtype: entry.dtype === "F64" ? "F32" : entry.dtype === "BOOL" ? "U8" : entry.dtype,
    shape: entry.shape.slice(),
    data,
  };
  if (entry.dtype === "F64" || entry.dtype === "BOOL") t.sourceDtype = entry.dtype;
  return t;
}

/**
 * Parses a complete safetensors file image.
 *
 * @param bytes the whole file.
 * @param file optional file name, used only in error messages.
 * @throws SafetensorsError if the data is truncated or malformed in any way.
 */
export function parseSafetensors(bytes: Uint8Array, file?: string): SafetensorsContents {
  return readAll(bytesReader(bytes, file), file);
}

/** Index + every tensor of a reader. */
export function readAll(reader: ByteReader, file: string | undefined): SafetensorsContents {
  const { entries, metadata } = readSafetensorsIndex(reader, file);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, e] of entries) tensors.set(name, readSafetensorsTensor(reader, e));
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------
// Writing

function defaultDtype(data: TensorData): SafeDType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof BigInt64Array) return "I64";
  return "U8";
}

function isDataType(data: unknown): data is TensorData {
  return (
    data instanceof Float32Array ||
    data instanceof Int32Array ||
    data instanceof BigInt64Array ||
    data instanceof Uint8Array
  );
}

/** Returns the little-endian bytes of `data` stored as `dtype` (a fresh array). */
/** A tensor's data as the file stores it (little-endian, F16/BF16 rounded). */
export function encodeTensor(data: TensorData, dtype: SafeDType): Uint8Array {
  if (dtype === "F16" || dtype === "BF16") {
    const f = data as Float32Array;
    const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
    const out = new Uint16Array(f.length);
    const conv = dtype === "F16" ? f32BitsToF16Bits : f32BitsToBf16Bits;
    for (let i = 0; i < out.length; i++) out[i] = conv(bits[i]!);
    const bytes = new Uint8Array(out.buffer);
    if (!LITTLE_ENDIAN) swapBytes(bytes, 2);
    return bytes;
  }
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (!LITTLE_ENDIAN) swapBytes(bytes, DTYPE_SIZE[dtype]);
  return bytes;
}

/**
 * Serializes tensors (in the order given) and optional string metadata to a safetensors image.
 *
 * @throws SafetensorsError if a tensor's dtype does not fit its array, its shape does not match
 *   its length, a name is "__metadata__", or a metadata value is not a string.
 */
export function serializeSafetensors(
  tensors: Map<string, WritableTensor> | Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list: [string, WritableTensor][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new SafetensorsError(`metadata must be an object of strings`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError(`metadata value for key ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
      }
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }

  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    const bad = (problem: string): never => {
      throw new SafetensorsError(problem, { tensor: name });
    };
    if (name === METADATA_KEY) bad(`"${METADATA_KEY}" is reserved and cannot be a tensor name`);
    if (!isPlainObject(t) || !isDataType(t.data)) {
      bad(`data must be a Float32Array, Int32Array, BigInt64Array or Uint8Array`);
    }
    const dtype = t.dtype ?? defaultDtype(t.data);
    const natural = defaultDtype(t.data);
    const allowed = natural === "F32" ? ["F32", "F16", "BF16"] : [natural];
    if (!allowed.includes(dtype)) {
      bad(`dtype ${describe(dtype)} cannot be written from a ${t.data.constructor.name} (allowed: ${allowed.join(", ")})`);
    }
    if (!Array.isArray(t.shape)) bad(`shape must be an array of non-negative integers, got ${describe(t.shape)}`);
    let count = 1;
    for (const d of t.shape) {
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
        bad(`shape must be an array of non-negative integers, got ${describe(t.shape)}`);
      }
      count *= d;
    }
    if (count !== t.data.length) bad(`shape ${describe(t.shape)} has ${count} elements but data has ${t.data.length}`);

    const blob = encodeTensor(t.data, dtype);
    const begin = offset;
    offset += blob.length;
    blobs.push(blob);
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${begin},${offset}]}`,
    );
  }

  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const blob of blobs) {
    out.set(blob, pos);
    pos += blob.length;
  }
  return out;
}

/** What the header of a file of `tensors` (dtype and shape only, data elsewhere) says. */
export interface TensorLayout {
  dtype: SafeDType;
  shape: number[];
}

/**
 * The header bytes (length prefix + padded JSON) of a file holding `tensors` in order, for writers
 * that produce the data tensor by tensor afterwards. Validates names and dtypes like serializeSafetensors.
 */
export function safetensorsHeader(tensors: ReadonlyMap<string, TensorLayout>, metadata?: Record<string, string>): Uint8Array {
  const header = new Map<string, WritableTensor>();
  for (const [name, t] of tensors) {
    // A zero-length stand-in of the right dtype lets serializeSafetensors check names and dtypes.
    header.set(name, { dtype: t.dtype, shape: [0], data: t.dtype === "I64" ? new BigInt64Array(0) : t.dtype === "I32" ? new Int32Array(0) : t.dtype === "U8" ? new Uint8Array(0) : new Float32Array(0) });
  }
  serializeSafetensors(header, metadata); // validation only
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype];
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + bytes}]}`);
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerLen).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLen), true);
  head.set(json, 8);
  return head;
}
