// The weights of a model folder on disk (Node): model-weights.ts over folder-files.ts, plus one
// weight file by path. The rules (which files, ambiguity, shards) are model-weights.ts's.

import * as path from "node:path";
import { openFileReader } from "./file-reader.js";
import { folderFiles } from "./folder-files.js";
import { findModelWeights, openModelWeights, openShardedModelWeights, openWeightReader, type WeightSource } from "./model-weights.js";
import { nodeInflateRaw } from "./node-inflate.js";

export { WEIGHT_FILE_NAMES, type WeightSource, type WeightTensor } from "./model-weights.js";

/** The weight file(s) of a folder, by the rules of model-weights.ts. */
export function findWeightFiles(dir: string): { kind: "safetensors" | "bin"; file: string; note?: string } {
  const { name, ...rest } = findModelWeights(folderFiles(dir));
  return { ...rest, file: path.join(dir, name) };
}

/** Opens the weights of a folder (headers only). */
export function openFolderWeights(dir: string): WeightSource {
  return openModelWeights(folderFiles(dir));
}

/** Opens one weight file, safetensors or torch.save, by its content. */
export function openWeightFile(file: string): WeightSource {
  return openWeightReader(openFileReader(file), file, nodeInflateRaw);
}

/** A sharded folder: `*.index.json` naming the shard of every tensor. */
export function openShardedWeights(indexFile: string): WeightSource {
  return openShardedModelWeights(folderFiles(path.dirname(indexFile)), path.basename(indexFile));
}
