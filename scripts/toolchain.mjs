// Finding and running the LLVM tools the build scripts use (build-wasm.mjs, check-kernels.mjs):
// one search order for clang++, wasm-ld, llvm-objdump, llvm-nm, and one way to run a compile
// concurrently and keep its stderr.

import { spawn, spawnSync } from "node:child_process";

/** Debian installs the default LLVM unsuffixed and others as <tool>-<major>: newest first. */
const LLVM_SUFFIXES = ["", "-19", "-18", "-17", "-16", "-15", "-14"];

/** Whether `cmd --version` runs. */
export const hasTool = (cmd) => spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;

/** The first of `names` on PATH, or null. */
export const firstTool = (...names) => names.find(hasTool) ?? null;

/** An LLVM tool (`clang++`, `wasm-ld`, `llvm-objdump`, ...): unsuffixed, else the newest versioned one; null if none. */
export const llvmTool = (base) => firstTool(...LLVM_SUFFIXES.map((s) => base + s));

/** Runs `cmd args` without a shell, stdout ignored; resolves to { status, stderr } (status -1 if it could not start). */
export const runCollectingStderr = (cmd, args) =>
  new Promise((finish) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", (e) => finish({ status: -1, stderr: String(e) }));
    p.on("close", (status) => finish({ status, stderr }));
  });
