// The music task, pure (no files; browsers run it as it is): piano performances as MAESTRO-style
// events (src/data/midi-codec.ts, 389-token vocabulary of krasserm/perceiver-ar-sam-giant-midi).
// The encoded files are given in memory, or loaded by a subclass (Node's MusicTask: the "piano"
// set fetched from npm, or any folder of .mid files); files are split into train and validation
// by their index (every 7th, offset by the seed). Metric: nats per event on fixed validation
// windows. `continuation` continues a primer (Node's `sample`: the start of the validation stream,
// written as a MIDI file; the page: a dropped .mid or a built-in arpeggio, played in the page).

import { DataError } from "../data/data-error.js";
import { eventsToMidi, MIDI_PAD, MIDI_VOCAB_SIZE } from "../data/midi-codec.js";
import type { MidiSequence } from "../data/music-datasets.js";
import { generateStream, type GenerateOptions } from "../generate/generate.js";
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

/** Options of `continuation`. */
export interface MusicGeneration {
  /** Sampling settings (temperature, top-k/p, seed, latents, cache). */
  generation: Omit<GenerateOptions, "maxNewTokens" | "eosId" | "onToken">;
  /** Events to generate; default DEFAULT_SAMPLE_EVENTS. */
  maxNewTokens?: number;
  /** Receives each generated event and its 0-based index. */
  onToken?: (token: number, index: number) => void;
  /** Checked after every event: true ends the continuation there. */
  shouldStop?: () => boolean;
}

export class MusicTaskCore implements Task {
  readonly spec: TaskSpec;
  readonly vocabSize = MIDI_VOCAB_SIZE;
  readonly padId = MIDI_PAD;
  readonly eosId = null;
  readonly metricName = "nats/event";
  private streams: { train: Int32Array; validation: Int32Array; validationFiles: string[] } | null = null;

  /** `sequences`: the encoded MIDI files, given in memory (else `loadSequences` supplies them when first needed). */
  constructor(spec: TaskSpec, private readonly sequences?: MidiSequence[]) {
    this.spec = { task: "music", data: spec.data ?? "piano", seed: spec.seed ?? 0 };
  }

  /** The encoded files of `spec.data` when none were given (Node's MusicTask reads them from disk). */
  protected loadSequences(): MidiSequence[] {
    throw new DataError(`music task: no MIDI files given for ${JSON.stringify(this.spec.data)}; pass their events to the constructor (reading MIDI folders is Node's MusicTask)`);
  }

  /** Concatenated event streams; every 7th file (by sorted path, offset by seed) is validation. */
  data(): { train: Int32Array; validation: Int32Array; validationFiles: string[] } {
    if (this.streams === null) {
      const seqs = this.sequences ?? this.loadSequences();
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
    return evaluateValidation(model, this.validation(model.config.maxSeqLen, o.count), o, this.metricName, (r) => this.metric(r));
  }

  /** `primer` continued by `model`: the generated events (not the primer). */
  async continuation(model: PerceiverAR, primer: ArrayLike<number>, o: MusicGeneration): Promise<Int32Array> {
    if (primer.length === 0) throw new RangeError("primer: give at least one event (a MIDI file with notes)");
    const events: number[] = [];
    for await (const t of generateStream(model, primer, { ...o.generation, maxNewTokens: o.maxNewTokens ?? DEFAULT_SAMPLE_EVENTS, onToken: o.onToken })) {
      events.push(t);
      if (o.shouldStop?.()) break;
    }
    return Int32Array.from(events);
  }

  /** Continues the first `prompt` events of the validation stream; delivers primer + continuation as MIDI through `writeMidi`. */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const val = this.data().validation;
    const asked = r.prompt === undefined ? DEFAULT_PRIMER_EVENTS : Number(r.prompt);
    assertIntegerInRange("music prompt (--prompt: the primer length in events)", asked, 1);
    const primerLen = Math.min(asked, val.length);
    const primer = val.subarray(0, primerLen);
    const n = r.maxNewTokens ?? DEFAULT_SAMPLE_EVENTS;
    const events = await this.continuation(model, primer, { generation: r.generation, maxNewTokens: n, onToken: (_, k) => r.tick?.(k + 1, n) });
    const out = r.out ?? "sample.mid";
    this.writeMidi(out, eventsToMidi(Int32Array.from([...primer, ...events])));
    r.log(`wrote ${out}: ${primerLen} primer events + ${events.length} generated events`);
    return { tokens: events.length };
  }

  /** Writes a MIDI file (Node's MusicTask; there is no file system here). */
  protected writeMidi(file: string, _bytes: Uint8Array): void {
    throw new DataError(`music task: cannot write ${file} here (writing files is Node's MusicTask); use continuation for the events themselves`);
  }

  async trainingReport(): Promise<string[]> {
    return [];
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} MIDI events`;
  }
}
