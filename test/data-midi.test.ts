/**
 * Tests for src/data/midi-codec.ts and src/data/music-datasets.ts: vocabulary layout, MIDI → notes (pedal,
 * same-pitch overlaps, drums), notes → events → notes to 10 ms, the written MIDI read back by @tonejs/midi and
 * by a hand check of its header, robustness of decoding, folder loading. Real-cache tests are skipped unless
 * the "piano" dataset is cached.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import tonejsMidi from "@tonejs/midi";
import {
  DEFAULT_VELOCITY,
  MIDI_PAD,
  MIDI_VOCAB_SIZE,
  NOTE_OFF_OFFSET,
  type Note,
  TIME_SHIFT_OFFSET,
  VELOCITY_OFFSET,
  binToVelocity,
  describeEvent,
  eventsToMidi,
  eventsToNotes,
  midiToEvents,
  midiToNotes,
  notesToEvents,
  notesToMidi,
  velocityToBin,
} from "../src/data/midi-codec.js";
import { hasDataset } from "../src/data/dataset-cache.js";
import { loadMidiFolder, loadPiano } from "../src/data/music-datasets.js";

const { Midi } = tonejsMidi;
const work = mkdtempSync(join(tmpdir(), "perceiver-ar-midi-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

type Spec = [pitch: number, velocity: number, start: number, end: number];

/** A test MIDI at 100 bpm (so tempo conversion matters): piano notes, a pedal on its own track, drums. */
function buildMidi(): Uint8Array {
  const midi = new Midi();
  midi.header.setTempo(100);
  const piano = midi.addTrack();
  piano.channel = 0;
  const notes: Spec[] = [
    [60, 80, 0.0, 0.5],
    [62, 100, 1.0, 2.0], // overlapped by the next 62 → ends at 1.5
    [62, 40, 1.5, 2.2],
    [64, 70, 4.37, 4.8], // after a 2.17 s gap
    [48, 60, 4.9, 5.05], // released while pedal down → 6.0
    [67, 90, 5.1, 5.3], // released while pedal down, re-struck at 5.5 → 5.5
    [72, 20, 5.2, 6.5], // released after pedal up → unchanged
    [67, 91, 5.5, 5.6], // → 6.0
    [65, 71, 7.0, 7.01], // shortest note
  ];
  for (const [midiPitch, v, s, e] of notes) {
    piano.addNote({ midi: midiPitch, velocity: (v + 0.5) / 127, time: s, duration: e - s });
  }
  const pedal = midi.addTrack();
  pedal.channel = 0;
  pedal.addCC({ number: 64, time: 5.0, value: 1 });
  pedal.addCC({ number: 64, time: 5.2, value: 0.9 }); // still down
  pedal.addCC({ number: 64, time: 6.0, value: 0 });
  const drums = midi.addTrack();
  drums.channel = 9;
  drums.addNote({ midi: 36, velocity: 1, time: 0.25, duration: 0.1 });
  return midi.toArray();
}

const EXPECTED: Spec[] = [
  [60, 80, 0.0, 0.5],
  [62, 100, 1.0, 1.5],
  [62, 40, 1.5, 2.2],
  [64, 70, 4.37, 4.8],
  [48, 60, 4.9, 6.0],
  [67, 90, 5.1, 5.5],
  [72, 20, 5.2, 6.5],
  [67, 91, 5.5, 6.0],
  [65, 71, 7.0, 7.01],
];

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

function assertNotes(got: Note[], want: Spec[], tol: number, velocity: (v: number) => number = (v) => v): void {
  assert.equal(got.length, want.length, `note count: ${JSON.stringify(got)}`);
  got.forEach((n, i) => {
    const [p, v, s, e] = want[i]!;
    assert.equal(n.pitch, p, `notes[${i}].pitch`);
    assert.equal(velocity(n.velocity), velocity(v), `notes[${i}].velocity`);
    close(n.start, s, tol, `notes[${i}].start`);
    close(n.end, e, tol, `notes[${i}].end`);
  });
}

describe("event vocabulary", () => {
  test("layout matches the reference (389 = 388 events + pad)", () => {
    assert.equal(MIDI_VOCAB_SIZE, 389);
    assert.equal(MIDI_PAD, 388);
    assert.equal(NOTE_OFF_OFFSET, 128);
    assert.equal(TIME_SHIFT_OFFSET, 256);
    assert.equal(VELOCITY_OFFSET, 356);
    assert.equal(describeEvent(60), "note_on(60)");
    assert.equal(describeEvent(188), "note_off(60)");
    assert.equal(describeEvent(256), "time_shift(10ms)");
    assert.equal(describeEvent(355), "time_shift(1000ms)");
    assert.equal(describeEvent(387), "velocity(31)");
    assert.equal(describeEvent(388), "pad");
    assert.equal(describeEvent(-1), "invalid(-1)");
  });

  test("velocity bins", () => {
    assert.equal(velocityToBin(0), 0);
    assert.equal(velocityToBin(3), 0);
    assert.equal(velocityToBin(4), 1);
    assert.equal(velocityToBin(127), 31);
    assert.equal(binToVelocity(0), 1);
    assert.equal(binToVelocity(20), 80);
    for (let v = 1; v < 128; v++) assert.equal(velocityToBin(binToVelocity(velocityToBin(v))), velocityToBin(v));
  });
});

describe("MIDI ↔ events", () => {
  const bytes = buildMidi();

  test("midiToNotes: merges tracks, drops drums, folds the pedal, ends re-struck notes", () => {
    const notes = midiToNotes(bytes).sort((a, b) => a.start - b.start || a.pitch - b.pitch);
    const want = [...EXPECTED].sort((a, b) => a[2] - b[2] || a[0] - b[0]);
    assertNotes(notes, want, 1e-6);
    const dry = midiToNotes(bytes, { sustain: false }).find((n) => n.pitch === 48)!;
    close(dry.end, 5.05, 1e-6, "no-sustain end");
  });

  test("notes → events → notes keeps pitch, velocity bin, start/end to 10 ms", () => {
    const notes = midiToNotes(bytes);
    const events = notesToEvents(notes);
    for (const e of events) assert.ok(e >= 0 && e < MIDI_PAD, `event ${e} in 0..387`);
    const back = eventsToNotes(events);
    const want = [...EXPECTED].sort((a, b) => a[2] - b[2] || a[0] - b[0]);
    assertNotes(back, want, 0.005 + 1e-9, velocityToBin);
    // The 2.17 s gap 2.20 → 4.37 is two full 1 s shifts then 170 ms.
    const s = Array.from(events).join(",");
    assert.ok(s.includes(`${TIME_SHIFT_OFFSET + 99},${TIME_SHIFT_OFFSET + 99},${TIME_SHIFT_OFFSET + 16},`), s);
    // Re-strike of 67 at 5.5: note_off(67) precedes note_on(67) at the same instant.
    assert.ok(s.includes(`${NOTE_OFF_OFFSET + 67},${VELOCITY_OFFSET + velocityToBin(91)},67`), s);
  });

  test("velocity events only on bin change, or before every note-on", () => {
    const notes: Note[] = [
      { pitch: 60, velocity: 80, start: 0, end: 0.1 },
      { pitch: 61, velocity: 81, start: 0.2, end: 0.3 }, // same bin 20
      { pitch: 62, velocity: 40, start: 0.4, end: 0.5 },
    ];
    const isVel = (e: number) => e >= VELOCITY_OFFSET && e < MIDI_PAD;
    assert.deepEqual(Array.from(notesToEvents(notes)).filter(isVel), [VELOCITY_OFFSET + 20, VELOCITY_OFFSET + 10]);
    assert.equal(Array.from(notesToEvents(notes, { velocityEvents: "every-note" })).filter(isVel).length, 3);
    assert.deepEqual(Array.from(notesToEvents([{ pitch: 60, velocity: 80, start: 0, end: 0.001 }])), [
      VELOCITY_OFFSET + 20,
      60,
      TIME_SHIFT_OFFSET,
      NOTE_OFF_OFFSET + 60,
    ]);
  });

  test("written MIDI: header bytes, parsed by @tonejs/midi, re-encodes to the same events", () => {
    const events = midiToEvents(bytes);
    const out = eventsToMidi(events);
    assert.equal(Buffer.from(out.subarray(0, 4)).toString("latin1"), "MThd");
    assert.deepEqual(Array.from(out.subarray(4, 14)), [0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xe0]); // len 6, format 0, 1 track, 480 PPQ
    assert.equal(Buffer.from(out.subarray(14, 18)).toString("latin1"), "MTrk");
    const trackLen = Buffer.from(out).readUInt32BE(18);
    assert.equal(22 + trackLen, out.length);
    assert.deepEqual(Array.from(out.subarray(out.length - 3)), [0xff, 0x2f, 0x00]);

    const parsed = new Midi(out);
    assert.equal(parsed.header.ppq, 480);
    assert.equal(Math.round(parsed.header.tempos[0]!.bpm), 120);
    const tracks = parsed.tracks.filter((t) => t.notes.length > 0);
    assert.equal(tracks.length, 1);
    assert.equal(tracks[0]!.instrument.number, 0);
    const decoded = eventsToNotes(events);
    const tn = [...tracks[0]!.notes].sort((a, b) => a.time - b.time || a.midi - b.midi);
    assert.equal(tn.length, decoded.length);
    tn.forEach((n, i) => {
      const d = decoded[i]!;
      assert.equal(n.midi, d.pitch);
      assert.equal(Math.round(n.velocity * 127), d.velocity);
      close(n.time, d.start, 1 / 960, `tonejs note ${i} start`);
      close(n.time + n.duration, d.end, 1 / 960, `tonejs note ${i} end`);
    });
    assert.deepEqual(midiToEvents(out), events);
  });

  test("notesToMidi writes what it is given (seconds, any velocity 1..127)", () => {
    const notes: Note[] = [
      { pitch: 21, velocity: 1, start: 0.123, end: 0.5 },
      { pitch: 108, velocity: 127, start: 3.3, end: 9.75 },
    ];
    const parsed = new Midi(notesToMidi(notes));
    const tn = parsed.tracks.flatMap((t) => t.notes);
    assert.equal(tn.length, 2);
    assert.equal(Math.round(tn[0]!.velocity * 127), 1);
    assert.equal(Math.round(tn[1]!.velocity * 127), 127);
    close(tn[0]!.time, 0.123, 1 / 960, "start");
    close(tn[1]!.time + tn[1]!.duration, 9.75, 1 / 960, "end");
  });

  test("decoding model output never throws", () => {
    const events = [
      -5, 1000, 3.5, Number.NaN, MIDI_PAD, // junk
      NOTE_OFF_OFFSET + 70, // unpaired off: ignored
      60, // on 60 at 0 with the default velocity
      TIME_SHIFT_OFFSET + 9, // +100 ms
      VELOCITY_OFFSET + 5,
      60, // re-strike 60 at 0.1: first closes there
      61,
      NOTE_OFF_OFFSET + 61, // zero-length: dropped
      62, // unterminated: closed at the final time 0.31
      TIME_SHIFT_OFFSET + 19, // +200 ms
      64, // unterminated: closed at 0.31
      TIME_SHIFT_OFFSET + 0,
    ];
    const notes = eventsToNotes(events);
    assertNotes(
      notes,
      [
        [60, DEFAULT_VELOCITY, 0, 0.1],
        [60, 20, 0.1, 0.31],
        [62, 20, 0.1, 0.31],
        [64, 20, 0.3, 0.31],
      ],
      1e-9,
    );
    assert.deepEqual(eventsToNotes([]), []);
    assert.ok(eventsToMidi([1, 2, 3]).length > 14);
    const r = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 400);
    assert.doesNotThrow(() => eventsToMidi(r));
  });

  test("invalid input notes and bytes are named", () => {
    assert.throws(() => notesToEvents([{ pitch: 128, velocity: 1, start: 0, end: 1 }]), /notes\[0\]\.pitch must be an integer in \[0, 127\], got 128/);
    assert.throws(
      () => notesToEvents([{ pitch: 1, velocity: 1, start: 0, end: 1 }, { pitch: 1, velocity: 1, start: 2, end: 1 }]),
      /notes\[1\]\.end must be .* >= start \(2\), got 1/,
    );
    assert.throws(() => notesToMidi([{ pitch: 1, velocity: 200, start: 0, end: 1 }]), /notes\[0\]\.velocity must be in 0\.\.127, got 200/);
    assert.throws(() => notesToEvents([], { velocityEvents: "sometimes" as "changes" }), /velocityEvents must be/);
    assert.throws(() => midiToNotes(Uint8Array.from([1, 2, 3, 4])), /midiToNotes: bytes are not a valid MIDI file \(4 bytes\)/);
  });
});

describe("MIDI folders", () => {
  test("loadMidiFolder encodes every .mid/.midi sorted by path", () => {
    const dir = join(work, "songs");
    mkdirSync(join(dir, "b"), { recursive: true });
    mkdirSync(join(dir, "a", "deep"), { recursive: true });
    const one = notesToMidi([{ pitch: 60, velocity: 64, start: 0, end: 1 }]);
    const two = notesToMidi([{ pitch: 62, velocity: 100, start: 0.5, end: 0.7 }]);
    writeFileSync(join(dir, "b", "z.mid"), one);
    writeFileSync(join(dir, "a", "deep", "x.MIDI"), two);
    writeFileSync(join(dir, "a", "y.mid"), one);
    writeFileSync(join(dir, "a", "notes.txt"), "not midi");
    const seqs = loadMidiFolder(dir);
    assert.deepEqual(seqs.map((s) => s.path), ["a/deep/x.MIDI", "a/y.mid", "b/z.mid"]);
    assert.deepEqual(seqs[0]!.events, midiToEvents(two));
    writeFileSync(join(dir, "b", "broken.mid"), "MThd junk");
    assert.throws(() => loadMidiFolder(dir), /loadMidiFolder: .*broken\.mid/);
    const skipped: string[] = [];
    assert.equal(loadMidiFolder(dir, { skipInvalid: true, log: (m) => skipped.push(m) }).length, 3);
    assert.equal(skipped.length, 1);
  });

  test("cached piano set", { skip: hasDataset("piano") ? false : "piano not in cache (run fetchDataset)" }, () => {
    const seqs = loadPiano();
    assert.equal(seqs.length, 14);
    for (const s of seqs) {
      assert.ok(s.events.length > 500, `${s.path}: ${s.events.length} events`);
      assert.ok(s.events.every((e) => e >= 0 && e < MIDI_PAD));
    }
  });
});
