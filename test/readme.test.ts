// The README's library example runs as written (imported through the package's own name), and its
// training-defaults table is the one TRAINING_DEFAULTS renders (so the README cannot drift from the
// defaults the Trainer and the CLI use); `npm start` restates none of them.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import { TRAINING_DEFAULTS, trainingDefaultsTable } from "../src/train/defaults.js";
import { REPO_ROOT } from "./helpers/golden.js";

it("README library example runs and prints shapes and a finite loss", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 1, "README has a ```js example");
  const file = path.join(REPO_ROOT, "dist", "readme-example.mjs");
  fs.writeFileSync(file, blocks[0]);
  const out = execFileSync(process.execPath, [file], { encoding: "utf8", env: { ...process.env, PERCEIVER_AR_BACKEND: "reference" } });
  assert.match(out, /logits shape \[ 2, 4, 64 \]/);
  const loss = Number(/loss (\S+)/.exec(out)![1]);
  assert.ok(Number.isFinite(loss) && loss > 0 && loss < 10, `loss ${loss}`);
  assert.match(out, /q_proj grad elements 1024/);
});

it("README's training-defaults table is TRAINING_DEFAULTS, and npm start uses the defaults", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const m = /<!-- training-defaults:start -->\n([\s\S]*?)\n<!-- training-defaults:end -->/.exec(readme);
  assert.ok(m, "README has the training-defaults markers");
  assert.equal(m[1], trainingDefaultsTable(), "regenerate the README table from src/train/defaults.ts (trainingDefaultsTable())");
  for (const name of Object.keys(TRAINING_DEFAULTS)) assert.ok(m[1].includes(`| \`${name}\` |`), `${name} is in the table`);
  const start = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts.start as string;
  for (const flag of ["--max-steps", "--batch-size", "--lr", "--min-lr", "--eval-every", "--checkpoint-every", "--sample-tokens", "--warmup-steps"]) {
    assert.ok(!start.includes(flag), `npm start restates ${flag}; its value belongs in TRAINING_DEFAULTS`);
  }
});
