// Model folders on disk (Node): loading and saving as model-folder.ts describes (its contracts
// hold here), through folder-files.ts; `tokenizer.json` beside the weights is the model's
// tokenizer (`tokenizerFile`). Every write is atomic (temp file + fsync + rename); format "hf"
// also copies the tokenizer files given.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { writeFileAtomic } from "./atomic-write.js";
import { modelFolderOf } from "../train/run-folder.js";
import { CheckpointError } from "./errors.js";
import { folderFiles } from "./folder-files.js";
import { loadModelFiles, modelFolderContents, readModelConfig, type LoadedModel, type LoadOptions, type SaveOptions } from "./model-folder.js";
import { writeSafetensorsFile } from "./safetensors.js";

export { CheckpointError };
export {
  HUB_WEIGHTS_FILE,
  loadStateDict,
  NAME_PREFIXES,
  OUR_WEIGHTS_FILE,
  stateDict,
  TOKENIZER_FILES,
  type LoadedModel,
  type LoadOptions,
  type SaveOptions,
} from "./model-folder.js";

/** Read a model folder's config.json as JSON (either layout; see config-file.ts). */
export function readConfigFile(dir: string): Record<string, unknown> {
  return readModelConfig(folderFiles(dir));
}

/** Load a model folder (ours or a hub folder) or the model of a run folder (its best/ or last checkpoint, src/train/run-folder.ts), with what else it holds. Memory budget default: the machine's total memory. */
export function loadPretrained(dir: string, backend: Backend, options: LoadOptions = {}): LoadedModel {
  return loadModelFiles(folderFiles(modelFolderOf(dir)), backend, { ...options, memoryBudget: options.memoryBudget ?? os.totalmem() });
}

/** Load a model folder. */
export function loadModel(dir: string, backend: Backend, options: LoadOptions = {}): PerceiverAR {
  return loadPretrained(dir, backend, options).model;
}

/** Save a model folder (atomic writes); see model-folder.ts for the two formats. */
export function saveModel(model: PerceiverAR, dir: string, options: SaveOptions = {}): void {
  const c = modelFolderContents(model, options);
  if (fs.existsSync(path.join(dir, c.otherWeightsFile))) {
    throw new CheckpointError(`${dir} already holds ${c.otherWeightsFile}; writing ${c.weightsFile} beside it would make the folder ambiguous: choose an empty folder`);
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, "config.json"), c.configJson);
  writeSafetensorsFile(path.join(dir, c.weightsFile), c.tensors, c.metadata);
  if (options.format !== "hf") return;
  for (const src of options.tokenizerFiles ?? []) {
    const dst = path.join(dir, path.basename(src));
    if (path.resolve(src) !== path.resolve(dst)) writeFileAtomic(dst, fs.readFileSync(src));
  }
}
