// The tasks' pure cores (what the browser runs) against the Node tasks (the same cores plus
// loading from disk): a text given in memory and the same text in a file, MIDI files' events given
// in memory and the same files in a folder, give the same split, training batches, validation
// windows and evaluation; a core refuses to touch files (it names the Node class that does), and
// its generation is what `sample` writes (the image and the MIDI file).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { ByteTokenizer } from "../src/data/byte-tokenizer.js";
import { createImage, imageGrid, imageToTokens, readPng } from "../src/data/image-codec.js";
import { eventsToMidi, notesToMidi } from "../src/data/midi-codec.js";
import { loadMidiFolder } from "../src/data/music-datasets.js";
import { corpusFromText } from "../src/data/text-documents.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { ImageTask, ImageTaskCore } from "../src/tasks/image-task.js";
import { MusicTaskCore } from "../src/tasks/music-task-core.js";
import { MusicTask } from "../src/tasks/music-task.js";
import type { Task } from "../src/tasks/task.js";
import { TextTaskCore } from "../src/tasks/text-task-core.js";
import { TextTask } from "../src/tasks/text-task.js";
import { Rng } from "../src/util/rng.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tasks-core-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const model = (vocabSize: number, maxSeqLen: number) => new PerceiverAR({ vocabSize, maxSeqLen, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, initScale: 0.5 }, referenceBackend, { seed: 3 });
const quiet = { write: () => {}, log: () => {} };

/** Same batches (3 draws), validation windows and evaluation from both tasks. */
function assertSameTask(core: Task, node: Task, m: PerceiverAR) {
  const N = m.config.maxSeqLen;
  const a = core.trainSource(N, 2, 9);
  const b = node.trainSource(N, 2, 9);
  for (let i = 0; i < 3; i++) assert.deepEqual(a.next(), b.next(), `batch ${i}`);
  assert.deepEqual(core.validation(N, 3).windows, node.validation(N, 3).windows);
  assert.deepEqual(core.evaluate(m, { count: 3 }).metrics, node.evaluate(m, { count: 3 }).metrics);
}

describe("the tasks' pure cores and the Node tasks", () => {
  it("text: a text in memory and the same text in a file", () => {
    const text = "First document about a cat.\n<|endoftext|>\nSecond one, about a dog and a bird.\n<|endoftext|>\n" + "A third and longer document. ".repeat(12);
    const file = path.join(tmp, "corpus.txt");
    fs.writeFileSync(file, text);
    const core = new TextTaskCore({ task: "text", seed: 1 }, new ByteTokenizer(), corpusFromText("corpus.txt", text));
    const node = new TextTask({ task: "text", data: file, seed: 1 });
    const plan = { seqLen: 16, validationWindows: 3 };
    assert.deepEqual(core.planRun(plan), node.planRun(plan));
    assert.deepEqual(core.spec.split, node.spec.split);
    assertSameTask(core, node, model(258, 16));
    assert.throws(() => new TextTaskCore({ task: "text", data: "sotu" }, new ByteTokenizer()).data(), /no corpus given for "sotu".*Node's TextTask/);
  });

  it("music: MIDI files' events in memory and the same files in a folder; the continuation is what sample writes", async () => {
    const dir = path.join(tmp, "midi");
    fs.mkdirSync(dir);
    for (let f = 0; f < 3; f++) {
      const notes = Array.from({ length: 30 }, (_, i) => ({ pitch: 60 + ((i * (f + 2)) % 12), velocity: 70, start: i * 0.2, end: i * 0.2 + 0.15 }));
      fs.writeFileSync(path.join(dir, `p${f}.mid`), notesToMidi(notes));
    }
    const core = new MusicTaskCore({ task: "music", data: "in memory" }, loadMidiFolder(dir));
    const node = new MusicTask({ task: "music", data: dir });
    const m = model(389, 24);
    assertSameTask(core, node, m);
    const out = path.join(tmp, "sample.mid");
    await node.sample(m, { ...quiet, generation: { seed: 4 }, prompt: "8", maxNewTokens: 6, out });
    const primer = core.data().validation.subarray(0, 8);
    const events = await core.continuation(m, primer, { generation: { seed: 4 }, maxNewTokens: 6 });
    assert.equal(events.length, 6);
    assert.deepEqual(new Uint8Array(fs.readFileSync(out)), eventsToMidi(Int32Array.from([...primer, ...events])));
    await assert.rejects(core.sample(m, { ...quiet, generation: {}, maxNewTokens: 2 }), /cannot write sample\.mid here.*Node's MusicTask/);
  });

  it("images: generateImage is what sample writes; a core with a shape only generates", async () => {
    const rng = new Rng(5);
    const imgs = Array.from({ length: 4 }, () => {
      const img = createImage(3, 2, 1);
      for (let i = 0; i < img.data.length; i++) img.data[i] = rng.nextInt(256);
      return img;
    });
    const node = new ImageTask({ task: "image", data: "custom" }, undefined, { train: imgs.slice(0, 3), validation: imgs.slice(3) });
    const m = model(259, 7);
    const out = path.join(tmp, "samples.png");
    await node.sample(m, { ...quiet, generation: { seed: 2 }, count: 1, complete: true, out });
    const core = new ImageTaskCore({ task: "image", data: "a model's images" }, undefined, { width: 3, height: 2, channels: 1 });
    const { image, generated } = await core.generateImage(m, node.topHalf(imgs[3]!), { generation: { seed: 2 } });
    assert.equal(generated, 3, "the bottom row");
    assert.deepEqual(imageToTokens(readPng(out, { channels: 1 })), imageToTokens(imageGrid([image], 1)), "the PNG grid of the one image");
    assert.deepEqual(Array.from(image.data.subarray(0, 3)), Array.from(imgs[3]!.data.subarray(0, 3)), "the given top row is kept");
    assert.throws(() => core.images(), /no images given.*Node's ImageTask/);
  });
});
