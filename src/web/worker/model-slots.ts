// The model of each tab: loaded from dropped files, a folder URL or the hub (fromPretrained, with
// download progress streamed to the page), the model just trained, or an untrained model of a preset (to try a tab's pipeline without a checkpoint). A model of vocabulary
// 258 without tokenizer.json gets the byte tokenizer (the models trained here and by the CLI).

import { BrowserHubCache, ByteTokenizer, fromPretrained, loadModelFromFiles, loadModelFromUrl, getPreset, PerceiverAR, type BrowserLoadedModel, type Tokenizer } from "../../index.browser.js";
import type { ModelInfo, ModelSlot } from "../protocol.js";
import { describeModel, emit, type WorkerContext } from "./context.js";

const BYTE_VOCAB = new ByteTokenizer().vocabSize;

function install(ctx: WorkerContext, slot: ModelSlot, source: string, model: PerceiverAR, tokenizer: Tokenizer | null): ModelInfo {
  const tok = tokenizer ?? (slot === "text" && model.config.vocabSize === BYTE_VOCAB ? new ByteTokenizer() : null);
  const info = describeModel(slot, source, model, tok);
  ctx.models[slot] = { model, tokenizer: tok, info };
  emit({ kind: "model", info });
  return info;
}

function installLoaded(ctx: WorkerContext, slot: ModelSlot, source: string, l: BrowserLoadedModel): ModelInfo {
  return install(ctx, slot, source, l.model, l.tokenizer ?? null);
}

export async function loadFiles(ctx: WorkerContext, slot: ModelSlot, files: File[]): Promise<ModelInfo> {
  return installLoaded(ctx, slot, files.map((f) => f.name).join(", "), await loadModelFromFiles(files, ctx.backend));
}

export async function loadUrl(ctx: WorkerContext, slot: ModelSlot, url: string): Promise<ModelInfo> {
  return installLoaded(ctx, slot, url, await loadModelFromUrl(new URL(url, self.location.href).href, ctx.backend));
}

export async function loadHub(ctx: WorkerContext, r: { slot: ModelSlot; ref: string; endpoint?: string; cacheName?: string; offline?: boolean; retries?: number }): Promise<ModelInfo> {
  const loaded = await fromPretrained(r.ref, ctx.backend, {
    cache: new BrowserHubCache(r.cacheName),
    ...(r.endpoint ? { endpoint: r.endpoint } : {}),
    ...(r.offline !== undefined ? { offline: r.offline } : {}),
    ...(r.retries !== undefined ? { retries: r.retries } : {}),
    onProgress: (p) => emit({ kind: "download", ...p }),
  });
  return installLoaded(ctx, r.slot, r.ref, loaded);
}

export function useTrained(ctx: WorkerContext): ModelInfo {
  if (ctx.run === null) throw new Error("nothing trained yet: train a model on the Train tab first");
  return install(ctx, "text", "trained here", ctx.run.session.model, ctx.run.tokenizer);
}

export function randomModel(ctx: WorkerContext, slot: ModelSlot, preset: string, seed: number): ModelInfo {
  return install(ctx, slot, `untrained ${preset}`, new PerceiverAR(getPreset(preset).model, ctx.backend, { seed }), null);
}
