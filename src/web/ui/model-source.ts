// A tab's model source controls: drop a folder's files, load a folder URL, or a button that picks
// another source (the trained model, an untrained preset). The worker loads; this shows the result.

import type { ModelInfo, ModelSlot, Request } from "../protocol.js";
import { byId, onDrop, showError, showText } from "./dom.js";
import { describeInfo } from "./sampling-controls.js";
import type { WorkerClient } from "./worker-client.js";

export function modelSource(worker: WorkerClient, slot: ModelSlot, ids: { drop: string; url: string; loadUrl: string; shown: string; button: string; buttonRequest: Request }, onModel: (info: ModelInfo) => void, onOtherFiles?: (files: File[]) => void): void {
  const load = (p: Promise<ModelInfo>) => {
    showText(ids.shown, "loading…");
    p.then(
      (info) => {
        showText(ids.shown, describeInfo(info));
        onModel(info);
      },
      (err) => showError(ids.shown, err),
    );
  };
  onDrop(ids.drop, (files) => {
    const other = files.filter((f) => f.name.endsWith(".mid") || f.name.endsWith(".midi"));
    if (other.length > 0 && onOtherFiles !== undefined) onOtherFiles(other);
    const model = files.filter((f) => !other.includes(f));
    if (model.length > 0) load(worker.call<ModelInfo>({ kind: "load-files", slot, files: model }));
  });
  byId(ids.loadUrl).onclick = () => load(worker.call<ModelInfo>({ kind: "load-url", slot, url: byId<HTMLInputElement>(ids.url).value }));
  byId(ids.button).onclick = () => load(worker.call<ModelInfo>(ids.buttonRequest));
}
