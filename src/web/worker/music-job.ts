// Music in the worker, through the same music task as `perceiver-ar sample`
// (src/tasks/music-task-core.ts `continuation`): a piano model (389-token performance events)
// continues a primer — the dropped .mid's events, or a built-in C major arpeggio — and the page
// gets the notes to play and the .mid (primer + continuation) to download.

import { eventsToMidi, eventsToNotes, midiToEvents, MIDI_VOCAB_SIZE, MusicTaskCore, notesToEvents, type Note } from "../../index.browser.js";
import type { SamplingSettings } from "../protocol.js";
import type { WorkerContext } from "./context.js";
import { samplingOptions } from "./generate-job.js";

/** The built-in primer: C4 E4 G4 C5, a quarter second each. */
export const BUILTIN_PRIMER: Note[] = [60, 64, 67, 72].map((pitch, i) => ({ pitch, start: i * 0.25, end: i * 0.25 + 0.25, velocity: 80 }));

export async function continueMusic(ctx: WorkerContext, primerMidi: Uint8Array | null, s: SamplingSettings) {
  const slot = ctx.models.music;
  if (slot === undefined) throw new Error("no piano model: load one (e.g. a music-small run's folder) or take an untrained one");
  if (slot.model.config.vocabSize !== MIDI_VOCAB_SIZE) throw new RangeError(`the piano model must have the ${MIDI_VOCAB_SIZE}-token event vocabulary, this one has ${slot.model.config.vocabSize}`);
  const primer = primerMidi === null ? notesToEvents(BUILTIN_PRIMER) : midiToEvents(primerMidi);
  if (primer.length === 0) throw new RangeError("primer: the MIDI file holds no notes");
  const task = new MusicTaskCore({ task: "music", data: slot.info.source });
  ctx.stopGeneration = false;
  const t0 = performance.now();
  const { maxNewTokens, ...generation } = samplingOptions(slot.model, s);
  const events = await task.continuation(slot.model, primer, { generation, maxNewTokens, shouldStop: () => ctx.stopGeneration });
  const ms = performance.now() - t0;
  const all = Int32Array.from([...primer, ...events]);
  const primerNotes = eventsToNotes(primer);
  const primerSeconds = primerNotes.reduce((t, n) => Math.max(t, n.end), 0);
  return { notes: eventsToNotes(all), primerSeconds, primerEvents: primer.length, events: events.length, midi: new Blob([eventsToMidi(all) as BlobPart], { type: "audio/midi" }), ms };
}
