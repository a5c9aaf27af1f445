// The part of the public API that is the same on every platform: pure computation (engine,
// backends' boundary, models, generation, tokenizers, codecs, checkpoint formats, the training
// step and loop, the tasks over data in memory, the hub's download logic). Imports nothing of Node (no file system, processes or addon): index.ts (Node) and
// index.browser.ts (browsers, bundlers) each re-export it with their platform's additions.

export { Tensor } from "./tensor.js";
export { Graph, Var } from "./autograd.js";
export type { Backend, BackendStorage, AttentionShape, AdamWStep } from "./backend/backend.js";
export { referenceBackend } from "./backend/reference/index.js";
export { setDefaultBackend, registerBackend, backendNames, type BackendName, type BackendProvider } from "./backend/select-core.js";
export { PerceiverAR, type ForwardOptions, type TokenBatch, type IntBatch, type LossResult } from "./models/perceiver-ar.js";
export { makeConfig, toReferenceConfig, validateConfig, DEFAULT_CONFIG, ConfigError, type PerceiverARConfig } from "./models/config.js";
export { PRESETS, getPreset } from "./models/presets.js";
export { countParameters, estimateTrainingMemory, estimateGenerationMemory, assertModelFits } from "./models/memory.js";
export { loadModelFiles, modelFolderContents, stateDict, loadStateDict, type LoadedModel, type LoadOptions, type SaveOptions, type ModelFolderContents } from "./io/model-folder.js";
export { memoryModelFiles, type ModelFiles } from "./io/model-files.js";
export { CheckpointError } from "./io/errors.js";
export type { HubCache, BlobWriter, ExpectedFile } from "./hub/hub-cache.js";
export { HubError, parseModelRef } from "./hub/model-ref.js";
export type { DownloadProgress, HubOptions } from "./hub/download.js";
export { downloadModelFiles, HUB_WEIGHT_FILES, type DownloadedModel, type ModelDownloadOptions } from "./hub/model-download.js";
export { parseConfigJson, hubConfigJson } from "./models/config-file.js";
export { readTorchIndex, readTorchTensor } from "./io/torch-bin.js";
export { parseSafetensors, serializeSafetensors, readSafetensorsIndex, SafetensorsError } from "./io/safetensors-format.js";
export { bytesReader, type ByteReader } from "./io/byte-reader.js";
export { ByteTokenizer } from "./data/byte-tokenizer.js";
export type { Tokenizer } from "./data/tokenizer.js";
export { createStreamingDecoder } from "./data/tokenizer.js";
export { imageToTokens, tokensToImage, createImage, IMAGE_BOS, IMAGE_EOS, IMAGE_VOCAB_SIZE, type Image } from "./data/image-tokens.js";
export { eventsToMidi, midiToEvents, eventsToNotes, notesToEvents, MIDI_VOCAB_SIZE, type Note } from "./data/midi-codec.js";
export { WindowSampler, fixedWindows } from "./data/windows.js";
export { corpusFromText, decodeText, fileDocuments, splitByDocument, tokenizeDocuments, type TextCorpus, type CorpusSplit } from "./data/text-documents.js";
export { planTextSplit, applyTextSplit, type TextSplit } from "./data/text-split.js";
export { DataError } from "./data/data-error.js";
export { TextTaskCore } from "./tasks/text-task-core.js";
export { ImageTaskCore, imageShapeOfModel, imageSequence, imageBitsPerDim, type ImageShape, type ImageSplits, type ImageGeneration } from "./tasks/image-task-core.js";
export { MusicTaskCore, type MusicGeneration } from "./tasks/music-task-core.js";
export { CopyTask } from "./tasks/copy-task.js";
export type { MidiSequence } from "./data/music-datasets.js";
export type { Task, TaskSpec, TaskName, TaskEvalOptions, TaskEvaluation, SampleRequest, SampleResult } from "./tasks/task.js";
export { Rng } from "./util/rng.js";
export * from "./generate/index.js";
export { textGenerationPipeline, DEFAULT_MAX_NEW_TOKENS, type FinishReason, type TextGenerationOptions, type TextGenerationPipeline, type TextGenerationResult, type TextPiece } from "./pipeline/text-generation.js";
export { TextStreamer } from "./pipeline/text-streamer.js";
export type { BatchSource, TrainBatch, ValidationSet } from "./train/batch-source.js";
export { samplerBatchSource } from "./train/batch-source.js";
export { TrainingLoop, type LoopOptions, type LoopHooks, type LoopState, type RunSummary, type StepResult } from "./train/training-loop.js";
export { resolveTrainerOptions, RESUME_OVERRIDES, type TrainerOptions, type TrainerOptionsInput, type ResumeOverrides } from "./train/trainer-options.js";
export { TRAINING_DEFAULTS } from "./train/defaults.js";
export { AdamW } from "./train/adamw.js";
export { learningRate, cosineSchedule } from "./train/schedule.js";
export { clipGradNorm, NonFiniteError } from "./train/grad-clip.js";
export { evaluate, type EvalResult } from "./train/evaluate.js";
export { TransformerXL } from "./models/transformer-xl.js";
