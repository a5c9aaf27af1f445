// The page's compute worker: every model computation of the page runs here (the main thread only
// renders). It takes the best backend the browser offers (loadBestBackend) and answers the
// requests of protocol.ts one at a time, except that "stop" is handled at once.

import "./set-immediate.js";
import { loadBestBackend, saveModelToBlobs, wasmBackendInfo } from "../../index.browser.js";
import type { FromWorker, Request } from "../protocol.js";
import type { WorkerContext } from "./context.js";
import { cacheKeys, forwardBackward, initLogits, slotLogits, timeSteps, trainedStateDict } from "./compute-services.js";
import { generateText } from "./generate-job.js";
import { sampleImage } from "./image-job.js";
import { loadFiles, loadHub, loadUrl, randomModel, useTrained } from "./model-slots.js";
import { continueMusic } from "./music-job.js";
import { runTraining, startTraining } from "./train-job.js";

const post = (m: FromWorker) => (self as unknown as { postMessage(m: FromWorker): void }).postMessage(m);
const ready: Promise<WorkerContext> = loadBestBackend().then((backend) => ({ backend, run: null, models: {}, stopGeneration: false }));
let queue: Promise<unknown> = Promise.resolve();

async function handle(ctx: WorkerContext, r: Request): Promise<unknown> {
  switch (r.kind) {
    case "hello":
      return { backend: ctx.backend.name, crossOriginIsolated: self.crossOriginIsolated, wasm: wasmBackendInfo() };
    case "train":
      return runTraining(startTraining(ctx, r));
    case "continue": {
      if (ctx.run === null) throw new Error("nothing to continue: start a run first");
      ctx.run.session.extend(r.steps);
      return runTraining(ctx.run);
    }
    case "stop":
      return null; // handled before queueing
    case "save": {
      const model = ctx.run?.session.model ?? ctx.models.text?.model;
      if (model === undefined) throw new Error("no model to save: train one first");
      return [...saveModelToBlobs(model)].map(([name, blob]) => ({ name, blob }));
    }
    case "load-files":
      return loadFiles(ctx, r.slot, r.files);
    case "load-url":
      return loadUrl(ctx, r.slot, r.url);
    case "load-hub":
      return loadHub(ctx, r);
    case "use-trained":
      return useTrained(ctx);
    case "random-model":
      return randomModel(ctx, r.slot, r.preset, r.seed);
    case "generate":
      return generateText(ctx, r.prompt, r);
    case "music":
      return continueMusic(ctx, r.primer, r);
    case "image":
      return sampleImage(ctx, r.complete, r);
    case "forward-backward":
      return forwardBackward(ctx, r);
    case "init-logits":
      return initLogits(ctx, r);
    case "slot-logits":
      return slotLogits(ctx, r);
    case "cache-keys":
      return cacheKeys(r.cacheName);
    case "state-dict":
      return trainedStateDict(ctx);
    case "time-steps":
      return timeSteps(ctx, r);
  }
}

self.onmessage = (e: MessageEvent<{ id: number; request: Request }>) => {
  const { id, request } = e.data;
  if (request.kind === "stop") {
    void ready.then((ctx) => {
      ctx.run?.stop.abort();
      ctx.stopGeneration = true;
      post({ id, kind: "reply", value: null });
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      post({ id, kind: "reply", value: await handle(await ready, request) });
    } catch (err) {
      post({ id, kind: "failed", message: err instanceof Error ? err.message : String(err) });
    }
  });
};
