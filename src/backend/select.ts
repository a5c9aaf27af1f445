// Backend selection: `getBackend()` returns the native backend when its addon loads and the
// reference backend otherwise (printing ONE warning per process with the reason). The choice can
// be forced with the argument, `setDefaultBackend`, or env PERCEIVER_AR_BACKEND=native|reference;
// explicitly asking for native when it cannot load throws. Every backend handed out here is
// behind the boundary's validation (validate.ts), a custom Backend object included.

import type { Backend } from "./backend.js";
import { loadNativeBackend, nativeBackendError, setNativeThreads } from "./native/index.js";
import { referenceBackend } from "./reference/index.js";
import { validated } from "./validate.js";

export type BackendName = "native" | "reference" | "auto";

let defaultChoice: BackendName | Backend | null = null;
let warned = false;

function fromEnv(): BackendName {
  const e = process.env.PERCEIVER_AR_BACKEND;
  if (e === undefined || e === "") return "auto";
  if (e === "native" || e === "reference" || e === "auto") return e;
  throw new RangeError(`PERCEIVER_AR_BACKEND must be native, reference or auto, got ${JSON.stringify(e)}`);
}

/**
 * The backend to use, validated. `name` overrides the default set by `setDefaultBackend`, which
 * overrides env PERCEIVER_AR_BACKEND, which defaults to "auto".
 */
export function getBackend(name?: BackendName): Backend {
  return validated(choose(name ?? defaultChoice ?? fromEnv()));
}

function choose(choice: BackendName | Backend): Backend {
  if (typeof choice === "object") return choice;
  switch (choice) {
    case "reference":
      return referenceBackend;
    case "native": {
      const b = loadNativeBackend();
      if (!b) throw new Error(`native backend requested but unavailable: ${nativeBackendError ?? "unknown reason"}`);
      return b;
    }
    case "auto": {
      const b = loadNativeBackend();
      if (b) return b;
      if (!warned) {
        warned = true;
        process.stderr.write(
          `perceiver-ar: native backend unavailable, falling back to the (slow) reference backend: ${nativeBackendError ?? "unknown reason"}\n`,
        );
      }
      return referenceBackend;
    }
    default:
      throw new RangeError(`unknown backend ${JSON.stringify(choice)}`);
  }
}

/** Sets the process-wide default (a name or a Backend object); null restores env/auto. */
export function setDefaultBackend(choice: BackendName | Backend | null): void {
  if (typeof choice === "string" && choice !== "native" && choice !== "reference" && choice !== "auto") {
    throw new RangeError(`unknown backend ${JSON.stringify(choice)}`);
  }
  if (choice === "native") getBackend("native"); // throw now if it cannot load
  if (typeof choice === "object" && choice !== null) validated(choice); // throw now if a kernel is missing
  defaultChoice = choice;
}

/**
 * Number of threads of the native backend's pool (default: the machine's cores, or env
 * PERCEIVER_AR_THREADS). Returns the value in effect, or 0 when the native backend is unavailable.
 */
export function setThreads(n: number): number {
  return setNativeThreads(n);
}
