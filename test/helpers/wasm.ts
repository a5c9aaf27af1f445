// The wasm backend for tests, in one place (as helpers/native.ts for the addon): the process's
// backend (threaded build, through the same loader as getBackend("wasm")) and, for tests of the
// single-threaded build, a separate instance of it.
//
// Locally a missing module is a skip whose reason says why and how to build it. With env
// PERCEIVER_AR_REQUIRE_WASM=1 (set by .ci/run) it is a FAILURE instead: the helper registers a
// failing test in the calling file, so CI cannot go green with the wasm tests silently skipped.

import { unavailable } from "./requirement.js";

import type { Backend } from "../../src/backend/backend.js";
import { validated } from "../../src/backend/validate.js";
import { loadWasmBackend, nodeWasmPlatform, wasmBackendControls, wasmBackendError } from "../../src/backend/wasm/node.js";
import { createWasmBackendSync, type WasmBackend } from "../../src/backend/wasm/wasm-backend.js";

export const REQUIRE_WASM_ENV = "PERCEIVER_AR_REQUIRE_WASM";

/** A wasm backend configuration a test runs on. */
export interface WasmCase {
  /** "threads×2", "threads×1", "single". */
  label: string;
  /** The validated backend. */
  backend: Backend;
  /** Its controls (info, setThreads). */
  controls: WasmBackend;
  /** Puts the configuration's thread count in effect (the threaded cases share one instance). */
  enter(): void;
}

let single: WasmBackend | null = null;

/** The process's wasm backend and its controls, or the skip reason. */
export function wasmForTests(): { wasm: Backend | null; controls: WasmBackend | null; skip: string | false } {
  const wasm = loadWasmBackend();
  if (wasm !== null) return { wasm, controls: wasmBackendControls(), skip: false };
  const reason = `the wasm backend is unavailable (${wasmBackendError() ?? "unknown reason"}); build it with: node scripts/build-wasm.mjs (needs clang and lld)`;
  return { wasm: null, controls: null, skip: unavailable("wasm backend", "wasm", REQUIRE_WASM_ENV, reason) };
}

/** The single-threaded build, one instance per process (256 MiB: enough for the tests' models). */
export function singleWasmBackend(): WasmBackend {
  single ??= createWasmBackendSync(nodeWasmPlatform, { flavour: "single", maxMemoryBytes: 256 * 2 ** 20 });
  return single;
}

/** The configurations every wasm model test runs on: the threaded build at 2 and 1 threads, and the single build. */
export function wasmCases(): WasmCase[] {
  const { wasm, controls } = wasmForTests();
  if (wasm === null || controls === null) return [];
  const s = singleWasmBackend();
  return [
    { label: "threads×2", backend: wasm, controls, enter: () => void controls.setThreads(2) },
    { label: "threads×1", backend: wasm, controls, enter: () => void controls.setThreads(1) },
    { label: "single", backend: validated(s), controls: s, enter: () => undefined },
  ];
}
