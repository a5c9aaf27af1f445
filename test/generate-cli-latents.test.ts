// `perceiver-ar sample --latents <n>` (GenerateOptions.maxLatents from the command line) on a small
// random byte-level model folder: the option is listed in the help, the KV cache stays exact with
// it (cached == --no-cache text), --latents = max_latents is the default, and out-of-range values
// are rejected with exit code 2 and a message naming the flag and its range.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { runCli } from "./helpers/cli.js";
import { byteModelRunFolder } from "./helpers/generation.js";


describe("perceiver-ar sample --latents", () => {
  const { modelDir, cleanup } = byteModelRunFolder("perceiver-ar-latents-");
  after(cleanup);

  it("is listed in the help", () => {
    const h = runCli(["sample", "--help"]);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /--latents <n>\s+use at most n latents \(fewer = faster, shorter context\)/);
    assert.match(h.out, /--num-latents <n>\s+initial latents at the end of the prompt/);
  });

  it("cached == --no-cache with a cap; the model's max_latents is the default", () => {
    const base = ["sample", modelDir, "--prompt", "The State of the Union ", "-n", "40", "--temperature", "1", "--seed", "3"];
    const capped = runCli([...base, "--latents", "2"]);
    assert.equal(capped.code, 0, capped.err);
    assert.ok(capped.out.startsWith("The State of the Union "));
    const uncached = runCli([...base, "--latents", "2", "--no-cache"]);
    assert.equal(uncached.code, 0, uncached.err);
    assert.equal(uncached.out, capped.out, "cached and uncached capped sampling give the same text");
    const all = runCli([...base, "--latents", "8"]);
    const dflt = runCli(base);
    assert.equal(all.out, dflt.out, "--latents max_latents == no --latents");
    const withInitial = runCli([...base, "--latents", "4", "--num-latents", "3"]);
    assert.equal(withInitial.code, 0, withInitial.err);
  });

  it("rejects out-of-range values naming the flag and range", () => {
    for (const bad of ["0", "9", "2.5", "x", ""]) {
      const r = runCli(["sample", modelDir, "-n", "3", "--latents", bad]);
      assert.equal(r.code, 2, `--latents ${JSON.stringify(bad)}: ${r.err}`);
      assert.match(r.err, /--latents must be an integer in \[1, 8\] \(the model's max_latents\)/);
    }
    const r = runCli(["sample", modelDir, "-n", "3", "--prompt", "abc", "--latents", "2", "--num-latents", "3"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /numLatents must be an integer in \[1, 2\]/);
  });
});
