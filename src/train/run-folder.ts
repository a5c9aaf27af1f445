// Run folders: crash-safe training checkpoints and the metrics log.
//
// Layout of a run folder `runDir/`:
//   metrics.jsonl                 one JSON object per line: {"type":"train",step,loss,lr,...} or
//                                 {"type":"eval",step,valLoss,...}
//   loss.svg                      loss curve (written by the trainer, see loss-plot.ts)
//   checkpoint/                   the last complete checkpoint; a reference model folder, so
//                                 `loadModel(runDir + "/checkpoint")` works:
//     config.json                 reference snake_case config        (saveModel)
//     weights.safetensors         reference parameter names          (saveModel)
//     optimizer.safetensors       AdamW moments `m.<name>`, `v.<name>`; metadata {step}
//     trainer-state.json          written LAST: step, options, RNG states, data-source state,
//                                 best val loss, and size + SHA-256 of the three files above
//   best/                         config.json + weights.safetensors of the best validation loss
//   checkpoint-tmp/, checkpoint-old/   transient, only while a checkpoint is being written
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
//     the consistency check (state json present, file sizes and SHA-256 match), otherwise
//     `checkpoint-old/` is renamed back.
// Read-only users (e.g. generation while training runs) call `findCheckpoint`, which resolves the
// same states without modifying anything. The consistency check is also run on every resume, so
// a checkpoint edited or truncated by hand is reported instead of silently mis-resumed.
// metrics.jsonl is an append-only log (one write per complete line); a torn last line from a
// kill is ignored on read, and on resume the log is atomically rewritten to the records with
// step <= the checkpoint's step, so the resumed run re-logs the same steps exactly once.

import { createHash } from "node:crypto";
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel, saveModel } from "../io/checkpoint.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic-write.js";
import { readSafetensorsFile, writeSafetensorsFile, type WritableTensor } from "../io/safetensors.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { AdamWState } from "./adamw.js";
import { isIntegerInRange } from "../util/integer-range.js";

export const CHECKPOINT_DIR = "checkpoint";
export const CHECKPOINT_TMP_DIR = "checkpoint-tmp";
export const CHECKPOINT_OLD_DIR = "checkpoint-old";
export const BEST_DIR = "best";
export const METRICS_FILE = "metrics.jsonl";
export const LOSS_PLOT_FILE = "loss.svg";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const TRAINER_STATE_FILE = "trainer-state.json";
export const TRAINER_STATE_FORMAT = "perceiver-ar/trainer-state";
const CHECKED_FILES = ["config.json", "weights.safetensors", OPTIMIZER_FILE] as const;

export class RunFolderError extends Error {
  override name = "RunFolderError";
}

/** Everything besides weights and moments that a resume needs; stored as trainer-state.json. */
export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  /** The trainer options of the run (JSON). */
  options: Record<string, unknown>;
  /** State of the cross-attention dropout RNG (src/util/rng.ts RngState). */
  dropoutRng: unknown;
  /** `getState()` of the training batch source (sampler RNG and position). */
  data: unknown;
  /** Label tokens trained on so far. */
  tokensSeen: number;
  /** Best validation loss so far (nats/token) and its step, or null. */
  bestValLoss: number | null;
  bestStep: number | null;
}

interface StateFile extends TrainerState {
  format: typeof TRAINER_STATE_FORMAT;
  version: 1;
  savedAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A checkpoint read back from disk. */
export interface LoadedCheckpoint {
  dir: string;
  model: PerceiverAR;
  optimizer: AdamWState;
  state: TrainerState;
}

/** A metrics.jsonl record. */
export type MetricRecord = ({ type: "train"; step: number; loss: number } | { type: "eval"; step: number; valLoss: number }) & Record<string, unknown>;

function sha256File(file: string): { bytes: number; sha256: string } {
  const data = readFileSync(file);
  return { bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}

/**
 * Check that `dir` holds a complete, self-consistent checkpoint; returns its parsed state or a
 * reason why not (never throws for a bad folder).
 */
export function checkCheckpoint(dir: string): { ok: true; state: StateFile } | { ok: false; reason: string } {
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  let state: StateFile;
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8")) as StateFile;
  } catch (e) {
    return { ok: false, reason: `cannot read ${stateFile}: ${(e as Error).message}` };
  }
  if (state === null || typeof state !== "object" || state.format !== TRAINER_STATE_FORMAT || state.version !== 1) {
    return { ok: false, reason: `${stateFile} is not a ${TRAINER_STATE_FORMAT} v1 file` };
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

/**
 * Write a checkpoint crash-safely (see the file header) and return its folder.
 * The state's step must equal the optimizer's step.
 */
export function writeCheckpoint(runDir: string, model: PerceiverAR, optimizer: AdamWState, state: TrainerState): string {
  if (optimizer.step !== state.step) throw new RunFolderError(`checkpoint: optimizer step ${optimizer.step} differs from trainer step ${state.step}`);
  mkdirSync(runDir, { recursive: true });
  recoverRunFolder(runDir);
  const ckpt = path.join(runDir, CHECKPOINT_DIR);
  const tmp = path.join(runDir, CHECKPOINT_TMP_DIR);
  const old = path.join(runDir, CHECKPOINT_OLD_DIR);

  // 1. Build the new checkpoint in checkpoint-tmp/ (state json last).
  mkdirSync(tmp);
  saveModel(model, tmp);
  const tensors = new Map<string, WritableTensor>();
  for (const [name, data] of optimizer.tensors) tensors.set(name, { shape: [data.length], data });
  writeSafetensorsFile(path.join(tmp, OPTIMIZER_FILE), tensors, { format: "perceiver-ar/adamw", step: String(optimizer.step) });
  const files: StateFile["files"] = {};
  for (const f of CHECKED_FILES) files[f] = sha256File(path.join(tmp, f));
  const file: StateFile = { format: TRAINER_STATE_FORMAT, version: 1, savedAt: new Date().toISOString(), ...state, files };
  writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify(file, null, 2) + "\n");
  fsyncDir(tmp);

  // 2.-4. Swap it in.
  if (existsSync(ckpt)) renameSync(ckpt, old);
  renameSync(tmp, ckpt);
  fsyncDir(runDir);
  rmSync(old, { recursive: true, force: true });
  return ckpt;
}

/**
 * Recover the run folder, verify the checkpoint and load model, optimizer state and trainer state.
 * @throws RunFolderError if there is no checkpoint or it is inconsistent
 */
export function readCheckpoint(runDir: string, backend: Backend): LoadedCheckpoint {
  if (!existsSync(runDir)) throw new RunFolderError(`run folder ${runDir} does not exist`);
  const dir = recoverRunFolder(runDir);
  if (dir === null) throw new RunFolderError(`run folder ${runDir} has no complete checkpoint (no ${CHECKPOINT_DIR}/ folder)`);
  const check = checkCheckpoint(dir);
  if (!check.ok) throw new RunFolderError(`checkpoint ${dir} is inconsistent: ${check.reason}`);
  const s = check.state;
  const model = loadModel(dir, backend);
  const opt = readSafetensorsFile(path.join(dir, OPTIMIZER_FILE));
  const optStep = Number(opt.metadata.step);
  if (optStep !== s.step) throw new RunFolderError(`checkpoint ${dir}: ${OPTIMIZER_FILE} is at step ${opt.metadata.step}, ${TRAINER_STATE_FILE} at step ${s.step}`);
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of opt.tensors) {
    if (!(t.data instanceof Float32Array)) throw new RunFolderError(`checkpoint ${dir}: ${OPTIMIZER_FILE} tensor ${name} has dtype ${t.dtype}, expected F32`);
    tensors.set(name, t.data);
  }
  const state: TrainerState = {
    step: s.step,
    options: s.options,
    dropoutRng: s.dropoutRng,
    data: s.data,
    tokensSeen: s.tokensSeen,
    bestValLoss: s.bestValLoss,
    bestStep: s.bestStep,
  };
  return { dir, model, optimizer: { step: s.step, tensors }, state };
}

/** Save the best-validation model (config.json + weights.safetensors, each atomic) to runDir/best. */
export function writeBestModel(runDir: string, model: PerceiverAR): string {
  const dir = path.join(runDir, BEST_DIR);
  saveModel(model, dir);
  return dir;
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
