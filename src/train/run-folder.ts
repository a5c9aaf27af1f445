// Run folders: their layout, crash recovery of checkpoints, the consistency check, which model
// folder a run folder stands for, and the metrics log. Writing and reading a trainer checkpoint
// is src/train/trainer-checkpoint.ts; one trainer per folder is src/train/run-lock.ts.
//
// Layout of a run folder `runDir/`:
//   task.json                     the task of the run (src/tasks/task.ts TaskSpec; written by the CLI)
//   tokenizer.json                the run's tokenizer when it is not bytes (a copy; see data/model-tokenizer.ts)
//   train.lock                    while a trainer runs: its pid, host and start time (run-lock.ts)
//   metrics.jsonl                 one JSON object per line: {"type":"train",step,loss,lr,...} or
//                                 {"type":"eval",step,valLoss,...}
//   loss.svg                      loss curve (written by the trainer, see loss-plot.ts)
//   checkpoint/                   the last complete checkpoint; a reference model folder, so
//                                 `loadModel(runDir + "/checkpoint")` works:
//     config.json                 reference snake_case config        (saveModel)
//     weights.safetensors         reference parameter names          (saveModel)
//     optimizer.safetensors       AdamW moments `m.<name>`, `v.<name>`; metadata {step}
//     trainer-state.json          written LAST: step, options, RNG states, data-source state,
//                                 best val loss, size + SHA-256 of the three files above, and
//                                 the SHA-256 of its own other fields (`checksum`)
//   best/                         config.json + weights.safetensors of the best validation loss
//   checkpoint-tmp/, checkpoint-old/   transient, only while a checkpoint is being written
//
// `modelFolderOf(p)` is the model folder a path stands for: `p` itself when it holds a
// config.json, else the run's best/ (or, if preferred or there is no best/, its last checkpoint);
// `loadModel` (src/io/checkpoint.ts), `eval`, `sample` and `info` go through it.
//
// Crash safety (why a kill at any instant leaves the last complete checkpoint loadable):
// A directory cannot be renamed over a non-empty directory on POSIX, so a checkpoint is committed
// with a directory swap whose every intermediate state is recognisable:
//   1. build `checkpoint-tmp/` from scratch: each file written atomically (temp file, fsync,
//      rename), `trainer-state.json` last, then the folder is fsynced;
//   2. rename `checkpoint/` -> `checkpoint-old/`;
//   3. rename `checkpoint-tmp/` -> `checkpoint/`, fsync `runDir`;
//   4. delete `checkpoint-old/`.
// `checkpoint/` only ever appears by the rename of a finished folder, so whenever it exists it is
// complete. `recoverRunFolder` (run before every save and resume) maps each crash point back:
//   - `checkpoint/` exists: any `checkpoint-tmp/` (killed in 1) or `checkpoint-old/` (killed in
//     4) is stale and deleted;
//   - `checkpoint/` missing (killed between 2 and 3): `checkpoint-tmp/` is promoted if it passes
//     the consistency check (state json present, its own checksum, file sizes and SHA-256 match),
//     otherwise `checkpoint-old/` is renamed back.
// Read-only users (e.g. generation while training runs) call `findCheckpoint`, which resolves the
// same states without modifying anything. The consistency check is also run on every resume, so
// a checkpoint edited or truncated by hand (trainer-state.json included) is reported, naming the
// file, instead of silently mis-resumed.
// metrics.jsonl is an append-only log (one write per complete line); a torn last line from a
// kill is ignored on read, and on resume the log is atomically rewritten to the records with
// step <= the checkpoint's step, so the resumed run re-logs the same steps exactly once.

import { createHash } from "node:crypto";
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { fsyncDir, writeFileAtomic } from "../io/atomic-write.js";
import { isIntegerInRange } from "../util/integer-range.js";
import type { LoopState } from "./training-loop.js";

export const CHECKPOINT_DIR = "checkpoint";
export const CHECKPOINT_TMP_DIR = "checkpoint-tmp";
export const CHECKPOINT_OLD_DIR = "checkpoint-old";
export const BEST_DIR = "best";
export const METRICS_FILE = "metrics.jsonl";
export const LOSS_PLOT_FILE = "loss.svg";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const TRAINER_STATE_FILE = "trainer-state.json";
export const TRAINER_STATE_FORMAT = "perceiver-ar/trainer-state";
/** Version 2 adds the state file's own checksum; version 1 files (without it) are still read. */
export const TRAINER_STATE_VERSION = 2;
/** The files of a checkpoint whose size and SHA-256 trainer-state.json records. */
export const CHECKED_FILES = ["config.json", "weights.safetensors", OPTIMIZER_FILE] as const;
const MODEL_CONFIG_FILE = "config.json";

export class RunFolderError extends Error {
  override name = "RunFolderError";
}

/** Everything besides weights and moments that a resume needs (the training loop's state, the options, the compute); stored as trainer-state.json. */
export interface TrainerState extends LoopState {
  /** The trainer options of the run (JSON). */
  options: Record<string, unknown>;
  /** Backend and native thread count of the run's last session (informational; absent in older runs). */
  compute?: { backend: string; threads: number | null };
}

/** trainer-state.json as written. */
export interface StateFile extends TrainerState {
  format: typeof TRAINER_STATE_FORMAT;
  version: number;
  savedAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
  /** SHA-256 of JSON.stringify of every other field, in file order (version >= 2). */
  checksum?: string;
}

/** A metrics.jsonl record. */
export type MetricRecord = ({ type: "train"; step: number; loss: number } | { type: "eval"; step: number; valLoss: number }) & Record<string, unknown>;

export function sha256File(file: string): { bytes: number; sha256: string } {
  const data = readFileSync(file);
  return { bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}

/** SHA-256 of the state file's fields other than `checksum` (JSON text, key order as stored). */
function stateChecksum(state: Omit<StateFile, "checksum">): string {
  const { checksum: _, ...rest } = state as StateFile;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

/** The text of trainer-state.json for `state`: the fields, then their checksum. */
export function stateFileText(state: Omit<StateFile, "checksum" | "format" | "version">): string {
  const body = { format: TRAINER_STATE_FORMAT, version: TRAINER_STATE_VERSION, ...state } as Omit<StateFile, "checksum">;
  return JSON.stringify({ ...body, checksum: stateChecksum(body) }, null, 2) + "\n";
}

/**
 * Check that `dir` holds a complete, self-consistent checkpoint; returns its parsed state or a
 * reason why not, naming the file (never throws for a bad folder).
 */
export function checkCheckpoint(dir: string): { ok: true; state: StateFile } | { ok: false; reason: string } {
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  if (!existsSync(stateFile)) return { ok: false, reason: `${stateFile} is missing` };
  let state: StateFile;
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8")) as StateFile;
  } catch (e) {
    return { ok: false, reason: `${stateFile} is corrupt (not JSON: ${(e as Error).message})` };
  }
  if (state === null || typeof state !== "object" || state.format !== TRAINER_STATE_FORMAT || !(state.version === 1 || state.version === TRAINER_STATE_VERSION)) {
    return { ok: false, reason: `${stateFile} is not a ${TRAINER_STATE_FORMAT} file of version 1 or ${TRAINER_STATE_VERSION}` };
  }
  if (state.version >= 2 && (typeof state.checksum !== "string" || state.checksum !== stateChecksum(state))) {
    return { ok: false, reason: `${stateFile} is corrupt: its contents do not match the SHA-256 it records (checksum)` };
  }
  if (!isIntegerInRange(state.step, 0)) return { ok: false, reason: `${stateFile}: step must be an integer >= 0, got ${String(state.step)}` };
  for (const f of CHECKED_FILES) {
    const want = state.files?.[f];
    const file = path.join(dir, f);
    if (want === undefined) return { ok: false, reason: `${stateFile} records no checksum for ${f}` };
    if (!existsSync(file)) return { ok: false, reason: `${file} is missing` };
    if (statSync(file).size !== want.bytes) return { ok: false, reason: `${file} has ${statSync(file).size} bytes, trainer state recorded ${want.bytes}` };
    if (sha256File(file).sha256 !== want.sha256) return { ok: false, reason: `${file} does not match the SHA-256 recorded in ${TRAINER_STATE_FILE}` };
  }
  return { ok: true, state };
}

/**
 * Bring a run folder back to a clean state after a crash (see the file header). Idempotent.
 * Returns the checkpoint folder, or null when the run has no complete checkpoint.
 */
export function recoverRunFolder(runDir: string): string | null {
  const ckpt = path.join(runDir, CHECKPOINT_DIR);
  const tmp = path.join(runDir, CHECKPOINT_TMP_DIR);
  const old = path.join(runDir, CHECKPOINT_OLD_DIR);
  if (!existsSync(ckpt)) {
    if (existsSync(tmp) && checkCheckpoint(tmp).ok) {
      renameSync(tmp, ckpt);
      fsyncDir(runDir);
    } else if (existsSync(old)) {
      renameSync(old, ckpt);
      fsyncDir(runDir);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  if (existsSync(ckpt)) rmSync(old, { recursive: true, force: true });
  return existsSync(ckpt) ? ckpt : null;
}

/**
 * The folder holding the run's last complete checkpoint, without modifying anything (safe while
 * another process is training), or null if there is none.
 */
export function findCheckpoint(runDir: string): string | null {
  const ckpt = path.join(runDir, CHECKPOINT_DIR);
  if (existsSync(ckpt)) return ckpt;
  for (const d of [CHECKPOINT_TMP_DIR, CHECKPOINT_OLD_DIR]) {
    const p = path.join(runDir, d);
    if (existsSync(p) && checkCheckpoint(p).ok) return p;
  }
  return null;
}

/** True if `p` looks like a run folder (a checkpoint, a best/ model, or its transient folders). */
export function isRunFolder(p: string): boolean {
  return [CHECKPOINT_DIR, CHECKPOINT_TMP_DIR, CHECKPOINT_OLD_DIR, BEST_DIR].some((d) => existsSync(path.join(p, d)));
}

/**
 * The model folder that `p` stands for: `p` itself when it holds a config.json (or is no run
 * folder: then the caller's own errors apply), else the run's best/ model, or its last checkpoint
 * when `prefer` is "checkpoint" or there is no best/. Read-only (safe while a trainer runs).
 */
export function modelFolderOf(p: string, prefer: "best" | "checkpoint" = "best"): string {
  if (existsSync(path.join(p, MODEL_CONFIG_FILE)) || !isRunFolder(p)) return p;
  const best = path.join(p, BEST_DIR);
  const hasBest = existsSync(path.join(best, MODEL_CONFIG_FILE));
  if (prefer === "best" && hasBest) return best;
  const ckpt = findCheckpoint(p);
  if (ckpt !== null) return ckpt;
  return hasBest ? best : p;
}

/** The run folder a model folder belongs to: its parent when `dir` is the run's best/ or checkpoint folder, else `dir`. */
export function runFolderOf(dir: string): string {
  const base = path.basename(path.resolve(dir));
  return [BEST_DIR, CHECKPOINT_DIR, CHECKPOINT_TMP_DIR, CHECKPOINT_OLD_DIR].includes(base) ? path.dirname(path.resolve(dir)) : dir;
}

/** Append one record to runDir/metrics.jsonl as a single complete line. */
export function appendMetric(runDir: string, record: MetricRecord): void {
  mkdirSync(runDir, { recursive: true });
  appendFileSync(path.join(runDir, METRICS_FILE), JSON.stringify(record) + "\n");
}

/** fsync metrics.jsonl (done before each checkpoint so the log is durable up to it). */
export function syncMetrics(runDir: string): void {
  const file = path.join(runDir, METRICS_FILE);
  if (!existsSync(file)) return;
  const fd = openSync(file, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Parse a metrics.jsonl file; lines that are not complete JSON objects with a numeric step are skipped. */
export function readMetrics(file: string): MetricRecord[] {
  if (!existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const r = JSON.parse(line) as MetricRecord;
      if (r !== null && typeof r === "object" && typeof r.step === "number" && (r.type === "train" || r.type === "eval")) out.push(r);
    } catch {
      // A torn last line from a killed process.
    }
  }
  return out;
}

/** Atomically rewrite runDir/metrics.jsonl keeping the records with step <= maxStep (all when null: clears). */
export function truncateMetrics(runDir: string, maxStep: number | null): void {
  const file = path.join(runDir, METRICS_FILE);
  const keep = maxStep === null ? [] : readMetrics(file).filter((r) => r.step <= maxStep);
  writeFileAtomic(file, keep.map((r) => JSON.stringify(r) + "\n").join(""));
}
