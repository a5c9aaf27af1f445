// Public API of the perceiver-ar package.

export { Tensor } from "./tensor.js";
export { Graph, Var } from "./autograd.js";
export type { Backend, AttentionShape, AdamWStep } from "./backend/backend.js";
export { referenceBackend } from "./backend/reference/index.js";
export { PerceiverAR, type ForwardOptions, type TokenBatch, type IntBatch, type LossResult } from "./models/perceiver-ar.js";
export { makeConfig, toReferenceConfig, validateConfig, DEFAULT_CONFIG, ConfigError, type PerceiverARConfig } from "./models/config.js";
export { PRESETS, getPreset } from "./models/presets.js";
export { countParameters, estimateTrainingMemory, estimateGenerationMemory } from "./models/memory.js";
export { loadModel, saveModel, stateDict, loadStateDict, CheckpointError } from "./io/checkpoint.js";
export { parseSafetensors, serializeSafetensors, readSafetensorsFile, writeSafetensorsFile, SafetensorsError } from "./io/safetensors.js";
export { ByteTokenizer } from "./data/byte-tokenizer.js";
export { HfTokenizer } from "./data/hf-tokenizer.js";
export type { Tokenizer } from "./data/tokenizer.js";
export { loadTextCorpus, splitByDocument, tokenizeDocuments } from "./data/text-corpus.js";
export { Rng } from "./util/rng.js";
export { getBackend, setDefaultBackend, setThreads, type BackendName } from "./backend/select.js";
export * from "./generate/index.js";
export { Trainer, type TrainerOptions, type TrainerOptionsInput, type StepResult } from "./train/trainer.js";
export type { BatchSource, ValidationSet } from "./train/batch-source.js";
export { TRAINING_DEFAULTS } from "./train/defaults.js";
export { AdamW } from "./train/adamw.js";
export { evaluate, type EvalResult } from "./train/evaluate.js";
export { makeTask } from "./tasks/index.js";
export type { Task, TaskSpec, TaskName, TaskEvalOptions, TaskEvaluation, SampleRequest, SampleResult } from "./tasks/task.js";
export { TransformerXL } from "./models/transformer-xl.js";
