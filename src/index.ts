// Public API of the perceiver-ar package in Node (the package's "node" export): the shared,
// platform-neutral API (index.shared.ts) plus what needs Node: the native backend, files and
// folders on disk, the hub's disk cache, corpora and data sets on disk (the tasks that load them)
// and the Trainer with its run folders.
// Browsers and bundlers get index.browser.ts instead.

export * from "./index.shared.js";
export { getBackend, setThreads } from "./backend/select.js";
export { initWasmBackend, wasmBackendInfo, type WasmBackendInfo, type WasmBackendOptions } from "./backend/wasm/node.js";
export { loadModel, loadPretrained, saveModel } from "./io/checkpoint.js";
export { fromPretrained, resolveModelFolder, type ResolveOptions } from "./hub/from-pretrained.js";
export { DiskHubCache, defaultCacheDir } from "./hub/disk-cache.js";
export { openFolderWeights, openWeightFile } from "./io/weights.js";
export { readSafetensorsFile, writeSafetensorsFile } from "./io/safetensors.js";
export { openFileReader } from "./io/file-reader.js";
export { HfTokenizer } from "./data/hf-tokenizer.js";
export { loadTextCorpus } from "./data/text-corpus.js";
export { Trainer } from "./train/trainer.js";
export { modelFolderOf, RunFolderError } from "./train/run-folder.js";
export { RunLockedError } from "./train/run-lock.js";
export { pipeline, modelTokenizer, PIPELINE_TASKS, type PipelineOptions, type PipelineTask } from "./pipeline/pipeline.js";
export { makeTask } from "./tasks/index.js";
export { TextTask } from "./tasks/text-task.js";
export { ImageTask } from "./tasks/image-task.js";
export { MusicTask } from "./tasks/music-task.js";
