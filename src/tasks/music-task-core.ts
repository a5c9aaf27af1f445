// The music task: piano performances as MAESTRO-style events (src/data/midi-codec.ts, 389-token
// vocabulary of krasserm/perceiver-ar-sam-giant-midi). Data: the "piano" set (14 classical pieces
// fetched from npm) or any folder of .mid files; files are split into train and validation by a
// seeded hash of their path. Metric: nats per event on fixed validation windows. Samples continue
// the start of the validation stream and are written as a MIDI file.

import * as fs from "node:fs";
import { fetchDataset, hasDataset } from "../data/dataset-cache.js";
import { eventsToMidi, MIDI_PAD, MIDI_VOCAB_SIZE } from "../data/midi-codec.js";
import { loadMidiFolder, loadPiano, type MidiSequence } from "../data/music-datasets.js";
import { generate } from "../generate/generate.js";
import type { PerceiverARConfig } from "../models/config.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import type { EvalResult } from "../train/evaluate.js";
import { assertIntegerInRange } from "../util/integer-range.js";
import { evaluateValidation, streamTrainSource, streamValidation, streamValidationCount } from "./token-stream.js";
import type { SampleRequest, SampleResult, Task, TaskEvalOptions, TaskEvaluation, TaskSpec } from "./task.js";

/** Primer events taken from the validation stream when not told (about 5-10 s of piano). */
const DEFAULT_PRIMER_EVENTS = 256;
/** Events `perceiver-ar sample` generates when not told. */
const DEFAULT_SAMPLE_EVENTS = 1024;

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

  /** Windows enough for VALIDATION_TOKENS scored events (the last max_latents of each window). */
  defaultValidationCount(config: PerceiverARConfig): number {
    return streamValidationCount(config);
  }

  metric(e: EvalResult): number {
    return e.loss;
  }

  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation {
    return evaluateValidation(model, this.validation(model.config.maxSeqLen, o.count), o, this.metricName, (r) => r.loss);
  }

  /** Continues the first `prompt` events of the validation stream; writes primer + continuation as MIDI. */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const val = this.data().validation;
    const asked = r.prompt === undefined ? DEFAULT_PRIMER_EVENTS : Number(r.prompt);
    assertIntegerInRange("music prompt (--prompt: the primer length in events)", asked, 1);
    const primerLen = Math.min(asked, val.length);
    const primer = val.subarray(0, primerLen);
    const n = r.maxNewTokens ?? DEFAULT_SAMPLE_EVENTS;
    const events = await generate(model, primer, { ...r.generation, maxNewTokens: n, onToken: (_, k) => r.tick?.(k + 1, n) });
    const out = r.out ?? "sample.mid";
    fs.writeFileSync(out, eventsToMidi(Int32Array.from([...primer, ...events])));
    r.log(`wrote ${out}: ${primerLen} primer events + ${events.length} generated events`);
    return { tokens: events.length };
  }

  async trainingReport(): Promise<string[]> {
    return [];
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} MIDI events`;
  }
}
