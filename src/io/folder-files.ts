// The files of a model folder on disk as ModelFiles (model-files.ts): positioned reads through
// file-reader.ts (no whole-file buffer), zlib for deflated .bin entries. Node only.

import * as fs from "node:fs";
import * as path from "node:path";
import { openFileReader } from "./file-reader.js";
import type { ModelFiles } from "./model-files.js";
import { nodeInflateRaw } from "./node-inflate.js";

export function folderFiles(dir: string): ModelFiles {
  return {
    location: dir,
    has: (name) => fs.existsSync(path.join(dir, name)),
    open: (name) => openFileReader(path.join(dir, name)),
    label: (name) => path.join(dir, name),
    inflateRaw: nodeInflateRaw,
  };
}
