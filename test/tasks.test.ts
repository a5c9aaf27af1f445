// Tasks: the batches each task feeds the trainer, and the image bits/dim evaluation.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { createImage, IMAGE_BOS, IMAGE_EOS, IMAGE_PAD, IMAGE_TOKEN_OFFSET } from "../src/data/image-codec.js";
import { notesToMidi } from "../src/data/midi-codec.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { CopyTaskDataset } from "../src/data/copy-examples.js";
import { copyAccuracy, CopyTask } from "../src/tasks/copy-task.js";
import { imageBitsPerDim, ImageTask, imageSequence } from "../src/tasks/image-task.js";
import { MusicTask } from "../src/tasks/music-task.js";

function randomImages(n: number, w: number, h: number, seed: number) {
  let s = seed;
  return Array.from({ length: n }, () => {
    const img = createImage(w, h, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
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

  it("training rows end at random positions, are left-padded, and keep every latent on a real token", () => {
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
      for (let i = N - M; i < N; i++) assert.notEqual(b.labels[r * N + i], -100, "latent labels are real");
    }
    assert.ok(ends.size > 3, "ends vary");
    const state = src.getState();
    const next1 = src.next();
    src.setState(state);
    assert.deepEqual(src.next().inputs, next1.inputs, "state restores the sequence");
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

describe("copyAccuracy", () => {
  it("scores the mirrored-half latents by argmax and cross-entropy, as a hand computation from the logits", () => {
    const model = new PerceiverAR({ vocabSize: 258, maxSeqLen: 32, maxLatents: 12, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, initScale: 0.5 }, referenceBackend, { seed: 2 });
    const r = copyAccuracy(model, { examples: 3, seed: 77, batchSize: 2 });
    const ds = new CopyTaskDataset({ contextLength: 32, seed: 77 });
    let hits = 0;
    let nats = 0;
    let scored = 0;
    for (let e = 0; e < 3; e++) {
      const ex = ds.next();
      const logits = model.forward([[...ex.inputs]], { prefixLen: 20 }).data; // (1, 12, 258)
      for (let i = 0; i < 12; i++) {
        if (!ex.scoredMask[20 + i]) continue;
        const row = [...logits.subarray(i * 258, (i + 1) * 258)];
        const label = ex.labels[20 + i];
        const max = Math.max(...row);
        nats += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[label];
        if (row.indexOf(max) === label) hits++;
        scored++;
      }
    }
    assert.equal(scored, 3 * 11, "the EOS target of the last latent is not scored");
    assert.equal(r.scored, scored);
    assert.equal(r.accuracy, hits / scored);
    assert.ok(Math.abs(r.loss - nats / scored) < 1e-5, `${r.loss} vs ${nats / scored}`);
  });
});
