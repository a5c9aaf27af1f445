// Fuzz benchmark of the checkpoint readers: >= 100,000 seeded malformed safetensors files, torch
// .bin files and model folders (the generator of test/helpers/fuzz-cases.ts), each classified as
//   valid          accepted (and not required to be refused)
//   clean error    refused with SafetensorsError / CheckpointError / ConfigError
//   crash          any other exception (RangeError, TypeError, stack overflow, ...)
//   hang           took more than 2 s (a worker that does not answer within 20 s is killed and
//                  its case counted here, so a real infinite loop cannot stall the run)
//   over-alloc     ArrayBuffer memory grew by more than 2x the case's file size (and > 64 KiB) beyond the tensors
//                  it returned (the float32 tensors a file describes; their total is bounded by the
//                  readers: views <= 2x the file's stored bytes, x2 when F16/BF16 widen). Growth =
//                  process.memoryUsage().arrayBuffers after the case (results still held) minus
//                  before it; a GC is forced before a case whenever the baseline exceeds 32 MB, so
//                  garbage of earlier cases is not counted (a GC during a case would hide part of
//                  its allocation: the measure is a lower bound, exact for small cases).
//   ambiguous ok   accepted although ambiguous or unsafe (duplicate names, prefixed twins, second
//                  weight files, NaN weights, Object.prototype config keys, hostile globals)
// Cases run in worker threads (one per core by default, --workers N), each with a forced GC before every case.
//
//   npx tsc -p . && node dist/bench/fuzz-checkpoints.js [--cases 100000] [--seed 1] [--workers 2]
//     -> a table of counts per kind, the slowest case, the largest allocation ratio, and the
//        first examples of every failure class.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { caseBytes, fuzzBases, fuzzCase, isCleanError, runCase } from "../test/helpers/fuzz-cases.js";

type Outcome = "valid" | "clean error" | "crash" | "hang" | "over-alloc" | "ambiguous ok";
const OUTCOMES: Outcome[] = ["valid", "clean error", "crash", "hang", "over-alloc", "ambiguous ok"];
const HANG_MS = 2000;
const KILL_MS = 20_000;
const ALLOC_RATIO = 2;
/**
 * Growth below this is not counted, whatever the ratio: a tiny file's case may see a few tens of
 * KB of fixed buffers (zlib's window and state per inflate, the readers' reused scratch).
 */
const ALLOC_FLOOR = 64 << 10;
/** Force a GC before a case when this much ArrayBuffer memory is live (garbage of earlier cases). */
const GC_ABOVE = 32 << 20;

interface Result {
  i: number;
  kind: string;
  label: string;
  outcome: Outcome;
  ms: number;
  allocRatio: number;
  error?: string;
}

function workerMain(): void {
  const { seed, from, to } = workerData as { seed: number; from: number; to: number };
  v8.setFlagsFromString("--expose-gc"); // workers may not take --expose-gc in execArgv
  const gc = runInNewContext("gc") as () => void;
  fuzzBases();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-bench-"));
  // Warm-up: one-time allocations (the F16 table, widening scratch, zlib) are not any case's.
  for (let i = 0; i < 200; i++) {
    try {
      runCase(fuzzCase(seed + 1, i), scratch);
    } catch {
      // refusals are expected
    }
  }
  for (let i = from; i < to; i++) {
    const c = fuzzCase(seed, i);
    parentPort!.postMessage({ start: i });
    if (process.memoryUsage().arrayBuffers > GC_ABOVE) gc();
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    let error: unknown;
    let produced = 0;
    const keep: unknown[] = [];
    try {
      produced = runCase(c, scratch, keep);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().arrayBuffers - before - produced;
    keep.length = 0;
    const size = Math.max(1, caseBytes(c));
    const allocRatio = grown / size;
    let outcome: Outcome;
    if (error !== undefined && !isCleanError(error)) outcome = "crash";
    else if (ms > HANG_MS) outcome = "hang";
    else if (allocRatio > ALLOC_RATIO && grown > ALLOC_FLOOR) outcome = "over-alloc";
    else if (error === undefined) outcome = c.mustRefuse ? "ambiguous ok" : "valid";
    else outcome = "clean error";
    const r: Result = { i, kind: c.kind, label: c.label, outcome, ms, allocRatio };
    if (outcome === "crash") r.error = String((error as Error)?.stack ?? error).slice(0, 400);
    parentPort!.postMessage({ result: r });
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  parentPort!.postMessage({ done: true });
}

async function runRange(seed: number, from: number, to: number, onResult: (r: Result) => void): Promise<void> {
  let next = from;
  while (next < to) {
    await new Promise<void>((resolve) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { seed, from: next, to } });
      let current = next;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
          const c = fuzzCase(seed, current);
          onResult({ i: current, kind: c.kind, label: c.label, outcome: "hang", ms: KILL_MS, allocRatio: 0, error: "killed: no answer within 20 s" });
          next = current + 1;
          void w.terminate();
        }, KILL_MS);
      };
      arm();
      w.on("message", (m: { start?: number; result?: Result; done?: boolean }) => {
        if (m.start !== undefined) {
          current = m.start;
          arm();
        } else if (m.result !== undefined) {
          onResult(m.result);
          next = m.result.i + 1;
        } else if (m.done) next = to;
      });
      w.on("error", (e) => {
        const c = fuzzCase(seed, current);
        onResult({ i: current, kind: c.kind, label: c.label, outcome: "crash", ms: 0, allocRatio: 0, error: `worker died: ${String(e).slice(0, 300)}` });
        next = current + 1;
      });
      w.on("exit", () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      });
    });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const cases = arg("--cases", 100_000);
  const seed = arg("--seed", 1);
  const workers = arg("--workers", Math.max(1, os.availableParallelism()));
  const counts = new Map<string, Record<Outcome, number>>();
  const examples = new Map<Outcome, Result[]>();
  let slowest: Result | undefined;
  let maxAlloc: Result | undefined;
  let done = 0;
  const t0 = performance.now();
  const onResult = (r: Result) => {
    const row = counts.get(r.kind) ?? (Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>);
    row[r.outcome]++;
    counts.set(r.kind, row);
    if (!["valid", "clean error"].includes(r.outcome)) {
      const ex = examples.get(r.outcome) ?? [];
      if (ex.length < 5) ex.push(r);
      examples.set(r.outcome, ex);
    }
    if (slowest === undefined || r.ms > slowest.ms) slowest = r;
    if (maxAlloc === undefined || r.allocRatio > maxAlloc.allocRatio) maxAlloc = r;
    if (++done % 10_000 === 0) process.stderr.write(`${done} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  };
  const per = Math.ceil(cases / workers);
  await Promise.all(Array.from({ length: workers }, (_, w) => runRange(seed, w * per, Math.min(cases, (w + 1) * per), onResult)));
  const total = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  console.log(`fuzz-checkpoints: ${cases.toLocaleString("en-US")} cases, seed ${seed}, ${workers} workers, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`| kind | cases | ${OUTCOMES.join(" | ")} |`);
  console.log(`| --- | ---: | ${OUTCOMES.map(() => "---:").join(" | ")} |`);
  for (const [kind, row] of [...counts].sort()) {
    const n = OUTCOMES.reduce((a, o) => a + row[o], 0);
    for (const o of OUTCOMES) total[o] += row[o];
    console.log(`| ${kind} | ${n.toLocaleString("en-US")} | ${OUTCOMES.map((o) => row[o].toLocaleString("en-US")).join(" | ")} |`);
  }
  console.log(`| all | ${cases.toLocaleString("en-US")} | ${OUTCOMES.map((o) => total[o].toLocaleString("en-US")).join(" | ")} |`);
  if (slowest) console.log(`slowest case: #${slowest.i} ${slowest.kind} "${slowest.label}" ${slowest.ms.toFixed(0)} ms`);
  if (maxAlloc) console.log(`largest ArrayBuffer growth: #${maxAlloc.i} ${maxAlloc.kind} "${maxAlloc.label}" ${maxAlloc.allocRatio.toFixed(2)}x its file size`);
  for (const [o, ex] of examples) {
    console.log(`\n${o}:`);
    for (const r of ex) console.log(`  #${r.i} ${r.kind} "${r.label}"${r.error ? `\n    ${r.error.replace(/\n/g, "\n    ")}` : ""}`);
  }
}

if (isMainThread) void main();
else workerMain();
