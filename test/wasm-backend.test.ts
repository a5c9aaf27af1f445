// The wasm backend kernel by kernel against the reference backend (as native-kernels.test.ts does
// for the addon), on random shapes (sizes 1, odd, not multiples of the 4-lane vectors or the
// tiles), for the threaded build at 2 and 1 threads and the single-threaded build. Each case runs
// twice: with every array in the backend's storage (the engine's way: zero copy, checked by the
// staging counters) and with plain arrays (staged in and out, exact aliases included). Plus the
// storage API, memory growth keeping views valid, out-of-memory errors, bit-reproducibility at
// any thread count, and thread-count independence of the results.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { AttentionShape, Backend } from "../src/backend/backend.js";
import { referenceBackend as R } from "../src/backend/reference/index.js";
import { nodeWasmPlatform } from "../src/backend/wasm/node.js";
import { createWasmBackendSync, WasmBackendSlot } from "../src/backend/wasm/wasm-backend.js";
import { Rng } from "../src/util/rng.js";
import { assertCloseToReference } from "./helpers/close.js";
import { wasmCases, wasmForTests } from "./helpers/wasm.js";

const { skip } = wasmForTests();
const TOL = 1e-4;
const rng = new Rng(4242);

function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.nextFloat() * 2 - 1) * scale;
  return a;
}
const randInt = (lo: number, hi: number) => lo + Math.floor(rng.nextFloat() * (hi - lo));
const s_free = (b: Backend, a: Float32Array) => (b.storage as NonNullable<Backend["storage"]>).free(a);

/** A kernel's output against the reference backend's (helpers/close.ts). */
function close(what: string, got: Float32Array, want: Float32Array, tol = TOL): void {
  assertCloseToReference(what, got, want, tol);
}

/** Where a case's arrays live: as given (plain, staged by the backend) or copied into storage. */
type Place = <T extends Float32Array | Int32Array | Int8Array | Uint8Array | null>(a: T) => T;

/**
 * A kernel case: `run(backend, place)` calls the kernel(s) on fresh copies of its inputs placed by
 * `place` and returns the outputs (as plain copies).
 */
interface KernelCase {
  name: string;
  run(b: Backend, place: Place): Float32Array[];
  tol?: number;
}

const copy = (a: Float32Array) => Float32Array.from(a);

function cases(): KernelCase[] {
  const out: KernelCase[] = [];
  const SIZES = [1, 3, 7, 17, 33, 64, 65, 130];
  for (let i = 0; i < 40; i++) {
    const m = SIZES[randInt(0, SIZES.length)], n = SIZES[randInt(0, SIZES.length)], k = SIZES[randInt(0, SIZES.length)];
    const tA = rng.nextFloat() < 0.5, tB = rng.nextFloat() < 0.5, acc = rng.nextFloat() < 0.5;
    const a = randn(m * k), b = randn(k * n), c0 = randn(m * n);
    out.push({ name: `matmul ${m}x${n}x${k} tA=${tA} tB=${tB} acc=${acc}`, run: (be, p) => { const c = p(copy(c0)); be.matmul(p(copy(a)), p(copy(b)), c, m, n, k, tA, tB, acc); return [copy(c)]; } });
  }
  for (const [m, n, k] of [[300, 270, 530], [1000, 64, 513], [8, 2100, 40], [257, 3, 1029], [5, 7, 0]]) {
    const a = randn(m * k), b = randn(k * n), c0 = randn(m * n);
    out.push({ name: `matmul large ${m}x${n}x${k}`, run: (be, p) => { const c = p(copy(c0)); be.matmul(p(copy(a)), p(copy(b)), c, m, n, k, false, true, true); return [copy(c)]; } });
  }
  // Int8 weight-only products: few rows (the row-at-a-time path) and many (dequantise + GEMM).
  for (const [m, n, k] of [[1, 7, 33], [3, 65, 130], [16, 40, 257], [40, 33, 64]]) {
    const x = randn(m * k), scale = randn(n, 0.05);
    const wq = Int8Array.from({ length: n * k }, () => randInt(-127, 128));
    out.push({ name: `matmulInt8 ${m}x${n}x${k}`, run: (be, p) => { const y = p(new Float32Array(m * n)); be.matmulInt8(p(copy(x)), p(Int8Array.from(wq)), p(copy(scale)), y, m, n, k); return [copy(y)]; } });
  }
  const dims = [[1, 1, 1, 1, 1], [1, 2, 7, 5, 3], [2, 3, 17, 33, 7], [1, 2, 96, 130, 16], [2, 1, 130, 300, 64], [1, 1, 257, 129, 8], [4, 4, 33, 200, 8]];
  for (const [B, H, Tq, Tk, D] of dims) {
    for (const off of [null, Tk - Tq, 0, -3, Math.floor(Tk / 2) - Tq]) {
      const s: AttentionShape = { batch: B, heads: H, queries: Tq, keys: Tk, headDim: D, causalOffset: off, scale: 1 / Math.sqrt(D) };
      const nq = B * Tq * H * D, nk = B * Tk * H * D;
      const q = randn(nq, 2), k = randn(nk, 2), v = randn(nk), dout = randn(nq);
      const pad = rng.nextFloat() < 0.5 ? null : Uint8Array.from({ length: B * Tk }, (_, i) => (i < Math.ceil(Tk * 0.6) ? 1 : rng.nextFloat() < 0.3 ? 1 : 0));
      const dq0 = randn(nq), dk0 = randn(nk), dv0 = randn(nk);
      out.push({
        name: `attention B=${B} H=${H} Tq=${Tq} Tk=${Tk} D=${D} off=${off} pad=${pad !== null}`,
        run: (be, p) => {
          const o = p(new Float32Array(nq)), lse = p(new Float32Array(B * H * Tq));
          const [pq, pk, pv, pp] = [p(copy(q)), p(copy(k)), p(copy(v)), p(pad === null ? null : Uint8Array.from(pad))];
          be.attentionForward(s, pq, pk, pv, pp, o, lse);
          const dq = p(copy(dq0)), dk = p(copy(dk0)), dv = p(copy(dv0));
          be.attentionBackward(s, pq, pk, pv, pp, o, p(copy(dout)), lse, dq, dk, dv);
          return [copy(o), copy(lse), copy(dq), copy(dk), copy(dv)];
        },
      });
    }
  }
  for (const [rows, cols] of [[1, 1], [3, 7], [17, 64], [130, 65], [2000, 33]]) {
    const x = randn(rows * cols, 3), g = randn(cols), b = randn(cols), dy = randn(rows * cols), dx0 = randn(rows * cols), dg0 = randn(cols), db0 = randn(cols);
    out.push({
      name: `layerNorm ${rows}x${cols}`,
      run: (be, p) => {
        const y = p(new Float32Array(rows * cols)), mean = p(new Float32Array(rows)), rstd = p(new Float32Array(rows));
        const px = p(copy(x)), pg = p(copy(g));
        be.layerNormForward(px, pg, p(copy(b)), y, mean, rstd, rows, cols, 1e-5);
        const dx = p(copy(dx0)), dg = p(copy(dg0)), db = p(copy(db0));
        be.layerNormBackward(p(copy(dy)), px, pg, mean, rstd, dx, dg, db, rows, cols);
        return [copy(y), copy(mean), copy(rstd), copy(dx), copy(dg), copy(db)];
      },
    });
  }
  for (const n of [1, 7, 33, 1000, 200003]) {
    // GELU with values far out in both tails (erf near ±1, and past the |x| >= 6 cut-off).
    const x = randn(n, 9), dy = randn(n), dx0 = randn(n), a = randn(n), b = randn(n), d0 = randn(n);
    out.push({ name: `gelu n=${n}`, tol: 1e-6, run: (be, p) => { const y = p(new Float32Array(n)), dx = p(copy(dx0)), px = p(copy(x)); be.geluForward(px, y, n); be.geluBackward(px, p(copy(dy)), dx, n); return [copy(y), copy(dx)]; } });
    out.push({
      name: `add, add aliased, axpy n=${n}`,
      run: (be, p) => {
        const o = p(new Float32Array(n)), pa = p(copy(a)), pb = p(copy(b));
        be.add(pa, pb, o, n);
        const al = p(copy(a));
        be.add(al, pb, al, n); // out = a, the exact alias KERNELS allows
        const d = p(copy(d0));
        be.axpy(-0.7, pa, d, n);
        return [copy(o), copy(al), copy(d)];
      },
    });
  }
  for (const [rows, cols] of [[1, 1], [7, 3], [130, 65], [3000, 300], [40, 1000]]) {
    const o0 = randn(rows * cols), bias = randn(cols), db0 = randn(cols);
    out.push({ name: `addBias, sumRows ${rows}x${cols}`, run: (be, p) => { const o = p(copy(o0)); be.addBias(o, p(copy(bias)), rows, cols); const db = p(copy(db0)); be.sumRows(o, db, rows, cols); return [copy(o), copy(db)]; } });
  }
  for (const [srcRows, count, cols] of [[1, 1, 1], [10, 7, 3], [50, 300, 65], [1000, 5000, 64]]) {
    const src = randn(srcRows * cols), g = randn(count * cols), s0 = randn(srcRows * cols);
    const index = Int32Array.from({ length: count }, () => randInt(0, srcRows));
    out.push({
      name: `gatherRows, scatterAddRows ${srcRows}->${count}x${cols}`,
      run: (be, p) => { const d = p(new Float32Array(count * cols)), pi = p(Int32Array.from(index)); be.gatherRows(p(copy(src)), pi, d, count, cols); const s = p(copy(s0)); be.scatterAddRows(p(copy(g)), pi, s, count, cols); return [copy(d), copy(s)]; },
    });
  }
  for (const [rows, heads, hd, rot] of [[1, 1, 2, 2], [7, 3, 8, 4], [130, 4, 64, 32], [33, 2, 17, 16], [9, 2, 6, 0]]) {
    const n = rows * heads * hd, x = randn(n), cos = randn(rows * rot), sin = randn(rows * rot), dy = randn(n), dx0 = randn(n);
    out.push({
      name: `rotary ${rows}x${heads}x${hd} rot=${rot}`,
      run: (be, p) => {
        const y = p(new Float32Array(n)), pc = p(copy(cos)), ps = p(copy(sin));
        be.rotaryForward(p(copy(x)), pc, ps, y, rows, heads, hd, rot);
        const xi = p(copy(x));
        be.rotaryForward(xi, pc, ps, xi, rows, heads, hd, rot); // in place: y = x
        const dx = p(copy(dx0));
        be.rotaryBackward(p(copy(dy)), pc, ps, dx, rows, heads, hd, rot);
        return [copy(y), copy(xi), copy(dx)];
      },
    });
  }
  for (const [rows, vocab] of [[1, 1], [5, 7], [33, 130], [64, 5003], [300, 256]]) {
    const logits = randn(rows * vocab, 8), d0 = randn(rows * vocab);
    const labels = Int32Array.from({ length: rows }, () => (rng.nextFloat() < 0.2 ? -100 : randInt(0, vocab)));
    out.push({
      name: `crossEntropy ${rows}x${vocab}`,
      run: (be, p) => {
        const lse = p(new Float32Array(rows)), losses = p(new Float32Array(rows)), pl = p(copy(logits)), py = p(Int32Array.from(labels));
        be.crossEntropyForward(pl, py, lse, losses, rows, vocab, -100);
        const d = p(copy(d0));
        be.crossEntropyBackward(pl, py, lse, d, rows, vocab, -100, 0.25);
        return [copy(lse), copy(losses), copy(d)];
      },
    });
  }
  for (const n of [1, 7, 100003]) {
    const p0 = randn(n), g = randn(n), m0 = randn(n, 0.1), v0 = randn(n, 0.1).map(Math.abs);
    const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 7 };
    out.push({ name: `adamw n=${n}`, run: (be, p) => { const pp = p(copy(p0)), m = p(copy(m0)), v = p(copy(v0)); be.adamw(pp, p(copy(g)), m, v, n, o); return [copy(pp), copy(m), copy(v)]; } });
  }
  return out;
}

const plain: Place = (a) => a;
const inStorage = (b: Backend): Place => <T extends Float32Array | Int32Array | Int8Array | Uint8Array | null>(a: T): T => {
  if (!(a instanceof Float32Array)) return a; // index, label and mask arrays are staged
  const s = (b.storage as NonNullable<Backend["storage"]>).allocFloat32(a.length);
  s.set(a);
  return s as T;
};

describe("wasm backend vs reference, every kernel", { skip }, () => {
  const all = cases();
  const want = all.map((c) => c.run(R, plain));
  for (const wc of wasmCases()) {
    it(`${wc.label}: arrays in the backend's storage (zero copy) and plain arrays (staged)`, () => {
      wc.enter();
      const before = wc.controls.info().staging.float32Bytes;
      all.forEach((c, i) => c.run(wc.backend, inStorage(wc.backend)).forEach((g, j) => close(`${wc.label} ${c.name} output ${j}`, g, want[i][j], c.tol)));
      assert.equal(wc.controls.info().staging.float32Bytes, before, "no Float32Array was staged when every tensor was in storage");
      all.forEach((c, i) => c.run(wc.backend, plain).forEach((g, j) => close(`${wc.label} ${c.name} (plain) output ${j}`, g, want[i][j], c.tol)));
      assert.ok(wc.controls.info().staging.float32Bytes > before, "plain arrays were staged");
    });
  }

  it("bit-identical results at 1 and 2 threads, on repeated calls (threaded build)", () => {
    const [threads2, threads1] = wasmCases();
    const big = all.filter((c) => /large|attention B=2 H=1 Tq=130|layerNorm 2000|3000x300|1000->5000|100003/.test(c.name));
    assert.ok(big.length >= 6);
    threads2.enter();
    const first = big.map((c) => c.run(threads2.backend, inStorage(threads2.backend)));
    const again = big.map((c) => c.run(threads2.backend, inStorage(threads2.backend)));
    threads1.enter();
    const one = big.map((c) => c.run(threads1.backend, inStorage(threads1.backend)));
    threads2.enter();
    big.forEach((c, i) => first[i].forEach((f, j) => {
      assert.deepEqual(again[i][j], f, `${c.name} output ${j}: repeated call`);
      assert.deepEqual(one[i][j], f, `${c.name} output ${j}: 1 thread vs 2`);
    }));
  });
});

describe("wasm backend storage", { skip }, () => {
  it("allocFloat32 gives zeroed views of the module memory that survive its growth; free and owns", () => {
    const [{ backend, controls }] = wasmCases();
    const s = backend.storage as NonNullable<Backend["storage"]>;
    const a = s.allocFloat32(1000);
    assert.ok(a.every((x) => x === 0) && a.length === 1000 && s.owns(a));
    a.fill(3);
    const grownFrom = controls.info().memoryBytes;
    const big = s.allocFloat32(Math.ceil((grownFrom * 1.5) / 4)); // forces the memory to grow
    assert.ok(controls.info().memoryBytes > grownFrom, "the memory grew");
    assert.ok(a.length === 1000 && a.every((x) => x === 3), "a view made before the growth still reads its block");
    const c = new Float32Array(1000);
    backend.add(a, a, c, 1000); // a (old buffer object) is still recognised as in the memory
    assert.ok(c.every((x) => x === 6));
    s.free(big);
    s.free(a);
    assert.ok(!s.owns(a));
    assert.throws(() => s.free(a), /free\(\) takes an array that allocFloat32\(\) returned/);
    assert.throws(() => s.free(new Float32Array(4)), /free\(\) takes an array/);
  });

  it("the single-threaded build's fixed memory: out of memory is a RangeError that says what to do", () => {
    const b = createWasmBackendSync(nodeWasmPlatform, { flavour: "single", maxMemoryBytes: 64 * 2 ** 20 });
    assert.equal(b.info().flavour, "single");
    assert.equal(b.info().threads, 1);
    assert.throws(() => b.storage.allocFloat32(20 * 2 ** 20), /wasm backend: out of memory allocating 83886080 bytes .*maxMemoryBytes/);
    const x = b.storage.allocFloat32(4 * 2 ** 20); // the heap still works after a refusal
    assert.equal(x.length, 4 * 2 ** 20);
    // A kernel whose scratch does not fit traps inside the module: also a RangeError, and the
    // instance keeps working (its C stack pointer was restored). LayerNorm's backward of one row
    // of 2M columns needs 32 MB of dgamma/dbeta partials, beyond what is left of the 64 MiB.
    s_free(b, x);
    const cols = 2 * 2 ** 20;
    const [dy, xx, g, mean, rstd, dx, dg, db] = [cols, cols, cols, 1, 1, cols, cols, cols].map((n) => b.storage.allocFloat32(n));
    assert.throws(() => b.layerNormBackward(dy, xx, g, mean, rstd, dx, dg, db, 1, cols), /wasm backend: out of memory allocating 33554432 bytes/);
    const out = b.storage.allocFloat32(4);
    b.add(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 1, 1, 1), out, 4);
    assert.deepEqual([...out], [2, 3, 4, 5]);
  });
});

describe("wasm backend availability", { skip }, () => {
  it("without SharedArrayBuffer: the single-threaded build, said once however often it is asked for", () => {
    const notices: string[] = [];
    const slot = new WasmBackendSlot({ ...nodeWasmPlatform, sharedMemoryUnavailable: () => "SharedArrayBuffer is unavailable (test)", warn: (l) => notices.push(l) });
    const b = slot.load({ maxMemoryBytes: 64 * 2 ** 20 });
    assert.ok(b !== null && slot.load() === b);
    assert.equal(slot.backend?.info().flavour, "single");
    assert.deepEqual(notices, ["perceiver-ar: the wasm backend runs single-threaded: SharedArrayBuffer is unavailable (test)"]);
  });

  it("without WebAssembly SIMD: no wasm backend, and the reason (the selection then falls back to reference)", () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      const slot = new WasmBackendSlot(nodeWasmPlatform);
      assert.equal(slot.load(), null);
      assert.equal(slot.error, "WebAssembly SIMD (128-bit) is not supported by this engine");
    } finally {
      WebAssembly.validate = validate;
    }
  });

  it("a missing module file: no wasm backend, and a reason that says how to build it", () => {
    const slot = new WasmBackendSlot({ ...nodeWasmPlatform, compileSync: () => { throw new Error("the wasm backend is not built: x.wasm is missing (npm run build builds it where clang++ and wasm-ld are installed)"); } });
    assert.equal(slot.load(), null);
    assert.match(slot.error ?? "", /not built.*npm run build/);
  });
});
