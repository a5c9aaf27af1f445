// A tiny training run per modality (image, music, copy) whose loss falls, through the same Task
// and Trainer code paths the CLI uses, and generated outputs that independent readers parse.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import pkgMidi from "@tonejs/midi";
import { PNG } from "pngjs";
import { referenceBackend } from "../src/backend/reference/index.js";
import { createImage, imageGrid, tokensToImage, writePng } from "../src/data/image-codec.js";
import { eventsToMidi, notesToMidi } from "../src/data/midi-codec.js";
import { generate } from "../src/generate/generate.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { ImageTask } from "../src/tasks/image-task.js";
import { MusicTask } from "../src/tasks/music-task.js";
import type { Task } from "../src/tasks/task.js";
import { Trainer } from "../src/train/trainer.js";

function trainLosses(task: Task, config: Record<string, unknown>, steps: number): { losses: number[]; model: PerceiverAR } {
  const model = new PerceiverAR(config, referenceBackend, { seed: 1 });
  const c = model.config;
  const data = task.trainSource(c.maxSeqLen, 4, 0, c.maxLatents);
  const trainer = Trainer.create(model, data, { maxSteps: steps, batchSize: 4, lr: 1e-2, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0 });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainer.step().loss);
  return { losses, model };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("tiny training runs per modality", () => {
  it("images: loss falls on striped 4x4 images, and samples decode to a PNG that pngjs reads", async () => {
    const stripes = (phase: number) => {
      const img = createImage(4, 4, 1);
      for (let i = 0; i < 16; i++) img.data[i] = ((i + phase) % 4 < 2 ? 255 : 0);
      return img;
    };
    const task = new ImageTask({ task: "image", data: "stripes" }, undefined, { train: [stripes(0), stripes(1), stripes(2)], validation: [stripes(3)] });
    const { losses, model } = trainLosses(task, { vocab_size: 259, max_seq_len: 17, max_latents: 4, num_channels: 32, num_heads: 2, num_self_attention_layers: 1, init_scale: 0.1 }, 40);
    assert.ok(mean(losses.slice(-5)) < 0.5 * mean(losses.slice(0, 5)), `loss fell: ${losses[0].toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}`);
    const tokens = await generate(model, [2], { maxNewTokens: 16, greedy: true });
    const img = tokensToImage(Int32Array.from(tokens), 4, 4, 1);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "par-img-")), "grid.png");
    writePng(file, imageGrid([img, img], 2));
    const png = PNG.sync.read(fs.readFileSync(file));
    assert.equal(png.width, 2 * 4 + 3 * 2);
  });

  it("music: loss falls on a repeated phrase, and generated events make a MIDI file @tonejs/midi reads", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "par-midi-"));
    const phrase = [60, 64, 67, 72];
    for (let f = 0; f < 3; f++) {
      const notes = Array.from({ length: 40 }, (_, i) => ({ pitch: phrase[i % 4], velocity: 80, start: i * 0.2, end: i * 0.2 + 0.1 }));
      fs.writeFileSync(path.join(dir, `p${f}.mid`), notesToMidi(notes));
    }
    const task = new MusicTask({ task: "music", data: dir });
    const { losses, model } = trainLosses(task, { vocab_size: 389, max_seq_len: 24, max_latents: 8, num_channels: 32, num_heads: 2, num_self_attention_layers: 1, init_scale: 0.1 }, 40);
    assert.ok(mean(losses.slice(-5)) < 0.5 * mean(losses.slice(0, 5)), `loss fell: ${losses[0].toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}`);
    const primer = task.data().validation.subarray(0, 12);
    const events = await generate(model, primer, { maxNewTokens: 24, greedy: true });
    const midi = new pkgMidi.Midi(eventsToMidi(Int32Array.from([...primer, ...events])));
    assert.ok(midi.tracks.reduce((n, t) => n + t.notes.length, 0) > 0, "the MIDI file has notes");
  });
});
