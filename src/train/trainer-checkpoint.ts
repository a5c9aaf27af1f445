// A trainer's checkpoint on disk: writing it crash-safely into a run folder, reading it back
// verified, and the best-validation model. The layout, the crash-recovery protocol and the
// consistency check are src/train/run-folder.ts (its header says why a kill at any instant leaves
// the last complete checkpoint loadable).

import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic-write.js";
import { loadModel, saveModel } from "../io/checkpoint.js";
import { readSafetensorsFile, writeSafetensorsFile, type WritableTensor } from "../io/safetensors.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { AdamWState } from "./adamw.js";
import {
  BEST_DIR,
  CHECKED_FILES,
  CHECKPOINT_DIR,
  CHECKPOINT_OLD_DIR,
  CHECKPOINT_TMP_DIR,
  checkCheckpoint,
  OPTIMIZER_FILE,
  recoverRunFolder,
  RunFolderError,
  sha256File,
  stateFileText,
  TRAINER_STATE_FILE,
  type StateFile,
  type TrainerState,
} from "./run-folder.js";

/** A checkpoint read back from disk. */
export interface LoadedCheckpoint {
  dir: string;
  model: PerceiverAR;
  optimizer: AdamWState;
  state: TrainerState;
}

/**
 * Write a checkpoint crash-safely (see run-folder.ts) and return its folder.
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
  writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), stateFileText({ savedAt: new Date().toISOString(), ...state, files }));
  fsyncDir(tmp);

  // 2.-4. Swap it in.
  if (existsSync(ckpt)) renameSync(ckpt, old);
  renameSync(tmp, ckpt);
  fsyncDir(runDir);
  rmSync(old, { recursive: true, force: true });
  return ckpt;
}

/**
 * The verified trainer state of the run's last checkpoint, without loading weights (recovers the
 * folder first, like `readCheckpoint`).
 * @throws RunFolderError naming the file when there is no checkpoint or it is inconsistent
 */
export function readTrainerState(runDir: string): { dir: string; state: StateFile } {
  if (!existsSync(runDir)) throw new RunFolderError(`run folder ${runDir} does not exist`);
  const dir = recoverRunFolder(runDir);
  if (dir === null) throw new RunFolderError(`run folder ${runDir} has no complete checkpoint (no ${CHECKPOINT_DIR}/ folder)`);
  const check = checkCheckpoint(dir);
  if (!check.ok) throw new RunFolderError(`checkpoint ${dir} is inconsistent: ${check.reason}`);
  return { dir, state: check.state };
}

/**
 * Recover the run folder, verify the checkpoint and load model, optimizer state and trainer state.
 * @throws RunFolderError if there is no checkpoint or it is inconsistent
 */
export function readCheckpoint(runDir: string, backend: Backend): LoadedCheckpoint {
  const { dir, state: s } = readTrainerState(runDir);
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
    ...(s.compute !== undefined ? { compute: s.compute } : {}),
  };
  return { dir, model, optimizer: { step: s.step, tensors }, state };
}

/** Save the best-validation model (config.json + weights.safetensors, each atomic) to runDir/best. */
export function writeBestModel(runDir: string, model: PerceiverAR): string {
  const dir = path.join(runDir, BEST_DIR);
  saveModel(model, dir);
  return dir;
}
