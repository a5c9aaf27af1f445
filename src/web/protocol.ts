// Messages between the page (main thread: renders only) and its compute worker (everything
// else). Every request carries an `id`; the worker answers it with one `reply` (or `failed`) and
// may send `event`s meanwhile (progress, tokens). Types only: nothing here runs.

export type TrainPreset = "tiny" | "text-small";

export interface TrainRequest {
  kind: "train";
  text: string;
  preset: TrainPreset;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface SamplingSettings {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  /** Latent cap at generation time, in [1, max_latents]; 0 = the model's max_latents. */
  maxLatents: number;
  seed: number;
}

export type ModelSlot = "text" | "music" | "image";

export type Request =
  | { kind: "hello" }
  | TrainRequest
  /** Continue the stopped or finished run for `steps` more steps. */
  | { kind: "continue"; steps: number }
  | { kind: "stop" }
  | { kind: "save" }
  | { kind: "load-files"; slot: ModelSlot; files: File[] }
  | { kind: "load-url"; slot: ModelSlot; url: string }
  /**
   * A model from the hub by id ("org/name[@revision]") or hub URL, through the browser's Cache API
   * (fromPretrained). `endpoint` (default huggingface.co; a URL's own origin) and `cacheName`
   * (default "perceiver-ar-hub"); `offline`: the cache only; `retries`: attempts after a broken
   * connection (default 3).
   */
  | { kind: "load-hub"; slot: ModelSlot; ref: string; endpoint?: string; cacheName?: string; offline?: boolean; retries?: number }
  | { kind: "use-trained" }
  /** An untrained model of a preset (to try the pipeline without a checkpoint). */
  | { kind: "random-model"; slot: ModelSlot; preset: string; seed: number }
  | ({ kind: "generate"; prompt: string } & SamplingSettings)
  | ({ kind: "music"; primer: Uint8Array | null } & SamplingSettings)
  | ({ kind: "image"; complete: number[] | null } & SamplingSettings)
  /** Logits (1, M, V) of a tab's model on `ids` (tests compare them with Node's). */
  | { kind: "slot-logits"; slot: ModelSlot; ids: number[] }
  /** The keys of a Cache API cache (tests look at what the hub cache holds). */
  | { kind: "cache-keys"; cacheName: string }
  // Compute services for the browser tests and the benchmark (no UI):
  | { kind: "forward-backward"; url: string; ids: number[]; shape: [number, number]; labels: number[]; padMask: number[]; prefixLen: number }
  | { kind: "init-logits"; config: Record<string, unknown>; seed: number; ids: number[]; shape: [number, number] }
  | { kind: "state-dict" }
  | { kind: "time-steps"; preset: string; batchSize: number; steps: number; seed: number };

export interface ModelInfo {
  slot: ModelSlot;
  source: string;
  parameters: number;
  maxLatents: number;
  maxSeqLen: number;
  vocabSize: number;
  tokenizer: string;
}

export type WorkerEvent =
  | { kind: "train-step"; step: number; maxSteps: number; loss: number; lr: number; tokensPerSec: number; etaSeconds: number }
  /** `metric`: the task's headline figure (`metricName`, e.g. bits/byte). */
  | { kind: "validation"; step: number; loss: number; accuracy: number; metric: number; metricName: string }
  | { kind: "train-end"; step: number; reason: "done" | "stopped" }
  | { kind: "model"; info: ModelInfo }
  | { kind: "text"; piece: string; tokens: number; tokensPerSec: number; firstTokenMs: number }
  | { kind: "pixels"; tokens: number[]; done: number }
  /** Download progress of a hub file (bytes of this file so far, of `total` when known). */
  | { kind: "download"; file: string; loaded: number; total: number | null; done: boolean };

export type FromWorker = { id: number; kind: "reply"; value: unknown } | { id: number; kind: "failed"; message: string } | { id: -1; kind: "event"; event: WorkerEvent };
