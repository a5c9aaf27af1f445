// One trainer per run folder: `acquireRunLock(runDir)` creates runDir/train.lock holding the
// owner's pid, host, process start time and a random token, and refuses with `RunLockedError`
// (naming the owner) while another live process holds it.
//
// Contract:
// - The lock file appears complete or not at all: the owner writes it under a private temporary
//   name in the same folder (train.lock.tmp-<pid>-<random>) and links that to train.lock, which
//   fails when the name exists (link(2) is exclusive like O_CREAT | O_EXCL); the temporary name is
//   removed on every path. No reader ever sees a half-written lock.
// - The lock is per process and re-entrant: the CLI takes it before it touches the folder
//   (`--overwrite`, task.json), the Trainer takes it again in create/resume; it is released when
//   every holder released it, or when the process exits ('exit' handler). A kill -9 leaves the file
//   behind: such a stale lock is recognised and taken over when its pid no longer runs on this host
//   (or runs, but started at another time: a reused pid; Linux /proc start times).
// - A lock written by another host cannot be checked and is refused; the message says how to
//   remove it by hand. A lock file that is not complete lock JSON was not written by a live trainer
//   (they never expose one) and is stale.
// - A trainer killed (kill -9) between writing its temporary file and removing it leaves that file
//   behind; the next trainer to take the lock removes the temporary files of processes that no
//   longer run on this host (the pid is in the name), and keeps those of live ones.
// - Taking over a stale lock renames it to a private name first, so of two processes that find
//   the same stale lock only one removes it; the other finds the winner's fresh lock and refuses.
// - `assertHeld()` re-reads the file (the Trainer does so before each checkpoint): a lock that
//   was removed or taken over by hand is an error instead of two trainers writing one folder.

import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RunFolderError } from "./run-folder.js";

export const LOCK_FILE = "train.lock";
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

/** Whether a process with this pid runs on this host (a process we may not signal runs). */
function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** "alive", "dead" or "unknown" (another host). */
function ownerStatus(o: LockOwner): "alive" | "dead" | "unknown" {
  if (o.hostname !== os.hostname()) return "unknown";
  if (!pidRuns(o.pid)) return "dead";
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

/** The lock's owner (null when the file is not lock JSON), or null when there is no file. */
function readOwner(file: string): { owner: LockOwner | null } | null {
  try {
    return { owner: parseOwner(readFileSync(file, "utf8")) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

function describeOwner(o: LockOwner): string {
  return `pid ${o.pid} on ${o.hostname}, ${o.command}, since ${o.acquiredAt}`;
}

/** The private name this process writes its lock under before linking it to `file`. */
function tempLockName(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}
const TEMP_LOCK_NAME = new RegExp(`^${LOCK_FILE.replace(".", "\\.")}\\.tmp-(\\d+)-[0-9a-f]{8}$`);

/** Remove the temporary lock files that processes no longer running left in `dir` (best effort). */
function sweepTempLocks(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      const m = TEMP_LOCK_NAME.exec(name);
      if (m !== null && !pidRuns(Number(m[1]))) unlinkSync(path.join(dir, name));
    }
  } catch {
    // Clutter only: a leftover temporary file never stands for a lock.
  }
}

/** Write the lock to a private file next to `file` and link it to `file`; false when another file holds the name. */
function createLockFile(file: string, owner: LockOwner): boolean {
  const tmp = tempLockName(file);
  try {
    const fd = openSync(tmp, "wx", 0o644);
    try {
      const bytes = Buffer.from(JSON.stringify(owner, null, 2) + "\n", "utf8");
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd); // the content is on disk before the name makes it visible
    } finally {
      closeSync(fd);
    }
    return linkOnce(tmp, file);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone (--overwrite of the folder's owner clears everything but train.lock).
    }
  }
}

/** link(tmp, file): true when `file` is now `tmp`, false when another file holds the name. */
function linkOnce(tmp: string, file: string): boolean {
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A link that succeeded but reported an error (a retried NFS request) shows as a second link (open(2)).
    if (code !== "ENOENT" && statSync(tmp).nlink === 2) return true;
    if (code === "EEXIST") return false;
    if (code === "ENOENT") return false; // tmp was removed by the folder's owner: look at who holds it
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") {
      throw new RunFolderError(`cannot create ${file}: the run folder's file system does not support hard links (${code}), which the lock needs to appear atomically; use another --run-dir`);
    }
    throw e;
  }
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
    // It changed hands between our read and the rename: give the new owner its file back, by link
    // so that a third process that took the name meanwhile keeps it (the owner we displaced then
    // finds its lock gone in assertHeld()).
    try {
      linkOnce(aside, file);
    } finally {
      unlinkSync(aside);
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
      if (cur.owner !== null) {
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
    sweepTempLocks(key);
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
