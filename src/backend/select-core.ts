// Backend selection, platform-neutral: `getBackend()` returns the fastest registered backend that
// loads and the reference backend otherwise (saying once, through the platform's `warn`, why the
// fast one is missing). The choice can be forced with the argument, `setDefaultBackend`, or the
// platform's setting (Node: env PERCEIVER_AR_BACKEND); asking by name for a backend that cannot
// load throws. Every backend handed out here is behind the boundary's validation (validate.ts), a
// custom Backend object included.
//
// Platforms plug in through `registerBackend` (Node registers "native" in select.ts; the
// WebAssembly backend registers "wasm") and `configureSelection` (where the setting comes from,
// where the warning goes). Nothing here touches `process`, so the browser entry imports this file.

import type { Backend } from "./backend.js";
import { referenceBackend } from "./reference/index.js";
import { validated } from "./validate.js";

/** "auto" = the first registered backend that loads, else "reference". */
export type BackendName = "reference" | "auto" | (string & {});

/** A backend that may be unavailable on this machine (an addon that did not build, no SIMD). */
export interface BackendProvider {
  /** The backend, or null when it cannot load here (then `unavailableReason()` says why). Never throws. */
  load(): Backend | null;
  unavailableReason(): string | null;
}

/** Where the selection's default and its one warning come from on this platform. */
export interface SelectionPlatform {
  /** The platform's configured choice (Node: env PERCEIVER_AR_BACKEND), or undefined/"" for "auto". */
  configuredChoice(): string | undefined;
  /** Where the one fallback warning goes (Node: stderr; browser: console.warn). */
  warn(line: string): void;
}

/** Registered fast backends in the order "auto" tries them. */
const providers = new Map<string, BackendProvider>();
let platform: SelectionPlatform = { configuredChoice: () => undefined, warn: (line) => console.warn(line) };
let defaultChoice: BackendName | Backend | null = null;
let warned = false;

/** Adds a named backend; "auto" tries registered backends in registration order. */
export function registerBackend(name: string, provider: BackendProvider): void {
  if (name === "reference" || name === "auto") throw new RangeError(`backend name ${JSON.stringify(name)} is reserved`);
  providers.set(name, provider);
}

/** Sets where the configured choice and the fallback warning come from (see SelectionPlatform). */
export function configureSelection(p: SelectionPlatform): void {
  platform = p;
}

/** The names `getBackend` accepts here: "auto", "reference" and every registered backend. */
export function backendNames(): string[] {
  return ["auto", "reference", ...providers.keys()];
}

function checkName(name: string, where: string): void {
  if (!backendNames().includes(name)) throw new RangeError(`${where} must be one of ${backendNames().join(", ")}, got ${JSON.stringify(name)}`);
}

function configured(): BackendName {
  const e = platform.configuredChoice();
  if (e === undefined || e === "") return "auto";
  checkName(e, "PERCEIVER_AR_BACKEND");
  return e;
}

/**
 * The backend to use, validated. `name` overrides the default set by `setDefaultBackend`, which
 * overrides the platform's setting (Node: env PERCEIVER_AR_BACKEND), which defaults to "auto".
 */
export function getBackend(name?: BackendName): Backend {
  return validated(choose(name ?? defaultChoice ?? configured()));
}

function choose(choice: BackendName | Backend): Backend {
  if (typeof choice === "object") return choice;
  if (choice === "reference") return referenceBackend;
  if (choice === "auto") {
    const reasons: string[] = [];
    for (const [name, p] of providers) {
      const b = p.load();
      if (b) return b;
      reasons.push(`${name}: ${p.unavailableReason() ?? "unknown reason"}`);
    }
    if (!warned && providers.size > 0) {
      warned = true;
      platform.warn(`perceiver-ar: no fast backend available, falling back to the (slow) reference backend: ${reasons.join("; ")}`);
    }
    return referenceBackend;
  }
  const p = providers.get(choice);
  if (p === undefined) throw new RangeError(`unknown backend ${JSON.stringify(choice)}; available here: ${backendNames().join(", ")}`);
  const b = p.load();
  if (!b) throw new Error(`${choice} backend requested but unavailable: ${p.unavailableReason() ?? "unknown reason"}`);
  return b;
}

/** Sets the process-wide default (a name or a Backend object); null restores the platform setting / auto. */
export function setDefaultBackend(choice: BackendName | Backend | null): void {
  if (typeof choice === "string") {
    checkName(choice, "backend");
    if (choice !== "auto") getBackend(choice); // throw now if it cannot load
  }
  if (typeof choice === "object" && choice !== null) validated(choice); // throw now if a kernel is missing
  defaultChoice = choice;
}
