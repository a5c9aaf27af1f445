// The Train tab: text (pasted or a dropped .txt), a preset, training in the worker with the live
// loss chart, tokens/s and ETA, stop and continue, and the checkpoint's download.

import type { WorkerEvent } from "../protocol.js";
import { byId, download, formatCount, onDrop, showError, showText } from "./dom.js";
import { LossChart } from "./loss-chart.js";
import type { PageLog } from "./page-log.js";
import type { WorkerClient } from "./worker-client.js";

export function trainTab(worker: WorkerClient, log: PageLog): void {
  const chart = new LossChart(byId<HTMLCanvasElement>("train-chart"));
  const text = byId<HTMLTextAreaElement>("train-text");
  const [start, stop, cont, save] = ["train-start", "train-stop", "train-continue", "train-save"].map((id) => byId<HTMLButtonElement>(id));
  const num = (id: string) => Number(byId<HTMLInputElement>(id).value);
  const running = (on: boolean) => {
    start.disabled = on;
    cont.disabled = on;
    stop.disabled = !on;
    save.disabled = on;
  };
  onDrop("train-text", (files) => void files[0]?.text().then((t) => (text.value = t)));
  let validated = "";
  worker.on((e: WorkerEvent) => {
    if (e.kind === "train-step") {
      log.train.push({ step: e.step, loss: e.loss });
      chart.addTrain(e.step, e.loss);
      showText("train-stats", `step ${e.step} / ${e.maxSteps} · loss ${e.loss.toFixed(3)} · ${formatCount(e.tokensPerSec)} tokens/s · ETA ${Math.ceil(e.etaSeconds)} s${validated}`);
    } else if (e.kind === "validation") {
      log.validation.push({ step: e.step, loss: e.loss });
      chart.addValidation(e.step, e.loss);
      validated = ` · validation ${e.metric.toFixed(3)} ${e.metricName} at step ${e.step}`;
    }
  });
  const run = (p: Promise<unknown>) => {
    running(true);
    p.then(
      (reason) => showText("train-stats", `${byId("train-stats").textContent} · ${String(reason)}`),
      (err) => showError("train-stats", err),
    ).finally(() => running(false));
  };
  start.onclick = () => {
    chart.clear();
    validated = "";
    log.train.length = 0;
    log.validation.length = 0;
    run(worker.call({ kind: "train", text: text.value, preset: byId<HTMLSelectElement>("train-preset").value as "tiny", steps: num("train-steps"), batchSize: num("train-batch"), lr: num("train-lr"), seed: 0 }));
  };
  cont.onclick = () => run(worker.call({ kind: "continue", steps: num("train-steps") }));
  stop.onclick = () => void worker.call({ kind: "stop" });
  save.onclick = async () => {
    try {
      const files = await worker.call<{ name: string; blob: Blob }[]>({ kind: "save" });
      for (const f of files) download(f.blob, f.name);
    } catch (err) {
      showError("train-stats", err);
    }
  };
}
