// writeFileAtomic: a file is either its old contents or its complete new contents, never a torn
// write. The data goes to `file + ".tmp-<pid>-<random>"`, which is fsynced and renamed over
// `file`; then the folder is fsynced (skipped on platforms that refuse to fsync a directory).
// `writeFileAtomicStreamed` does the same for data produced piece by piece (large files).

import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  writeFileAtomicStreamed(file, function* () {
    yield bytes;
  });
}

/** writeFileAtomic for data produced in pieces (each piece is written, then dropped). */
export function writeFileAtomicStreamed(file: string, pieces: () => Iterable<Uint8Array>): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  let renamed = false;
  try {
    const fd = openSync(tmp, "wx", 0o644);
    try {
      for (const bytes of pieces()) {
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        // The temp file may not exist; the original error matters more.
      }
    }
  }
  fsyncDir(dirname(file));
}

/** fsync a directory so a rename in it is durable; ignores platforms that refuse. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (e) {
    if (isIgnorableDirSyncError(e)) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!isIgnorableDirSyncError(e)) throw e;
  } finally {
    closeSync(fd);
  }
}

function isIgnorableDirSyncError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "EINVAL" || code === "EISDIR" || code === "ENOTSUP" || code === "EPERM";
}
