// The perceiver-ar command as a person uses it: train a tiny text model, resume it, evaluate it
// with fewer latents, sample from it, and get clear errors for bad input.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runCli } from "./helpers/cli.js";
import { REPO_ROOT } from "./helpers/golden.js";


describe("perceiver-ar CLI", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-cli-"));
  const runDir = path.join(dir, "run");

  it("--version and --help", () => {
    const v = runCli(["--version"]);
    assert.equal(v.code, 0);
    assert.equal(v.out.trim(), JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version);
    const h = runCli(["--help"]);
    assert.match(h.out, /train/);
    assert.match(h.out, /sample/);
    assert.match(runCli(["train", "--help"]).out, /Examples:/);
  });

  it("trains, writes a run folder, resumes, evaluates and samples", () => {
    const common = ["--preset", "tiny", "--batch-size", "2", "--eval-every", "4", "--eval-windows", "2", "--sample-tokens", "0", "--run-dir", runDir];
    const t = runCli(["train", ...common, "--max-steps", "8", "--checkpoint-every", "4"]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /finished at step 8/);
    assert.match(t.out, /validation: bits\/byte \d+\.\d+/);
    for (const f of ["task.json", "metrics.jsonl", "loss.svg", "checkpoint/config.json", "checkpoint/weights.safetensors", "best/config.json"]) {
      assert.ok(fs.existsSync(path.join(runDir, f)), `${f} exists`);
    }
    const again = runCli(["train", ...common, "--max-steps", "8"]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already holds a run; continue it with --resume/);
    const r = runCli(["train", "--resume", "--run-dir", runDir, "--sample-tokens", "0"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /resuming .* at step 8/);

    const e = runCli(["eval", runDir, "--num-latents", "8", "--windows", "2", "--json"]);
    assert.equal(e.code, 0, e.err);
    const res = JSON.parse(e.out);
    assert.equal(res.numLatents, 8);
    assert.ok(res["bits/byte"] > 0 && res["bits/byte"] < 12);

    const s = runCli(["sample", runDir, "--prompt", "The ", "-n", "12", "--seed", "3"]);
    assert.equal(s.code, 0, s.err);
    assert.ok(s.out.startsWith("The "));
    const s2 = runCli(["sample", runDir, "--prompt", "The ", "-n", "12", "--seed", "3", "--no-cache"]);
    assert.equal(s2.out, s.out, "cached and uncached sampling give the same text");
  });

  it("trains the copy task at a chosen context and reports mirrored-half accuracy", () => {
    const t = runCli(["train", "--task", "copy", "--context", "64", "--max-latents", "8", "--num-channels", "16", "--max-steps", "2", "--batch-size", "2", "--eval-windows", "1", "--run-dir", path.join(dir, "copy")]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /context 64, latents 8/);
    assert.match(t.out, /copy task: next-token accuracy on the mirrored half \d+\.\d+% over \d+ predictions/);

    // Context curriculum: continue at a longer context from the run above.
    const copyDir = path.join(dir, "copy");
    const w = runCli(["train", "--task", "copy", "--init-from", copyDir, "--context", "128", "--max-steps", "2", "--batch-size", "2", "--eval-every", "1", "--eval-windows", "1", "--stop-at-accuracy", "0.99", "--run-dir", path.join(dir, "copy128")]);
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /initialised from .*copy.* \(context 64 -> 128\)/);
    assert.match(w.out, /context 128, latents 8, width 16/);
    assert.match(w.out, /step 1: validation .* accuracy \d+\.\d+%/);
    const z = runCli(["eval", copyDir, "--context", "128", "--windows", "1", "--json"]);
    assert.equal(z.code, 0, z.err);
    const zs = JSON.parse(z.out);
    assert.equal(zs.context, 128);
    assert.ok(zs.accuracy >= 0 && zs.accuracy <= 1 && zs.scored === 7, z.out);
    const zbad = runCli(["eval", copyDir, "--context", "4"]);
    assert.match(zbad.err, /--context must be an integer >= 8 \(the model's max_latents\), got "4"/);
    const bad = runCli(["train", "--task", "copy", "--init-from", copyDir, "--preset", "copy", "--run-dir", path.join(dir, "x")]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--init-from takes the model config from the source model/);
    const heads = runCli(["train", "--task", "copy", "--init-from", copyDir, "--num-heads", "2", "--run-dir", path.join(dir, "z")]);
    assert.equal(heads.code, 2);
    assert.match(heads.err, /a warm start may only change max_seq_len; these config fields differ: numHeads \(source 4, target 2\)/);
    const acc = runCli(["train", "--task", "copy", "--stop-at-accuracy", "99", "--run-dir", path.join(dir, "y")]);
    assert.match(acc.err, /--stop-at-accuracy must be a fraction in \(0, 1\], e.g. 0.99, got "99"/);
  });

  it("rejects bad options with a message naming the field", () => {
    const a = runCli(["train", "--task", "poetry"]);
    assert.equal(a.code, 2);
    assert.match(a.err, /--task must be one of text, copy, image, music/);
    const b = runCli(["info", "--preset", "tiny", "--num-heads", "3"]);
    assert.match(b.err, /numHeads \(num_heads\) = 3 must divide numChannels/);
    const c = runCli(["eval", runDir, "--num-latents", "999"]);
    assert.match(c.err, /--num-latents must be an integer in \[1, 16\]/);
    const d = runCli(["train", "--preset", "tiny", "--max-seq-len", "100000000", "--run-dir", path.join(dir, "huge")]);
    assert.equal(d.code, 2);
    assert.match(d.err, /more than the machine's .* the largest context that fits/);
  });
});
