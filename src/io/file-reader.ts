// A ByteReader over a file on disk (Node): positioned reads with fs.readSync, so files above
// 2 GiB work and only the requested bytes are ever in memory.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { checkRange, type ByteReader } from "./byte-reader.js";

/** Largest single readSync: Node refuses lengths >= 2^31. */
const MAX_READ_CHUNK = 1 << 30;

/** Opens `path` for random access. File-system errors (ENOENT, EISDIR, ...) propagate. */
export function openFileReader(path: string): ByteReader {
  const fd = openSync(path, "r");
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`EISDIR: not a regular file, open '${path}'`), { code: "EISDIR" });
    size = st.size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    size,
    name: path,
    readInto(offset: number, target: Uint8Array): void {
      checkRange(size, offset, target.length);
      if (!open) throw new Error(`${path}: reader is closed`);
      let done = 0;
      while (done < target.length) {
        const n = readSync(fd, target, done, Math.min(MAX_READ_CHUNK, target.length - done), offset + done);
        if (n === 0) throw new Error(`${path}: file shrank while reading (got ${done} of ${target.length} bytes at ${offset})`);
        done += n;
      }
    },
    close(): void {
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
  };
}

/** Runs `fn` with a reader over `path` and closes it afterwards. */
export function withFileReader<T>(path: string, fn: (r: ByteReader) => T): T {
  const r = openFileReader(path);
  try {
    return fn(r);
  } finally {
    r.close();
  }
}
