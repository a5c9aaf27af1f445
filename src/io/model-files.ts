// ModelFiles: the files of one model folder, by name, wherever they are: a folder on disk (Node,
// folder-files.ts), files dropped on a page or fetched from URLs (bytes in memory, `memoryModelFiles`).
// The folder loaders (model-weights.ts, model-folder.ts) read a model only through this interface,
// so they are the same code on every platform.
//
// Contract: `has(name)` is true when a file of that name exists; `open(name)` returns a ByteReader
// over it (the caller closes it) or throws when it is missing; `label(name)` is how messages and
// `LoadedModel.weightFiles` name the file (Node: the path). Names are plain file names, no folders.

import { bytesReader, type ByteReader } from "./byte-reader.js";
import type { InflateRaw } from "./zip.js";

export interface ModelFiles {
  /** Where the files are, for messages: a folder path, a URL, "dropped files". */
  readonly location: string;
  has(name: string): boolean;
  open(name: string): ByteReader;
  label(name: string): string;
  /** Raw-deflate inflation for deflated zip entries of a pytorch_model.bin (Node: zlib). Without it such entries are refused (torch.save stores entries uncompressed). */
  readonly inflateRaw?: InflateRaw;
}

/** Model files held in memory (e.g. a page's dropped files or fetched URLs), by file name. */
export function memoryModelFiles(files: ReadonlyMap<string, Uint8Array>, location = "memory"): ModelFiles {
  return {
    location,
    has: (name) => files.has(name),
    open: (name) => {
      const bytes = files.get(name);
      if (bytes === undefined) throw new Error(`${location} has no file ${name}`);
      return bytesReader(bytes, name);
    },
    label: (name) => (location === "memory" ? name : `${location}/${name}`),
  };
}

/** A whole small file (a config, an index) as UTF-8 text; refuses files over `maxBytes`. */
export function readModelText(files: ModelFiles, name: string, maxBytes: number): string {
  const r = files.open(name);
  try {
    if (r.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    const bytes = new Uint8Array(r.size);
    r.readInto(0, bytes);
    return new TextDecoder().decode(bytes);
  } finally {
    r.close();
  }
}
