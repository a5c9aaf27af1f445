// Golden tests: our PerceiverAR against the reference PyTorch implementation's float64 numbers
// (../shared/golden), on every available backend. Logits and loss within 1e-4, every parameter
// gradient within 1e-3 of that tensor's largest magnitude. Every golden folder with a state dict
// (weights.safetensors) and a forward record with gradients is a case; the shapes, prefix length
// and names all come from its files.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import type { Backend } from "../src/backend/backend.js";
import { loadModel } from "../src/io/checkpoint.js";
import { GOLDEN_ROOT, goldenCaseNames, goldenInputs, loadGolden, maxMixedError, maxScaledError } from "./helpers/golden.js";
import { nativeForTests } from "./helpers/native.js";

const { native } = nativeForTests();
const backends: Backend[] = native === null ? [referenceBackend] : [referenceBackend, native];

const cases = goldenCaseNames();
assert.ok(cases.length >= 2, `golden cases found in ${GOLDEN_ROOT}: ${cases.join(", ")}`);

for (const backend of backends) {
  for (const name of cases) {
    describe(`golden ${name} on ${backend.name}`, () => {
      const golden = loadGolden(name);
      const f = golden.forward;
      const { batch, labels, opts } = goldenInputs(golden);

      it("logits match within 1e-4", () => {
        const model = loadModel(golden.dir, backend);
        const logits = model.forward(batch, opts);
        const want = f.get("logits")!;
        assert.deepEqual(logits.shape, want.shape);
        const err = maxMixedError(logits.data, want.data as Float32Array);
        console.log(`# golden ${name} ${backend.name}: max logits error ${err.toExponential(2)}`);
        assert.ok(err < 1e-4, `logits error ${err}`);
      });

      it("loss and every gradient match", () => {
        const model = loadModel(golden.dir, backend);
        model.zeroGrads();
        const { loss } = model.lossAndGrad(batch, labels, opts);
        const wantLoss = (f.get("loss")!.data as Float32Array)[0];
        const lossErr = Math.abs(loss - wantLoss) / Math.max(1, Math.abs(wantLoss));
        assert.ok(lossErr < 1e-4, `loss ${loss} vs ${wantLoss}`);
        let worst = 0;
        let worstName = "";
        let checked = 0;
        for (const [pname, v] of model.parameters) {
          const want = f.get(`grad/${pname}`);
          assert.ok(want, `golden has no gradient for ${pname}`);
          const err = maxScaledError(v.grad, want.data as Float32Array);
          if (err > worst) [worst, worstName] = [err, pname];
          assert.ok(err < 1e-3, `${pname}: gradient error ${err}`);
          checked++;
        }
        assert.equal(checked, [...f.keys()].filter((k) => k.startsWith("grad/")).length);
        console.log(`# golden ${name} ${backend.name}: loss error ${lossErr.toExponential(2)}, worst gradient error ${worst.toExponential(2)} (${worstName})`);
      });
    });
  }
}
