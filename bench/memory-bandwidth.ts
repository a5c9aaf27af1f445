// Benchmark: the machine's memory bandwidth (STREAM-style), the roof that generation of a large
// model is held against (bench/generate.ts: bytes of weights read per generated token).
//
// Kernels on arrays far larger than the caches (default 64 Mi floats = 256 MiB each), best of a few
// runs, bytes counted as STREAM counts them (every element read or written once):
// - copy:  dst.set(src)                      1 thread (memcpy)           8 bytes / element
// - add:   out = a + b   (backend.add)       the backend's threads       12 bytes / element
// - axpy:  dst += 0.5 · src (backend.axpy)   the backend's threads       12 bytes / element
// The result of each is checked (sampled elements) before its speed counts.
//
// Usage: node dist/bench/memory-bandwidth.js [mebiFloats]   (default 64)

import { pathToFileURL } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { getBackend } from "../src/backend/select.js";
import { machineDescription, markdownTable } from "./harness.js";
import { ValidationError } from "./validate.js";

export interface BandwidthResult {
  kernel: string;
  /** GB/s (1e9 bytes per second), best run. */
  gbPerSecond: number;
  bytesPerElement: number;
}

/** Runs of each kernel; the best counts (the others absorb page faults and neighbours' noise). */
const RUNS = 5;
/** Elements whose results are checked. */
const CHECKED = 1024;

export function measureMemoryBandwidth(backend: Backend, elements = 64 * 2 ** 20): BandwidthResult[] {
  const a = new Float32Array(elements);
  const b = new Float32Array(elements);
  const out = new Float32Array(elements);
  for (let i = 0; i < elements; i++) {
    a[i] = (i % 1000) * 0.001;
    b[i] = ((i * 7) % 1000) * 0.002;
  }
  const best = (run: () => void, check: () => void): number => {
    run();
    check();
    let t = Infinity;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      run();
      t = Math.min(t, (performance.now() - t0) / 1000);
    }
    return t;
  };
  const sample = (what: string, got: (i: number) => number, want: (i: number) => number): void => {
    for (let s = 0; s < CHECKED; s++) {
      const i = Math.floor((s * elements) / CHECKED);
      if (Math.abs(got(i) - want(i)) > 1e-6) throw new ValidationError(`${what}: element ${i} is ${got(i)}, expected ${want(i)}; refusing to print a speed`);
    }
  };
  const results: BandwidthResult[] = [];
  const copy = best(
    () => out.set(a),
    () => sample("copy", (i) => out[i], (i) => a[i]),
  );
  results.push({ kernel: "copy (TypedArray.set, 1 thread)", gbPerSecond: (8 * elements) / copy / 1e9, bytesPerElement: 8 });
  const add = best(
    () => backend.add(a, b, out, elements),
    () => sample("add", (i) => out[i], (i) => Math.fround(a[i] + b[i])),
  );
  results.push({ kernel: `add (${backend.name} backend)`, gbPerSecond: (12 * elements) / add / 1e9, bytesPerElement: 12 });
  out.fill(0);
  const axpy = best(
    () => backend.axpy(0.5, a, out, elements),
    () => sample("axpy", (i) => out[i], (i) => Math.fround(0.5 * a[i])),
  );
  results.push({ kernel: `axpy (${backend.name} backend)`, gbPerSecond: (12 * elements) / axpy / 1e9, bytesPerElement: 12 });
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const backend = getBackend();
  const mebi = Number(process.argv[2] ?? 64);
  const r = measureMemoryBandwidth(backend, mebi * 2 ** 20);
  console.log(`arrays of ${mebi} Mi floats (${(mebi * 4).toFixed(0)} MiB each); best of ${RUNS}; ${machineDescription()}`);
  console.log(markdownTable(["kernel", "bytes / element", "GB/s"], r.map((x) => [x.kernel, String(x.bytesPerElement), x.gbPerSecond.toFixed(1)])));
}
