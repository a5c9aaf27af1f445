// The native backend for tests, in one place: every test that needs the native addon gets it
// from `nativeForTests()`.
//
// Locally a missing addon is a skip whose reason says why it is missing (the loader's message)
// and how to build it. With env PERCEIVER_AR_REQUIRE_NATIVE=1 (set by .ci/run) a missing addon
// is a FAILURE instead: the helper registers a failing test in the calling file, so CI cannot go
// green with the native tests silently skipped.

import { unavailable } from "./requirement.js";

import type { Backend } from "../../src/backend/backend.js";
import { loadNativeBackend, nativeBackendError } from "../../src/backend/native/index.js";

export interface NativeForTests {
  /** The validated native backend, or null when it is unavailable. */
  native: Backend | null;
  /** `{ skip }` option for tests that need native: false when it is available, else the reason. */
  skip: string | false;
}

export const REQUIRE_NATIVE_ENV = "PERCEIVER_AR_REQUIRE_NATIVE";

export function nativeForTests(): NativeForTests {
  const native = loadNativeBackend();
  if (native !== null) return { native, skip: false };
  const reason = `the native backend is unavailable (${nativeBackendError ?? "unknown reason"}); build it with: node scripts/build-native.mjs`;
  return { native: null, skip: unavailable("native backend", "native", REQUIRE_NATIVE_ENV, reason) };
}
