// PyTorch `pytorch_model.bin` / `torch.save` state dicts, read without Python and without
// executing anything (platform-neutral; the bytes come from a ByteReader).
//
// Formats:
// - zip (torch >= 1.6, what transformers writes): `<prefix>/data.pkl` (the pickle),
//   `<prefix>/data/<key>` (one raw little-endian storage per key), `<prefix>/version`, and since
//   torch 2.1 `<prefix>/byteorder`.
// - legacy stream (torch < 1.6, `_use_new_zipfile_serialization=False`): pickles of the magic
//   number, the protocol version, sys_info and the object, then the sorted storage keys, then each
//   storage as an int64 element count followed by its bytes. Supported.
// - the pre-0.4 tar format is refused with a message saying how to re-save it.
//
// Contract:
// - `readTorchIndex` parses the pickle with the restricted machine of pickle.ts (no code runs, no
//   global outside the allowlist) and checks every tensor against its storage before anything is
//   read: the storage exists with exactly the bytes its persistent id declares, the tensor's
//   strided extent lies inside it, no view holds more elements than its storage, and all views
//   together hold at most MAX_VIEW_RATIO x the file's bytes (shared storages may be viewed several
//   times, e.g. tied weights, but never inflated without bound). The top level must be a dict of
//   string -> tensor. Every failure is a CheckpointError naming the file (and the tensor).
// - `readTorchFloatsInto` / `readTorchTensor` read one tensor: contiguous tensors straight from the
//   file (F16/BF16/F64 widened to float32 through a bounded scratch buffer), non-contiguous ones
//   gathered from a copy of the storage span they cover.

import { CheckpointError } from "./errors.js";
import { bytesReader, sliceReader, type ByteReader } from "./byte-reader.js";
import { PyDict, PyTensor, PyTuple, PyGlobal, STORAGE_TYPES, TORCH_DTYPE_SIZE, unpickle, type PyStorage, type PyValue, type TorchDType } from "./pickle.js";
import { inflateBudget, readZipDirectory, readZipEntry, type InflateRaw, type ZipEntry } from "./zip.js";
import { readFloatsInto, type FileDType } from "./safetensors-format.js";

export interface TorchTensorEntry {
  name: string;
  dtype: TorchDType;
  shape: number[];
  strides: number[];
  /** Element offset into the storage. */
  offset: number;
  storageKey: string;
}

interface StorageData {
  dtype: TorchDType;
  numel: number;
  /** A reader over the storage's raw bytes (a window of the file, or inflated bytes). */
  open: () => ByteReader;
}

export interface TorchCheckpoint {
  file: string;
  format: "zip" | "legacy";
  tensors: Map<string, TorchTensorEntry>;
  /** Storage bytes are big-endian (torch's byteorder record): swapped on read. */
  bigEndian: boolean;
  storages: Map<string, StorageData>;
}

export interface TorchReadOptions {
  file?: string;
  /** Needed only for deflated zip entries (torch never writes them; re-zipped archives may). */
  inflateRaw?: InflateRaw;
}

/** All tensor views together may hold at most this many times the file's bytes. */
export const MAX_VIEW_RATIO = 2;
/** Pickle bytes read from a legacy stream before its storages (a state dict's pickle is ~100 B per tensor). */
const MAX_LEGACY_PICKLE_BYTES = 1 << 26;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Whether the first bytes look like a torch.save file (zip or legacy pickle stream). */
export function looksLikeTorchFile(head: Uint8Array): boolean {
  return (head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x80;
}

export function readTorchIndex(reader: ByteReader, options: TorchReadOptions = {}): TorchCheckpoint {
  const file = options.file ?? reader.name ?? "pytorch_model.bin";
  const fail = (m: string): never => {
    throw new CheckpointError(`${file}: ${m}`);
  };
  if (reader.size < 4) fail(`${reader.size} bytes is too short for a torch.save file`);
  const head = new Uint8Array(Math.min(reader.size, 512));
  reader.readInto(0, head);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return readZipCheckpoint(reader, file, options);
  if (head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === "ustar") {
    fail(`this is the tar-based torch.save format of PyTorch < 0.4, which is not supported: load it with torch and save it again (torch.save(torch.load(f), f2))`);
  }
  if (head[0] === 0x80) return readLegacyCheckpoint(reader, file);
  return fail(`not a torch.save file (neither a zip archive nor a pickle stream)`);
}

function readZipCheckpoint(reader: ByteReader, file: string, options: TorchReadOptions): TorchCheckpoint {
  const fail = (m: string): never => {
    throw new CheckpointError(`${file}: ${m}`);
  };
  const { entries } = readZipDirectory(reader, file);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) fail(pickles.length === 0 ? `zip archive has no <name>/data.pkl: not a torch.save file` : `zip archive holds ${pickles.length} pickles (${pickles.join(", ")}): ambiguous`);
  const prefix = pickles[0]!.slice(0, -"data.pkl".length);
  const budget = inflateBudget(reader);
  const readOptions = { file, budget, ...(options.inflateRaw !== undefined ? { inflateRaw: options.inflateRaw } : {}) };
  let bigEndian = false;
  const order = entries.get(`${prefix}byteorder`);
  if (order !== undefined) {
    if (order.size > 16) fail(`byteorder record is ${order.size} bytes`);
    const s = new TextDecoder().decode(readZipEntry(reader, order, readOptions)).trim();
    if (s !== "little" && s !== "big") fail(`byteorder record says ${JSON.stringify(s)}, expected "little" or "big"`);
    bigEndian = s === "big";
  }
  const pkl = readZipEntry(reader, entries.get(pickles[0]!)!, readOptions);
  const storages = new Map<string, StorageData>();
  const persistentLoad = (pid: PyValue): PyStorage => {
    const s = parseStorageId(pid, 5, fail);
    const entry = entries.get(`${prefix}data/${s.key}`);
    if (entry === undefined) fail(`storage ${JSON.stringify(s.key)} named by the pickle is missing from the archive`);
    return registerStorage(storages, s, entry!.size, () => storageReader(reader, entry!, readOptions), fail);
  };
  const { value } = unpickle(pkl, { where: `${file}: ${pickles[0]}`, persistentLoad });
  return { file, format: "zip", bigEndian, storages, tensors: stateDictTensors(value, reader.size, storages, fail) };
}

function storageReader(reader: ByteReader, entry: ZipEntry, options: Parameters<typeof readZipEntry>[2]): ByteReader {
  if (entry.method === 0) return sliceReader(reader, entry.dataOffset, entry.size);
  return bytesReader(readZipEntry(reader, entry, options));
}

interface StorageId {
  key: string;
  dtype: TorchDType;
  numel: number;
}

/** ('storage', torch.<X>Storage, key, location, numel[, view_metadata]). */
function parseStorageId(pid: PyValue, length: 5 | 6, fail: (m: string) => never): StorageId {
  if (!(pid instanceof PyTuple) || pid.items.length !== length || pid.items[0] !== "storage") {
    return fail(`persistent id is not a ('storage', type, key, location, numel${length === 6 ? ", view" : ""}) tuple`);
  }
  const [, type, key, location, numel] = pid.items;
  if (!(type instanceof PyGlobal) || type.module !== "torch" || !Object.hasOwn(STORAGE_TYPES, type.name)) fail(`storage type must be a torch.<X>Storage`);
  if (typeof key !== "string" || key.length === 0 || key.length > 64) fail(`storage key must be a short string`);
  if (typeof location !== "string") fail(`storage location must be a string`);
  if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) fail(`storage ${JSON.stringify(key)}: element count must be a non-negative integer`);
  if (length === 6 && pid.items[5] !== null) fail(`storage ${JSON.stringify(key)}: storage views (view_metadata) of PyTorch < 0.4 are not supported`);
  return { key: key as string, dtype: STORAGE_TYPES[(type as PyGlobal).name]!, numel: numel as number };
}

function registerStorage(storages: Map<string, StorageData>, s: StorageId, bytes: number, open: () => ByteReader, fail: (m: string) => never): PyStorage {
  const known = storages.get(s.key);
  if (known !== undefined) {
    if (known.dtype !== s.dtype || known.numel !== s.numel) fail(`storage ${JSON.stringify(s.key)} is declared twice with different types or sizes`);
  } else {
    const need = s.numel * TORCH_DTYPE_SIZE[s.dtype];
    if (need !== bytes) fail(`storage ${JSON.stringify(s.key)}: ${s.numel} ${s.dtype} elements need ${need} bytes, the file holds ${bytes}`);
    storages.set(s.key, { dtype: s.dtype, numel: s.numel, open });
  }
  return { kind: "storage", key: s.key, dtype: s.dtype, numel: s.numel };
}

/** The state dict: a dict of name -> tensor, every view checked against its storage. */
function stateDictTensors(value: PyValue, fileSize: number, storages: Map<string, StorageData>, fail: (m: string) => never): Map<string, TorchTensorEntry> {
  if (!(value instanceof PyDict)) return fail(`the pickle holds a ${value === null ? "None" : typeof value === "object" ? value.constructor.name : typeof value}, not a state dict`);
  const out = new Map<string, TorchTensorEntry>();
  let viewBytes = 0;
  for (const [k, v] of value.map) {
    if (typeof k !== "string") fail(`state dict key ${String(k).slice(0, 40)} is not a string`);
    const name = k as string;
    if (!(v instanceof PyTensor)) fail(`state dict entry ${JSON.stringify(name)} is not a tensor`);
    const t = v as PyTensor;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(numel)) fail(`tensor ${JSON.stringify(name)}: shape [${t.shape.join(", ")}] overflows`);
    if (numel > 0) {
      let last = t.offset;
      for (let i = 0; i < t.shape.length; i++) last += (t.shape[i]! - 1) * t.strides[i]!;
      if (!Number.isSafeInteger(last) || last >= t.storage.numel) {
        fail(`tensor ${JSON.stringify(name)}: shape [${t.shape.join(", ")}], strides [${t.strides.join(", ")}] at offset ${t.offset} reach element ${last} of a ${t.storage.numel}-element storage`);
      }
      if (numel > t.storage.numel) fail(`tensor ${JSON.stringify(name)}: ${numel} elements viewed from a ${t.storage.numel}-element storage (an expanded view): refusing`);
    }
    viewBytes += numel * TORCH_DTYPE_SIZE[t.storage.dtype];
    if (viewBytes > MAX_VIEW_RATIO * fileSize) fail(`tensor views hold more than ${MAX_VIEW_RATIO}x the file's ${fileSize} bytes (at ${JSON.stringify(name)}): refusing`);
    if (!storages.has(t.storage.key)) fail(`tensor ${JSON.stringify(name)}: unknown storage`);
    out.set(name, { name, dtype: t.storage.dtype, shape: t.shape.slice(), strides: t.strides.slice(), offset: t.offset, storageKey: t.storage.key });
  }
  return out;
}

function readLegacyCheckpoint(reader: ByteReader, file: string): TorchCheckpoint {
  const fail = (m: string): never => {
    throw new CheckpointError(`${file}: ${m}`);
  };
  const region = new Uint8Array(Math.min(reader.size, MAX_LEGACY_PICKLE_BYTES));
  reader.readInto(0, region);
  const where = `${file}: legacy torch.save stream`;
  const noPersistent = (): PyStorage => fail(`unexpected persistent id in the header pickles`);
  const magic = unpickle(region, { where, persistentLoad: noPersistent });
  if (magic.value !== LEGACY_MAGIC && !(typeof magic.value === "number" && BigInt(magic.value) === LEGACY_MAGIC)) fail(`not a torch.save file (bad magic number)`);
  const proto = unpickle(region, { where, persistentLoad: noPersistent }, magic.end);
  if (proto.value !== LEGACY_PROTOCOL) fail(`legacy protocol ${String(proto.value)} is not supported (expected ${LEGACY_PROTOCOL})`);
  const info = unpickle(region, { where, persistentLoad: noPersistent }, proto.end);
  if (!(info.value instanceof PyDict)) fail(`sys_info is not a dict`);
  const little = (info.value as PyDict).map.get("little_endian");
  if (typeof little !== "boolean") fail(`sys_info has no little_endian flag`);
  const declared = new Map<string, StorageId>();
  const pending: PyStorage[] = [];
  const main = unpickle(region, {
    where,
    persistentLoad: (pid) => {
      const s = parseStorageId(pid, 6, fail);
      const known = declared.get(s.key);
      if (known !== undefined && (known.dtype !== s.dtype || known.numel !== s.numel)) fail(`storage ${JSON.stringify(s.key)} is declared twice with different types or sizes`);
      declared.set(s.key, s);
      const ref: PyStorage = { kind: "storage", key: s.key, dtype: s.dtype, numel: s.numel };
      pending.push(ref);
      return ref;
    },
  }, info.end);
  const keys = unpickle(region, { where, persistentLoad: noPersistent }, main.end);
  const list = keys.value;
  if (!(list !== null && typeof list === "object" && "items" in list && Array.isArray((list as { items: unknown }).items))) fail(`storage key list missing`);
  const keyList = (list as { items: PyValue[] }).items;
  const storages = new Map<string, StorageData>();
  let at = keys.end;
  const header = new Uint8Array(8);
  for (const k of keyList) {
    if (typeof k !== "string" || !declared.has(k)) fail(`storage key list names ${JSON.stringify(String(k)).slice(0, 40)}, which no tensor uses`);
    if (storages.has(k as string)) fail(`storage key ${JSON.stringify(k)} is listed twice`);
    const s = declared.get(k as string)!;
    if (at + 8 > reader.size) fail(`truncated: storage ${JSON.stringify(k)} is missing`);
    reader.readInto(at, header);
    const numel = new DataView(header.buffer).getBigInt64(0, little as boolean);
    if (numel !== BigInt(s.numel)) fail(`storage ${JSON.stringify(k)}: the data says ${numel} elements, the pickle ${s.numel}`);
    const bytes = s.numel * TORCH_DTYPE_SIZE[s.dtype];
    const start = at + 8;
    if (start + bytes > reader.size) fail(`truncated: storage ${JSON.stringify(k)} needs bytes [${start}, ${start + bytes}) of a ${reader.size}-byte file`);
    storages.set(k as string, { dtype: s.dtype, numel: s.numel, open: () => sliceReader(reader, start, bytes) });
    at = start + bytes;
  }
  for (const key of declared.keys()) if (!storages.has(key)) fail(`storage ${JSON.stringify(key)} is used but not stored`);
  if (at !== reader.size) fail(`${reader.size - at} trailing bytes after the last storage`);
  return { file, format: "legacy", bigEndian: !(little as boolean), storages, tensors: stateDictTensors(main.value, reader.size, storages, fail) };
}

function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Calls `visit(i, storageIndex - base)` for the row-major elements of a strided view (an odometer; no index array). */
function forEachStrided(t: TorchTensorEntry, base: number, visit: (i: number, at: number) => void): void {
  const n = elementCount(t.shape);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = t.offset - base;
  for (let i = 0; i < n; i++) {
    visit(i, off);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += t.strides[d]!;
      if (idx[d]! < t.shape[d]!) break;
      off -= t.strides[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
}

/** The storage span [lo, hi] (elements) a view touches. */
function span(t: TorchTensorEntry): [number, number] {
  let hi = t.offset;
  for (let i = 0; i < t.shape.length; i++) hi += (t.shape[i]! - 1) * t.strides[i]!;
  return [t.offset, hi];
}

function isFloat(dtype: TorchDType): dtype is "F32" | "F16" | "BF16" | "F64" {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";
}

/** Reads a float tensor into `target` (float32, row-major). */
export function readTorchFloatsInto(ckpt: TorchCheckpoint, t: TorchTensorEntry, target: Float32Array): void {
  if (!isFloat(t.dtype)) throw new CheckpointError(`${ckpt.file}: tensor ${JSON.stringify(t.name)} is ${t.dtype}, not a float tensor`);
  const n = elementCount(t.shape);
  if (target.length !== n) throw new RangeError(`readTorchFloatsInto: target has ${target.length} elements, tensor ${t.name} has ${n}`);
  if (n === 0) return;
  const storage = ckpt.storages.get(t.storageKey)!;
  const r = ckpt.bigEndian ? swappedReader(storage.open(), TORCH_DTYPE_SIZE[t.dtype]) : storage.open();
  const size = TORCH_DTYPE_SIZE[t.dtype];
  if (isContiguous(t.shape, t.strides)) {
    readFloatsInto(r, t.offset * size, t.dtype as FileDType, n, target);
    return;
  }
  // Non-contiguous (rare in state dicts): the span of the storage it covers, then a gather.
  const [lo, hi] = span(t);
  const all = new Float32Array(hi - lo + 1);
  readFloatsInto(r, lo * size, t.dtype as FileDType, all.length, all);
  forEachStrided(t, lo, (i, at) => {
    target[i] = all[at]!;
  });
}

/** A tensor read whole: floats as float32, I64 as BigInt64Array, I32/I16/I8 as Int32Array, U8/BOOL as Uint8Array. */
export function readTorchTensor(ckpt: TorchCheckpoint, t: TorchTensorEntry): { dtype: TorchDType; shape: number[]; data: Float32Array | BigInt64Array | Int32Array | Uint8Array } {
  const n = elementCount(t.shape);
  if (isFloat(t.dtype)) {
    const out = new Float32Array(n);
    readTorchFloatsInto(ckpt, t, out);
    return { dtype: t.dtype, shape: t.shape.slice(), data: out };
  }
  const size = TORCH_DTYPE_SIZE[t.dtype];
  const storage = ckpt.storages.get(t.storageKey)!;
  const [lo, hi] = n === 0 ? [t.offset, t.offset - 1] : span(t);
  const raw = new Uint8Array((hi - lo + 1) * size);
  if (raw.length > 0) storage.open().readInto(lo * size, raw);
  const dv = new DataView(raw.buffer);
  const little = !ckpt.bigEndian;
  const get = (at: number): number | bigint => {
    const o = at * size;
    switch (t.dtype) {
      case "I64":
        return dv.getBigInt64(o, little);
      case "I32":
        return dv.getInt32(o, little);
      case "I16":
        return dv.getInt16(o, little);
      case "I8":
        return dv.getInt8(o);
      default:
        return dv.getUint8(o);
    }
  };
  if (t.dtype === "I64") {
    const out = new BigInt64Array(n);
    if (n > 0) forEachStrided(t, lo, (i, at) => (out[i] = get(at) as bigint));
    return { dtype: t.dtype, shape: t.shape.slice(), data: out };
  }
  const out = t.dtype === "U8" || t.dtype === "BOOL" ? new Uint8Array(n) : new Int32Array(n);
  if (n > 0) forEachStrided(t, lo, (i, at) => (out[i] = get(at) as number));
  return { dtype: t.dtype, shape: t.shape.slice(), data: out };
}

/** A reader that byte-swaps each `size`-byte element (big-endian storages on a little-endian reader path). */
function swappedReader(r: ByteReader, size: number): ByteReader {
  return {
    size: r.size,
    readInto(offset: number, target: Uint8Array): void {
      r.readInto(offset, target);
      if (offset % size !== 0 || target.length % size !== 0) throw new RangeError("swappedReader: unaligned read");
      for (let i = 0; i < target.length; i += size) target.subarray(i, i + size).reverse();
    },
    close: () => r.close(),
  };
}
