// The kernel templates compiled for wasm32 SIMD128 (kernels_wasm128.cc, VecWasm128 traits) and run
// in Node's WebAssembly engine through a test driver (test/wasm-kernels/driver.cc), plus the build
// checks of scripts/check-kernels.mjs (wasm32 object, clang x86-64, the native ISA objects'
// exports). The GEMM runs the same edge cases as the native tables (helpers/gemm-cases.ts); the
// row kernels are checked against their contracts in isa.h, written out here in float64. (The
// fused attention of the same table is tested through the wasm backend: wasm-attention.test.ts.)
// Skips with a reason when clang++ cannot target wasm32.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { Rng } from "../src/util/rng.js";
import { checkCase, checkEmptyK, checkNonFiniteConfined, edgeCaseGroups, type Matmul, prepareCase } from "./helpers/gemm-cases.js";

const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "scripts", "check-kernels.mjs");
const dir = mkdtempSync(join(tmpdir(), "par-wasm-kernels-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const modulePath = join(dir, "kernels.wasm");
const checks = spawnSync(process.execPath, [script, "--test-module", modulePath], { encoding: "utf8" });
const moduleLine = checks.stdout.split("\n").find((l) => l.includes("wasm32 test module")) ?? "";
const notBuilt = moduleLine.startsWith("ok") ? null : `wasm32 kernels not built: ${moduleLine || checks.stderr}`;
// In CI (PERCEIVER_AR_REQUIRE_WASM=1, set by .ci/run) a kernel table that cannot be built is a failure, not a skip.
if (notBuilt !== null && process.env.PERCEIVER_AR_REQUIRE_WASM === "1") {
  it("wasm32 kernel table builds (PERCEIVER_AR_REQUIRE_WASM=1)", () => assert.fail(notBuilt));
}
const skip = notBuilt ?? false;

interface Exports {
  memory: WebAssembly.Memory;
  alloc(floats: number): number;
  reset(): void;
  gemm(tA: number, tB: number, m: number, n: number, k: number, a: number, b: number, c: number, acc: number): void;
  vmax(x: number, n: number): number;
  sum_exp(x: number, n: number, sub: number): number;
  axpy_exp(x: number, n: number, sub: number, scale: number, dst: number): void;
}

/** The driver's exports with arrays copied in and out of its memory. */
class WasmKernels {
  readonly x: Exports;
  constructor(bytes: BufferSource) {
    const expf = (v: number) => Math.fround(Math.exp(v));
    const logf = (v: number) => Math.fround(Math.log(v));
    this.x = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { expf, logf } }).exports as unknown as Exports;
  }
  /** Copies `a` into fresh memory; returns its address (0 for null). */
  put(a: Float32Array | Int32Array | null, floats = a?.length ?? 0): number {
    if (a === null) return 0;
    const at = this.x.alloc(Math.max(floats, 1));
    assert.ok(at !== 0, "wasm alloc");
    new (a instanceof Int32Array ? Int32Array : Float32Array)(this.x.memory.buffer, at, a.length).set(a);
    return at;
  }
  get(at: number, out: Float32Array): void {
    out.set(new Float32Array(this.x.memory.buffer, at, out.length));
  }
  readonly matmul: Matmul = (a, b, c, m, n, k, tA, tB, acc) => {
    this.x.reset();
    const pa = this.put(a), pb = this.put(b);
    const guard = 64; // as gemm-cases' guard zones, here in wasm memory
    const pc = this.put(new Float32Array(guard + c.length + guard).fill(7), guard + c.length + guard);
    new Float32Array(this.x.memory.buffer, pc + 4 * guard, c.length).set(c);
    this.x.gemm(+tA, +tB, m, n, k, pa, pb, pc + 4 * guard, +acc);
    const all = new Float32Array(this.x.memory.buffer, pc, guard + c.length + guard);
    for (let i = 0; i < guard; i++) assert.ok(all[i] === 7 && all[all.length - 1 - i] === 7, "wasm gemm wrote outside C");
    this.get(pc + 4 * guard, c);
  };
}

const rng = new Rng(977);
let kernels: WasmKernels | null = null;
const wasm = (): WasmKernels => (kernels ??= new WasmKernels(new Uint8Array(readFileSync(modulePath))));

function randn(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

/** |got - want| <= tol·max(1, |want|) everywhere; non-finite values must match. */
function near(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i]) || !Number.isFinite(got[i])) {
      assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
    } else if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
}

describe("kernel build checks (scripts/check-kernels.mjs)", () => {
  it("the templates compile for wasm32 SIMD128 and with clang; the native ISA objects export only their table", () => {
    assert.equal(checks.status, 0, `${checks.stdout}${checks.stderr}`);
  });
});

describe("wasm32 SIMD128 kernel table: GEMM edge shapes", { skip }, () => {
  for (const group of edgeCaseGroups()) {
    it(group.name, () => group.cases.forEach((c) => checkCase("wasm128", wasm().matmul, prepareCase(c, rng))));
  }
  it("k = 0: C is zeroed, or kept when accumulating", () => checkEmptyK("wasm128", wasm().matmul, rng));
  it("an infinite input reaches only its own row or column", () => checkNonFiniteConfined("wasm128", wasm().matmul, rng));
});

describe("wasm32 SIMD128 kernel table: row kernels against their contracts (isa.h)", { skip }, () => {
  // Row lengths around the 4-lane vector and past sum_exp's 128-vector block (512 floats).
  const LENGTHS = [0, 1, 3, 4, 5, 8, 13, 33, 600];

  it("vmax, sum_exp (float lanes, double blocks), axpy_exp", () => {
    const K = wasm();
    for (const n of LENGTHS) {
      const x = randn(n, 6), dst = randn(n), sub = 2.5, scale = -0.75;
      K.x.reset();
      const px = K.put(x), pd = K.put(dst);
      const max = x.reduce((a, v) => Math.max(a, v), -Infinity);
      assert.equal(K.x.vmax(px, n), max, `vmax n=${n}`);
      const sum = x.reduce((a, v) => a + Math.exp(v - sub), 0);
      near(`sum_exp n=${n}`, [K.x.sum_exp(px, n, sub)], [sum], 1e-6);
      K.x.axpy_exp(px, n, sub, scale, pd);
      const got = new Float32Array(n);
      K.get(pd, got);
      near(`axpy_exp n=${n}`, got, Array.from(dst, (d, i) => d + scale * Math.exp(x[i] - sub)));
    }
  });
});
