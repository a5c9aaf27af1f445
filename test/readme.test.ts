// The README's library example runs as written (imported through the package's own name).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
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
