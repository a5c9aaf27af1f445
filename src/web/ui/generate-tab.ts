// The Generate tab: a model (dropped files, URL, or the one trained here), a prompt, streamed
// output with the sampling settings and the latents slider, tokens/s and time to first token.

import type { WorkerEvent } from "../protocol.js";
import { byId, showError, showText } from "./dom.js";
import { modelSource } from "./model-source.js";
import type { PageLog } from "./page-log.js";
import { samplingControls } from "./sampling-controls.js";
import type { WorkerClient } from "./worker-client.js";

export function generateTab(worker: WorkerClient, log: PageLog): void {
  const settings = samplingControls("gen-settings", { maxNewTokens: 200 });
  modelSource(worker, "text", { drop: "gen-drop", url: "gen-url", loadUrl: "gen-load-url", shown: "gen-model", button: "gen-use-trained", buttonRequest: { kind: "use-trained" } }, (info) => settings.setModel(info));
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
