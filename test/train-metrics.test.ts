// Metrics that agree (issue 11 item 7): image validation during training is bits/dim over whole
// images, the quantity `eval` reports (it was the last latents of each image: 0.49 against 1.12);
// text validation scores enough tokens to rank checkpoints and `eval` scores the same by default;
// the validation at a Ctrl-C stop is logged to metrics.jsonl and can become best/.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { createImage } from "../src/data/image-codec.js";
import { makeConfig } from "../src/models/config.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { ImageTask } from "../src/tasks/image-task.js";
import { TextTask } from "../src/tasks/text-task.js";
import { readMetrics } from "../src/train/run-folder.js";
import { readTrainerState } from "../src/train/trainer-checkpoint.js";
import { Trainer } from "../src/train/trainer.js";
import { Rng } from "../src/util/rng.js";
import { CLI, runCli } from "./helpers/cli.js";
import { writeProse } from "./helpers/text-fixtures.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pa-metrics-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe("metrics that agree", () => {
  it("image validation during training is eval's bits/dim over whole images", async () => {
    const rng = new Rng(4);
    const images = Array.from({ length: 6 }, () => {
      const img = createImage(4, 3, 1);
      for (let i = 0; i < img.data.length; i++) img.data[i] = rng.nextInt(256);
      return img;
    });
    const task = new ImageTask({ task: "image", data: "custom" }, undefined, { train: images.slice(0, 4), validation: images.slice(4) });
    const N = task.tokensPerImage() + 1;
    const model = new PerceiverAR({ vocabSize: task.vocabSize, maxSeqLen: N, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 }, referenceBackend, { seed: 2 });
    const t = Trainer.create(model, task.trainSource(N, 2, 1, 4), { batchSize: 2, maxSteps: 2, evalEvery: 0 }, { validation: task.validation(N, 2) });
    const s = await t.train();
    const e = task.evaluate(model, { count: 2 });
    assert.equal(s.lastEval!.tokens, 2 * 12, "every pixel of both images");
    assert.equal(s.lastEval!.bitsPerToken, e.metrics.bitsPerDim, "the same figure");
    assert.equal(task.metricName, "bits/dim");
  });

  it("text validation scores 49,152 tokens by default, and eval of the run prints the same figure", () => {
    const textSmall = makeConfig(getPreset("text-small").model);
    assert.equal(new TextTask({ task: "text" }).defaultValidationCount(textSmall), 384, "384 windows of 128 latents (it was 16: 2,048 tokens)");
    const data = writeProse(path.join(root, "book.txt"), 40_000, 5);
    const run = path.join(root, "text");
    const t = runCli(["train", "--data", data, "--preset", "tiny", "--max-steps", "3", "--batch-size", "2", "--sample-tokens", "0", "--run-dir", run]);
    assert.equal(t.code, 0, t.err);
    const last = readMetrics(path.join(run, "metrics.jsonl")).filter((r) => r.type === "eval").at(-1)!;
    const e = runCli(["eval", run, "--json"]);
    assert.equal(e.code, 0, e.err);
    const ev = JSON.parse(e.out);
    assert.equal(ev.loss, last.valLoss);
    assert.equal(ev.tokens, last.tokens);
  });

  it("the validation at a Ctrl-C stop is written to metrics.jsonl before the checkpoint", async () => {
    const data = writeProse(path.join(root, "stop.txt"), 12_000, 6);
    const run = path.join(root, "stop");
    const child = spawn(process.execPath, [CLI, "train", "--data", data, "--preset", "tiny", "--max-steps", "100000", "--batch-size", "1", "--eval-every", "0", "--eval-windows", "2", "--sample-tokens", "0", "--run-dir", run], {
      env: { ...process.env, PERCEIVER_AR_BACKEND: "reference" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (/step 10\/100000/.test(out)) resolve();
      });
    });
    child.kill("SIGINT");
    const code = await new Promise((r) => child.once("exit", r));
    assert.equal(code, 0, out);
    const stopped = Number(/stopped at step (\d+)/.exec(out)![1]);
    const evals = readMetrics(path.join(run, "metrics.jsonl")).filter((r) => r.type === "eval");
    assert.deepEqual(evals.map((r) => r.step), [stopped], "the stop's validation is logged");
    const { state } = readTrainerState(run);
    assert.equal(state.step, stopped);
    assert.equal(state.bestStep, stopped, "and is eligible for best/");
    assert.ok(fs.existsSync(path.join(run, "best", "weights.safetensors")));
  });
});
