/**
 * MIDI ↔ performance-event codec, compatible with the encoding used to train
 * `krasserm/perceiver-ar-sam-giant-midi` (krasserm/perceiver-io `perceiver/data/audio/midi_processor.py`,
 * itself adapted from jason9693/midi-neural-processor; the "MIDI-like" encoding of Oore et al.).
 *
 * Event vocabulary (389 ids):
 *     0..127    note_on(pitch)
 *   128..255    note_off(pitch)
 *   256..355    time_shift(k): advance (k + 1) · 10 ms, i.e. 10 ms .. 1 s
 *   356..387    set_velocity(bin): bin = floor(velocity / 4), 0..31; decodes to velocity max(1, bin · 4)
 *   388         PAD (not an event; ignored when decoding)
 *
 * Contract
 * - `midiToNotes` merges all tracks/channels except drums (channel 9 / percussion), folds the sustain pedal
 *   (CC64 ≥ 64 = down) into note durations per MIDI channel (pooled across tracks, since piano files often
 *   keep the pedal on a separate track; @tonejs/midi reports channel 0 for a track without notes, so a
 *   notes-less pedal track counts as channel 0) — a note released while the pedal is down lasts until the
 *   pedal is released or the same pitch is struck again — and ends any note of a pitch when that pitch is
 *   struck again (a piano string sounds once), so returned notes never overlap on the same pitch.
 * - `notesToEvents` quantises absolute times to 10 ms (no drift accumulation), encodes gaps ≥ 1 s as several
 *   time shifts, puts note-offs before note-ons at the same instant, and emits set_velocity only when the bin
 *   changes (option `velocityEvents: "every-note"` emits it before every note-on, as the reference's training
 *   data effectively does). Notes shorter than 10 ms after quantisation last 10 ms.
 * - `eventsToNotes` never throws: unknown ids and PAD are skipped, unpaired note-offs ignored, zero-length notes
 *   dropped (as in the reference), a re-struck open pitch is closed at the re-strike, notes still open at the end
 *   are closed at the final time (at least 10 ms long). Velocity before any set_velocity is 64.
 * - `notesToMidi` writes a standard MIDI file (format 0, one track, channel 0, program 0 = acoustic grand
 *   piano, 120 bpm, 480 ticks per quarter = 960 ticks per second); note times are in seconds.
 */
import tonejsMidi from "@tonejs/midi";
import { assertIntegerInRange } from "../util/integer-range.js";

const { Midi } = tonejsMidi;

/** A note with times in seconds. */
export interface Note {
  /** MIDI pitch 0..127. */
  pitch: number;
  /** MIDI velocity 1..127. */
  velocity: number;
  /** Onset, seconds. */
  start: number;
  /** Release, seconds (> start). */
  end: number;
}

/** Number of note_on / note_off ids. */
export const NOTE_RANGE = 128;
/** Number of time_shift ids. */
export const TIME_SHIFT_RANGE = 100;
/** Number of velocity bins. */
export const VELOCITY_BINS = 32;
/** First note_on id. */
export const NOTE_ON_OFFSET = 0;
/** First note_off id. */
export const NOTE_OFF_OFFSET = NOTE_ON_OFFSET + NOTE_RANGE; // 128
/** First time_shift id. */
export const TIME_SHIFT_OFFSET = NOTE_OFF_OFFSET + NOTE_RANGE; // 256
/** First set_velocity id. */
export const VELOCITY_OFFSET = TIME_SHIFT_OFFSET + TIME_SHIFT_RANGE; // 356
/** Number of event ids (excluding PAD). */
export const MIDI_EVENT_COUNT = VELOCITY_OFFSET + VELOCITY_BINS; // 388
/** Padding id (as in the reference data module). */
export const MIDI_PAD = MIDI_EVENT_COUNT; // 388
/** Model vocabulary size: 388 events + PAD. */
export const MIDI_VOCAB_SIZE = MIDI_EVENT_COUNT + 1; // 389
/** Time resolution in seconds. */
export const TIME_STEP_SECONDS = 0.01;
/** Velocity assumed by `eventsToNotes` before the first set_velocity. */
export const DEFAULT_VELOCITY = 64;

const TICKS_PER_SECOND = 100;
const MIDI_PPQ = 480;
const MIDI_TEMPO_US = 500_000; // 120 bpm
const MIDI_TICKS_PER_SECOND = (MIDI_PPQ * 1_000_000) / MIDI_TEMPO_US; // 960

/** Velocity (0..127) → bin (0..31), floor(v / 4) as in the reference. */
export function velocityToBin(velocity: number): number {
  const b = Math.floor(velocity / 4);
  return b < 0 ? 0 : b >= VELOCITY_BINS ? VELOCITY_BINS - 1 : b;
}

/** Bin (0..31) → velocity max(1, bin · 4); bin · 4 as in the reference, but never a silent 0. */
export function binToVelocity(bin: number): number {
  return Math.max(1, Math.min(127, bin * 4));
}

/** Human-readable name of an event id, e.g. `note_on(60)`, `time_shift(250ms)`, `pad`, `invalid(999)`. */
export function describeEvent(id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > MIDI_PAD) return `invalid(${id})`;
  if (id < NOTE_OFF_OFFSET) return `note_on(${id})`;
  if (id < TIME_SHIFT_OFFSET) return `note_off(${id - NOTE_OFF_OFFSET})`;
  if (id < VELOCITY_OFFSET) return `time_shift(${(id - TIME_SHIFT_OFFSET + 1) * 10}ms)`;
  if (id < MIDI_PAD) return `velocity(${id - VELOCITY_OFFSET})`;
  return "pad";
}

function checkNote(n: Note, i: number): void {
  const bad = (field: string, range: string, v: unknown) =>
    new RangeError(`notes[${i}].${field} must be ${range}, got ${v}`);
  assertIntegerInRange(`notes[${i}].pitch`, n.pitch, 0, 127);
  if (!Number.isFinite(n.velocity) || n.velocity < 0 || n.velocity > 127) throw bad("velocity", "in 0..127", n.velocity);
  if (!Number.isFinite(n.start) || n.start < 0) throw bad("start", "a finite number of seconds >= 0", n.start);
  if (!Number.isFinite(n.end) || n.end < n.start) throw bad("end", `a finite number of seconds >= start (${n.start})`, n.end);
}

/**
 * Sort notes by (start, end, pitch) and end every note at the next onset of the same pitch, dropping notes
 * that become empty (duplicates). Works on any time unit; returns new objects.
 */
export function resolveSamePitchOverlaps<T extends Note>(notes: readonly T[]): T[] {
  const sorted = notes
    .map((n) => ({ ...n }))
    .sort((a, b) => a.start - b.start || a.end - b.end || a.pitch - b.pitch);
  const last = new Map<number, T>();
  const dropped = new Set<T>();
  for (const n of sorted) {
    const prev = last.get(n.pitch);
    if (prev !== undefined && n.start < prev.end) {
      prev.end = n.start;
      if (prev.end <= prev.start) dropped.add(prev);
    }
    last.set(n.pitch, n);
  }
  return sorted.filter((n) => !dropped.has(n));
}

/** Options for {@link midiToNotes}. */
export interface MidiToNotesOptions {
  /** Fold the sustain pedal (CC64) into note durations. Default true. */
  sustain?: boolean;
}

/**
 * Parse a standard MIDI file into notes (seconds, tempo map applied). Merges all non-drum tracks, applies the
 * sustain pedal per channel and resolves same-pitch overlaps (see the module contract). Throws if the bytes are
 * not a parseable MIDI file.
 */
export function midiToNotes(bytes: Uint8Array, options: MidiToNotesOptions = {}): Note[] {
  const useSustain = options.sustain ?? true;
  let midi: InstanceType<typeof Midi>;
  try {
    midi = new Midi(bytes);
  } catch (e) {
    throw new Error(`midiToNotes: bytes are not a valid MIDI file (${bytes.length} bytes): ${(e as Error).message}`);
  }
  // The pedal is a channel message: pool notes and CC64 per MIDI channel across tracks (piano files often keep
  // the pedal on another track than the notes).
  const channels = new Map<number, { notes: Note[]; pedal: Array<{ time: number; value: number }> }>();
  for (const track of midi.tracks) {
    if (track.channel === 9 || track.instrument.percussion) continue;
    let ch = channels.get(track.channel);
    if (ch === undefined) channels.set(track.channel, (ch = { notes: [], pedal: [] }));
    for (const n of track.notes) {
      ch.notes.push({
        pitch: n.midi,
        velocity: Math.max(1, Math.min(127, Math.round(n.velocity * 127))),
        start: n.time,
        end: n.time + n.duration,
      });
    }
    ch.pedal.push(...(track.controlChanges[64] ?? []));
  }
  const all: Note[] = [];
  for (const ch of channels.values()) {
    if (useSustain) applySustain(ch.notes, ch.pedal);
    all.push(...ch.notes);
  }
  return resolveSamePitchOverlaps(all);
}

/** Extend the release of notes released while the pedal is down to the pedal release (in place). */
function applySustain(notes: Note[], pedal: ReadonlyArray<{ time: number; value: number }>): void {
  if (pedal.length === 0 || notes.length === 0) return;
  const cc = [...pedal].sort((a, b) => a.time - b.time);
  let lastTime = cc[cc.length - 1]!.time;
  for (const n of notes) if (n.end > lastTime) lastTime = n.end;
  const intervals: Array<[number, number]> = [];
  let downAt = -1;
  for (const c of cc) {
    const down = Math.round(c.value * 127) >= 64;
    if (down && downAt < 0) downAt = c.time;
    else if (!down && downAt >= 0) {
      intervals.push([downAt, c.time]);
      downAt = -1;
    }
  }
  if (downAt >= 0) intervals.push([downAt, lastTime]);
  // Same-pitch re-strikes cut the extension: resolveSamePitchOverlaps (applied later) does that.
  for (const n of notes) {
    for (const [d, u] of intervals) {
      if (n.end >= d && n.end < u) {
        n.end = u;
        break;
      }
      if (d > n.end) break;
    }
  }
}

/** Options for {@link notesToEvents}. */
export interface NotesToEventsOptions {
  /** "changes" (default): set_velocity only when the bin changes; "every-note": before every note-on. */
  velocityEvents?: "changes" | "every-note";
}

/**
 * Encode notes as performance events (see the module contract). Throws a RangeError naming `notes[i].field`
 * for an invalid note (pitch not 0..127, velocity not 0..127, negative/non-finite times, end < start).
 */
export function notesToEvents(notes: readonly Note[], options: NotesToEventsOptions = {}): Int32Array {
  const every = (options.velocityEvents ?? "changes") === "every-note";
  if (options.velocityEvents !== undefined && options.velocityEvents !== "changes" && !every) {
    throw new RangeError(`velocityEvents must be "changes" or "every-note", got ${String(options.velocityEvents)}`);
  }
  notes.forEach(checkNote);
  const quantised = notes.map((n) => {
    const start = Math.round(n.start * TICKS_PER_SECOND);
    const end = Math.max(start + 1, Math.round(n.end * TICKS_PER_SECOND));
    return { pitch: n.pitch, velocity: n.velocity, start, end };
  });
  const resolved = resolveSamePitchOverlaps(quantised);
  // kind 0 = off, 1 = on; offs first at equal ticks so a re-strike reads off, on.
  const marks: Array<{ tick: number; kind: 0 | 1; pitch: number; bin: number }> = [];
  for (const n of resolved) {
    marks.push({ tick: n.start, kind: 1, pitch: n.pitch, bin: velocityToBin(n.velocity) });
    marks.push({ tick: n.end, kind: 0, pitch: n.pitch, bin: -1 });
  }
  marks.sort((a, b) => a.tick - b.tick || a.kind - b.kind || a.pitch - b.pitch);
  const out: number[] = [];
  let now = 0;
  let bin = -1;
  for (const m of marks) {
    let gap = m.tick - now;
    while (gap >= TIME_SHIFT_RANGE) {
      out.push(TIME_SHIFT_OFFSET + TIME_SHIFT_RANGE - 1);
      gap -= TIME_SHIFT_RANGE;
    }
    if (gap > 0) out.push(TIME_SHIFT_OFFSET + gap - 1);
    now = m.tick;
    if (m.kind === 1) {
      if (every || m.bin !== bin) out.push(VELOCITY_OFFSET + m.bin);
      bin = m.bin;
      out.push(NOTE_ON_OFFSET + m.pitch);
    } else {
      out.push(NOTE_OFF_OFFSET + m.pitch);
    }
  }
  return Int32Array.from(out);
}

/** Decode performance events into notes sorted by (start, pitch). Never throws (see the module contract). */
export function eventsToNotes(events: ArrayLike<number>): Note[] {
  const notes: Array<{ pitch: number; velocity: number; start: number; end: number }> = [];
  const open = new Map<number, { start: number; velocity: number }>();
  let now = 0;
  let velocity = DEFAULT_VELOCITY;
  const close = (pitch: number, at: number) => {
    const o = open.get(pitch);
    if (o === undefined) return;
    open.delete(pitch);
    if (at > o.start) notes.push({ pitch, velocity: o.velocity, start: o.start, end: at });
  };
  for (let i = 0; i < events.length; i++) {
    const id = events[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= MIDI_EVENT_COUNT) continue;
    if (id < NOTE_OFF_OFFSET) {
      close(id, now);
      open.set(id, { start: now, velocity });
    } else if (id < TIME_SHIFT_OFFSET) {
      close(id - NOTE_OFF_OFFSET, now);
    } else if (id < VELOCITY_OFFSET) {
      now += id - TIME_SHIFT_OFFSET + 1;
    } else {
      velocity = binToVelocity(id - VELOCITY_OFFSET);
    }
  }
  for (const [pitch, o] of [...open]) close(pitch, Math.max(now, o.start + 1));
  return notes
    .sort((a, b) => a.start - b.start || a.pitch - b.pitch)
    .map((n) => ({
      pitch: n.pitch,
      velocity: n.velocity,
      start: n.start / TICKS_PER_SECOND,
      end: n.end / TICKS_PER_SECOND,
    }));
}

function pushVarLen(out: number[], value: number): void {
  const bytes = [value & 0x7f];
  value >>>= 7;
  while (value > 0) {
    bytes.unshift((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(...bytes);
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/**
 * Write notes as a standard MIDI file: format 0, one piano track (channel 0, program 0), 120 bpm,
 * 480 PPQ. Same-pitch overlaps are resolved first; notes are at least one tick long. Throws a RangeError
 * naming `notes[i].field` for an invalid note.
 */
export function notesToMidi(notes: readonly Note[]): Uint8Array {
  notes.forEach(checkNote);
  const resolved = resolveSamePitchOverlaps(
    notes.map((n) => {
      const start = Math.round(n.start * MIDI_TICKS_PER_SECOND);
      const end = Math.max(start + 1, Math.round(n.end * MIDI_TICKS_PER_SECOND));
      return { pitch: n.pitch, velocity: Math.max(1, Math.min(127, Math.round(n.velocity))), start, end };
    }),
  );
  const marks: Array<{ tick: number; kind: 0 | 1; pitch: number; velocity: number }> = [];
  for (const n of resolved) {
    marks.push({ tick: n.start, kind: 1, pitch: n.pitch, velocity: n.velocity });
    marks.push({ tick: n.end, kind: 0, pitch: n.pitch, velocity: 64 });
  }
  marks.sort((a, b) => a.tick - b.tick || a.kind - b.kind || a.pitch - b.pitch);

  const trk: number[] = [];
  const name = Array.from(new TextEncoder().encode("Piano")); // ASCII, so UTF-8 bytes = ASCII bytes
  trk.push(0x00, 0xff, 0x03, name.length, ...name); // track name
  trk.push(0x00, 0xff, 0x51, 0x03, (MIDI_TEMPO_US >> 16) & 0xff, (MIDI_TEMPO_US >> 8) & 0xff, MIDI_TEMPO_US & 0xff);
  trk.push(0x00, 0xff, 0x58, 0x04, 0x04, 0x02, 0x18, 0x08); // 4/4
  trk.push(0x00, 0xc0, 0x00); // program change: acoustic grand piano
  let now = 0;
  for (const m of marks) {
    pushVarLen(trk, m.tick - now);
    now = m.tick;
    trk.push(m.kind === 1 ? 0x90 : 0x80, m.pitch, m.velocity);
  }
  trk.push(0x00, 0xff, 0x2f, 0x00); // end of track

  const header = [0x4d, 0x54, 0x68, 0x64, ...u32(6), 0x00, 0x00, 0x00, 0x01, (MIDI_PPQ >> 8) & 0xff, MIDI_PPQ & 0xff];
  const out = new Uint8Array(header.length + 8 + trk.length);
  out.set(header, 0);
  out.set([0x4d, 0x54, 0x72, 0x6b, ...u32(trk.length)], header.length);
  out.set(trk, header.length + 8);
  return out;
}

/** `notesToEvents(midiToNotes(bytes))`. */
export function midiToEvents(bytes: Uint8Array, options: NotesToEventsOptions & MidiToNotesOptions = {}): Int32Array {
  return notesToEvents(midiToNotes(bytes, options), options);
}

/** `notesToMidi(eventsToNotes(events))`; never throws on model output. */
export function eventsToMidi(events: ArrayLike<number>): Uint8Array {
  return notesToMidi(eventsToNotes(events));
}
