// Seeded fuzz of everything that reads checkpoints: 2,500 malformed safetensors files, torch .bin
// files and model folders (test/helpers/fuzz-cases.ts). Every case is either accepted or refused
// with the package's own error (SafetensorsError / CheckpointError / ConfigError) naming the
// problem; never another exception, never more than 2 s, and never accepted when it is
// ambiguous or unsafe (duplicate names, prefixed twins, second weight files, NaN weights,
// Object.prototype config keys, hostile pickle globals). bench/fuzz-checkpoints.ts runs the same
// generator for 100,000+ cases with allocation measurements.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { fuzzBases, fuzzCase, isCleanError, runCase } from "./helpers/fuzz-cases.js";

const SEED = 20261201;
const CASES = 2500;
const HANG_MS = 2000;

test(`fuzz: ${CASES} malformed checkpoints are accepted or cleanly refused`, () => {
  fuzzBases();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-test-"));
  const counts = { valid: 0, clean: 0, safetensors: 0, bin: 0, folder: 0 };
  const failures: string[] = [];
  try {
    for (let i = 0; i < CASES; i++) {
      const c = fuzzCase(SEED, i);
      counts[c.kind]++;
      const t0 = performance.now();
      let error: unknown;
      try {
        runCase(c, scratch);
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - t0;
      if (ms > HANG_MS) failures.push(`case ${i} (${c.kind}: ${c.label}) took ${ms.toFixed(0)} ms`);
      if (error === undefined) {
        counts.valid++;
        if (c.mustRefuse) failures.push(`case ${i} (${c.kind}: ${c.label}) was accepted but is ambiguous or unsafe`);
      } else if (isCleanError(error)) counts.clean++;
      else failures.push(`case ${i} (${c.kind}: ${c.label}) crashed: ${String(error).slice(0, 200)}`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`# fuzz: ${JSON.stringify(counts)}`);
  assert.deepEqual(failures, []);
  assert.ok(counts.clean > CASES / 2 && counts.valid > 50, `a fuzz that refuses or accepts everything tests little: ${JSON.stringify(counts)}`);
});
