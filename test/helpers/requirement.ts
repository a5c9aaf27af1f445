// What a test file does when an optional part (native addon, wasm module, Chromium) is missing:
// on a developer machine the tests skip with one line saying why; when the part's
// PERCEIVER_AR_REQUIRE_* variable is 1 (set by .ci/run) a failing test is registered instead
// (once per process), so that CI cannot go green without the part.

import { test } from "node:test";

const registered = new Set<string>();

/**
 * Reports `what` ("native backend", "wasm backend", "a browser") as unavailable for `reason`:
 * a failing test under `requireEnv`=1, else a skip line naming `skipping`. Returns `reason` (the skip).
 */
export function unavailable(what: string, skipping: string, requireEnv: string, reason: string): string {
  if (process.env[requireEnv] === "1") {
    if (!registered.has(requireEnv)) {
      registered.add(requireEnv);
      test(`${what} is available (required by ${requireEnv}=1)`, () => {
        throw new Error(`${requireEnv}=1, but ${reason}`);
      });
    }
  } else {
    console.log(`skipping ${skipping} tests: ${reason}`);
  }
  return reason;
}
