// The progress display (issue 11 item 2): on a terminal the line keeps its fields after every line
// printed above it (it showed raw "{loss} | {tps} tok/s" placeholders after each validation and at
// the stop), phases (validation, checkpoint writing) are shown, and the ETA does not jump when a
// pause (a validation) interrupts the steps; off a terminal the output stays line-based. The
// end-to-end case runs `perceiver-ar train` in a pseudo-terminal (util-linux `script`).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ProgressDisplay } from "../src/cli/progress.js";
import { CLI } from "./helpers/cli.js";
import { writeProse } from "./helpers/text-fixtures.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pa-progress-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fake terminal: everything written, and a clock the test moves. */
function fakeTerminal() {
  let out = "";
  let t = 0;
  return {
    stream: { isTTY: true, write: (s: string) => void (out += s) },
    now: () => t,
    advance: (ms: number) => void (t += ms),
    /** What the terminal shows last on its current line. */
    line: () => out.slice(out.lastIndexOf("\r") + 1),
    all: () => out,
  };
}

describe("progress display", () => {
  it("redraws the same fields after a logged line and shows phases", () => {
    const term = fakeTerminal();
    const bar = new ProgressDisplay({ total: 100, unit: "step", stream: term.stream, now: term.now });
    for (let s = 1; s <= 10; s++) {
      term.advance(1000);
      bar.update(s, { loss: (3 - s / 10).toFixed(4), "": "1200 tok/s", lr: "2.00e-3" });
    }
    bar.phase("validating 50%");
    assert.match(term.line(), /step 10\/100 \| loss 2\.0000 \| 1200 tok\/s \| lr 2\.00e-3 \| validating 50% \| ETA 1m30s/);
    bar.phase(null);
    bar.log("step 10: validation bits/byte 2.1");
    assert.match(term.all(), /\r\x1b\[2Kstep 10: validation bits\/byte 2\.1\n/);
    assert.match(term.line(), /step 10\/100 \| loss 2\.0000 \| 1200 tok\/s \| lr 2\.00e-3 \| ETA/);
    assert.doesNotMatch(term.all(), /\{/, "no placeholder is ever shown");
    bar.stop();
    assert.equal(term.line(), "\x1b[2K", "stop clears the line");
  });

  it("the ETA is wall time per step since the start: a validation pause moves it smoothly", () => {
    const term = fakeTerminal();
    const bar = new ProgressDisplay({ total: 100, unit: "step", stream: term.stream, now: term.now });
    const etas: number[] = [];
    for (let s = 1; s <= 40; s++) {
      term.advance(s === 21 ? 11_000 : 1000); // a 10 s validation before step 21
      bar.update(s);
      etas.push(bar.eta()!);
    }
    assert.equal(etas[19], 80, "20 steps in 20 s: 80 s left");
    assert.ok(Math.abs(etas[20] - (31 / 21) * 79) < 1e-9, "the pause is spread over every step so far");
    for (let i = 21; i < etas.length; i++) assert.ok(etas[i] < etas[i - 1], "falls steadily after the pause");
  });

  it("off a terminal: one line every lineEvery units, no control characters", () => {
    let out = "";
    const bar = new ProgressDisplay({ total: 25, unit: "step", stream: { write: (s: string) => void (out += s) }, lineEvery: 10 });
    for (let s = 1; s <= 25; s++) bar.update(s, { loss: "1.0000" });
    bar.phase("validating 10%");
    bar.log("a line");
    bar.stop();
    assert.deepEqual(out.split("\n").filter(Boolean).map((l) => l.replace(/ \| elapsed.*$/, "").replace(/ \| ETA \S+/, "")), ["step 10/25 | loss 1.0000", "step 20/25 | loss 1.0000", "step 25/25 | loss 1.0000", "a line"]);
    assert.doesNotMatch(out, /[\r\x1b]/);
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it("perceiver-ar train on a terminal: fields after every validation and at the stop, never a placeholder", { skip: hasScript ? false : "util-linux script is not installed" }, () => {
    const data = writeProse(path.join(root, "book.txt"), 12_000);
    const run = path.join(root, "run");
    const cmd = [process.execPath, CLI, "train", "--data", data, "--preset", "tiny", "--max-steps", "6", "--batch-size", "2", "--eval-every", "2", "--eval-windows", "2", "--sample-tokens", "0", "--run-dir", run];
    const r = spawnSync("script", ["-qec", cmd.map((a) => `'${a}'`).join(" "), "/dev/null"], { encoding: "utf8", env: { ...process.env, PERCEIVER_AR_BACKEND: "reference", COLUMNS: "200" } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout;
    assert.match(out, /step 2: validation bits\/byte/);
    assert.match(out, /step \d\/6 \| loss \d\.\d{4} \| \d+ tok\/s \| lr \S+ \|/);
    assert.doesNotMatch(out, /\{(loss|tps|lr|eta_formatted)\}/, "placeholders were printed after each validation");
    const frames = out.split(/\r|\n/).filter((l) => /step \d\/6/.test(l));
    for (const f of frames) assert.match(f, /loss \d/, `every drawn frame has its fields: ${JSON.stringify(f)}`);
  });
});
