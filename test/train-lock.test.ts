// One trainer per run folder, and a trainer-state.json that cannot be silently wrong (issue 11
// item 13): a second trainer (another process, started at the same moment or later) refuses with
// the owner's pid; a lock left by a killed trainer is recognised as stale and taken over; a lock
// removed under a running trainer stops it; trainer-state.json is covered by its own checksum and a
// corrupt or missing one is an error naming the file, through the library and the CLI (exit 2).
// The lock file is never visible half-written: checked at every file-system call of the locking
// code, so the check is deterministic (a reader in another process would catch it only by luck).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import fsModule from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { WindowSampler } from "../src/data/windows.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { samplerBatchSource } from "../src/train/batch-source.js";
import { readMetrics, RunFolderError } from "../src/train/run-folder.js";
import { acquireRunLock, LOCK_FILE, RunLockedError } from "../src/train/run-lock.js";
import { readCheckpoint } from "../src/train/trainer-checkpoint.js";
import { Trainer } from "../src/train/trainer.js";
import { CLI, runCli } from "./helpers/cli.js";
import { REPO_ROOT } from "./helpers/golden.js";
import { writeProse } from "./helpers/text-fixtures.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pa-lock-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const TINY = { vocabSize: 20, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 };
const stream = new Int32Array(600).map((_, i) => [3, 7, 1, 12, 5, 9, 15][i % 7]);
const data = () => samplerBatchSource(new WindowSampler(stream, { maxSeqLen: 16, seed: 5 }), 2);
const trainer = (runDir: string) => Trainer.create(new PerceiverAR(TINY, referenceBackend, { seed: 1 }), data(), { batchSize: 2, maxSteps: 50, runDir });

/** A child process that holds the lock of `runDir` until it is killed; resolves with it once it holds the lock. */
async function lockHolder(runDir: string) {
  const url = pathToFileURL(path.join(REPO_ROOT, "dist", "src", "train", "run-lock.js")).href;
  const child = spawn(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(url)}); m.acquireRunLock(process.argv[1]); console.log("locked"); setInterval(() => {}, 1000);`, runDir], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (c) => reject(new Error(`lock holder exited with ${c}`)));
  });
  return child;
}

describe("one trainer per run folder", () => {
  it("a second process refuses while the first holds the folder; a killed owner's lock is taken over", async () => {
    const dir = path.join(root, "held");
    const child = await lockHolder(dir);
    assert.throws(() => trainer(dir), (e: unknown) => e instanceof RunLockedError && e.owner?.pid === child.pid && new RegExp(`in use by another trainer \\(pid ${child.pid} on `).test(e.message));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)), "kill -9 leaves the lock file behind");
    const lock = acquireRunLock(dir);
    assert.equal(lock.recoveredFrom?.pid, child.pid, "the stale lock was recognised and taken over");
    const t = trainer(dir); // the same process may hold it twice
    t.step();
    t.saveCheckpoint();
    t.close();
    assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)), "still held by the first holder");
    lock.release();
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), "released by the last holder");
  });

  it("a trainer whose lock was removed under it stops before writing a checkpoint", () => {
    const dir = path.join(root, "removed");
    const t = trainer(dir);
    t.step();
    fs.rmSync(path.join(dir, LOCK_FILE));
    assert.throws(() => t.saveCheckpoint(), (e: unknown) => e instanceof RunFolderError && /lost the lock of run folder .*train\.lock was removed or taken over/.test(e.message));
    t.close();
  });

  it("two CLI trainers started on one folder at the same moment: one trains, the other refuses", async () => {
    const corpus = writeProse(path.join(root, "book.txt"), 12_000);
    const run = path.join(root, "race");
    const args = ["train", "--data", corpus, "--preset", "tiny", "--max-steps", "6", "--batch-size", "2", "--eval-windows", "2", "--sample-tokens", "0", "--run-dir", run];
    const start = () =>
      new Promise<{ code: number; err: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, PERCEIVER_AR_BACKEND: "reference" }, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        c.stderr.on("data", (d) => (err += d));
        c.once("exit", (code) => resolve({ code: code ?? -1, err }));
      });
    const results = await Promise.all([start(), start()]);
    const codes = results.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 2], results.map((r) => r.err).join("\n"));
    const refused = results.find((r) => r.code === 2)!;
    // Which refusal the loser sees depends on how far the winner got: the lock held (it is never
    // seen half-written, see below), or the run already there.
    assert.match(refused.err, /^perceiver-ar: (run folder .* is in use by another trainer \(pid \d+ on .*perceiver-ar train|.* already holds a run; continue it with --resume)/);
    const steps = readMetrics(path.join(run, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6], "every step logged once");
    assert.ok(!fs.existsSync(path.join(run, LOCK_FILE)), "the lock is gone after the run");
  });
});

/**
 * Run `body` with every synchronous node:fs function wrapped so that `observe(name)` runs before and
 * after each call. run-lock.ts imports them by name; syncBuiltinESMExports() points those bindings
 * at the wrappers (and back afterwards). Returns the names of the calls observed.
 */
function withFsObserver(observe: (call: string) => void, body: () => void): string[] {
  const target = fsModule as unknown as Record<string, unknown>;
  const originals = Object.entries(target).filter(([name, f]) => name.endsWith("Sync") && typeof f === "function") as [string, (...a: unknown[]) => unknown][];
  const calls: string[] = [];
  let depth = 0; // fs functions that call other fs functions are observed once, at the outside
  for (const [name, f] of originals) {
    target[name] = (...args: unknown[]) => {
      if (depth > 0) return f(...args);
      depth++;
      try {
        calls.push(name);
        observe(`before ${name}`);
        const result = f(...args);
        observe(`after ${name}`);
        return result;
      } finally {
        depth--;
      }
    };
  }
  syncBuiltinESMExports();
  try {
    body();
  } finally {
    for (const [name, f] of originals) target[name] = f;
    syncBuiltinESMExports();
  }
  return calls;
}

const { readFileSync: readUnobserved, writeFileSync: writeUnobserved } = fsModule;

/** A pid that no longer runs: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("the lock file appears complete or not at all", () => {
  it("at every file-system call while locks are created, taken over and released, train.lock is absent or complete lock JSON", () => {
    const dir = path.join(root, "atomic");
    fs.mkdirSync(dir);
    const file = path.join(dir, LOCK_FILE);
    const seen: string[] = [];
    const observe = (when: string) => {
      let text: string;
      try {
        text = readUnobserved(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw e;
      }
      try {
        const o = JSON.parse(text) as { pid?: unknown; token?: unknown };
        if (Number.isInteger(o.pid) && typeof o.token === "string") return;
      } catch {
        // falls through: not complete JSON
      }
      seen.push(`${when}: ${JSON.stringify(text)}`);
    };
    const calls = withFsObserver(observe, () => {
      for (let i = 0; i < 3; i++) acquireRunLock(dir).release(); // fresh locks
      writeUnobserved(file, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), startTime: null, acquiredAt: "then", token: "stale", command: "killed trainer" }));
      const lock = acquireRunLock(dir); // a stale lock taken over
      assert.equal(lock.recoveredFrom?.token, "stale");
      lock.release();
    });
    assert.ok(calls.includes("readFileSync") && calls.length > 20, `the observer saw the locking code's calls: ${calls.join(" ")}`);
    assert.deepEqual(seen, [], "no call saw a half-written train.lock");
    assert.deepEqual(fs.readdirSync(dir), [], "nothing left behind");
  });

  it("the temporary file is removed when the lock is refused and when creating it fails", () => {
    const dir = path.join(root, "tmp-cleanup");
    fs.mkdirSync(dir);
    const file = path.join(dir, LOCK_FILE);
    const live = { pid: process.pid, hostname: os.hostname(), startTime: null, acquiredAt: "now", token: "another holder", command: "test" };
    fs.writeFileSync(file, JSON.stringify(live));
    assert.throws(() => acquireRunLock(dir), (e: unknown) => e instanceof RunLockedError && e.owner?.token === live.token);
    assert.deepEqual(fs.readdirSync(dir), [LOCK_FILE], "refused: only the owner's lock is there");
    fs.rmSync(file);
    const original = fsModule.linkSync;
    fsModule.linkSync = () => {
      throw Object.assign(new Error("EIO: i/o error, link"), { code: "EIO" });
    };
    syncBuiltinESMExports();
    try {
      assert.throws(() => acquireRunLock(dir), /EIO/);
    } finally {
      fsModule.linkSync = original;
      syncBuiltinESMExports();
    }
    assert.deepEqual(fs.readdirSync(dir), [], "failed: no lock and no temporary file");
  });

  it("taking the lock removes temporary lock files of processes that no longer run, and keeps a live one's", () => {
    const dir = path.join(root, "tmp-sweep");
    fs.mkdirSync(dir);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // has exited: its pid runs nothing (or something unrelated)
    const deadTmp = `${LOCK_FILE}.tmp-${dead}-0badc0de`, liveTmp = `${LOCK_FILE}.tmp-${process.pid}-00c0ffee`, other = "train.lock.tmp-notes.txt";
    for (const f of [deadTmp, liveTmp, other]) fs.writeFileSync(path.join(dir, f), "{");
    let pidReused = true;
    try {
      process.kill(dead, 0);
    } catch {
      pidReused = false;
    }
    const lock = acquireRunLock(dir);
    const left = fs.readdirSync(dir).sort();
    lock.release();
    const expected = [LOCK_FILE, liveTmp, other, ...(pidReused ? [deadTmp] : [])].sort();
    assert.deepEqual(left, expected);
  });

  it("a lock file that is not lock JSON is stale at once (a live trainer never leaves one visible)", () => {
    const dir = path.join(root, "torn");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pid": 12');
    const lock = acquireRunLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8")).pid, process.pid);
    lock.release();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe("trainer-state.json under the checksum", () => {
  function runWithCheckpoint(name: string): string {
    const dir = path.join(root, name);
    const t = trainer(dir);
    for (let i = 0; i < 2; i++) t.step();
    t.saveCheckpoint();
    t.close();
    return dir;
  }

  it("an edited trainer-state.json is refused, naming the file", () => {
    const dir = runWithCheckpoint("edited-state");
    const file = path.join(dir, "checkpoint", "trainer-state.json");
    const text = fs.readFileSync(file, "utf8");
    const edited = text.replace(/"tokensSeen": (\d+)/, (_, n) => `"tokensSeen": ${Number(n) + 1}`);
    assert.notEqual(edited, text);
    fs.writeFileSync(file, edited);
    assert.throws(() => readCheckpoint(dir, referenceBackend), /trainer-state\.json is corrupt: its contents do not match the SHA-256 it records/);
    assert.throws(() => Trainer.resume(dir, data(), { backend: referenceBackend }), /trainer-state\.json is corrupt/);
  });

  it("a missing or torn trainer-state.json is a clear error, also through the CLI", () => {
    const corpus = writeProse(path.join(root, "book2.txt"), 12_000);
    const run = path.join(root, "cli-state");
    const t = runCli(["train", "--data", corpus, "--preset", "tiny", "--max-steps", "2", "--batch-size", "2", "--eval-windows", "2", "--sample-tokens", "0", "--run-dir", run]);
    assert.equal(t.code, 0, t.err);
    const file = path.join(run, "checkpoint", "trainer-state.json");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.slice(0, text.length >> 1));
    const torn = runCli(["train", "--resume", "--max-steps", "4", "--run-dir", run]);
    assert.equal(torn.code, 2);
    assert.match(torn.err, /^perceiver-ar: checkpoint .* is inconsistent: .*trainer-state\.json is corrupt \(not JSON/);
    fs.rmSync(file);
    const missing = runCli(["train", "--resume", "--max-steps", "4", "--run-dir", run]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^perceiver-ar: checkpoint .* is inconsistent: .*trainer-state\.json is missing/);
    assert.doesNotMatch(missing.err, /\n\s+at /, "no stack trace");
  });
});
