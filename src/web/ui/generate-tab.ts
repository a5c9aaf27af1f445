// The Generate tab: a model (dropped files, a folder URL, a hub id or URL through the browser's
// hub cache with download progress, or the one trained here), a prompt, streamed output with the
// sampling settings and the latents slider, tokens/s and time to first token.

import type { ModelInfo, WorkerEvent } from "../protocol.js";
import { byId, formatCount, showError, showText } from "./dom.js";
import { modelSource } from "./model-source.js";
import type { PageLog } from "./page-log.js";
import { describeInfo, samplingControls } from "./sampling-controls.js";
import type { WorkerClient } from "./worker-client.js";

export function generateTab(worker: WorkerClient, log: PageLog): void {
  const settings = samplingControls("gen-settings", { maxNewTokens: 200 });
  modelSource(worker, "text", { drop: "gen-drop", url: "gen-url", loadUrl: "gen-load-url", shown: "gen-model", button: "gen-use-trained", buttonRequest: { kind: "use-trained" } }, (info) => settings.setModel(info));
  hubSource(worker, (info) => settings.setModel(info));
  const out = byId("gen-output");
  // Pieces are appended once a frame: a text node per frame, not per token.
  let buffered = "";
  let scheduled = false;
  worker.on((e: WorkerEvent) => {
    if (e.kind !== "text") return;
    log.text.push({ piece: e.piece, at: performance.now() });
    buffered += e.piece;
    showText("gen-stats", `${e.tokens} tokens · ${e.tokensPerSec.toFixed(1)} tokens/s · first token after ${Math.round(e.firstTokenMs)} ms`);
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      out.append(buffered);
      buffered = "";
    });
  });
  byId("gen-start").onclick = () => {
    const prompt = byId<HTMLTextAreaElement>("gen-prompt").value;
    out.textContent = prompt;
    log.text.length = 0;
    worker.call({ kind: "generate", prompt, ...settings.read() }).catch((err) => showError("gen-stats", err));
  };
  byId("gen-stop").onclick = () => void worker.call({ kind: "stop" });
}

/** The hub box: an id or hub URL loaded through the worker's fromPretrained, with each file's progress. */
function hubSource(worker: WorkerClient, onModel: (info: ModelInfo) => void): void {
  const files = new Map<string, string>();
  let scheduled = false;
  worker.on((e: WorkerEvent) => {
    if (e.kind !== "download") return;
    const kb = (n: number) => `${formatCount(n / 1024)} KiB`;
    files.set(e.file, e.done ? `${e.file} ✓` : `${e.file} ${kb(e.loaded)}${e.total !== null ? ` / ${kb(e.total)}` : ""}`);
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      showText("gen-hub-progress", [...files.values()].join(" · "));
    });
  });
  byId("gen-load-hub").onclick = () => {
    files.clear();
    showText("gen-model", "downloading…");
    worker.call<ModelInfo>({ kind: "load-hub", slot: "text", ref: byId<HTMLInputElement>("gen-hub").value.trim() }).then(
      (info) => {
        showText("gen-model", describeInfo(info));
        onModel(info);
      },
      (err) => showError("gen-model", err),
    );
  };
}
