// A minimal in-memory tar reader (what `npm pack` archives need): ustar with the prefix field, GNU
// long names ('L'), pax path records ('x'); header checksums are verified; `readTgz` gunzips first.
// Throws on truncated data or a checksum mismatch, naming the entry and offset.

import { gunzipSync } from "node:zlib";

/** One entry of a tar archive. `data` is a view into the archive buffer. */
export interface TarEntry {
  /** Full path inside the archive (prefix/name, GNU long name or pax path applied). */
  name: string;
  /** "file", "directory", "symlink", "link" or "other". */
  type: "file" | "directory" | "symlink" | "link" | "other";
  /** Raw typeflag character. */
  typeflag: string;
  size: number;
  mode: number;
  /** Link target for links. */
  linkname: string;
  data: Uint8Array;
}

function cString(buf: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("utf8");
}

function octal(buf: Uint8Array, start: number, len: number, field: string, at: number): number {
  if (buf[start]! & 0x80) {
    // GNU base-256 encoding (big files): remaining bytes big-endian.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = cString(buf, start, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`tar: header at offset ${at} has non-octal ${field} field "${s}"`);
  return parseInt(s, 8);
}

function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = parseInt(text.slice(i, sp), 10);
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, i + len - 1); // drop trailing "\n"
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Parse an uncompressed tar archive held in memory. Throws on truncated data or checksum mismatch. */
export function readTar(buf: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  while (off + 512 <= buf.length) {
    const at = off;
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break; // end-of-archive marker
    const stored = octal(h, 148, 8, "checksum", off);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== stored) throw new Error(`tar: bad header checksum at offset ${off} (stored ${stored}, computed ${sum})`);
    const size = octal(h, 124, 12, "size", off);
    const typeflag = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const dataStart = off + 512;
    if (dataStart + size > buf.length) {
      throw new Error(`tar: entry at offset ${off} declares size ${size} beyond archive end (${buf.length} bytes)`);
    }
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === "L") {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (typeflag === "K") {
      longLink = cString(data, 0, data.length);
      continue;
    }
    if (typeflag === "x") {
      pax = parsePax(data);
      continue;
    }
    if (typeflag === "g") continue; // global pax header: ignored
    let name = cString(h, 0, 100);
    const magic = cString(h, 257, 6);
    if (magic.startsWith("ustar")) {
      const prefix = cString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (pax?.has("path")) name = pax.get("path")!;
    let linkname = longLink ?? cString(h, 157, 100);
    if (pax?.has("linkpath")) linkname = pax.get("linkpath")!;
    longName = longLink = pax = undefined;
    const type =
      typeflag === "0" || typeflag === "7"
        ? "file"
        : typeflag === "5"
          ? "directory"
          : typeflag === "2"
            ? "symlink"
            : typeflag === "1"
              ? "link"
              : "other";
    entries.push({ name, type, typeflag, size, mode: octal(h, 100, 8, "mode", at), linkname, data });
  }
  return entries;
}

/** Gunzip and parse a .tgz held in memory. */
export function readTgz(buf: Uint8Array): TarEntry[] {
  let raw: Buffer;
  try {
    raw = gunzipSync(buf);
  } catch (e) {
    throw new Error(`readTgz: not a gzip stream (${buf.length} bytes): ${(e as Error).message}`);
  }
  return readTar(raw);
}
