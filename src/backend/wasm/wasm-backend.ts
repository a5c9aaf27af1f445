// Creating a wasm backend: choose the build (threads over a shared memory where the platform has
// SharedArrayBuffer and workers, else single-threaded), make its memory, instantiate the module
// on the calling thread, start the helpers, and wrap the kernels as a Backend with its storage.
// Platform-neutral: what differs between Node and browsers (reading or fetching the module,
// starting a worker, the core count) comes in a `WasmPlatform` (node.ts, web.ts).
//
// The backend returned here is unvalidated (kernels as they are, plus controls); selection hands
// out `validated()` wrappers of it (select.ts, node.ts, web.ts).

import type { Backend, BackendStorage } from "../backend.js";
import { validated } from "../validate.js";
import { startHelpers, type SpawnHelper } from "./helpers.js";
import { WasmInstance } from "./instance.js";
import { wasmKernels, type StagingStats } from "./kernels.js";
import { createMemory, DEFAULT_SINGLE_MEMORY_BYTES, DEFAULT_THREADS_MEMORY_BYTES } from "./memory.js";
import { arityMismatch, engineUnsupported, exportMismatch, type WasmFlavour } from "./module.js";

/** The most threads a wasm backend runs (csrc/runtime.cc kMaxThreads). */
export const MAX_WASM_THREADS = 64;

/** What a platform provides (node.ts, web.ts). */
export interface WasmPlatform {
  /** The compiled module of a build. */
  compile(flavour: WasmFlavour): Promise<WebAssembly.Module>;
  /** The same, synchronously, where the platform can (Node); undefined elsewhere. */
  compileSync?(flavour: WasmFlavour): WebAssembly.Module;
  /** Starts a helper worker, or null where this context has no workers. */
  spawnHelper: SpawnHelper | null;
  /** Why threads (a shared memory posted to workers) are impossible here, or null. */
  sharedMemoryUnavailable(): string | null;
  /** Threads to use by default (the cores, or a configured count). */
  defaultThreads(): number;
  /** Where the backend's one-line notices go. */
  warn(line: string): void;
}

export interface WasmBackendOptions {
  /** Threads, the calling thread included, in [1, 64]; default the platform's (all cores). */
  threads?: number;
  /** "threads", "single" or "auto" (default: threads where possible, saying once when not). */
  flavour?: WasmFlavour | "auto";
  /** Maximum memory in bytes (threads: what it may grow to, default 4 GiB; single: its size, default 1 GiB). */
  maxMemoryBytes?: number;
  /** A compiled module to use instead of the platform's (its flavour must be the one chosen). */
  module?: WebAssembly.Module;
}

/** State of a wasm backend (for tests, benchmarks and the page). */
export interface WasmBackendInfo {
  flavour: WasmFlavour;
  /** Threads regions may use (the calling thread included). */
  threads: number;
  /** Helpers that have entered their loop (threads - 1 once all started). */
  helpersStarted: number;
  memoryBytes: number;
  maxMemoryBytes: number;
  /** Bytes in heap blocks (tensors, scratch, staging). */
  heapBytes: number;
  /** Bytes copied in for arrays that were not in the module's memory. */
  staging: Readonly<StagingStats>;
  /** Why this is the single build although threads were asked for (null otherwise). */
  singleReason: string | null;
}

/** A wasm backend: the Backend kernels, its storage, and controls. */
export interface WasmBackend extends Backend {
  readonly storage: BackendStorage;
  info(): WasmBackendInfo;
  /** Sets the threads regions use, starting helpers as needed; returns the value in effect. */
  setThreads(n: number): number;
  /** Resolves when every helper asked for so far has started (or after `timeoutMs`). */
  helpersReady(timeoutMs?: number): Promise<boolean>;
  /** Stops the helpers (the backend then runs single-threaded). */
  stopHelpers(): void;
}

interface Plan {
  flavour: WasmFlavour;
  threads: number;
  maxBytes: number;
  singleReason: string | null;
}

function plan(platform: WasmPlatform, options: WasmBackendOptions): Plan {
  const unsupported = engineUnsupported();
  if (unsupported !== null) throw new Error(unsupported);
  const threads = options.threads ?? platform.defaultThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) throw new RangeError(`threads must be an integer in [1, ${MAX_WASM_THREADS}], got ${threads}`);
  const choice = options.flavour ?? "auto";
  if (choice !== "auto" && choice !== "threads" && choice !== "single") throw new RangeError(`flavour must be threads, single or auto, got ${JSON.stringify(choice)}`);
  const noShared = platform.sharedMemoryUnavailable() ?? (platform.spawnHelper === null ? "no workers in this context" : null);
  if (choice === "threads" && noShared !== null) throw new Error(`the threaded wasm backend is unavailable: ${noShared}`);
  const flavour: WasmFlavour = choice === "single" || noShared !== null ? "single" : "threads";
  const maxBytes = options.maxMemoryBytes ?? (flavour === "threads" ? DEFAULT_THREADS_MEMORY_BYTES : DEFAULT_SINGLE_MEMORY_BYTES);
  return { flavour, threads: flavour === "single" ? 1 : threads, maxBytes, singleReason: choice === "auto" && flavour === "single" ? noShared : null };
}

function checkModule(module: WebAssembly.Module, flavour: WasmFlavour): void {
  const bad = exportMismatch(module, flavour);
  if (bad !== null) throw new Error(`the ${flavour} wasm module does not match this version of the package (${bad}); rebuild with node scripts/build-wasm.mjs`);
}

function assemble(platform: WasmPlatform, p: Plan, module: WebAssembly.Module, memory: { memory: WebAssembly.Memory; maxBytes: number }, instance: WebAssembly.Instance): WasmBackend {
  const inst = new WasmInstance(p.flavour, module, memory.memory, instance, memory.maxBytes);
  const bad = arityMismatch(inst.exports, p.flavour);
  if (bad !== null) throw new Error(`the ${p.flavour} wasm module does not match this version of the package (${bad}); rebuild with node scripts/build-wasm.mjs`);
  const { kernels, stats } = wasmKernels(inst);
  let stops: Array<() => void> = [];
  let helperFailure: string | null = null;
  const onError = (message: string) => {
    if (helperFailure === null) platform.warn(`perceiver-ar: a wasm helper thread failed to start (${message}); its work runs on the other threads`);
    helperFailure = message;
  };
  const setThreads = (n: number): number => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be an integer >= 1, got ${n}`);
    const want = p.flavour === "threads" ? Math.min(n, MAX_WASM_THREADS) : 1;
    const missing = want - 1 - stops.length;
    if (missing > 0 && platform.spawnHelper !== null) stops = stops.concat(inst.call(() => startHelpers(inst.exports, module, memory.memory, missing, platform.spawnHelper as SpawnHelper, onError)));
    return inst.exports.par_set_threads(want);
  };
  const started = () => (inst.exports.par_helpers_started ? inst.exports.par_helpers_started() : 0);
  const backend: WasmBackend = {
    name: "wasm",
    ...kernels,
    storage: inst.storage,
    info: () => ({
      flavour: p.flavour,
      threads: inst.exports.par_threads(),
      helpersStarted: started(),
      memoryBytes: inst.exports.par_memory_bytes(),
      maxMemoryBytes: memory.maxBytes,
      heapBytes: inst.heapBytes(),
      staging: { ...stats },
      singleReason: p.singleReason,
    }),
    setThreads,
    helpersReady: async (timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      while (started() < stops.length && helperFailure === null && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      return started() >= stops.length;
    },
    stopHelpers: () => {
      inst.exports.par_set_threads(1);
      for (const stop of stops) stop();
      stops = [];
    },
  };
  setThreads(p.threads);
  return backend;
}

/** Creates a wasm backend synchronously (platforms with `compileSync`: Node). Throws when it cannot. */
export function createWasmBackendSync(platform: WasmPlatform, options: WasmBackendOptions = {}): WasmBackend {
  const p = plan(platform, options);
  if (options.module === undefined && platform.compileSync === undefined) throw new Error("this platform compiles WebAssembly asynchronously only: use the async initialisation");
  const module = options.module ?? (platform.compileSync as (f: WasmFlavour) => WebAssembly.Module)(p.flavour);
  checkModule(module, p.flavour);
  const memory = createMemory(p.flavour, p.maxBytes);
  const instance = new WebAssembly.Instance(module, { env: { memory: memory.memory } });
  return assemble(platform, p, module, memory, instance);
}

/** Creates a wasm backend, compiling and instantiating asynchronously; waits for its helpers. */
export async function createWasmBackend(platform: WasmPlatform, options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const p = plan(platform, options);
  const module = options.module ?? (await platform.compile(p.flavour));
  checkModule(module, p.flavour);
  const memory = createMemory(p.flavour, p.maxBytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory: memory.memory } });
  const backend = assemble(platform, p, module, memory, instance);
  await backend.helpersReady();
  return backend;
}

/**
 * The process-wide (or page-wide) wasm backend of one platform, made once: `load()` synchronously
 * where the platform compiles synchronously (Node), `init()` asynchronously anywhere. Either
 * returns the validated backend, or null with the reason in `error`; the single-threaded
 * fallback is said once, through the platform's `warn`.
 */
export class WasmBackendSlot {
  private made: WasmBackend | null = null;
  private validatedBackend: Backend | null = null;
  private pending: Promise<Backend | null> | null = null;
  /** Why the backend could not be made (null when it was, or was never tried). */
  error: string | null = null;

  constructor(private readonly platform: WasmPlatform) {}

  /** The backend made so far (unvalidated, with its controls), or null. */
  get backend(): WasmBackend | null {
    return this.made;
  }

  load(options: WasmBackendOptions = {}): Backend | null {
    if (this.made === null && this.error === null) {
      if (this.platform.compileSync === undefined) return null; // only init() can make it here
      this.settle(() => createWasmBackendSync(this.platform, options));
    }
    return this.validatedBackend;
  }

  init(options: WasmBackendOptions = {}): Promise<Backend | null> {
    if (this.made !== null || this.error !== null) return Promise.resolve(this.validatedBackend);
    this.pending ??= createWasmBackend(this.platform, options).then(
      (b) => this.settle(() => b),
      (e: unknown) => this.settle(() => { throw e; }),
    );
    return this.pending;
  }

  private settle(make: () => WasmBackend): Backend | null {
    try {
      this.made = make();
      this.validatedBackend = validated(this.made);
      const reason = this.made.info().singleReason;
      if (reason !== null) this.platform.warn(`perceiver-ar: the wasm backend runs single-threaded: ${reason}`);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    return this.validatedBackend;
  }
}
