// Safetensors files on disk (Node): the format (safetensors-format.ts, re-exported here) plus
// reading a file through positioned reads and atomic writes.
//
// Contract:
// - `readSafetensorsFile(path)` reads the index, then every tensor; file-system errors (e.g.
//   ENOENT) propagate unchanged, format errors throw SafetensorsError naming `path`.
// - `writeSafetensorsFile` is atomic: temp file in the same directory, fsync, rename, fsync dir;
//   `writeSafetensorsFileLazy` writes tensor by tensor (one tensor in memory at a time).

import { writeFileAtomic, writeFileAtomicStreamed } from "./atomic-write.js";
import { withFileReader } from "./file-reader.js";
import {
  encodeTensor,
  readAll,
  safetensorsHeader,
  SafetensorsError,
  serializeSafetensors,
  type SafeDType,
  type SafetensorsContents,
  type TensorData,
  type WritableTensor,
} from "./safetensors-format.js";

export * from "./safetensors-format.js";

/**
 * Reads and parses a safetensors file. File-system errors (e.g. ENOENT) propagate unchanged;
 * format errors throw SafetensorsError naming `path`.
 */
export function readSafetensorsFile(path: string): SafetensorsContents {
  return withFileReader(path, (r) => readAll(r, path));
}

/**
 * Serializes tensors and writes them to `path` atomically: the data goes to
 * `path + ".tmp-<pid>-<random>"`, which is fsynced and renamed over `path`; then the directory is
 * fsynced (skipped on platforms that refuse to fsync a directory). Readers see either the old file
 * or the complete new one.
 */
export function writeSafetensorsFile(
  path: string,
  tensors: Map<string, WritableTensor> | Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** A tensor to be written whose data is produced only when its turn comes (see writeSafetensorsFileLazy). */
export interface LazyTensor {
  dtype: SafeDType;
  shape: number[];
  data: () => TensorData;
}

/**
 * Writes a safetensors file tensor by tensor: the header is computed from dtypes and shapes, then
 * each tensor's data is produced, encoded and written in turn, so at most one tensor is in memory.
 * Atomic like writeSafetensorsFile (temp file, fsync, rename, fsync of the folder).
 */
export function writeSafetensorsFileLazy(path: string, tensors: Map<string, LazyTensor>, metadata?: Record<string, string>): void {
  const head = safetensorsHeader(tensors, metadata);
  writeFileAtomicStreamed(path, function* () {
    yield head;
    for (const [name, t] of tensors) {
      const data = t.data();
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== count) throw new SafetensorsError(`produced ${data.length} elements, shape [${t.shape.join(", ")}] needs ${count}`, { tensor: name });
      yield encodeTensor(data, t.dtype);
    }
  });
}
