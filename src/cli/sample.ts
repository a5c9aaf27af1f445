// `perceiver-ar sample`: generate from a trained model. The task decides what a sample is and where
// it goes (text streams to stdout as tokens come; images are written as a PNG grid; music continues
// a validation primer and is written as a .mid file; a copy-task model mirrors held-out examples).
// Sampling flags are parsed and checked here, before anything is generated.

import type { GenerateOptions } from "../generate/generate.js";
import type { SampleRequest } from "../tasks/task.js";
import { openModel, selectBackend, taskFor, type BackendFlags } from "./common.js";
import { integerFlag, numberFlag, optionalIntegerFlag } from "./flags.js";
import { resolveModelPath } from "./model-source.js";

export interface SampleFlags extends BackendFlags {
  prompt?: string;
  maxTokens?: string;
  temperature: string;
  topK?: string;
  topP?: string;
  seed: string;
  numLatents?: string;
  /** --latents: use at most n latents (GenerateOptions.maxLatents). */
  latents?: string;
  cache: boolean;
  /** --schedule exact|reset, --reset-fill R (GenerateOptions.schedule, resetFill). */
  schedule?: string;
  resetFill?: string;
  /** --weights f32|int8 (GenerateOptions.weights). */
  weights?: string;
  /** --stop <text> (repeatable): text stops before it. */
  stop?: string[];
  out?: string;
  count?: string;
  complete?: boolean;
  scale?: string;
  task?: string;
}

/** Generation options from the flags; `modelMaxLatents` (the model's max_latents) bounds --latents. */
function sampling(flags: SampleFlags, modelMaxLatents: number): Omit<GenerateOptions, "maxNewTokens" | "eosId"> {
  const o: Omit<GenerateOptions, "maxNewTokens" | "eosId"> = { seed: integerFlag("seed", flags.seed, Number.MIN_SAFE_INTEGER), useCache: flags.cache };
  const temperature = numberFlag("temperature", flags.temperature, 0);
  if (temperature === 0) o.greedy = true;
  else o.temperature = temperature;
  if (flags.topK !== undefined) o.topK = Number(flags.topK);
  if (flags.topP !== undefined) o.topP = Number(flags.topP);
  if (flags.numLatents !== undefined) o.numLatents = Number(flags.numLatents);
  o.maxLatents = optionalIntegerFlag("latents", flags.latents, 1, modelMaxLatents, "(the model's max_latents)");
  if (flags.schedule !== undefined) o.schedule = flags.schedule as GenerateOptions["schedule"]; // generate names the allowed values
  o.resetFill = optionalIntegerFlag("reset-fill", flags.resetFill, 1, modelMaxLatents, "(at most the latents)");
  if (flags.weights !== undefined) o.weights = flags.weights as GenerateOptions["weights"]; // generate names the allowed values
  return o;
}

export async function sampleCommand(modelPath: string, flags: SampleFlags): Promise<void> {
  const backend = selectBackend(flags);
  const { model, dir } = openModel(await resolveModelPath(modelPath), backend);
  const task = taskFor(dir, { task: (flags.task ?? "text") as never });
  let wroteText = false;
  const request: SampleRequest = {
    generation: sampling(flags, model.config.maxLatents), // flag errors before any output
    maxNewTokens: optionalIntegerFlag("max-tokens", flags.maxTokens, 0),
    prompt: flags.prompt,
    stop: flags.stop,
    count: optionalIntegerFlag("count", flags.count, 1),
    complete: flags.complete === true,
    out: flags.out,
    scale: optionalIntegerFlag("scale", flags.scale, 1, 16),
    write: (text) => {
      wroteText = true;
      process.stdout.write(text);
    },
    log: (line) => console.log(line),
    progress: (line) => process.stderr.write(line + "\n"),
  };
  const t0 = performance.now();
  const r = await task.sample(model, request);
  if (wroteText) process.stdout.write("\n");
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${r.tokens} tokens in ${s.toFixed(1)} s (${(r.tokens / s).toFixed(1)} tokens/s, ${flags.cache ? "cached" : "uncached"})\n`);
}
