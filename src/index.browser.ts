// Public API of the perceiver-ar package in browsers and bundlers (the package's "browser" and
// "default" exports): the shared, platform-neutral API (index.shared.ts) plus model folders from
// files, bytes and URLs saved to Blobs, fromPretrained over the Cache API, the training session
// (the shared training loop with its state in memory), and the best backend obtained
// asynchronously. Imports
// nothing of Node: no file system, processes or native addon (those are index.ts's).

export * from "./index.shared.js";
export { getBackend } from "./backend/select-core.js";
export { loadBestBackend } from "./browser/best-backend.js";
export { wasmBackendInfo, type WasmBackendInfo } from "./backend/wasm/web.js";
export { loadModelFromFiles, loadModelFromUrl, loadModelFromBytes, saveModelToBlobs, BROWSER_MEMORY_BUDGET, type BrowserLoadedModel, type FileData, type ModelFileInput, type UrlLoadOptions } from "./browser/model-io.js";
export { fromPretrained, type BrowserPretrainedOptions } from "./browser/from-pretrained.js";
export { BrowserHubCache, DEFAULT_HUB_CACHE_NAME } from "./hub/browser-cache.js";
export { HfTokenizer } from "./data/hf-tokenizer-core.js";
export { TrainingSession, type SessionOptions, type SessionStep } from "./browser/training-session.js";
