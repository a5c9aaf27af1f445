// Kill -9 at random moments, resume, and compare with an uninterrupted run: the trial behind
// "every resume is bit-exact" (issue 11 item 12 and the closing figure).
//
// `killResumeTrial` trains one run uninterrupted with `perceiver-ar train` (native backend, the
// given thread count) and times it from its first output line to its exit (T); then it trains the
// same run again in a fresh folder, killing the trainer with SIGKILL at a random moment (uniform in
// [0, T · the share of steps still to do) after its first output line: during steps, validation
// or checkpoint writing) `kills` times and continuing it with `train --resume` each time, and
// finally lets it finish. The run is exact when its final weights.safetensors and
// optimizer.safetensors are byte-identical to the uninterrupted run's and metrics.jsonl holds the
// same loss for every step. The suite runs a quick variant (test/train-reproducible.test.ts);
//
//   node dist/test/helpers/kill-resume.js [--kills 20] [--threads 2] [--steps 60] [--cli path/to/main.js]
//
// runs the full trial and prints the figure.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readMetrics } from "../../src/train/run-folder.js";
import { Rng } from "../../src/util/rng.js";
import { CLI } from "./cli.js";
import { writeProse } from "./text-fixtures.js";

export interface KillResumeOptions {
  kills: number;
  threads: number;
  steps: number;
  /** Seed of the kill moments. */
  seed?: number;
  /** The perceiver-ar entry point (default: this tree's dist). */
  cli?: string;
  /** Working folder (default: a new temp folder, removed afterwards). */
  dir?: string;
  /** Model field overrides (default: a model big enough that the native kernels split work over threads). */
  model?: string[];
  log?: (line: string) => void;
}

export interface KillResumeResult {
  kills: number;
  /** Kills that hit before the first checkpoint (the run then started over). */
  killsBeforeFirstCheckpoint: number;
  /** Checkpoint steps each resume started from. */
  resumedAt: number[];
  exact: boolean;
  /** What differed from the uninterrupted run (empty when exact). */
  differences: string[];
  seconds: number;
}

/**
 * A model of ~0.1M parameters at context 512 with 64 latents (batch 4): small enough for steps of
 * tens of ms, large enough that the native kernels split their reductions over threads (before the
 * thread-order-free reductions, two runs of it at 2 threads already differed after 2 steps).
 */
export const TRIAL_MODEL = ["--preset", "tiny", "--num-channels", "64", "--num-heads", "2", "--max-seq-len", "512", "--max-latents", "64", "--num-self-attention-layers", "2"];

function trainArgs(o: KillResumeOptions, data: string, runDir: string): string[] {
  return ["train", "--data", data, ...(o.model ?? TRIAL_MODEL), "--max-steps", String(o.steps), "--batch-size", "4", "--eval-every", "10", "--eval-windows", "2", "--checkpoint-every", "2", "--sample-tokens", "0", "--run-dir", runDir, "--threads", String(o.threads)];
}

/** A kill delay that never comes: setTimeout's largest (~24.8 days). */
const NEVER = 2 ** 31 - 1;

function env(): NodeJS.ProcessEnv {
  return { ...process.env, PERCEIVER_AR_BACKEND: "native" };
}

/** Start `args`; kill it with SIGKILL `delayMs` after its first stdout output. Resolves with whether it was killed (false: it exited first) and the ms from that output to the exit. */
function runAndKill(cli: string, args: string[], delayMs: number): Promise<{ killed: boolean; code: number | null; err: string; ms: number }> {
  return new Promise((resolve) => {
    let firstOutput = 0;
    const child = spawn(process.execPath, [cli, ...args], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    let timer: ReturnType<typeof setTimeout> | null = null;
    let killed = false;
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", () => {
      if (timer === null) {
        firstOutput = Date.now();
        timer = setTimeout(() => {
          killed = child.kill("SIGKILL");
        }, delayMs);
      }
    });
    child.once("exit", (code) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ killed: killed && code === null, code, err, ms: Date.now() - firstOutput });
    });
  });
}

function checkpointStep(runDir: string): number | null {
  for (const d of ["checkpoint", "checkpoint-tmp", "checkpoint-old"]) {
    const f = path.join(runDir, d, "trainer-state.json");
    if (fs.existsSync(f)) {
      try {
        return (JSON.parse(fs.readFileSync(f, "utf8")) as { step: number }).step;
      } catch {
        // torn: the recovery decides
      }
    }
  }
  return null;
}

/** Run the trial (see the file header). */
export async function killResumeTrial(o: KillResumeOptions): Promise<KillResumeResult> {
  const t0 = Date.now();
  const cli = o.cli ?? CLI;
  const log = o.log ?? (() => {});
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "pa-kill-resume-"));
  try {
    const data = writeProse(path.join(dir, "book.txt"), 60_000, 9);
    const a = path.join(dir, "uninterrupted");
    const b = path.join(dir, "killed");
    const full = await runAndKill(cli, trainArgs(o, data, a), NEVER);
    if (full.code !== 0) throw new Error(`uninterrupted run failed: ${full.err}`);
    log(`uninterrupted run: ${full.ms} ms from its first line to its exit`);

    const rng = new Rng(o.seed ?? 1);
    const resumedAt: number[] = [];
    let kills = 0;
    let early = 0;
    while (kills < o.kills) {
      const step = fs.existsSync(b) ? checkpointStep(b) : null;
      const args = step === null ? [...trainArgs(o, data, b), ...(fs.existsSync(b) ? ["--overwrite"] : [])] : ["train", "--resume", "--run-dir", b, "--threads", String(o.threads), "--sample-tokens", "0"];
      if (step !== null) resumedAt.push(step);
      if (step === null && fs.existsSync(b) && !fs.existsSync(path.join(b, "task.json"))) fs.rmSync(b, { recursive: true, force: true });
      const delay = Math.floor(rng.nextFloat() * full.ms * ((o.steps - (step ?? 0)) / o.steps));
      const r = await runAndKill(cli, args, delay);
      if (!r.killed) {
        if (r.code !== 0) throw new Error(`trainer exited with ${r.code}: ${r.err}`);
        if (checkpointStep(b) === o.steps) break; // finished before the kill: enough kills happened on the way
        continue;
      }
      kills++;
      if (step === null && checkpointStep(b) === null) early++;
      log(`kill ${kills}: after ${delay} ms (${step === null ? "fresh start" : `resumed at step ${step}`}), checkpoint now at step ${checkpointStep(b) ?? "none"}`);
    }
    while (checkpointStep(b) !== o.steps) {
      const step = checkpointStep(b);
      if (step !== null) resumedAt.push(step);
      const args = step === null ? [...trainArgs(o, data, b), "--overwrite"] : ["train", "--resume", "--run-dir", b, "--threads", String(o.threads), "--sample-tokens", "0"];
      const r = spawnSync(process.execPath, [cli, ...args], { env: env(), encoding: "utf8" });
      if (r.status !== 0) throw new Error(`final resume failed: ${r.stderr}`);
    }

    const differences: string[] = [];
    for (const f of ["weights.safetensors", "optimizer.safetensors"]) {
      if (!fs.readFileSync(path.join(a, "checkpoint", f)).equals(fs.readFileSync(path.join(b, "checkpoint", f)))) differences.push(`checkpoint/${f} differs`);
    }
    const losses = (run: string) => new Map(readMetrics(path.join(run, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => [r.step, r.loss]));
    const la = losses(a);
    const lb = losses(b);
    for (let s = 1; s <= o.steps; s++) if (!Object.is(la.get(s), lb.get(s))) differences.push(`step ${s}: loss ${la.get(s)} uninterrupted, ${lb.get(s)} resumed`);
    return { kills, killsBeforeFirstCheckpoint: early, resumedAt, exact: differences.length === 0, differences, seconds: (Date.now() - t0) / 1000 };
  } finally {
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Command-line entry: the full trial with its figure. */
async function main(): Promise<void> {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : dflt;
  };
  const o: KillResumeOptions = { kills: Number(arg("kills", "20")), threads: Number(arg("threads", "2")), steps: Number(arg("steps", "60")), seed: Number(arg("seed", "1")), cli: arg("cli", CLI), log: (l) => console.log(l) };
  console.log(`kill -9 at random moments x${o.kills}, native backend, ${o.threads} threads, ${o.steps} steps, checkpoint every 2 steps`);
  const r = await killResumeTrial(o);
  console.log(`${r.kills} kills (${r.killsBeforeFirstCheckpoint} before the first checkpoint), resumed at steps ${r.resumedAt.join(", ")}`);
  console.log(r.exact ? `every resume bit-exact: final weights, optimizer state and all ${o.steps} losses identical to the uninterrupted run (${r.seconds.toFixed(0)} s)` : `NOT exact:\n  ${r.differences.join("\n  ")}`);
  process.exitCode = r.exact ? 0 : 1;
}

// Run as a script (not when `node --test dist/test/` loads every file below test/, helpers included).
if (process.env.NODE_TEST_CONTEXT === undefined && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
