// Benchmark: the copy task (random_mirrored) solved by a context curriculum, timed end to end.
//
// Contract:
//   node dist/bench/copy-curriculum.js [--contexts 1024,16384,65536] [--root runs/copy-curriculum]
//        [--from <model-or-run-folder>] [--target 0.99] [--batch-size 8 | 8,8,4,...] [--max-steps 1500]
//        [--eval-every 25] [--test-examples 16] [--first-target 1] [--threads n]
// - Stage 1 trains the `copy` preset from scratch at the first context (lr 3e-3 -> 3e-4, warmup
//   50) until a validation is 100% right (--first-target), so that no unsolved position is carried
//   on. Every later stage starts from the previous stage's best model with `train --init-from`
//   (all weights copied, position rows re-mapped with the latents at the end, cross-attention
//   queries rotated by the latents' shift; see src/models/warm-start.ts) at constant lr 1e-3 after
//   20 warmup steps. `--from` makes the first listed context a warm-started stage too.
// - Before a warm-started stage trains, the warm-started model is scored as is (zero-shot column:
//   `perceiver-ar eval <previous> --context N`, on the same held-out examples).
// - Every stage stops at the first validation (4 examples, every --eval-every steps) whose
//   next-token accuracy on the mirrored half reaches --target, or at --max-steps; so every stage
//   trains at its own context for at least --eval-every steps.
// - Each stage is then scored on --test-examples held-out examples (`perceiver-ar eval`, a seed
//   distinct from the validation windows) with the full context and all latents.
// - Wall time of a stage is the `train` process from start to exit (model set-up, training,
//   validations, checkpoints); the table also gives the running total from stage 1.
// - --batch-size: one value, or one per context (long contexts need smaller batches to fit memory).
// - Output: a markdown table on stdout and in bench/results/copy-curriculum.md (with --from:
//   copy-curriculum-from-<first context>.md), with each stage's
//   validation curve (step: accuracy) from its metrics.jsonl. Runs stay in --root (not committed).

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readMetrics } from "../src/train/run-folder.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, "..", "src", "cli", "main.js");

const { values: a } = parseArgs({
  options: {
    contexts: { type: "string", default: "1024,16384,65536" },
    root: { type: "string", default: "runs/copy-curriculum" },
    from: { type: "string" },
    target: { type: "string", default: "0.99" },
    "first-target": { type: "string", default: "1" },
    "batch-size": { type: "string", default: "8" },
    "max-steps": { type: "string", default: "1500" },
    "eval-every": { type: "string", default: "25" },
    "test-examples": { type: "string", default: "16" },
    threads: { type: "string" },
  },
});
const contexts = a.contexts.split(",").map(Number);
if (contexts.some((n) => !Number.isInteger(n) || n < 256)) throw new RangeError(`--contexts must be integers >= 256, got "${a.contexts}"`);
const batchSizes = a["batch-size"].split(",");
if (batchSizes.length !== 1 && batchSizes.length !== contexts.length) {
  throw new RangeError(`--batch-size takes one value or one per context (${contexts.length}), got "${a["batch-size"]}"`);
}
const batchOf = (i: number): string => batchSizes[Math.min(i, batchSizes.length - 1)];

interface StageResult {
  context: number;
  batch: string;
  from: string;
  steps: number;
  minutes: number;
  reached: boolean;
  testAccuracy: number;
  testLoss: number;
  zeroShot: number | null;
  curve: string;
}

function cli(args: string[]): { out: string; status: number | null } {
  const threads = a.threads !== undefined ? ["--threads", a.threads] : [];
  const r = spawnSync(process.execPath, [CLI, ...args, ...threads], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 28 });
  return { out: r.stdout, status: r.status };
}

/** `perceiver-ar eval` of a model (warm-started to `context` when it was trained shorter) on the held-out examples. */
function testAccuracy(model: string, context: number): { accuracy: number; loss: number } {
  const r = cli(["eval", model, "--context", String(context), "--windows", a["test-examples"], "--json"]);
  if (r.status !== 0) throw new Error(`eval of ${model} at context ${context} failed:\n${r.out}`);
  return JSON.parse(r.out.trim().split("\n").at(-1)!) as { accuracy: number; loss: number };
}

const results: StageResult[] = [];
let previous = a.from ?? null;
for (const [i, context] of contexts.entries()) {
  const runDir = path.join(a.root, `copy-${context}`);
  const common = ["--task", "copy", "--context", String(context), "--run-dir", runDir, "--overwrite", "--batch-size", batchOf(i), "--max-steps", a["max-steps"]];
  const schedule = previous === null
    ? ["--lr", "3e-3", "--min-lr", "3e-4", "--warmup-steps", "50"]
    : ["--init-from", previous, "--lr", "1e-3", "--min-lr", "1e-3", "--warmup-steps", "20"];
  const target = previous === null ? a["first-target"] : a.target;
  const stopping = ["--eval-every", a["eval-every"], "--eval-windows", "4", "--stop-at-accuracy", target, "--checkpoint-every", "100"];
  process.stderr.write(`stage ${i + 1}: context ${context}${previous ? ` from ${previous}` : " from scratch"}\n`);
  let zeroShot: number | null = null;
  if (previous !== null) {
    zeroShot = testAccuracy(previous, context).accuracy;
    process.stderr.write(`  zero-shot after the warm start: ${(zeroShot * 100).toFixed(2)}%\n`);
  }
  const t0 = Date.now();
  const train = cli(["train", ...common, ...schedule, ...stopping]);
  const minutes = (Date.now() - t0) / 60000;
  if (train.status !== 0) throw new Error(`train failed at context ${context}:\n${train.out}`);
  const evals = readMetrics(path.join(runDir, "metrics.jsonl")).filter((m) => m.type === "eval");
  const last = evals.at(-1)!;
  const scored = testAccuracy(runDir, context);
  results.push({
    context,
    batch: batchOf(i),
    from: previous === null ? "scratch" : path.basename(previous),
    steps: last.step,
    minutes,
    reached: (last.accuracy as number) >= Number(target),
    testAccuracy: scored.accuracy,
    testLoss: scored.loss,
    zeroShot,
    curve: evals.map((e) => `${e.step}: ${((e.accuracy as number) * 100).toFixed(1)}`).join(", "),
  });
  process.stderr.write(`  ${last.step} steps, ${minutes.toFixed(1)} min, held-out accuracy ${(scored.accuracy * 100).toFixed(2)}%\n`);
  previous = runDir;
}

let total = 0;
const lines = [
  `Copy task by context curriculum (stop when 4 validation examples reach ${a["first-target"]} (stage 1) / ${a.target} (later stages); accuracy on the mirrored half of ${a["test-examples"]} held-out test examples)`,
  "",
  "| context | batch | from | zero-shot accuracy | steps | wall min | total min | target reached | accuracy | nats/token |",
  "| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
];
for (const r of results) {
  total += r.minutes;
  const zs = r.zeroShot === null ? "-" : `${(r.zeroShot * 100).toFixed(2)}%`;
  lines.push(`| ${r.context} | ${r.batch} | ${r.from} | ${zs} | ${r.steps} | ${r.minutes.toFixed(1)} | ${total.toFixed(1)} | ${r.reached ? "yes" : "no"} | ${(r.testAccuracy * 100).toFixed(2)}% | ${r.testLoss.toFixed(4)} |`);
}
lines.push("", "Validation accuracy (%) by step:", "");
for (const r of results) lines.push(`- ${r.context}: ${r.curve}`);
const table = lines.join("\n") + "\n";
process.stdout.write(table);
const outDir = path.join(HERE, "..", "..", "bench", "results");
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, a.from ? `copy-curriculum-from-${contexts[0]}.md` : "copy-curriculum.md"), table);
