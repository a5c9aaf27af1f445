// ByteReader: random access to the bytes of one file, the only way the checkpoint parsers
// (safetensors, zip, torch .bin) read their input. Platform-neutral: `bytesReader` serves a
// Uint8Array (a browser's fetched ArrayBuffer, a test's bytes); file-reader.ts serves a file on
// disk through positioned reads (Node), so a multi-GB file is never held in memory whole.
//
// Contract: `readInto(offset, target)` fills all of `target` with the bytes at
// [offset, offset + target.length) or throws a ByteRangeError when that range is not inside
// [0, size); it never returns short. Offsets and sizes are byte counts below 2^53.

export interface ByteReader {
  /** Total size in bytes. */
  readonly size: number;
  /** The file's name for error messages, when known. */
  readonly name?: string;
  /** Copies bytes [offset, offset + target.length) into `target`. */
  readInto(offset: number, target: Uint8Array): void;
  /** Releases the underlying file, if any (idempotent). */
  close(): void;
}

/** A read outside the file: the caller turns it into its own format error (file truncated). */
export class ByteRangeError extends Error {
  override name = "ByteRangeError";
}

/** Checks that [offset, offset + length) lies inside a reader of `size` bytes. */
export function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new ByteRangeError(`bytes [${offset}, ${offset + length}) are outside the ${size}-byte file`);
  }
}

/** Reads `length` bytes at `offset` into a fresh array. The caller has bounded `length` by the file size. */
export function readBytes(reader: ByteReader, offset: number, length: number): Uint8Array {
  checkRange(reader.size, offset, length);
  const out = new Uint8Array(length);
  reader.readInto(offset, out);
  return out;
}

/** A reader over bytes in memory (no copy is made of `bytes`). */
export function bytesReader(bytes: Uint8Array, name?: string): ByteReader {
  return {
    size: bytes.length,
    ...(name !== undefined ? { name } : {}),
    readInto(offset: number, target: Uint8Array): void {
      checkRange(bytes.length, offset, target.length);
      target.set(bytes.subarray(offset, offset + target.length));
    },
    close(): void {},
  };
}

/** A window [start, start + size) of another reader, addressed from 0 (a zip entry, a tar member). */
export function sliceReader(parent: ByteReader, start: number, size: number, name?: string): ByteReader {
  checkRange(parent.size, start, size);
  const n = name ?? parent.name;
  return {
    size,
    ...(n !== undefined ? { name: n } : {}),
    readInto(offset: number, target: Uint8Array): void {
      checkRange(size, offset, target.length);
      parent.readInto(start + offset, target);
    },
    close(): void {},
  };
}
