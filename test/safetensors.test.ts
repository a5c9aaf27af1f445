// Tests for src/io/safetensors.ts: round trips for every dtype, exact F16/BF16 conversions, a
// byte-level comparison with a hand-built file, one test per validation rule, a mutation fuzz test,
// atomic file writing, and parsing the shared golden checkpoint.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOLDEN_ROOT } from "./helpers/golden.js";
import {
  SafetensorsError,
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
  type WritableTensor,
} from "../src/io/safetensors.js";

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();

/** Builds a file from a raw header string (no padding added) and data bytes. */
function rawFile(header: string | object, data: Uint8Array | number = 0, lengthOverride?: bigint): Uint8Array {
  const json = enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** Asserts that parsing throws a SafetensorsError whose message matches every pattern. */
function expectError(bytes: Uint8Array, ...patterns: RegExp[]): SafetensorsError {
  let caught: unknown;
  try {
    parseSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SafetensorsError, `expected SafetensorsError, got ${String(caught)}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

function expectWriteError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** A valid single-tensor entry. */
const f32Entry = (begin: number, end: number, shape: number[] = [(end - begin) / 4]) => ({
  dtype: "F32",
  shape,
  data_offsets: [begin, end],
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleTensors(): Map<string, WritableTensor> {
  return new Map<string, WritableTensor>([
    ["w.f32", { shape: [2, 3], data: new Float32Array([1, -2.5, 3.25, 0, -0, 1e-30]) }],
    ["w.f16", { dtype: "F16", shape: [4], data: new Float32Array([1, -2, 0.5, 65504]) }],
    ["w.bf16", { dtype: "BF16", shape: [3], data: new Float32Array([1, -3, 256]) }],
    ["i32", { shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) }],
    ["i64", { shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) }],
    ["u8", { shape: [2, 2], data: new Uint8Array([0, 1, 128, 255]) }],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Round trips

test("round trip: every dtype, metadata and order are preserved", () => {
  const input = sampleTensors();
  const bytes = serializeSafetensors(input, { format: "pt", note: "hé ✓" });
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt", note: "hé ✓" });
  assert.deepEqual([...tensors.keys()], [...input.keys()]);
  for (const [name, t] of input) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, t.dtype ?? { Float32Array: "F32", Int32Array: "I32", BigInt64Array: "I64", Uint8Array: "U8" }[t.data.constructor.name]);
    assert.deepEqual(got.shape, t.shape);
    assert.equal(got.data.constructor, t.data.constructor);
    assert.deepEqual(got.data, t.data);
    assert.equal(got.sourceDtype, undefined);
  }
  // -0 survives F32.
  assert.ok(Object.is(tensors.get("w.f32")!.data[4], -0));
  // Re-serializing what was read gives identical bytes (dtype kept on the stored tensor).
  assert.deepEqual(serializeSafetensors(tensors, metadata), bytes);
});

test("round trip: empty tensors and scalars for every dtype", () => {
  const input = new Map<string, WritableTensor>();
  const arrays = {
    F32: (n: number) => new Float32Array(n).fill(1.5),
    F16: (n: number) => new Float32Array(n).fill(-0.25),
    BF16: (n: number) => new Float32Array(n).fill(2),
    I32: (n: number) => new Int32Array(n).fill(-7),
    I64: (n: number) => new BigInt64Array(n).fill(-7n),
    U8: (n: number) => new Uint8Array(n).fill(9),
  } as const;
  for (const [dtype, make] of Object.entries(arrays) as [keyof typeof arrays, (n: number) => WritableTensor["data"]][]) {
    input.set(`${dtype}.empty`, { dtype, shape: [0], data: make(0) });
    input.set(`${dtype}.empty2d`, { dtype, shape: [3, 0, 2], data: make(0) });
    input.set(`${dtype}.scalar`, { dtype, shape: [], data: make(1) });
  }
  const { tensors, metadata } = parseSafetensors(serializeSafetensors(input));
  assert.deepEqual(metadata, {});
  assert.deepEqual([...tensors.keys()], [...input.keys()]);
  for (const [name, t] of input) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, t.dtype);
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(got.data, t.data);
  }
});

test("round trip: no tensors at all", () => {
  const bytes = serializeSafetensors({});
  assert.equal(bytes.length, 16); // "{}" padded to 8
  assert.equal(new TextDecoder().decode(bytes.subarray(8)), "{}      ");
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.equal(tensors.size, 0);
  assert.deepEqual(metadata, {});
});

test("parse: unaligned input buffer gives fresh aligned arrays that do not alias it", () => {
  const bytes = serializeSafetensors({
    u8: { shape: [1], data: new Uint8Array([7]) }, // makes the following tensors misaligned
    f: { shape: [3], data: new Float32Array([1, 2, 3]) },
    h: { dtype: "F16", shape: [2], data: new Float32Array([1, 2]) },
    l: { shape: [1], data: new BigInt64Array([-5n]) },
  });
  const backing = new Uint8Array(bytes.length + 3);
  backing.set(bytes, 3);
  const view = backing.subarray(3);
  const { tensors } = parseSafetensors(view);
  assert.deepEqual(tensors.get("f")!.data, new Float32Array([1, 2, 3]));
  assert.deepEqual(tensors.get("h")!.data, new Float32Array([1, 2]));
  assert.deepEqual(tensors.get("l")!.data, new BigInt64Array([-5n]));
  for (const t of tensors.values()) assert.notEqual(t.data.buffer, backing.buffer);
  backing.fill(0);
  assert.deepEqual(tensors.get("f")!.data, new Float32Array([1, 2, 3]));
});

test("parse: F64 is narrowed to F32 and BOOL read as U8", () => {
  const data = new Uint8Array(8 * 2 + 3);
  const dv = new DataView(data.buffer);
  dv.setFloat64(0, 0.1, true);
  dv.setFloat64(8, -1e300, true);
  data.set([1, 0, 1], 16);
  const file = rawFile(
    {
      d: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
      b: { dtype: "BOOL", shape: [3], data_offsets: [16, 19] },
    },
    data,
  );
  const { tensors } = parseSafetensors(file);
  const d = tensors.get("d")!;
  assert.equal(d.dtype, "F32");
  assert.equal(d.sourceDtype, "F64");
  assert.deepEqual(d.data, new Float32Array([0.1, -Infinity]));
  const b = tensors.get("b")!;
  assert.equal(b.dtype, "U8");
  assert.equal(b.sourceDtype, "BOOL");
  assert.deepEqual(b.data, new Uint8Array([1, 0, 1]));
});

// ---------------------------------------------------------------------------------------------
// Half-precision conversions

test("F16: encoding of special values matches hand-computed bit patterns", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // below the rounding midpoint
    [65520, 0x7c00], // midpoint: ties to even → overflow to infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -24, 0x0001], // smallest subnormal
    [-(2 ** -24), 0x8001],
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
    [2 ** -25 * 1.0000001, 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps → even (2)
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
    [1 + 2 ** -11, 0x3c00], // tie → even
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2 ** -14 - 2 ** -25, 0x0400], // tie between largest subnormal and smallest normal → even
  ];
  for (const [x, bits] of cases) {
    assert.equal(f32ToF16Bits(x), bits, `f16(${x}) = 0x${f32ToF16Bits(x).toString(16)}, want 0x${bits.toString(16)}`);
  }
  const nan = f32ToF16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
});

test("F16: decoding is exact, including subnormals, infinities, NaN and -0", () => {
  assert.equal(f16BitsToF32(0x3c00), 1);
  assert.equal(f16BitsToF32(0x7bff), 65504);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f16BitsToF32(0x03ff), 1023 * 2 ** -24);
  assert.equal(f16BitsToF32(0x0400), 2 ** -14);
  assert.equal(f16BitsToF32(0x3555), 1365 / 4096);
  assert.equal(f16BitsToF32(0x7c00), Infinity);
  assert.equal(f16BitsToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0xfc01)));
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  // Every non-NaN half value survives half → float → half unchanged.
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
    const x = f16BitsToF32(h);
    if (f32ToF16Bits(x) !== h) assert.fail(`0x${h.toString(16)} → ${x} → 0x${f32ToF16Bits(x).toString(16)}`);
  }
});

test("BF16: conversion of special values and rounding", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3f80],
    [-2, 0xc000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // above the tie
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to infinity
    [2 ** -133, 0x0001], // smallest bf16 subnormal
  ];
  for (const [x, bits] of cases) {
    assert.equal(f32ToBf16Bits(x), bits, `bf16(${x}) = 0x${f32ToBf16Bits(x).toString(16)}, want 0x${bits.toString(16)}`);
  }
  const nan = f32ToBf16Bits(NaN);
  assert.equal(nan & 0x7f80, 0x7f80);
  assert.notEqual(nan & 0x7f, 0);
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0x7f7f), 3.3895313892515355e38);
  assert.equal(bf16BitsToF32(0xff80), -Infinity);
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc0)));
  assert.ok(Object.is(bf16BitsToF32(0x8000), -0));
});

test("F16/BF16 tensors: bytes in the file are the expected little-endian bit patterns", () => {
  const values = new Float32Array([1, 65504, 2 ** -24, Infinity, -0, NaN, -2]);
  const f16Bits = [0x3c00, 0x7bff, 0x0001, 0x7c00, 0x8000, -1, 0xc000];
  const bf16Bits = [0x3f80, 0x4780, 0x3380, 0x7f80, 0x8000, -1, 0xc000];
  for (const [dtype, expected] of [["F16", f16Bits], ["BF16", bf16Bits]] as const) {
    const bytes = serializeSafetensors({ t: { dtype, shape: [values.length], data: values } });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const dv = new DataView(bytes.buffer, 8 + headerLen);
    assert.equal(dv.byteLength, values.length * 2);
    expected.forEach((bits, i) => {
      const got = dv.getUint16(2 * i, true);
      if (bits === -1) assert.ok(Number.isNaN(dtype === "F16" ? f16BitsToF32(got) : bf16BitsToF32(got)));
      else assert.equal(got, bits, `${dtype}[${i}]`);
    });
    const back = parseSafetensors(bytes).tensors.get("t")!;
    assert.equal(back.dtype, dtype);
    const want = Float32Array.from(values, (v) => (dtype === "BF16" && v === 65504 ? 65536 : v));
    assert.deepEqual(back.data, want);
  }
});

// ---------------------------------------------------------------------------------------------
// Byte-level compatibility

test("serialize: output equals a hand-built file byte for byte, and parses", () => {
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"ab":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"U8","shape":[],"data_offsets":[8,9]}}';
  assert.equal(header.length, 137);
  const expected = new Uint8Array([
    144, 0, 0, 0, 0, 0, 0, 0, // header length: 137 padded to 144
    ...enc.encode(header),
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, // 7 spaces of padding
    0x00, 0x00, 0x80, 0x3f, // 1.0f
    0x00, 0x00, 0x20, 0xc0, // -2.5f
    0x2a, // 42
  ]);
  const bytes = serializeSafetensors(
    new Map<string, WritableTensor>([
      ["ab", { shape: [2], data: new Float32Array([1, -2.5]) }],
      ["b", { shape: [], data: new Uint8Array([42]) }],
    ]),
    { format: "pt" },
  );
  assert.deepEqual(bytes, expected);
  const { tensors, metadata } = parseSafetensors(expected);
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual(tensors.get("ab"), { dtype: "F32", shape: [2], data: new Float32Array([1, -2.5]) });
  assert.deepEqual(tensors.get("b"), { dtype: "U8", shape: [], data: new Uint8Array([42]) });
});

test("parse: header key order is irrelevant; tensors come back in data order", () => {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setFloat32(0, 3, true);
  new DataView(data.buffer).setFloat32(4, 4, true);
  const file = rawFile({ second: f32Entry(4, 8), __metadata__: { k: "v" }, first: f32Entry(0, 4) }, data);
  const { tensors, metadata } = parseSafetensors(file);
  assert.deepEqual([...tensors.keys()], ["first", "second"]);
  assert.deepEqual(tensors.get("second")!.data, new Float32Array([4]));
  assert.deepEqual(metadata, { k: "v" });
});

// ---------------------------------------------------------------------------------------------
// Validation on read: one test per rule

test("validation: file shorter than 8 bytes", () => {
  expectError(new Uint8Array(0), /0 bytes/, /shorter than the 8-byte/);
  expectError(new Uint8Array(7), /7 bytes/);
});

test("validation: header length beyond the file", () => {
  const good = rawFile({}, 0);
  expectError(rawFile("{}", 0, 1n), /not valid JSON/); // sanity: a shorter length cuts the JSON
  expectError(rawFile("{}", 0, BigInt(good.length - 8 + 1)), /header length 3 exceeds the 2 bytes/, /truncated/);
  expectError(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]), /header length 8 exceeds the 0 bytes/);
});

test("validation: header length above the 100 MB limit (u64 read as BigInt)", () => {
  expectError(rawFile("{}", 0, 100_000_001n), /header length 100000001 exceeds the 100000000-byte limit/);
  expectError(rawFile("{}", 0, 2n ** 64n - 1n), /header length 18446744073709551615 exceeds/);
  expectError(rawFile("{}", 0, 2n ** 53n + 1n), /header length 9007199254740993 exceeds/);
});

test("validation: header not valid UTF-8", () => {
  const file = rawFile('{"x":"??"}', 0);
  file[8 + 6] = 0xff;
  file[8 + 7] = 0xfe;
  expectError(file, /not valid UTF-8/);
});

test("validation: header not valid JSON", () => {
  expectError(rawFile('{"a": ', 0), /not valid JSON/);
  expectError(rawFile("", 0), /not valid JSON/);
});

test("validation: header not a JSON object", () => {
  expectError(rawFile("[]", 0), /must be a JSON object, got an array/);
  expectError(rawFile("null", 0), /must be a JSON object, got null/);
  expectError(rawFile("42  ", 0), /must be a JSON object, got 42/);
});

test("validation: entry not an object", () => {
  expectError(rawFile({ w: [1, 2] }, 0), /tensor "w": header entry must be an object/);
  expectError(rawFile({ w: "F32" }, 0), /tensor "w": header entry must be an object, got "F32"/);
});

test("validation: missing or unknown dtype", () => {
  expectError(rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w": missing "dtype"/);
  expectError(rawFile({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), /"dtype" must be a string/);
  const e = expectError(
    rawFile({ w: { dtype: "I16", shape: [2], data_offsets: [0, 4] } }, 4),
    /tensor "w": unknown or unsupported dtype "I16"/,
    /F32, F16, BF16, I32, I64, U8/,
  );
  assert.equal(e.tensor, "w");
  expectError(rawFile({ w: { dtype: "toString", shape: [], data_offsets: [0, 4] } }, 4), /unknown or unsupported dtype "toString"/);
});

test("validation: shape not an array of non-negative safe integers", () => {
  const bad = [undefined, "2", [-1], [1.5], [2 ** 53], ["2"], [null]];
  for (const shape of bad) {
    expectError(rawFile({ w: { dtype: "U8", shape, data_offsets: [0, 0] } }, 0), /tensor "w": "shape" must be an array of non-negative integers/);
  }
});

test("validation: data_offsets not two non-negative integers with begin <= end", () => {
  const bad = [undefined, [0], [0, 4, 8], [-4, 0], [0, 4.5], ["0", "4"], [0, 2 ** 60], {}];
  for (const data_offsets of bad) {
    expectError(
      rawFile({ w: { dtype: "U8", shape: [4], data_offsets } }, 4),
      /tensor "w": "data_offsets" must be two non-negative integers/,
    );
  }
  expectError(rawFile({ w: { dtype: "U8", shape: [0], data_offsets: [4, 0] } }, 4), /begin 4 is greater than end 0/);
});

test("validation: data_offsets end beyond the data buffer", () => {
  expectError(rawFile({ w: f32Entry(0, 16) }, 12), /tensor "w": "data_offsets" end 16 is beyond the 12-byte data buffer/);
  // A truncated valid file.
  const file = serializeSafetensors({ w: { shape: [4], data: new Float32Array(4) } });
  expectError(file.subarray(0, file.length - 1), /end 16 is beyond the 15-byte data buffer/);
});

test("validation: element count × dtype size must equal the byte span", () => {
  expectError(rawFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8), /tensor "w": shape \[3\] with dtype F32 needs 12 bytes, but data_offsets \[0, 8\] span 8 bytes/);
  expectError(rawFile({ w: { dtype: "F16", shape: [], data_offsets: [0, 4] } }, 4), /needs 2 bytes/);
  // Overflowing element count must not be trusted (or allocated).
  expectError(rawFile({ w: { dtype: "I64", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, 8), /overflowing byte count/);
  expectError(rawFile({ w: { dtype: "I64", shape: [2 ** 50], data_offsets: [0, 8] } }, 8), /overflowing byte count/);
});

test("validation: tensors must tile the data buffer (no gap, overlap or trailing bytes)", () => {
  // Gap at the start.
  expectError(rawFile({ w: f32Entry(4, 8) }, 8), /tensor "w": gap in data buffer: bytes \[0, 4\)/);
  // Gap in the middle.
  expectError(rawFile({ a: f32Entry(0, 4), b: f32Entry(8, 12) }, 12), /tensor "b": gap in data buffer: bytes \[4, 8\)/);
  // Overlap.
  expectError(rawFile({ a: f32Entry(0, 8), b: f32Entry(4, 12) }, 12), /tensor "b": data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/);
  // Same range twice.
  expectError(rawFile({ a: f32Entry(0, 4), b: f32Entry(0, 4) }, 4), /overlap tensor "a"/);
  // Empty tensor inside another one.
  expectError(rawFile({ a: f32Entry(0, 8), e: { dtype: "U8", shape: [0], data_offsets: [4, 4] } }, 8), /tensor "e".*overlap/);
  // Trailing bytes.
  expectError(rawFile({ a: f32Entry(0, 4) }, 6), /2 trailing bytes not covered by any tensor/);
  expectError(rawFile({}, 3), /3 trailing bytes/);
  // Empty tensors at the end or start are fine.
  const ok = rawFile({ e0: { dtype: "U8", shape: [0], data_offsets: [0, 0] }, a: f32Entry(0, 4), e1: { dtype: "I64", shape: [0, 5], data_offsets: [4, 4] } }, 4);
  assert.deepEqual([...parseSafetensors(ok).tensors.keys()], ["e0", "a", "e1"]);
});

test("validation: __metadata__ must be a string→string map", () => {
  expectError(rawFile({ __metadata__: "pt" }, 0), /"__metadata__" must be an object of strings, got "pt"/);
  expectError(rawFile({ __metadata__: ["a"] }, 0), /"__metadata__" must be an object/);
  expectError(rawFile({ __metadata__: null }, 0), /"__metadata__" must be an object/);
  expectError(rawFile({ __metadata__: { format: 1 } }, 0), /"__metadata__" value for key "format" must be a string, got 1/);
  // Special keys are stored as plain data.
  const { metadata } = parseSafetensors(rawFile('{"__metadata__":{"__proto__":"x","a":"b"}}', 0));
  assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
  assert.equal(metadata["__proto__"], "x");
  assert.deepEqual(Object.keys(metadata), ["__proto__", "a"]);
});

test("validation: header padded with trailing spaces is accepted", () => {
  const file = rawFile('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}     ', new Uint8Array([5]));
  assert.deepEqual(parseSafetensors(file).tensors.get("w")!.data, new Uint8Array([5]));
});

test("validation: errors name the file when reading from disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));
  try {
    const path = join(dir, "bad.safetensors");
    writeFileSync(path, rawFile({ w: { dtype: "Q4", shape: [], data_offsets: [0, 0] } }, 0));
    assert.throws(
      () => readSafetensorsFile(path),
      (e: unknown) => {
        assert.ok(e instanceof SafetensorsError);
        assert.equal(e.file, path);
        assert.ok(e.message.includes(`"${path}"`), e.message);
        assert.match(e.message, /tensor "w": unknown or unsupported dtype "Q4"/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Validation on write

test("serialize: rejects inconsistent tensors and metadata", () => {
  expectWriteError(() => serializeSafetensors({ w: { dtype: "F16", shape: [1], data: new Int32Array(1) } }), /tensor "w": dtype "F16" cannot be written from a Int32Array/);
  expectWriteError(() => serializeSafetensors({ w: { dtype: "I32", shape: [1], data: new Float32Array(1) } }), /allowed: F32, F16, BF16/);
  expectWriteError(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), /shape \[2,2\] has 4 elements but data has 3/);
  expectWriteError(() => serializeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } }), /shape must be an array of non-negative integers/);
  expectWriteError(() => serializeSafetensors({ w: { shape: [1], data: [1] as unknown as Float32Array } }), /data must be a Float32Array/);
  expectWriteError(() => serializeSafetensors(new Map([["__metadata__", { shape: [], data: new Uint8Array(1) }]])), /reserved/);
  expectWriteError(() => serializeSafetensors({}, { a: 1 as unknown as string }), /metadata value for key "a" must be a string/);
});

// ---------------------------------------------------------------------------------------------
// Fuzz

test("fuzz: 200 random truncations and byte flips either parse or throw SafetensorsError", () => {
  const base = serializeSafetensors(sampleTensors(), { format: "pt" });
  const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
  const rand = rng(12345);
  const int = (n: number) => Math.floor(rand() * n);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 200; i++) {
    let bytes: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      bytes = base.slice(0, int(base.length + 1)); // truncation
    } else {
      bytes = base.slice();
      const flips = 1 + int(3);
      for (let f = 0; f < flips; f++) {
        // kind 1: anywhere; kind 2: in the header; kind 3: in the length prefix.
        const pos = kind === 1 ? int(bytes.length) : kind === 2 ? 8 + int(headerEnd - 8) : int(8);
        bytes[pos] = bytes[pos]! ^ (1 + int(255));
      }
    }
    try {
      parseSafetensors(bytes);
      parsed++;
    } catch (e) {
      if (!(e instanceof SafetensorsError)) assert.fail(`mutation ${i} threw ${String(e)}`);
      rejected++;
    }
  }
  assert.equal(parsed + rejected, 200);
  assert.ok(rejected > 50, `only ${rejected} mutations rejected`);
});

// ---------------------------------------------------------------------------------------------
// Files

test("files: atomic write leaves only the target file and overwrites an existing one", () => {
  const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));
  try {
    const path = join(dir, "model.safetensors");
    writeSafetensorsFile(path, { a: { shape: [2], data: new Float32Array([1, 2]) } }, { step: "1" });
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    let r = readSafetensorsFile(path);
    assert.deepEqual(r.metadata, { step: "1" });
    assert.deepEqual(r.tensors.get("a")!.data, new Float32Array([1, 2]));

    writeSafetensorsFile(path, sampleTensors());
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    r = readSafetensorsFile(path);
    assert.deepEqual(r.metadata, {});
    assert.deepEqual([...r.tensors.keys()], [...sampleTensors().keys()]);

    // A failed serialization leaves the old file untouched and no temp file behind.
    assert.throws(() => writeSafetensorsFile(path, { w: { shape: [3], data: new Float32Array(2) } }), SafetensorsError);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    assert.deepEqual([...readSafetensorsFile(path).tensors.keys()], [...sampleTensors().keys()]);

    // Writing into a missing directory fails with the file-system error.
    assert.throws(() => writeSafetensorsFile(join(dir, "missing", "x.safetensors"), {}), /ENOENT/);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Golden checkpoint

test("golden: shared/golden/rot/weights.safetensors parses and re-serializes byte-identically", () => {
  const path = join(GOLDEN_ROOT, "rot", "weights.safetensors");
  assert.ok(existsSync(path), `golden file not found at ${path}`);
  const { tensors } = readSafetensorsFile(path);
  assert.ok(tensors.size > 1);
  const emb = tensors.get("input_adapter.txt_embedding.weight");
  assert.ok(emb !== undefined);
  assert.equal(emb.dtype, "F32");
  assert.deepEqual(emb.shape, [80, 32]);
  assert.ok(emb.data instanceof Float32Array);
  assert.equal(emb.data.length, 80 * 32);
  assert.ok(emb.data.every((v) => Number.isFinite(v)));
  assert.ok(emb.data.some((v) => v !== 0));
  // Re-serializing in the same order reproduces the reference writer's bytes exactly.
  assert.deepEqual(Buffer.from(serializeSafetensors(tensors)), readFileSync(path));
});

// ---------------------------------------------------------------------------------------------
// Headers that cost nothing to parse; ambiguity is an error

test("header bounds: deep nesting, too many entries and long arrays are refused before JSON.parse", () => {
  const deep = `{"w":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  expectError(rawFile(deep, 0), /header: nesting deeper than 3 levels/);
  const many = `{${Array.from({ length: (1 << 16) + 1 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`).join(",")}}`;
  const t0 = performance.now();
  expectError(rawFile(many, 0), /more than 65536 keys in one object/);
  assert.ok(performance.now() - t0 < 2000, "refusing a huge header is fast");
  const meta = `{"__metadata__":{${Array.from({ length: 5000 }, (_, i) => `"k${i}":"v"`).join(",")}}}`;
  expectError(rawFile(meta, 0), /more than 4096 keys in one object \(at "__metadata__"\)/);
  expectError(rawFile({ w: { dtype: "U8", shape: new Array(65).fill(1), data_offsets: [0, 1] } }, 1), /array longer than 64 elements/);
});

test("ambiguity: duplicate tensor names, duplicate fields and unknown fields are refused", () => {
  const dup = '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
  expectError(rawFile(dup, 2), /duplicate key "w".*ambiguous/);
  // The same name spelled with an escape is the same key.
  expectError(rawFile('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0077":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), /duplicate key "w"/);
  expectError(rawFile('{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1), /duplicate key "dtype" \(at "w"\)/);
  expectError(rawFile({ w: { dtype: "U8", shape: [1], data_offsets: [0, 1], extra: 1 } }, 1), /unknown header field "extra"/);
});

test("lazy index: entries point into the file and read one tensor at a time", async () => {
  const { readSafetensorsIndex, readSafetensorsTensor } = await import("../src/io/safetensors.js");
  const { bytesReader } = await import("../src/io/byte-reader.js");
  const bytes = serializeSafetensors(sampleTensors());
  const r = bytesReader(bytes);
  const index = readSafetensorsIndex(r);
  assert.deepEqual([...index.entries.keys()], [...sampleTensors().keys()]);
  const e = index.entries.get("w.f16")!;
  assert.equal(e.end - e.begin, 8);
  assert.deepEqual(readSafetensorsTensor(r, e).data, new Float32Array([1, -2, 0.5, 65504]));
});
