// A zip archive reader over a ByteReader (platform-neutral), enough for the archives torch.save
// writes: stored and deflated entries, zip64 for archives and entries above 4 GiB.
//
// Contract:
// - `readZipDirectory` reads the end-of-central-directory record (zip64 when present) and the
//   central directory, checks every entry's local header and data range against the file, and
//   refuses encrypted, split, duplicate-named or unsupported entries with a CheckpointError naming
//   the file and the entry. It reads only the directory, never entry data.
// - `readZipEntry` returns an entry's bytes: a stored entry is read as is; a deflated one is
//   inflated by the caller-supplied `inflateRaw` (Node: zlib), bounded by the declared size and
//   by `budget` (at most twice the archive's size in inflated bytes over all entries). The CRC-32
//   of every entry read whole is checked.
// - `entryDataOffset` gives the absolute offset of a stored entry's bytes, so a large tensor can
//   be read straight from the file at any position (no copy of the entry).

import { CheckpointError } from "./errors.js";
import type { ByteReader } from "./byte-reader.js";

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: 0 | 8;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Absolute offset of the entry's (compressed) bytes. */
  dataOffset: number;
}

export interface ZipDirectory {
  entries: Map<string, ZipEntry>;
}

/** Inflates raw deflate data to exactly `size` bytes, or throws. */
export type InflateRaw = (compressed: Uint8Array, size: number) => Uint8Array;

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT = 0xffff;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_ENCRYPTED = 0x1;

/** Bytes of inflated data accepted per byte of archive, over all entries (see the contract). */
export const MAX_INFLATE_RATIO = 2;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/** A little-endian u64 as a number, or Infinity when it exceeds 2^53 (then refused as out of range). */
function u64(b: Uint8Array, o: number): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  return hi >= 0x200000 ? Infinity : hi * 0x100000000 + lo;
}

function read(reader: ByteReader, offset: number, length: number, fail: (m: string) => never, what: string): Uint8Array {
  if (!(offset >= 0 && length >= 0 && offset + length <= reader.size)) fail(`${what} at bytes [${offset}, ${offset + length}) is outside the ${reader.size}-byte file (truncated or corrupt)`);
  const out = new Uint8Array(length);
  reader.readInto(offset, out);
  return out;
}

export function readZipDirectory(reader: ByteReader, file: string = reader.name ?? "zip archive"): ZipDirectory {
  const fail = (m: string): never => {
    throw new CheckpointError(`${file}: ${m}`);
  };
  const size = reader.size;
  if (size < EOCD_BYTES) fail(`${size} bytes is too short for a zip archive`);
  // The record is the last 22 bytes unless the archive has a comment (torch writes none).
  let tailLen = EOCD_BYTES;
  let tail = read(reader, size - tailLen, tailLen, fail, "end of archive");
  let eocd = u32(tail, 0) === EOCD_SIG && u16(tail, 20) === 0 ? 0 : -1;
  if (eocd < 0) {
    tailLen = Math.min(size, EOCD_BYTES + MAX_COMMENT);
    tail = read(reader, size - tailLen, tailLen, fail, "end of archive");
    for (let i = tailLen - EOCD_BYTES; i >= 0; i--) {
      if (u32(tail, i) === EOCD_SIG && i + EOCD_BYTES + u16(tail, i + 20) === tailLen) {
        eocd = i;
        break;
      }
    }
  }
  if (eocd < 0) fail(`no zip end-of-central-directory record (not a zip archive, or truncated)`);
  const diskNo = u16(tail, eocd + 4);
  const cdDisk = u16(tail, eocd + 6);
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  const eocdAbs = size - tailLen + eocd;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || diskNo === 0xffff) {
    if (eocdAbs < 20) fail(`zip64 end-of-central-directory locator missing`);
    const loc = read(reader, eocdAbs - 20, 20, fail, "zip64 locator");
    if (u32(loc, 0) !== EOCD64_LOCATOR_SIG) fail(`zip64 end-of-central-directory locator missing`);
    const recOffset = u64(loc, 8);
    const rec = read(reader, recOffset, 56, fail, "zip64 end-of-central-directory record");
    if (u32(rec, 0) !== EOCD64_SIG) fail(`bad zip64 end-of-central-directory record signature`);
    if (u32(rec, 16) !== 0 || u32(rec, 20) !== 0) fail(`multi-disk (split) zip archives are not supported`);
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  } else if (diskNo !== 0 || cdDisk !== 0) {
    fail(`multi-disk (split) zip archives are not supported`);
  }
  if (!(cdOffset + cdSize <= size)) fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) is outside the ${size}-byte file`);
  if (count * CENTRAL_BYTES > cdSize) fail(`central directory of ${cdSize} bytes cannot hold the ${count} entries it claims`);
  const cd = read(reader, cdOffset, cdSize, fail, "central directory");
  const names = new TextDecoder("utf-8", { fatal: false });
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_BYTES > cd.length || u32(cd, p) !== CENTRAL_SIG) fail(`central directory entry ${i} is corrupt`);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc32 = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let usize = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const diskStart = u16(cd, p + 34);
    let localOffset = u32(cd, p + 42);
    const end = p + CENTRAL_BYTES + nameLen + extraLen + commentLen;
    if (end > cd.length) fail(`central directory entry ${i} runs past the directory`);
    const name = names.decode(cd.subarray(p + CENTRAL_BYTES, p + CENTRAL_BYTES + nameLen));
    const where = `entry ${JSON.stringify(name)}`;
    // zip64 extended information: the fields that are 0xffffffff, in this order.
    let q = p + CENTRAL_BYTES + nameLen;
    const extraEnd = q + extraLen;
    while (q + 4 <= extraEnd) {
      const id = u16(cd, q);
      const len = u16(cd, q + 2);
      if (q + 4 + len > extraEnd) fail(`${where}: extra field runs past its entry`);
      if (id === ZIP64_EXTRA_ID) {
        let r = q + 4;
        const take = (): number => {
          if (r + 8 > q + 4 + len) fail(`${where}: zip64 extra field too short`);
          const v = u64(cd, r);
          r += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      q += 4 + len;
    }
    if ((flags & FLAG_ENCRYPTED) !== 0) fail(`${where} is encrypted`);
    if (diskStart !== 0 && diskStart !== 0xffff) fail(`${where} is on another disk (split archive)`);
    if (method !== 0 && method !== 8) fail(`${where} uses compression method ${method}; only stored (0) and deflated (8) entries are supported`);
    if (method === 0 && compressedSize !== usize) fail(`${where} is stored but its sizes differ (${compressedSize} vs ${usize})`);
    if (entries.has(name)) fail(`${where} appears twice: ambiguous archive, refusing`);
    const local = read(reader, localOffset, LOCAL_BYTES, fail, `${where} local header`);
    if (u32(local, 0) !== LOCAL_SIG) fail(`${where}: bad local header signature`);
    const dataOffset = localOffset + LOCAL_BYTES + u16(local, 26) + u16(local, 28);
    if (!(dataOffset + compressedSize <= size)) fail(`${where}: data [${dataOffset}, ${dataOffset + compressedSize}) is outside the ${size}-byte file (truncated)`);
    entries.set(name, { name, method: method as 0 | 8, compressedSize, size: usize, crc32, dataOffset });
    p = end;
  }
  return { entries };
}

/** Inflated bytes still allowed for one archive (shared by every readZipEntry on it). */
export interface InflateBudget {
  remaining: number;
}

export function inflateBudget(reader: ByteReader): InflateBudget {
  return { remaining: MAX_INFLATE_RATIO * reader.size };
}

/** Reads one entry whole (stored: as is; deflated: via `inflateRaw`) and checks its CRC-32. */
export function readZipEntry(reader: ByteReader, entry: ZipEntry, options: { inflateRaw?: InflateRaw; budget?: InflateBudget; file?: string } = {}): Uint8Array {
  const file = options.file ?? reader.name ?? "zip archive";
  const fail = (m: string): never => {
    throw new CheckpointError(`${file}: entry ${JSON.stringify(entry.name)}: ${m}`);
  };
  const raw = new Uint8Array(entry.compressedSize);
  reader.readInto(entry.dataOffset, raw);
  let data: Uint8Array = raw;
  if (entry.method === 8) {
    if (options.inflateRaw === undefined) fail(`is deflated and no inflate function was given`);
    const budget = options.budget;
    if (budget !== undefined) {
      if (entry.size > budget.remaining) fail(`inflates to ${entry.size} bytes, more than this archive's size allows (${MAX_INFLATE_RATIO}x the file in all)`);
      budget.remaining -= entry.size;
    }
    try {
      data = options.inflateRaw!(raw, entry.size);
    } catch (e) {
      fail(`cannot be inflated: ${(e as Error).message}`);
    }
    if (data.length !== entry.size) fail(`inflated to ${data.length} bytes, the directory says ${entry.size}`);
  }
  if (crc32(data) !== entry.crc32) fail(`CRC-32 mismatch (corrupt archive)`);
  return data;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as in zip) of `data`. */
export function crc32(data: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
