// The fastest backend a browser offers, obtained asynchronously (a WebAssembly module compiles
// asynchronously; a GPU adapter is requested asynchronously).
//
// Today this is the validated reference backend. The WebAssembly backend plugs in at the marked
// line: its async initialisation registers "wasm" with `registerBackend` (select-core.ts), and the
// "auto" choice below then picks it first. Callers (the page's worker, the browser tests, the
// benchmark) only ever call `loadBestBackend()` and use `backend.name` to say what they got.

import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/select-core.js";

let best: Promise<Backend> | undefined;

/** The best backend available here (validated), initialised once; later calls return the same one. */
export function loadBestBackend(): Promise<Backend> {
  best ??= (async () => {
    // WASM PLUGS IN HERE: `await initWasmBackend();` (src/backend/wasm/), registering "wasm".
    return getBackend("auto");
  })();
  return best;
}
