#!/usr/bin/env node
// Build checks of the native kernel templates (src/backend/native/csrc), run by
// test/native-gemm.test.ts and usable by hand: `node scripts/check-kernels.mjs [--require]`.
//
//  1. wasm32: kernels_wasm128.cc (the shared templates over the SIMD128 traits) compiles with
//     `clang++ --target=wasm32 -msimd128 -O3 -nostdlib` into an object whose code uses f32x4
//     multiplies and adds and no relaxed-simd instruction; with -DPAR_WASM_RELAXED_MADD
//     -mrelaxed-simd it uses relaxed madd instead (skipped when clang predates that intrinsic).
//  2. clang x86-64: every native kernel table compiles with clang too (node-gyp uses g++ on
//     Linux, clang on macOS).
//  3. The built ISA objects (node-gyp's build/Release/obj.target/par_*): each defines no global
//     symbol but its table getters (no weak inline copies that the linker could pick for baseline
//     code) and has no static constructors (nothing runs before the CPU check).
//
// With --test-module <out.wasm>, also links the wasm32 table with test/wasm-kernels/driver.cc into
// a module for test/wasm-kernels.test.ts (which runs the kernels in Node's WebAssembly engine).
//
// A check whose tool or input is missing is reported as skipped; with --require, as a failure
// (except the relaxed-simd variant, which needs clang >= 16).
// Exit code 0 when nothing failed.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { firstTool, llvmTool, runCollectingStderr as runAsync } from "./toolchain.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const csrc = join(root, "src", "backend", "native", "csrc");
const objRoot = join(root, "src", "backend", "native", "build", "Release", "obj.target");
const requireAll = process.argv.includes("--require");
const testModuleAt = process.argv.indexOf("--test-module");
const testModule = testModuleAt > 0 ? resolve(process.argv[testModuleAt + 1] ?? "") : null;
const testDriver = join(root, "test", "wasm-kernels", "driver.cc");

// The ISA objects and the only global symbols each may define (its table getters).
const isaObjects = [
  { object: join("par_avx2", "csrc", "kernels_avx2.o"), exports: ["par::isa_avx2()"] },
  { object: join("par_avx2", "csrc", "kernels_avx512_emulated.o"), exports: ["par::isa_avx512_emulated()"] },
  { object: join("par_avx512", "csrc", "kernels_avx512.o"), exports: ["par::isa_avx512()"] },
];
// Data the C++ runtime emits in every object with exception tables: not code.
const runtimeSymbols = new Set(["DW.ref.__gxx_personality_v0"]);

const results = [];
// optional: a skip that --require accepts (a compiler feature, not a missing tool).
const report = (name, status, detail, optional = false) => {
  results.push({ name, status, optional });
  process.stdout.write(`${status.padEnd(7)} ${name}${detail ? `: ${detail}` : ""}\n`);
};
const run = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
// The compiles run concurrently (runAsync; one per core is what node-gyp does too).

const clang = llvmTool("clang++");
const objdump = llvmTool("llvm-objdump");
const wasmFlags = ["--target=wasm32", "-msimd128", "-O3", "-nostdlib", "-ffreestanding", "-std=c++17", "-fno-exceptions", "-fno-rtti", `-I${csrc}`, "-c"];

// null when clang++ can build wasm32 objects, else why not.
async function wasmUnavailable(tmp) {
  if (!clang) return "no clang++";
  const probe = join(tmp, "probe.cc");
  writeFileSync(probe, "int probe;\n");
  const r = await runAsync(clang, ["--target=wasm32", "-msimd128", "-c", probe, "-o", join(tmp, "probe.o")]);
  return r.status === 0 ? null : `${clang} cannot target wasm32: ${r.stderr.split("\n")[0]}`;
}

async function wasmCheck(tmp, unavailable) {
  const name = "wasm32 SIMD128 object of kernels_wasm128.cc";
  if (unavailable) return report(name, "skipped", unavailable);
  if (!objdump) return report(name, "skipped", "no llvm-objdump");
  const out = join(tmp, "kernels_wasm128.o");
  const rout = join(tmp, "kernels_wasm128_relaxed.o");
  const relaxedFlags = [...wasmFlags, "-mrelaxed-simd", "-DPAR_WASM_RELAXED_MADD", join(csrc, "kernels_wasm128.cc"), "-o", rout];
  const [cc, rc] = await Promise.all([runAsync(clang, [...wasmFlags, join(csrc, "kernels_wasm128.cc"), "-o", out]), runAsync(clang, relaxedFlags)]);
  if (cc.status !== 0) return report(name, "FAIL", `compile failed:\n${cc.stderr}`);
  const dis = run(objdump, ["-d", out]);
  if (dis.status !== 0) return report(name, "FAIL", `${objdump} failed: ${dis.stderr}`);
  const count = (op) => (dis.stdout.match(new RegExp(`\\b${op.replace(".", "\\.")}\\b`, "g")) ?? []).length;
  const ops = { "f32x4.mul": count("f32x4.mul"), "f32x4.add": count("f32x4.add"), "v128.load": count("v128.load") };
  const relaxed = count("f32x4.relaxed_madd") + count("f32x4.relaxed_fma") + count("f32x4.fma");
  if (Object.values(ops).some((c) => c === 0)) return report(name, "FAIL", `expected SIMD128 code, got ${JSON.stringify(ops)}`);
  if (relaxed !== 0) return report(name, "FAIL", `${relaxed} relaxed-simd instructions without PAR_WASM_RELAXED_MADD`);
  const undef = run(llvmTool("llvm-nm") ?? "llvm-nm", ["-u", out]);
  const imports = undef.status === 0 ? undef.stdout.split("\n").map((l) => l.trim().split(/\s+/).pop()).filter(Boolean) : ["?"];
  report(name, "ok", `${Object.entries(ops).map(([k, v]) => `${v} ${k}`).join(", ")}; imports: ${imports.join(" ") || "none"}`);

  const rname = "wasm32 SIMD128 with -DPAR_WASM_RELAXED_MADD -mrelaxed-simd";
  if (rc.status !== 0) {
    if (/wasm_f32x4_relaxed_madd/.test(rc.stderr)) return report(rname, "skipped", `${clang} has no wasm_f32x4_relaxed_madd (clang >= 16 has)`, true);
    return report(rname, "FAIL", `compile failed:\n${rc.stderr}`);
  }
  const rdis = run(objdump, ["-d", rout]).stdout;
  const madds = (rdis.match(/\bf32x4\.relaxed_madd\b/g) ?? []).length;
  report(rname, madds > 0 ? "ok" : "FAIL", `${madds} f32x4.relaxed_madd`);
}

async function linkTestModule(unavailable) {
  const name = `wasm32 test module ${testModule}`;
  if (unavailable) return report(name, "skipped", unavailable);
  // clang drives wasm-ld; expf stays an import (the test provides it).
  const flags = wasmFlags.filter((f) => f !== "-c");
  const r = await runAsync(clang, [...flags, "-Wl,--no-entry", "-Wl,--allow-undefined", testDriver, join(csrc, "kernels_wasm128.cc"), "-o", testModule]);
  report(name, r.status === 0 ? "ok" : "FAIL", r.status === 0 ? "" : r.stderr);
}

async function clangX86Check(tmp) {
  const tables = [
    ["kernels_scalar.cc", []],
    ["kernels_avx2.cc", ["-mavx2", "-mfma"]],
    ["kernels_avx512_emulated.cc", ["-mavx2", "-mfma"]],
    ["kernels_avx512.cc", ["-mavx512f", "-mavx2", "-mfma"]],
  ];
  if (!clang) return tables.forEach(([file]) => report(`clang x86-64: ${file}`, "skipped", "no clang++"));
  const runs = await Promise.all(
    tables.map(([file, flags]) =>
      runAsync(clang, ["--target=x86_64-linux-gnu", "-std=c++17", "-O1", "-Wall", "-Werror", ...flags, `-I${csrc}`, "-c", join(csrc, file), "-o", join(tmp, `${file}.o`)]),
    ),
  );
  tables.forEach(([file], i) => report(`clang x86-64: ${file}`, runs[i].status === 0 ? "ok" : "FAIL", runs[i].status === 0 ? "" : runs[i].stderr));
}

function isaObjectCheck() {
  const nm = firstTool("nm", "llvm-nm");
  const readelf = firstTool("readelf", "llvm-readelf");
  for (const { object, exports } of isaObjects) {
    const path = join(objRoot, object);
    const name = `ISA object ${object}`;
    if (!existsSync(path)) { report(name, "skipped", `not built (${path})`); continue; }
    if (!nm || !readelf) { report(name, "skipped", "needs nm and readelf"); continue; }
    const syms = run(nm, ["-C", "-g", "--defined-only", path]);
    if (syms.status !== 0) { report(name, "FAIL", syms.stderr); continue; }
    const defined = syms.stdout.split("\n").filter(Boolean).map((l) => l.replace(/^[0-9a-f]*\s+\S\s+/, ""));
    const extra = defined.filter((s) => !exports.includes(s) && !runtimeSymbols.has(s));
    const missing = exports.filter((s) => !defined.includes(s));
    const sections = run(readelf, ["-SW", path]).stdout;
    const ctors = ["init_array", ".ctors"].filter((s) => sections.includes(s));
    const problems = [
      ...(extra.length ? [`global symbols besides the getter: ${extra.join(", ")}`] : []),
      ...(missing.length ? [`missing ${missing.join(", ")}`] : []),
      ...(ctors.length ? [`static constructors (${ctors.join(", ")})`] : []),
    ];
    report(name, problems.length ? "FAIL" : "ok", problems.length ? problems.join("; ") : `exports only ${exports.join(", ")}, no constructors`);
  }
}

const tmp = mkdtempSync(join(tmpdir(), "par-check-kernels-"));
try {
  // Run the compiles together, report in a fixed order.
  const unavailable = await wasmUnavailable(tmp);
  const wasm = wasmCheck(tmp, unavailable);
  const x86 = clangX86Check(tmp);
  const module = testModule ? linkTestModule(unavailable) : null;
  await wasm;
  await x86;
  await module;
  isaObjectCheck();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const failed = results.filter((r) => r.status === "FAIL" || (requireAll && r.status === "skipped" && !r.optional));
const count = (status) => results.filter((r) => r.status === status).length;
process.stdout.write(`${count("ok")} ok, ${count("skipped")} skipped, ${count("FAIL")} failed${failed.length ? `; failing: ${failed.map((r) => r.name).join(", ")}` : ""}\n`);
process.exit(failed.length ? 1 : 0);
