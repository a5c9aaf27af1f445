// The native fused attention kernel (csrc/attention_kernel.h) on every kernel table the CPU runs
// (avx512, avx2, avx512-emulated: the AVX-512 tile geometry on AVX2, scalar): forward and backward
// against the reference backend on the edge cases of helpers/attention-cases.ts; the same bits at
// 1, 2 and 3 threads; and finite-difference gradients of the attention op on the native backend
// for each specialised head dim and the generic path. Skips with a reason when the addon is not
// built (a failure under PERCEIVER_AR_REQUIRE_NATIVE=1, see helpers/native.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { attention } from "../src/ops/attention.js";
import { Tensor } from "../src/tensor.js";
import { Rng } from "../src/util/rng.js";
import { attentionCaseGroups, caseTag, checkAttention, GENERIC_DIMS, prepareAttention, runAttention, SPECIALISED_DIMS, type AttentionKernels } from "./helpers/attention-cases.js";
import { gradCheck, randn } from "./helpers/gradcheck.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();

type IsaName = "avx512" | "avx2" | "avx512-emulated" | "scalar";
const ALL_ISAS: IsaName[] = ["avx512", "avx2", "avx512-emulated", "scalar"];
/** setNativeIsa's type lists the ISAs users pick; the emulation is a test-only name. */
const selectIsa = (name: IsaName | "best"): boolean => setNativeIsa(name as "avx2");

function forEachIsa(fn: (isa: IsaName) => void): void {
  const isas = ALL_ISAS.filter((name) => selectIsa(name));
  selectIsa("best");
  assert.ok(isas.includes("scalar"), "the scalar table is always available");
  for (const isa of isas) {
    assert.ok(selectIsa(isa));
    try {
      fn(isa);
    } finally {
      selectIsa("best");
    }
  }
}

function withThreads<T>(n: number, fn: () => T): T {
  const before = getNativeThreads();
  setNativeThreads(n);
  try {
    return fn();
  } finally {
    setNativeThreads(before);
  }
}

describe("native attention vs reference, every kernel table", { skip }, () => {
  const B = native as Backend;
  const kernels: AttentionKernels = { forward: B.attentionForward, backward: B.attentionBackward };
  const rng = new Rng(4242);
  for (const group of attentionCaseGroups()) {
    it(group.name, () => {
      const prepared = group.specs.map((spec) => prepareAttention(spec, rng));
      forEachIsa((isa) => prepared.forEach((p) => checkAttention(isa, kernels, p)));
    });
  }

  it("the same bits at 1, 2 and 3 threads (chunks, splits and uniform rows)", () => {
    const group = attentionCaseGroups().find((g) => g.name.startsWith("forward chunks"));
    assert.ok(group);
    const specs = [...group.specs, ...attentionCaseGroups()[3].specs.slice(0, 3)];
    const prepared = specs.map((spec) => prepareAttention(spec, rng));
    forEachIsa((isa) => {
      for (const p of prepared) {
        const runs = [1, 2, 3].map((t) => withThreads(t, () => runAttention(kernels, p)));
        for (const key of ["out", "lse", "dq", "dk", "dv"] as const) {
          for (const t of [1, 2]) {
            assert.ok(Buffer.from(runs[t][key].buffer).equals(Buffer.from(runs[0][key].buffer)), `${isa} ${caseTag(p.spec)}: ${key} at ${t + 1} threads differs from 1 thread`);
          }
        }
      }
    });
  });
});

describe("attention op on the native backend: finite-difference gradients", { skip }, () => {
  const B = native as Backend;
  const TOL = 2e-3;
  const t = (shape: number[], seed: number, scale = 1): Tensor => new Tensor(shape, randn(shape.reduce((a, b) => a * b, 1), seed, scale));
  // On the selected kernel table only (PERCEIVER_AR_ISA picks another) and one thread: each input
  // element costs two forwards, and the tables and thread counts are compared above.
  it("each specialised head dim and the generic path, with a causal offset and padding", () => {
    withThreads(1, () => gradients());
  });
  function gradients(): void {
    for (const [i, D] of [...SPECIALISED_DIMS, GENERIC_DIMS[2], GENERIC_DIMS[4]].entries()) {
      // 4 queries over 9 keys: the diagonal and the 9-key tail inside one tile; batch 1 pads its
      // first 6 keys (its first queries see only padding: uniform rows).
      const [Bt, Tq, Tk] = [2, 4, 9];
      const keyPad = new Uint8Array(Bt * Tk).fill(1, Tk, Tk + 6);
      const { errors } = gradCheck(
        B,
        (g, [q, k, v]) => attention(g, q, k, v, { heads: 1, causalOffset: 5, keyPad }),
        [t([Bt, Tq, D], 30 + i, 0.5), t([Bt, Tk, D], 40 + i, 0.5), t([Bt, Tk, D], 50 + i)],
      );
      errors.forEach((e, j) => assert.ok(e < TOL, `D=${D}: input ${j} gradient error ${e.toExponential(2)} >= ${TOL}`));
    }
  }
});
