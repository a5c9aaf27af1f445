// The kernel-parity comparison of the backend tests (native-kernels, wasm-backend): a kernel's
// output against the reference backend's, relative to the reference tensor's largest magnitude.

import assert from "node:assert/strict";

/** max|got - want| / max|want| <= tol; non-finite reference values must match exactly. */
export function assertCloseToReference(what: string, got: Float32Array, want: Float32Array, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxRef = Math.max(maxRef, Math.abs(want[i]));
  const denom = maxRef > 0 ? maxRef : 1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (!Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    const e = Math.abs(g - w) / denom;
    if (!(e <= tol)) assert.fail(`${what}[${i}]: got ${g}, want ${w} (rel err ${e.toExponential(2)} > ${tol})`);
  }
}
