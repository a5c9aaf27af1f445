// The page's main thread: tabs, the compute worker, and rendering. No model computation runs
// here (all of it is in worker/worker.ts), so training and generation never block the page; a
// long-task observer records any main-thread task over 50 ms (long-tasks.ts). `window.perceiverArPage` exposes the
// page's log and the worker for people debugging and for the browser tests.

import type { PageLog } from "./ui/page-log.js";
import { byId, showError, showText } from "./ui/dom.js";
import { generateTab } from "./ui/generate-tab.js";
import { imagesTab } from "./ui/images-tab.js";
import { observeMainThread } from "./ui/long-tasks.js";
import { musicTab } from "./ui/music-tab.js";
import { trainTab } from "./ui/train-tab.js";
import { WorkerClient } from "./ui/worker-client.js";

const log: PageLog = { backend: "", train: [], validation: [], text: [], mainThread: observeMainThread() };
const worker = new WorkerClient(new URL("worker.js", import.meta.url).href);
(window as unknown as { perceiverArPage: unknown }).perceiverArPage = { log, worker };

for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
  b.onclick = () => {
    for (const o of document.querySelectorAll("nav button, .tab")) o.classList.remove("active");
    b.classList.add("active");
    byId(`tab-${b.dataset.tab}`).classList.add("active");
  };
}
trainTab(worker, log);
generateTab(worker, log);
musicTab(worker);
imagesTab(worker);
worker.call<{ backend: string; crossOriginIsolated: boolean }>({ kind: "hello" }).then(
  (r) => {
    log.backend = r.backend;
    showText("status", `backend: ${r.backend}${r.crossOriginIsolated ? " · cross-origin isolated" : ""}`);
    document.body.dataset.ready = "true";
  },
  (err) => showError("status", err),
);
