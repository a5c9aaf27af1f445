// The native thread pool's counters (csrc/threadpool.h, read by bench/step-profile.ts): every
// region of a multi-threaded kernel call is counted once, and each of its worker tasks exactly once,
// either as begun by a worker or as taken by the calling thread; single-threaded calls publish no
// region.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, loadNativeAddon, setNativeThreads } from "../src/backend/native/index.js";
import { randn } from "./helpers/gradcheck.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();
/** Calls per check: enough that some find their worker spinning and some do not. */
const CALLS = 40;

describe("native thread pool counters", { skip }, () => {
  const B = native as Backend;
  let threads = 0;
  before(() => (threads = getNativeThreads()));
  after(() => setNativeThreads(threads));

  // 384 × 256 × 256: above the GEMM's parallel threshold, one region of num_threads() tasks per call.
  const [m, n, k] = [384, 256, 256];
  const a = randn(m * k, 1), b = randn(k * n, 2), c = new Float32Array(m * n);
  const delta = (run: () => void) => {
    const addon = loadNativeAddon()!;
    const before = addon.poolCounters();
    run();
    const after = addon.poolCounters();
    return {
      regions: after.regions - before.regions,
      workerTasks: after.helperTasks - before.helperTasks + after.callerTakenTasks - before.callerTakenTasks,
      parked: after.helpersParkedAtPublish - before.helpersParkedAtPublish,
    };
  };

  for (const t of [2, 3]) {
    it(`at ${t} threads: one region per GEMM call, its ${t - 1} worker task(s) each counted once`, () => {
      setNativeThreads(t);
      const d = delta(() => {
        for (let i = 0; i < CALLS; i++) B.matmul(a, b, c, m, n, k, false, true, false);
      });
      assert.equal(d.regions, CALLS);
      assert.equal(d.workerTasks, CALLS * (t - 1));
      assert.ok(d.parked >= 0 && d.parked <= CALLS * (t - 1), `parked workers ${d.parked} out of range`);
    });
  }

  it("at 1 thread: no region is published", () => {
    setNativeThreads(1);
    const d = delta(() => B.matmul(a, b, c, m, n, k, false, true, false));
    assert.deepEqual(d, { regions: 0, workerTasks: 0, parked: 0 });
  });
});
