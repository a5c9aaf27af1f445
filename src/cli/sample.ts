// `perceiver-ar sample`: generate from a trained model. The task decides what a sample is and where
// it goes (text streams to stdout as tokens come; images are written as a PNG grid; music continues
// a validation primer and is written as a .mid file; a copy-task model mirrors held-out examples).
// Every flag is parsed and checked here, and the task checks the generation settings against the
// prompt before it writes anything, so an error never follows output. Generation of more than
// PROGRESS_TOKENS tokens shows progress on stderr when stderr is a terminal (for text only when
// stdout is not the terminal too: there the streamed text is the progress).

import type { GenerateOptions } from "../generate/generate.js";
import type { SampleRequest } from "../tasks/task.js";
import { openModel, openTask, selectBackend, type BackendFlags } from "./common.js";
import { integerFlag, numberFlag, optionalIntegerFlag } from "./flags.js";
import { resolveModelPath } from "./model-source.js";
import { ProgressDisplay } from "./progress.js";

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
  data?: string;
  tokenizer?: string;
}

/** Largest -n: ten million tokens is days of generation on a CPU. */
const MAX_NEW_TOKENS = 10_000_000;
/** Largest --count. */
const MAX_COUNT = 10_000;
/** Largest --temperature: far beyond it every distribution is uniform in float32. */
const MAX_TEMPERATURE = 1000;
/** Samples longer than this get a progress line. */
const PROGRESS_TOKENS = 300;

/** Generation options from the flags, each checked against its range (the model bounds top-k and the latents). */
function sampling(flags: SampleFlags, vocabSize: number, modelMaxLatents: number): Omit<GenerateOptions, "maxNewTokens" | "eosId"> {
  const o: Omit<GenerateOptions, "maxNewTokens" | "eosId"> = { seed: integerFlag("seed", flags.seed, Number.MIN_SAFE_INTEGER), useCache: flags.cache };
  const temperature = numberFlag("temperature", flags.temperature, 0, MAX_TEMPERATURE);
  if (temperature === 0) o.greedy = true;
  else o.temperature = temperature;
  if (flags.topK !== undefined) o.topK = integerFlag("top-k", flags.topK, 1, vocabSize, "(the model's vocab_size)");
  if (flags.topP !== undefined) o.topP = numberFlag("top-p", flags.topP, Number.MIN_VALUE, 1);
  if (flags.numLatents !== undefined) o.numLatents = integerFlag("num-latents", flags.numLatents, 1, modelMaxLatents, "(the model's max_latents)");
  o.maxLatents = optionalIntegerFlag("latents", flags.latents, 1, modelMaxLatents, "(the model's max_latents)");
  if (flags.schedule !== undefined) o.schedule = flags.schedule as GenerateOptions["schedule"]; // generate names the allowed values
  o.resetFill = optionalIntegerFlag("reset-fill", flags.resetFill, 1, modelMaxLatents, "(at most the latents)");
  if (flags.weights !== undefined) o.weights = flags.weights as GenerateOptions["weights"]; // generate names the allowed values
  return o;
}

export async function sampleCommand(modelPath: string, flags: SampleFlags): Promise<void> {
  const backend = selectBackend(flags);
  const { model, dir } = openModel(await resolveModelPath(modelPath), backend);
  const generation = sampling(flags, model.config.vocabSize, model.config.maxLatents);
  const maxNewTokens = optionalIntegerFlag("max-tokens", flags.maxTokens, 0, MAX_NEW_TOKENS);
  const count = optionalIntegerFlag("count", flags.count, 1, MAX_COUNT);
  const scale = optionalIntegerFlag("scale", flags.scale, 1, 16);
  const task = openTask(dir, model, { task: flags.task, data: flags.data, tokenizer: flags.tokenizer }, { needsData: (t) => t !== "text" }); // a text sample needs the tokenizer, not the corpus
  const isText = task.spec.task === "text";
  const showProgress = process.stderr.isTTY === true && (!isText || process.stdout.isTTY !== true);
  const bar = showProgress ? new ProgressDisplay({ total: 1, unit: "token", stream: process.stderr }) : null;
  let wroteText = false;
  const request: SampleRequest = {
    generation,
    maxNewTokens,
    prompt: flags.prompt,
    stop: flags.stop,
    count,
    complete: flags.complete === true,
    out: flags.out,
    scale,
    write: (text) => {
      wroteText = true;
      process.stdout.write(text);
    },
    log: (line) => (bar !== null ? bar.log(line) : console.log(line)),
    progress: (line) => (bar !== null ? bar.phase(line) : process.stderr.write(line + "\n")),
    tick: (done, total) => {
      if (bar !== null && total > PROGRESS_TOKENS) bar.update(done, {}, total);
    },
  };
  const t0 = performance.now();
  const r = await task.sample(model, request);
  bar?.stop();
  if (wroteText) process.stdout.write("\n");
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${r.tokens} tokens in ${s.toFixed(1)} s (${(r.tokens / s).toFixed(1)} tokens/s, ${flags.cache ? "cached" : "uncached"})\n`);
}
