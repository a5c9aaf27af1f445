// The fused attention kernel (csrc/attention_kernel.h, the wasm32 SIMD128 table) as the wasm backend
// runs it: forward and backward against the reference backend on the edge cases of
// helpers/attention-cases.ts (the native tables run the same: native-attention.test.ts), on the
// threaded build at 2 and 1 threads and on the single-threaded build; and the same bits in all
// three. Skips with a reason when the module is not built (a failure under
// PERCEIVER_AR_REQUIRE_WASM=1, see helpers/wasm.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../src/util/rng.js";
import { attentionCaseGroups, caseTag, checkAttention, prepareAttention, runAttention, type AttentionKernels } from "./helpers/attention-cases.js";
import { wasmCases, wasmForTests } from "./helpers/wasm.js";

const { skip } = wasmForTests();
const rng = new Rng(5151);

describe("wasm attention vs reference (threads×2, threads×1, single)", { skip }, () => {
  for (const group of attentionCaseGroups()) {
    it(group.name, () => {
      const prepared = group.specs.map((spec) => prepareAttention(spec, rng));
      for (const c of wasmCases()) {
        c.enter();
        const kernels: AttentionKernels = { forward: c.backend.attentionForward, backward: c.backend.attentionBackward };
        prepared.forEach((p) => checkAttention(`wasm ${c.label}`, kernels, p));
      }
    });
  }

  it("the same bits at 2 and 1 threads and in the single-threaded build (chunks, splits and uniform rows)", () => {
    const group = attentionCaseGroups().find((g) => g.name.startsWith("forward chunks"));
    assert.ok(group);
    const specs = [...group.specs, ...attentionCaseGroups()[3].specs.slice(0, 3)];
    const prepared = specs.map((spec) => prepareAttention(spec, rng));
    const cases = wasmCases();
    for (const p of prepared) {
      const runs = cases.map((c) => {
        c.enter();
        return runAttention({ forward: c.backend.attentionForward, backward: c.backend.attentionBackward }, p);
      });
      for (const key of ["out", "lse", "dq", "dk", "dv"] as const) {
        for (let t = 1; t < runs.length; t++) {
          assert.ok(Buffer.from(runs[t][key].buffer).equals(Buffer.from(runs[0][key].buffer)), `${caseTag(p.spec)}: ${key} of ${cases[t].label} differs from ${cases[0].label}`);
        }
      }
    }
    cases[0].enter();
  });
});
