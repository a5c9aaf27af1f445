// One trainer per run folder: `acquireRunLock(runDir)` creates runDir/train.lock exclusively
// (O_CREAT | O_EXCL) holding the owner's pid, host, process start time and a random token, and
// refuses with `RunLockedError` (naming the owner) while another live process holds it.
//
// Contract:
// - The lock is per process and re-entrant: the CLI takes it before it touches the folder
//   (`--overwrite`, task.json), the Trainer takes it again in create/resume; it is released when
//   every holder released it, or when the process exits ('exit' handler). A kill -9 leaves the file
//   behind: such a stale lock is recognised and taken over when its pid no longer runs on this host
//   (or runs, but started at another time: a reused pid; Linux /proc start times).
// - A lock written by another host cannot be checked and is refused; the message says how to
//   remove it by hand. A lock file that is not complete JSON is being written by its owner when it
//   is younger than FRESH_LOCK_MS, stale otherwise.
// - Taking over a stale lock renames it to a private name first, so of two processes that find
//   the same stale lock only one removes it; the other finds the winner's fresh lock and refuses.
// - `assertHeld()` re-reads the file (the Trainer does so before each checkpoint): a lock that
//   was removed or taken over by hand is an error instead of two trainers writing one folder.

import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RunFolderError } from "./run-folder.js";

export const LOCK_FILE = "train.lock";
/** A lock file younger than this that is not yet complete JSON is still being written by its owner. */
const FRESH_LOCK_MS = 10_000;
/** Attempts to create the lock after taking over a stale one (each attempt loses only to a live owner). */
const MAX_ATTEMPTS = 5;

/** What train.lock holds. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** Process start time in clock ticks since boot (Linux /proc/<pid>/stat field 22), or null elsewhere. */
  startTime: number | null;
  acquiredAt: string;
  token: string;
  /** What holds it, e.g. "perceiver-ar train". */
  command: string;
}

/** The run folder is in use by another trainer. */
export class RunLockedError extends RunFolderError {
  override name = "RunLockedError";
  constructor(
    message: string,
    readonly owner: LockOwner | null,
  ) {
    super(message);
  }
}

export interface RunLock {
  readonly runDir: string;
  readonly file: string;
  /** Set when this acquisition took over a stale lock: its former owner. */
  readonly recoveredFrom: LockOwner | null;
  /** @throws RunFolderError when the lock file is gone or now belongs to someone else */
  assertHeld(): void;
  /** Drop this holder; the file is removed when the last holder in this process releases it. */
  release(): void;
}

interface Held {
  token: string;
  file: string;
  holders: number;
  /** The folder did not exist before the lock: it is removed again if nothing else was written. */
  createdDir: boolean;
}

const held = new Map<string, Held>();
let exitHandlerInstalled = false;

/** Start time of a process (Linux), or null when it cannot be read. */
function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) "
    const v = Number(fields[19]); // field 22 of the whole line
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** "alive", "dead" or "unknown" (another host). */
function ownerStatus(o: LockOwner): "alive" | "dead" | "unknown" {
  if (o.hostname !== os.hostname()) return "unknown";
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return "dead";
  }
  if (o.startTime !== null) {
    const now = processStartTime(o.pid);
    if (now !== null && now !== o.startTime) return "dead"; // the pid was reused by another process
  }
  return "alive";
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as LockOwner;
    return o !== null && typeof o === "object" && Number.isInteger(o.pid) && typeof o.hostname === "string" && typeof o.token === "string" ? o : null;
  } catch {
    return null;
  }
}

function readOwner(file: string): { owner: LockOwner | null; ageMs: number } | null {
  try {
    const text = readFileSync(file, "utf8");
    return { owner: parseOwner(text), ageMs: Date.now() - statSync(file).mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

function describeOwner(o: LockOwner): string {
  return `pid ${o.pid} on ${o.hostname}, ${o.command}, since ${o.acquiredAt}`;
}

function createLockFile(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    const bytes = Buffer.from(JSON.stringify(owner, null, 2) + "\n", "utf8");
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Move a stale lock out of the way; true when it was the one we judged stale (and is gone). */
function takeOverStale(file: string, stale: LockOwner | null): boolean {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // someone else moved it first
    throw e;
  }
  const moved = readOwner(aside);
  const same = stale === null ? moved?.owner == null : moved?.owner?.token === stale.token;
  if (!same) {
    // It changed hands between our read and the rename: give the new owner its file back.
    try {
      renameSync(aside, file);
    } catch {
      // A third process took the name meanwhile; the owner's assertHeld() reports the loss.
    }
    return false;
  }
  unlinkSync(aside);
  return true;
}

function releaseAll(): void {
  for (const [dir, h] of held) {
    removeLock(h);
    held.delete(dir);
  }
}

function removeLock(h: Held): void {
  try {
    const cur = readOwner(h.file);
    if (cur?.owner?.token === h.token) unlinkSync(h.file);
    if (h.createdDir && readdirSync(path.dirname(h.file)).length === 0) rmdirSync(path.dirname(h.file));
  } catch {
    // Best effort at exit: a leftover lock is recognised as stale by the next trainer.
  }
}

/**
 * Take the run folder's lock (creating the folder if needed).
 * @throws RunLockedError naming the owner when another live process holds it
 */
export function acquireRunLock(runDir: string, command = "perceiver-ar trainer"): RunLock {
  const key = path.resolve(runDir);
  const file = path.join(key, LOCK_FILE);
  let recoveredFrom: LockOwner | null = null;
  const mine = held.get(key);
  if (mine !== undefined) {
    mine.holders++;
  } else {
    const createdDir = !existsSync(key);
    mkdirSync(key, { recursive: true });
    const owner: LockOwner = {
      pid: process.pid,
      hostname: os.hostname(),
      startTime: processStartTime(process.pid),
      acquiredAt: new Date().toISOString(),
      token: randomBytes(12).toString("hex"),
      command,
    };
    let acquired = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !acquired; attempt++) {
      if (createLockFile(file, owner)) {
        acquired = true;
        break;
      }
      const cur = readOwner(file);
      if (cur === null) continue; // released meanwhile: try again
      if (cur.owner === null) {
        if (cur.ageMs < FRESH_LOCK_MS) throw new RunLockedError(`run folder ${runDir} is being locked by another trainer right now (${file} is being written); wait for it to finish`, null);
      } else {
        const status = ownerStatus(cur.owner);
        if (status === "alive") {
          throw new RunLockedError(`run folder ${runDir} is in use by another trainer (${describeOwner(cur.owner)}); wait for it to finish or stop it, or use another --run-dir`, cur.owner);
        }
        if (status === "unknown") {
          throw new RunLockedError(
            `run folder ${runDir} is locked by a trainer on another host (${describeOwner(cur.owner)}); if it no longer runs, delete ${file}`,
            cur.owner,
          );
        }
      }
      if (takeOverStale(file, cur.owner)) recoveredFrom = cur.owner;
    }
    if (!acquired) throw new RunLockedError(`run folder ${runDir}: could not take ${file} after ${MAX_ATTEMPTS} attempts (other trainers are starting there)`, null);
    held.set(key, { token: owner.token, file, holders: 1, createdDir });
    if (!exitHandlerInstalled) {
      process.on("exit", releaseAll);
      exitHandlerInstalled = true;
    }
  }
  let released = false;
  return {
    runDir,
    file,
    recoveredFrom,
    assertHeld: () => {
      const h = held.get(key);
      const cur = readOwner(file);
      if (h === undefined || cur?.owner?.token !== h.token) {
        throw new RunFolderError(`lost the lock of run folder ${runDir}: ${file} was removed or taken over by another process; stopping so that two trainers do not write one folder`);
      }
    },
    release: () => {
      if (released) return;
      released = true;
      const h = held.get(key);
      if (h === undefined) return;
      if (--h.holders === 0) {
        removeLock(h);
        held.delete(key);
      }
    },
  };
}
