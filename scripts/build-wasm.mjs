#!/usr/bin/env node
// Builds the WebAssembly backend's two modules from the shared kernel sources — run by
// `npm run build` (after tsc) and usable by hand: `node scripts/build-wasm.mjs [--force]`.
//
//   dist/src/backend/wasm/perceiver_ar_threads.wasm  SIMD128 + atomics: imports a shared memory;
//                                                    helpers (workers) instantiate it too
//   dist/src/backend/wasm/perceiver_ar_single.wasm   SIMD128 only: imports a non-shared memory
//
// Sources: the kernels of src/backend/native/csrc (the same files as the native addon, with the
// wasm128 kernel table, kernels_wasm128.cc) and the wasm runtime of src/backend/wasm/csrc (heap,
// threads, libm, exports), compiled by clang++ --target=wasm32 -O3 -nostdlib and linked by wasm-ld
// (Debian: clang, lld). The modules are platform-independent and ship in the package (dist/src);
// they are never committed.
//
// Up to date outputs (newer than every source and this script) are kept unless --force. Without
// clang++/wasm-ld it prints why and exits 0 (the package then runs without the wasm backend) —
// except with PERCEIVER_AR_REQUIRE_WASM=1 (CI, see .ci/run), where that is a failure.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { llvmTool, runCollectingStderr as run } from "./toolchain.mjs";

const script = fileURLToPath(import.meta.url);
const root = resolve(dirname(script), "..");
const nativeSrc = join(root, "src", "backend", "native", "csrc");
const wasmSrc = join(root, "src", "backend", "wasm", "csrc");
const outDir = join(root, "dist", "src", "backend", "wasm");
const force = process.argv.includes("--force");
const required = process.env.PERCEIVER_AR_REQUIRE_WASM === "1";

// The kernel sources shared with the native addon (binding.gyp lists the same, plus its own
// thread pool, ISA selection and the x86 tables), then the wasm runtime.
const kernelSources = ["gemm.cc", "gemv.cc", "attention.cc", "layernorm.cc", "elementwise.cc", "gather.cc", "rotary.cc", "crossentropy.cc", "adamw.cc", "kernels_wasm128.cc"].map((f) => join(nativeSrc, f));
const runtimeSources = ["heap.cc", "runtime.cc", "exports.cc"].map((f) => join(wasmSrc, f));
const libmSource = join(wasmSrc, "libm.cc"); // -fno-builtin: its exp/log/erf must not call themselves

// Main thread's C stack (helpers get theirs from the heap: runtime.cc kHelperStackBytes).
const STACK_BYTES = 1 << 20;
// The threaded module's declared maximum memory: all of wasm32 (the memory the loader creates
// may declare less, see src/backend/wasm/memory.ts).
const MAX_MEMORY_BYTES = 4 * 1024 ** 3;

const common = ["--target=wasm32", "-msimd128", "-mbulk-memory", "-O3", "-nostdlib", "-ffreestanding", "-std=c++17", "-fno-exceptions", "-fno-rtti", "-Wall", "-Werror", `-I${nativeSrc}`];
const flavours = [
  {
    file: "perceiver_ar_threads.wasm",
    cflags: [...common, "-matomics", "-mmutable-globals", "-ftls-model=local-exec"],
    ldflags: ["--shared-memory", "--import-memory", `--max-memory=${MAX_MEMORY_BYTES}`, "--export=__stack_pointer"],
  },
  {
    file: "perceiver_ar_single.wasm",
    cflags: common,
    ldflags: ["--import-memory"],
  },
];
const ldCommon = ["--no-entry", "--stack-first", "-z", `stack-size=${STACK_BYTES}`, "--strip-debug"];

function done(reason, ok) {
  if (ok) {
    process.stderr.write(`perceiver-ar: wasm backend built: ${reason}\n`);
    process.exit(0);
  }
  if (required) {
    process.stderr.write(`perceiver-ar: wasm backend build FAILED and PERCEIVER_AR_REQUIRE_WASM=1: ${reason}\n`);
    process.exit(1);
  }
  process.stderr.write(`perceiver-ar: wasm backend not built (the package runs without it): ${reason}\n`);
  process.exit(0);
}

const clang = llvmTool("clang++");
const wasmLd = llvmTool("wasm-ld");
if (!clang) done("no clang++ on PATH (Debian: apt-get install clang lld)", false);
if (!wasmLd) done("no wasm-ld on PATH (Debian: apt-get install lld)", false);

const headers = [nativeSrc, wasmSrc].flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".h")).map((f) => join(d, f)));
const inputs = [...kernelSources, ...runtimeSources, libmSource, ...headers, script];
const newestInput = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
const outputs = flavours.map((f) => join(outDir, f.file));
if (!force && outputs.every((o) => existsSync(o) && statSync(o).mtimeMs > newestInput)) done(`up to date (${outputs.map((o) => basename(o)).join(", ")})`, true);

// The compiles run concurrently, a few at a time.
async function pool(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

const tmp = mkdtempSync(join(tmpdir(), "par-build-wasm-"));
let failure = null;
try {
  mkdirSync(outDir, { recursive: true });
  const jobs = [];
  const objects = flavours.map(() => []);
  flavours.forEach((fl, fi) => {
    for (const src of [...kernelSources, ...runtimeSources, libmSource]) {
      const obj = join(tmp, `${fi}-${basename(src, ".cc")}.o`);
      objects[fi].push(obj);
      const extra = src === libmSource ? ["-fno-builtin"] : [];
      jobs.push(() => run(clang, [...fl.cflags, ...extra, "-c", src, "-o", obj]).then((r) => ({ ...r, what: `${fl.file}: ${basename(src)}` })));
    }
  });
  const compiled = await pool(jobs, 4);
  const failed = compiled.find((r) => r.status !== 0);
  if (failed) failure = `compiling ${failed.what} failed:\n${failed.stderr}`;
  for (const [fi, fl] of flavours.entries()) {
    if (failure) break;
    const out = join(outDir, fl.file);
    const r = await run(wasmLd, [...ldCommon, ...fl.ldflags, ...objects[fi], "-o", out]);
    if (r.status !== 0) failure = `linking ${fl.file} failed:\n${r.stderr}`;
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failure) {
  for (const o of outputs) rmSync(o, { force: true }); // never leave a stale module behind
  done(failure, false);
}
done(outputs.map((o) => `${o} (${Math.round(statSync(o).size / 1024)} KiB)`).join(", "), true);
