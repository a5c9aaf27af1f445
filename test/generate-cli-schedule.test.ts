// `perceiver-ar sample --schedule exact|reset --reset-fill R --stop <text>` on a small random
// byte-level model folder: the text equals the text-generation pipeline's with the same options
// (the CLI streams through it), --stop cuts the text, bad values exit 2 naming the field.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ByteTokenizer } from "../src/data/byte-tokenizer.js";
import { textGenerationPipeline } from "../src/pipeline/text-generation.js";
import { runCli } from "./helpers/cli.js";
import { byteModelRunFolder } from "./helpers/generation.js";

describe("perceiver-ar sample --schedule / --reset-fill / --stop", () => {
  const { modelDir, model, cleanup } = byteModelRunFolder("perceiver-ar-schedule-");
  after(cleanup);
  const generator = textGenerationPipeline(model, new ByteTokenizer());
  const prompt = "The State of the Union ";
  const base = ["sample", modelDir, "--prompt", prompt, "-n", "40", "--temperature", "1", "--seed", "3"];

  it("is listed in the help", () => {
    const h = runCli(["sample", "--help"]);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /--schedule <name>\s+exact \(the reference's, default\) or reset/);
    assert.match(h.out, /--reset-fill <n>/);
    assert.match(h.out, /--stop <text>/);
    assert.match(h.out, /--weights <format>\s+f32 \(default\) or int8/);
  });

  it("the text is the pipeline's, for either schedule; --stop cuts it", async () => {
    for (const extra of [[], ["--schedule", "exact"], ["--schedule", "reset"], ["--schedule", "reset", "--reset-fill", "2"], ["--schedule", "reset", "--weights", "int8"]]) {
      const r = runCli([...base, ...extra]);
      assert.equal(r.code, 0, r.err);
      const o = {
        maxNewTokens: 40,
        temperature: 1,
        seed: 3,
        ...(extra[1] ? { schedule: extra[1] as "exact" | "reset" } : {}),
        ...(extra[2] === "--reset-fill" ? { resetFill: Number(extra[3]) } : {}),
        ...(extra[2] === "--weights" ? { weights: extra[3] as "int8" } : {}),
      };
      const want = await generator(prompt, o);
      assert.equal(r.out, prompt + want.text + "\n", extra.join(" "));
    }
    const free = await generator(prompt, { maxNewTokens: 40, temperature: 1, seed: 3, schedule: "reset" });
    const stop = free.text.slice(10, 12);
    const r = runCli([...base, "--schedule", "reset", "--stop", "\u0001", "--stop", stop]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, prompt + free.text.slice(0, free.text.indexOf(stop)) + "\n");
  });

  it("rejects bad values naming the field and range", () => {
    const bad = (args: string[], re: RegExp) => {
      const r = runCli(["sample", modelDir, "-n", "3", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re);
    };
    bad(["--schedule", "fast"], /schedule must be one of "exact", "reset", got "fast"/);
    bad(["--schedule", "reset", "--reset-fill", "9"], /--reset-fill must be an integer in \[1, 8\]/);
    bad(["--schedule", "reset", "--latents", "4", "--reset-fill", "5"], /resetFill must be an integer in \[1, 4\]/);
    bad(["--reset-fill", "3"], /resetFill applies to schedule "reset" only/);
    bad(["--weights", "int4"], /weights must be one of "f32", "int8", got "int4"/);
  });
});
