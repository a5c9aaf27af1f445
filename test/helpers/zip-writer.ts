// A minimal zip writer for tests: stored (or raw-deflated) entries, optionally with zip64 records
// and zip64 extra fields (sizes/offsets as 0xffffffff markers), and an optional run of zero bytes
// before the first entry (written sparse by the caller to place data beyond 4 GiB). Also a
// builder for hand-written pickles (protocol 2 opcodes).

import { deflateRawSync } from "node:zlib";
import { crc32 } from "../../src/io/zip.js";

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
}

function le(n: number, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (let i = 0; i < bytes; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/**
 * Returns the archive's pieces: `gap` zero bytes come first (not materialised: the caller writes
 * `head` at offset `gap`), then the entries and directory in `body`.
 */
export function buildZip(entries: ZipInput[], o: { zip64?: boolean; gap?: number } = {}): { gap: number; body: Uint8Array } {
  const gap = o.gap ?? 0;
  const zip64 = o.zip64 ?? false;
  const chunks: Uint8Array[] = [];
  const central: number[][] = [];
  let pos = gap;
  for (const e of entries) {
    const data = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const name = [...new TextEncoder().encode(e.name)];
    const crc = crc32(e.data);
    const method = e.deflate ? 8 : 0;
    const local = [...le(0x04034b50, 4), ...le(45, 2), ...le(0, 2), ...le(method, 2), ...le(0, 4), ...le(crc, 4), ...le(data.length, 4), ...le(e.data.length, 4), ...le(name.length, 2), ...le(0, 2), ...name];
    const offset = pos;
    chunks.push(Uint8Array.from(local), data);
    pos += local.length + data.length;
    const extra = zip64 ? [...le(1, 2), ...le(24, 2), ...le(e.data.length, 8), ...le(data.length, 8), ...le(offset, 8)] : [];
    const m = zip64 ? 0xffffffff : -1;
    central.push([
      ...le(0x02014b50, 4), ...le(45, 2), ...le(45, 2), ...le(0, 2), ...le(method, 2), ...le(0, 4), ...le(crc, 4),
      ...le(m >= 0 ? m : data.length, 4), ...le(m >= 0 ? m : e.data.length, 4), ...le(name.length, 2), ...le(extra.length, 2), ...le(0, 2),
      ...le(0, 2), ...le(0, 2), ...le(0, 4), ...le(m >= 0 ? m : offset, 4), ...name, ...extra,
    ]);
  }
  const cdOffset = pos;
  const cd = central.flat();
  pos += cd.length;
  const tail: number[] = [];
  if (zip64) {
    const rec = pos;
    tail.push(...le(0x06064b50, 4), ...le(44, 8), ...le(45, 2), ...le(45, 2), ...le(0, 4), ...le(0, 4), ...le(entries.length, 8), ...le(entries.length, 8), ...le(cd.length, 8), ...le(cdOffset, 8));
    tail.push(...le(0x07064b50, 4), ...le(0, 4), ...le(rec, 8), ...le(1, 4));
    tail.push(...le(0x06054b50, 4), ...le(0, 2), ...le(0, 2), ...le(0xffff, 2), ...le(0xffff, 2), ...le(0xffffffff, 4), ...le(0xffffffff, 4), ...le(0, 2));
  } else {
    tail.push(...le(0x06054b50, 4), ...le(0, 2), ...le(0, 2), ...le(entries.length, 2), ...le(entries.length, 2), ...le(cd.length, 4), ...le(cdOffset, 4), ...le(0, 2));
  }
  chunks.push(Uint8Array.from(cd), Uint8Array.from(tail));
  const body = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return { gap, body };
}

/** A torch.save-style archive (prefix "archive/") from a pickle and raw storages. */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, o: { zip64?: boolean; gap?: number; byteorder?: string } = {}): { gap: number; body: Uint8Array } {
  const entries: ZipInput[] = [{ name: "archive/data.pkl", data: pickle }];
  if (o.byteorder !== undefined) entries.push({ name: "archive/byteorder", data: new TextEncoder().encode(o.byteorder) });
  for (const [k, v] of Object.entries(storages)) entries.push({ name: `archive/data/${k}`, data: v });
  entries.push({ name: "archive/version", data: new TextEncoder().encode("3\n") });
  return buildZip(entries, o);
}

/** Builds protocol-2 pickles opcode by opcode. */
export class PickleBuilder {
  private readonly out: number[] = [0x80, 2];
  op(code: number, ...bytes: number[]): this {
    this.out.push(code, ...bytes);
    return this;
  }
  str(s: string): this {
    const b = [...new TextEncoder().encode(s)];
    return this.op(0x58, ...le(b.length, 4), ...b);
  }
  int(n: number): this {
    return n >= 0 && n < 256 ? this.op(0x4b, n) : this.op(0x4a, ...le(n >>> 0, 4));
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, shape, stride, False, OrderedDict()). */
  tensor(type: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", type).str(key).str("cpu").int(numel).tuple().op(0x51);
    this.int(offset).mark();
    for (const d of shape) this.int(d);
    this.tuple().mark();
    for (const s of stride) this.int(s);
    this.tuple().op(0x89).global("collections", "OrderedDict").op(0x29).op(0x52).tuple().op(0x52);
    return this;
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}
