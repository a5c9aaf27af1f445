// The perceiver-ar command as a person uses it: train a tiny text model, resume it, evaluate it
// with fewer latents, sample from it, and get clear errors for bad input; and for every task
// (text, copy, image, music), `eval --num-latents` below max_latents gives what the Task API gives
// and `sample` works.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { DATASET_SOURCES } from "../src/data/dataset-cache.js";
import { readPng } from "../src/data/image-codec.js";
import { midiToEvents, notesToMidi } from "../src/data/midi-codec.js";
import { saveModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { makeTask } from "../src/tasks/index.js";
import type { TaskSpec } from "../src/tasks/task.js";
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
    const done = runCli(["train", "--resume", "--run-dir", runDir, "--sample-tokens", "0"]);
    assert.equal(done.code, 0, done.err);
    assert.match(done.out, /already finished its 8 steps; nothing to do \(to train it further: --resume --max-steps 16/);

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
    assert.match(acc.err, /--stop-at-accuracy must be a number in \(0, 1\], got "99"/);
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

describe("every task through the CLI: eval with fewer latents than max_latents, and sample", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-cli-tasks-"));
  const cache = path.join(dir, "cache");
  const env = { PERCEIVER_AR_CACHE: cache };

  /** A random model folder with a task.json; returns the folder and the model. */
  function modelFolder(name: string, spec: TaskSpec, config: Record<string, number | boolean>): { folder: string; model: PerceiverAR } {
    const folder = path.join(dir, name);
    const model = new PerceiverAR({ numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, initScale: 0.5, ...config }, referenceBackend, { seed: 5 });
    saveModel(model, folder);
    fs.writeFileSync(path.join(folder, "task.json"), JSON.stringify(spec));
    return { folder, model };
  }

  /** `eval --num-latents k --json` against the Task API on the same model (same backend: the same numbers). */
  function checkEval(folder: string, model: PerceiverAR, spec: TaskSpec, k: number, count: number): Record<string, number> {
    const e = runCli(["eval", folder, "--num-latents", String(k), "--windows", String(count), "--json"], env);
    assert.equal(e.code, 0, e.err);
    const cli = JSON.parse(e.out.trim().split("\n").pop()!);
    assert.equal(cli.numLatents, k);
    const lib = makeTask(spec, cache).evaluate(model, { count, numLatents: k });
    for (const [name, v] of Object.entries(lib.metrics)) assert.equal(cli[name], v, `${spec.task}: ${name}`);
    return cli;
  }

  it("text", () => {
    const corpus = path.join(dir, "corpus.txt");
    const doc = (k: number) => Array.from({ length: 40 }, (_, i) => `word${(i * (k + 3)) % 17} `).join("");
    fs.writeFileSync(corpus, [0, 1, 2, 3].map(doc).join("\n\f\n"));
    const spec: TaskSpec = { task: "text", data: corpus };
    const { folder, model } = modelFolder("text", spec, { vocabSize: 258, maxSeqLen: 32, maxLatents: 8 });
    const r = checkEval(folder, model, spec, 3, 2);
    assert.equal(r.contextLen, 32 - 8 + 3, "the capped view's context");
    const s = runCli(["sample", folder, "--prompt", "word2 ", "-n", "10", "--latents", "3"], env);
    assert.equal(s.code, 0, s.err);
    assert.ok(s.out.startsWith("word2 "));
  });

  it("copy (eval --num-latents below max_latents threw a RangeError before)", () => {
    const spec: TaskSpec = { task: "copy" };
    const { folder, model } = modelFolder("copy", spec, { vocabSize: 258, maxSeqLen: 32, maxLatents: 12 });
    const r = checkEval(folder, model, spec, 4, 3);
    assert.equal(r.scored, 3 * 3, "the last 4 targets of each example but EOS");
    const s = runCli(["sample", folder, "--count", "2", "--temperature", "0"], env);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /^example 1: \d+\/16 mirrored symbols right.*\nexample 2: /);
  });

  it("image (MNIST from a cache made here)", () => {
    const mnist = path.join(cache, "mnist");
    fs.mkdirSync(mnist, { recursive: true });
    const idx = (dims: number[], body: Uint8Array) => {
      const h = Buffer.alloc(4 + 4 * dims.length);
      h[2] = 0x08;
      h[3] = dims.length;
      dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
      return Buffer.concat([h, body]);
    };
    const pixels = (n: number) => Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37) % 256);
    const files: Record<string, Buffer> = {
      "train-images-idx3-ubyte": idx([3, 28, 28], pixels(3)),
      "train-labels-idx1-ubyte": idx([3], Uint8Array.of(0, 1, 2)),
      "t10k-images-idx3-ubyte": idx([2, 28, 28], pixels(2).reverse()),
      "t10k-labels-idx1-ubyte": idx([2], Uint8Array.of(3, 4)),
    };
    for (const [f, b] of Object.entries(files)) fs.writeFileSync(path.join(mnist, f), b);
    const manifest = {
      name: "mnist",
      package: DATASET_SOURCES.mnist.pkg,
      version: DATASET_SOURCES.mnist.version,
      tarballSha256: "",
      createdAt: "",
      files: Object.entries(files).map(([f, b]) => ({ path: f, source: f, size: b.length })),
      mnist: { trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte", testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte" },
    };
    fs.writeFileSync(path.join(mnist, "manifest.json"), JSON.stringify(manifest));
    const spec: TaskSpec = { task: "image", data: "mnist" };
    const { folder, model } = modelFolder("image", spec, { vocabSize: 259, maxSeqLen: 785, maxLatents: 16 });
    const r = checkEval(folder, model, spec, 8, 2);
    assert.equal(r.dims, 2 * 784, "every pixel of both test images once");
    const out = path.join(dir, "samples.png");
    const s = runCli(["sample", folder, "--count", "1", "--out", out, "--scale", "2"], env);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /wrote .*samples\.png \(1 unconditional samples\)/);
    const png = readPng(out);
    assert.ok(png.width >= 56 && png.height >= 56, `${png.width}x${png.height}`);
  });

  it("music (a folder of MIDI files)", () => {
    const midi = path.join(dir, "midi");
    fs.mkdirSync(midi);
    for (let f = 0; f < 3; f++) {
      const notes = Array.from({ length: 40 }, (_, i) => ({ pitch: 60 + ((i * (f + 1)) % 12), velocity: 80, start: i * 0.25, end: i * 0.25 + 0.2 }));
      fs.writeFileSync(path.join(midi, `piece${f}.mid`), notesToMidi(notes));
    }
    const spec: TaskSpec = { task: "music", data: midi };
    const { folder, model } = modelFolder("music", spec, { vocabSize: 389, maxSeqLen: 32, maxLatents: 8 });
    checkEval(folder, model, spec, 2, 2);
    const out = path.join(dir, "continuation.mid");
    const s = runCli(["sample", folder, "--prompt", "12", "-n", "8", "--out", out], env);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /wrote .*continuation\.mid: 12 primer events \+ 8 generated events/);
    assert.ok(midiToEvents(fs.readFileSync(out)).length > 0);
  });
});
