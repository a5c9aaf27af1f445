// The Music tab: a piano model continues a primer (built in, or a dropped .mid); the result is
// drawn as a piano roll, played with WebAudio and downloadable as a .mid.

import { byId, download, showError, showText } from "./dom.js";
import { modelSource } from "./model-source.js";
import { drawPianoRoll, playNotes, type PlayedNote } from "./piano.js";
import { samplingControls } from "./sampling-controls.js";
import type { WorkerClient } from "./worker-client.js";

export function musicTab(worker: WorkerClient): void {
  const settings = samplingControls("music-settings", { maxNewTokens: 256 });
  let primer: Uint8Array | null = null;
  let result: { notes: PlayedNote[]; midi: Blob } | null = null;
  modelSource(
    worker,
    "music",
    { drop: "music-drop", url: "music-url", loadUrl: "music-load-url", shown: "music-model", button: "music-random", buttonRequest: { kind: "random-model", slot: "music", preset: "music-small", seed: 0 } },
    (info) => settings.setModel(info),
    (files) => void files[0]!.arrayBuffer().then((b) => {
      primer = new Uint8Array(b);
      showText("music-primer", files[0]!.name);
    }),
  );
  byId("music-start").onclick = async () => {
    showText("music-stats", "generating…");
    try {
      const r = await worker.call<{ notes: PlayedNote[]; midi: Blob; primerSeconds: number; primerEvents: number; events: number; ms: number }>({ kind: "music", primer, ...settings.read() });
      result = r;
      drawPianoRoll(byId<HTMLCanvasElement>("music-roll"), r.notes, r.primerSeconds);
      showText("music-stats", `${r.primerEvents} primer events + ${r.events} generated in ${(r.ms / 1000).toFixed(1)} s · ${r.notes.length} notes`);
      byId<HTMLButtonElement>("music-play").disabled = false;
      byId<HTMLButtonElement>("music-download").disabled = false;
    } catch (err) {
      showError("music-stats", err);
    }
  };
  byId("music-play").onclick = () => result !== null && playNotes(result.notes);
  byId("music-download").onclick = () => result !== null && download(result.midi, "continuation.mid");
}
