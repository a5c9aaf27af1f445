// What the page's compute worker holds between requests: the backend, the training run and the
// model of each tab, and the channel back to the page.

import type { Backend, PerceiverAR, TextTaskCore, Tokenizer, TrainingSession } from "../../index.browser.js";
import type { FromWorker, ModelInfo, ModelSlot, WorkerEvent } from "../protocol.js";

export interface LoadedSlot {
  model: PerceiverAR;
  tokenizer: Tokenizer | null;
  info: ModelInfo;
}

export interface TrainingRun {
  session: TrainingSession;
  /** The text task the run trains and validates on (its split, windows and metric). */
  task: TextTaskCore;
  tokenizer: Tokenizer;
  /** Aborted by a "stop" request; a new one for every call of the run (train, continue). */
  stop: AbortController;
  running: boolean;
}

export interface WorkerContext {
  backend: Backend;
  run: TrainingRun | null;
  models: Partial<Record<ModelSlot, LoadedSlot>>;
  /** Set by a "stop" request; generation loops check it between tokens. */
  stopGeneration: boolean;
}

/** Sends an event to the page. */
export function emit(event: WorkerEvent): void {
  (self as unknown as { postMessage(m: FromWorker): void }).postMessage({ id: -1, kind: "event", event });
}

/** Lets queued messages (a stop request) in: a macrotask turn without the 4 ms clamp of nested timers (set-immediate.ts). */
export function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => (globalThis as unknown as { setImmediate(f: () => void): void }).setImmediate(resolve));
}

/** Describes a loaded model for the page. */
export function describeModel(slot: ModelSlot, source: string, model: PerceiverAR, tokenizer: Tokenizer | null): ModelInfo {
  const c = model.config;
  return { slot, source, parameters: model.numParameters, maxLatents: c.maxLatents, maxSeqLen: c.maxSeqLen, vocabSize: c.vocabSize, tokenizer: tokenizer?.kind ?? "none" };
}
