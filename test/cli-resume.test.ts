// `train --resume` with changed settings (issue 11 item 3): the length, the schedule and the
// cadences take effect with a line saying what changed, a finished run can be extended, and the
// settings that cannot change (model fields, data, seed, batch composition) are refused with the
// reason, before the run folder is touched.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { learningRate } from "../src/train/schedule.js";
import { readMetrics } from "../src/train/run-folder.js";
import { runCli } from "./helpers/cli.js";
import { writeProse } from "./helpers/text-fixtures.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pa-resume-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe("train --resume", () => {
  const data = writeProse(path.join(root, "book.txt"), 12_000, 7);
  const run = path.join(root, "run");
  const base = ["--run-dir", run, "--sample-tokens", "0"];

  it("extends a finished run with a new length and learning rate, and says what changed", () => {
    const t = runCli(["train", "--data", data, "--preset", "tiny", "--max-steps", "6", "--batch-size", "2", "--eval-every", "3", "--eval-windows", "2", "--checkpoint-every", "3", ...base]);
    assert.equal(t.code, 0, t.err);
    const r = runCli(["train", "--resume", "--max-steps", "10", "--lr", "5e-3", "--eval-every", "5", ...base]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /resuming .* at step 6 of 10/);
    assert.match(r.out, /changed on resume: --max-steps 6 -> 10, --lr 0\.002 -> 0\.005, --eval-every 3 -> 5 \(schedule: warmup 0 steps, cosine from 0\.005 to 0\.0002 at step 10; step 7 runs at lr /);
    assert.match(r.out, /finished at step 10/);
    const records = readMetrics(path.join(run, "metrics.jsonl"));
    const train = records.filter((x) => x.type === "train");
    assert.deepEqual(train.map((x) => x.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const x of train.filter((x) => x.step > 6)) assert.equal(x.lr, learningRate(x.step, { lr: 5e-3, minLr: 2e-4, warmupSteps: 0, maxSteps: 10 }), `step ${x.step}`);
    assert.deepEqual(records.filter((x) => x.type === "eval").map((x) => x.step), [3, 6, 10], "validations at the new cadence (and at the end)");
    const state = JSON.parse(fs.readFileSync(path.join(run, "checkpoint", "trainer-state.json"), "utf8"));
    assert.equal(state.options.maxSteps, 10);
    assert.equal(state.options.lr, 5e-3);
  });

  it("refuses settings that cannot change, with the reason, and leaves the run as it was", () => {
    const before = fs.readFileSync(path.join(run, "checkpoint", "trainer-state.json"), "utf8");
    const cases: [string[], RegExp][] = [
      [["--seed", "3"], /--seed \(the checkpoint continues the run's random state\)/],
      [["--num-channels", "64"], /model fields --num-channels \(the model's shape is the checkpoint's\)/],
      [["--data", data], /--data \(the checkpoint's data state points into the run's data\)/],
      [["--batch-size", "4"], /--batch-size \(the checkpoint's data state continues the run's batches\)/],
    ];
    for (const [flags, reason] of cases) {
      const r = runCli(["train", "--resume", "--max-steps", "12", ...flags, ...base]);
      assert.equal(r.code, 2, flags.join(" "));
      assert.match(r.err, /--resume continues .* as it was set up; these cannot change: /);
      assert.match(r.err, reason);
      assert.match(r.err, /Settings that can: --max-steps, --lr, --min-lr, --warmup-steps, --weight-decay, --clip-norm, --eval-every, --checkpoint-every, --stop-at-accuracy, --eval-windows, --sample-tokens/);
    }
    const short = runCli(["train", "--resume", "--max-steps", "4", ...base]);
    assert.equal(short.code, 2);
    assert.match(short.err, /--max-steps 4: .* is already at step 10/);
    assert.equal(fs.readFileSync(path.join(run, "checkpoint", "trainer-state.json"), "utf8"), before, "the checkpoint is untouched");
  });
});
