// Backend selection in Node: select-core.ts with the native addon registered as the fast backend
// and the choice read from env PERCEIVER_AR_BACKEND=native|reference|auto; the one fallback
// warning goes to stderr. `getBackend()` returns native when its addon loads and the reference
// backend otherwise; explicitly asking for native when it cannot load throws.

import { loadNativeBackend, nativeBackendError, setNativeThreads } from "./native/index.js";
import { configureSelection, registerBackend } from "./select-core.js";

export { getBackend, setDefaultBackend, backendNames, registerBackend, type BackendName, type BackendProvider } from "./select-core.js";

registerBackend("native", { load: loadNativeBackend, unavailableReason: () => nativeBackendError });
configureSelection({
  configuredChoice: () => process.env.PERCEIVER_AR_BACKEND,
  warn: (line) => void process.stderr.write(line + "\n"),
});

/**
 * Number of threads of the native backend's pool (default: the machine's cores, or env
 * PERCEIVER_AR_THREADS). Returns the value in effect, or 0 when the native backend is unavailable.
 */
export function setThreads(n: number): number {
  return setNativeThreads(n);
}
