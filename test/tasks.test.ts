// Tasks: the batches each task feeds the trainer, and every task's evaluation and sampling through
// the Task API. Evaluation with a latent cap K below max_latents is checked against scoring the
// capped view (effectiveConfig: K latents, context (max_seq_len - max_latents) + K) by hand from
// model.forward logits, for text, copy, image and music.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { createImage, IMAGE_BOS, IMAGE_EOS, IMAGE_PAD, IMAGE_TOKEN_OFFSET } from "../src/data/image-codec.js";
import { notesToMidi } from "../src/data/midi-codec.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { readPng } from "../src/data/image-codec.js";
import { midiToEvents } from "../src/data/midi-codec.js";
import { CopyTaskDataset } from "../src/data/copy-examples.js";
import { CopyTask } from "../src/tasks/copy-task.js";
import { imageBitsPerDim, ImageTask, imageSequence } from "../src/tasks/image-task.js";
import { MusicTask } from "../src/tasks/music-task.js";
import type { SampleRequest, Task } from "../src/tasks/task.js";
import { TextTask } from "../src/tasks/text-task.js";
import { Rng } from "../src/util/rng.js";

function randomImages(n: number, w: number, h: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const img = createImage(w, h, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = rng.nextInt(256);
    return img;
  });
}

describe("image task", () => {
  const imgs = randomImages(6, 3, 2, 1); // 18 tokens per image
  const task = new ImageTask({ task: "image", data: "custom" }, undefined, { train: imgs.slice(0, 4), validation: imgs.slice(4) });

  it("sequences are BOS + raster channel tokens + EOS", () => {
    const seq = imageSequence(imgs[0]);
    assert.equal(seq.length, 20);
    assert.equal(seq[0], IMAGE_BOS);
    assert.equal(seq[19], IMAGE_EOS);
    assert.equal(seq[1 + 3 * 4 + 2], imgs[0].data[3 * 4 + 2] + IMAGE_TOKEN_OFFSET); // pixel 4, blue
  });

  it("training rows end at random positions, are left-padded, keep every latent on a real token and label one chunk of targets", () => {
    const N = task.tokensPerImage() + 1;
    const M = 5;
    const src = task.trainSource(N, 16, 7, M);
    const b = src.next();
    assert.equal(b.inputs.length, 16 * N);
    const ends = new Set<number>();
    for (let r = 0; r < 16; r++) {
      const pads = b.padMask!.subarray(r * N, (r + 1) * N).reduce((a, x) => a + x, 0);
      ends.add(N - pads);
      assert.ok(N - pads >= M, "at least M real tokens");
      for (let i = 0; i < pads; i++) assert.equal(b.inputs[r * N + i], IMAGE_PAD);
      assert.equal(b.inputs[r * N + pads], IMAGE_BOS, "a row starts with BOS after its padding");
      for (let i = N - M; i < N; i++) assert.notEqual(b.inputs[r * N + i], IMAGE_PAD, "latent inputs are real tokens");
      // The labelled latents are one run of consecutive targets, each the next token of its input.
      const labelled = [...Array(M).keys()].map((i) => N - M + i).filter((i) => b.labels[r * N + i] !== -100);
      assert.ok(labelled.length >= 1 && labelled.every((i, k) => k === 0 || i === labelled[k - 1] + 1), `row ${r}: one run of labels`);
      for (let i = 0; i < N - M; i++) assert.equal(b.labels[r * N + i], -100, "no labels outside the latents");
    }
    assert.ok(ends.size > 3, "ends vary");
    const state = src.getState();
    const next1 = src.next();
    src.setState(state);
    assert.deepEqual(src.next().inputs, next1.inputs, "state restores the sequence");
  });

  it("every target of an image is trained equally often (the first rows were trained ~1/M as often: the white streak of unconditional samples)", () => {
    const N = task.tokensPerImage() + 1; // targets 1..N: 18 pixel channels and EOS
    const M = 8;
    const src = task.trainSource(N, 64, 3, M);
    const count = new Float64Array(N + 1);
    let rows = 0;
    for (let k = 0; k < 80; k++) {
      const b = src.next();
      for (let r = 0; r < 64; r++, rows++) {
        const pads = b.padMask!.subarray(r * N, (r + 1) * N).reduce((a, x) => a + x, 0);
        for (let i = N - M; i < N; i++) if (b.labels[r * N + i] !== -100) count[i - pads + 1]++; // window index i holds target i - pads + 1
      }
    }
    // Each target is in M of the N + M - 1 possible chunks.
    const expected = (rows * M) / (N + M - 1);
    for (let t = 1; t <= N; t++) assert.ok(Math.abs(count[t] - expected) < 0.12 * expected, `target ${t}: trained ${count[t]} times, expected ~${expected.toFixed(0)} like every other`);
  });

  it("bits/dim scores every pixel channel exactly once", () => {
    const model = new PerceiverAR({ vocab_size: 259, max_seq_len: 19, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 1 }, referenceBackend, { seed: 2 });
    for (const M of [1, 3, 4]) {
      const r = imageBitsPerDim(model, imgs.slice(4), M);
      assert.equal(r.dims, 2 * 18);
      assert.ok(r.bitsPerDim > 6 && r.bitsPerDim < 10, `untrained model is near 8 bits/dim, got ${r.bitsPerDim}`);
    }
  });
});

describe("copy task", () => {
  it("labels are scored only on the mirrored half", () => {
    const b = new CopyTask({ task: "copy" }).trainSource(32, 2, 0).next();
    const scored = [...b.labels].filter((x) => x !== -100).length;
    assert.equal(scored, 2 * 16);
  });
});

describe("music task", () => {
  it("splits MIDI files into train and validation event streams", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-midi-"));
    for (let f = 0; f < 3; f++) {
      const notes = Array.from({ length: 20 }, (_, i) => ({ pitch: 60 + ((i * (f + 1)) % 12), velocity: 80, start: i * 0.25, end: i * 0.25 + 0.2 }));
      fs.writeFileSync(path.join(dir, `piece${f}.mid`), notesToMidi(notes));
    }
    const task = new MusicTask({ task: "music", data: dir });
    const d = task.data();
    assert.ok(d.train.length > 0 && d.validation.length > 0);
    assert.deepEqual(d.validationFiles, ["piece2.mid"]);
    const v = task.validation(16, 2);
    assert.equal(v.windows.length, 2);
    assert.ok(v.windows.every((w) => w.length === 17 && w.every((t) => t >= 0 && t < 388)));
  });
});

/** Cross-entropy (nats) of one logits row against `label`, and whether the argmax (lowest id on ties) is the label. */
function scoreRow(row: ArrayLike<number>, label: number): { nats: number; hit: boolean } {
  let max = -Infinity;
  let arg = 0;
  for (let v = 0; v < row.length; v++) if (row[v] > max) [max, arg] = [row[v], v];
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v] - max);
  return { nats: max + Math.log(sum) - row[label], hit: arg === label };
}

/**
 * The capped view scored by hand: targets (from, end] of `tokens` (target t = tokens[t], or
 * targets[t - 1]) from the last min(end, N') tokens before `end`, with min(K, that) latents, where
 * N' = (max_seq_len - max_latents) + K. Returns summed nats, hits and the number scored.
 */
function handScore(model: PerceiverAR, tokens: Int32Array, from: number, end: number, K: number, targets?: Int32Array) {
  const c = model.config;
  const n = Math.min(end, c.maxSeqLen - c.maxLatents + K);
  const m = Math.min(K, n);
  const V = c.vocabSize;
  const logits = model.forward([[...tokens.subarray(end - n, end)]], { prefixLen: n - m }).data; // (1, m, V)
  let nats = 0;
  let hits = 0;
  let count = 0;
  for (let i = 0; i < m; i++) {
    const t = end - m + 1 + i;
    const label = targets ? targets[t - 1] : tokens[t];
    if (t <= from || label === -100) continue;
    const r = scoreRow(logits.subarray(i * V, (i + 1) * V), label);
    nats += r.nats;
    hits += r.hit ? 1 : 0;
    count++;
  }
  return { nats, hits, count };
}

/** The last K targets of each validation window, scored by hand through the capped view. */
function handScoreLastLatents(model: PerceiverAR, windows: readonly Int32Array[], K: number, targets?: readonly Int32Array[]) {
  let nats = 0;
  let hits = 0;
  let count = 0;
  windows.forEach((w, i) => {
    const L = w.length - 1;
    const r = handScore(model, w, Math.max(0, L - K), L, K, targets?.[i]);
    nats += r.nats;
    hits += r.hits;
    count += r.count;
  });
  return { loss: nats / count, accuracy: hits / count, count };
}

function close(a: number, b: number, what: string, tol = 1e-5): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/** A SampleRequest that collects what the task writes and logs. */
function collector(o: Partial<SampleRequest> = {}) {
  const out = { text: "", lines: [] as string[] };
  const request: SampleRequest = { generation: { seed: 3, temperature: 1 }, write: (t) => (out.text += t), log: (l) => out.lines.push(l), ...o };
  return { out, request };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-tasks-"));

/** A text corpus of 4 documents (form-feed separated) in one file. */
function textCorpus(): string {
  const file = path.join(tmp, "corpus.txt");
  const doc = (k: number) => Array.from({ length: 40 }, (_, i) => `word${(i * (k + 3)) % 17} `).join("");
  fs.writeFileSync(file, [0, 1, 2, 3].map(doc).join("\n\f\n"));
  return file;
}

function midiFolder(): string {
  const dir = fs.mkdtempSync(path.join(tmp, "midi-"));
  for (let f = 0; f < 3; f++) {
    const notes = Array.from({ length: 40 }, (_, i) => ({ pitch: 60 + ((i * (f + 1)) % 12), velocity: 80, start: i * 0.25, end: i * 0.25 + 0.2 }));
    fs.writeFileSync(path.join(dir, `piece${f}.mid`), notesToMidi(notes));
  }
  return dir;
}

function tinyModel(vocabSize: number, maxSeqLen: number, maxLatents: number, seed = 2): PerceiverAR {
  return new PerceiverAR({ vocabSize, maxSeqLen, maxLatents, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, initScale: 0.5 }, referenceBackend, { seed });
}

/** For a stream task: evaluate with caps K < max_latents and K = max_latents equals the hand-scored capped view. */
function checkStreamTaskCap(task: Task, model: PerceiverAR, headline: string) {
  const v = task.validation(model.config.maxSeqLen, 3);
  for (const K of [1, 3, model.config.maxLatents]) {
    const e = task.evaluate(model, { count: 3, numLatents: K });
    const hand = handScoreLastLatents(model, v.windows, K);
    assert.equal(e.result.tokens, hand.count, `K=${K}: scored targets`);
    assert.equal(e.metrics.tokens, hand.count);
    close(e.result.loss, hand.loss, `K=${K}: loss`);
    assert.equal(e.result.accuracy, hand.accuracy, `K=${K}: accuracy`);
    assert.equal(e.result.contextLen, Math.min(model.config.maxSeqLen, model.config.maxSeqLen - model.config.maxLatents + K), `K=${K}: the capped view's context`);
    assert.ok(Number.isFinite(e.metrics[headline]), `${headline} reported`);
  }
  assert.throws(() => task.evaluate(model, { count: 3, numLatents: model.config.maxLatents + 1 }), /numLatents must be an integer in \[1, 8\]/);
}

describe("every task: evaluate with fewer latents than max_latents, and sample (Task API)", () => {
  it("text: capped evaluation = the capped view scored by hand; bits/byte = bits/token for bytes; a sample continues the prompt", async () => {
    const task = new TextTask({ task: "text", data: textCorpus() });
    const model = tinyModel(258, 32, 8);
    checkStreamTaskCap(task, model, "bits/byte");
    const e = task.evaluate(model, { count: 3, numLatents: 3 });
    assert.equal(e.metrics["bits/byte"], e.result.bitsPerByte);
    assert.ok(e.result.bytes <= e.result.tokens && e.result.bytes >= e.result.tokens - 3, "byte tokens are one byte each, an EOS target none");
    const { out, request } = collector({ prompt: "word1 ", maxNewTokens: 12 });
    const r = await task.sample(model, request);
    assert.ok(out.text.startsWith("word1 "));
    assert.ok(r.tokens >= 1 && r.tokens <= 12);
    const capped = collector({ prompt: "word1 ", maxNewTokens: 12, generation: { seed: 3, temperature: 1, maxLatents: 2 } });
    await task.sample(model, capped.request);
    assert.ok(capped.out.text.startsWith("word1 "));
    assert.deepEqual(await task.trainingReport(model, { sampleTokens: 0 }), []);
    assert.match((await task.trainingReport(model, { sampleTokens: 5 }))[0], /^sample \(temperature 0.8, top-k 40\):\nThe /);
  });

  it("music: capped evaluation = the capped view scored by hand; a sample is written as MIDI", async () => {
    const task = new MusicTask({ task: "music", data: midiFolder() });
    const model = tinyModel(389, 32, 8);
    checkStreamTaskCap(task, model, "nats/event");
    const file = path.join(tmp, "sample.mid");
    const { out, request } = collector({ prompt: "16", maxNewTokens: 10, out: file });
    const r = await task.sample(model, request);
    assert.equal(r.tokens, 10);
    assert.match(out.lines[0], /wrote .*sample\.mid: 16 primer events \+ 10 generated events/);
    assert.ok(midiToEvents(fs.readFileSync(file)).length > 0, "the file parses as MIDI");
  });

  it("copy: capped evaluation (a RangeError before) = the capped view scored by hand on the mirrored half", async () => {
    const task = new CopyTask({ task: "copy" });
    const model = tinyModel(258, 32, 12);
    for (const K of [2, 4, 12]) {
      const e = task.evaluate(model, { count: 3, numLatents: K, batchSize: 2 });
      // The same held-out examples, scored by hand: the last K targets of the last N' tokens, mirrored half only.
      const ds = new CopyTaskDataset({ contextLength: 32, seed: 0x7e57 });
      const examples = Array.from({ length: 3 }, () => ds.next());
      const targets = examples.map((ex) => ex.labels.map((l, j) => (ex.scoredMask[j] ? l : -100)));
      const hand = handScoreLastLatents(model, examples.map((ex) => ex.tokens), K, targets);
      assert.equal(e.result.tokens, hand.count, `K=${K}: scored`);
      assert.equal(e.result.tokens, 3 * (K - 1), `K=${K}: the EOS target of the last latent is not scored`);
      assert.equal(e.metrics.accuracy, hand.accuracy, `K=${K}: accuracy`);
      close(e.metrics.loss, hand.loss, `K=${K}: loss`);
      assert.equal(e.result.contextLen, 32 - 12 + K);
    }
    const validation = task.validation(32, 2);
    assert.equal(validation.windows.length, 2);
    assert.ok(validation.targets!.every((t) => t.filter((x) => x !== -100).length === 16), "validation scores the 16 mirrored symbols only");
    const { out, request } = collector({ count: 2, generation: { greedy: true } });
    const r = await task.sample(model, request);
    assert.equal(out.lines.length, 2);
    assert.match(out.lines[0], /^example 1: \d+\/16 mirrored symbols right/);
    assert.ok(r.tokens >= 2 && r.tokens <= 2 * 17);
    assert.match((await task.trainingReport(model))[0], /^copy task: next-token accuracy on the mirrored half \d+\.\d+% over 88 predictions$/);
  });

  it("image: capped evaluation scores every pixel once, = the capped view scored by hand chunk by chunk; samples are a PNG", async () => {
    const imgs = randomImages(5, 3, 2, 4); // 18 tokens per image
    const task = new ImageTask({ task: "image", data: "custom" }, undefined, { train: imgs.slice(0, 3), validation: imgs.slice(3) });
    const model = new PerceiverAR({ vocab_size: 259, max_seq_len: 19, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 1 }, referenceBackend, { seed: 2 });
    for (const K of [1, 3, 4]) {
      const e = task.evaluate(model, { count: 2, numLatents: K });
      let nats = 0;
      let count = 0;
      for (const img of imgs.slice(3)) {
        const seq = imageSequence(img);
        for (let from = 0; from < 18; from = Math.min(from + K, 18)) {
          const r = handScore(model, seq, from, Math.min(from + K, 18), K);
          nats += r.nats;
          count += r.count;
        }
      }
      assert.equal(count, 2 * 18, "every pixel channel once");
      assert.equal(e.metrics.dims, count);
      assert.equal(e.metrics.images, 2);
      close(e.metrics.bitsPerDim, nats / count / Math.LN2, `K=${K}: bits/dim`);
    }
    const file = path.join(tmp, "grid.png");
    const { out, request } = collector({ count: 2, out: file, scale: 2 });
    const r = await task.sample(model, request);
    assert.equal(r.tokens, 2 * 18);
    assert.match(out.lines[0], /wrote .*grid\.png \(2 unconditional samples\)/);
    const png = readPng(file);
    assert.ok(png.width >= 2 * 3 * 2 && png.height >= 2 * 2, `grid of 2 enlarged images, got ${png.width}x${png.height}`);
    const completions = collector({ count: 1, out: file, complete: true });
    assert.equal((await task.sample(model, completions.request)).tokens, 18 - 9, "the top row (3 pixels x 3 channels) is given");
    assert.throws(() => task.evaluate(new PerceiverAR({ vocab_size: 259, max_seq_len: 10, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 1 }, referenceBackend), { count: 1 }), /images of 18 tokens need max_seq_len >= 19, model has 10/);
  });
});
