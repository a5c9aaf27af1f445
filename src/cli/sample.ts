// `perceiver-ar sample`: generate from a trained model. Text streams to stdout as tokens come;
// images are written as a PNG grid (unconditional, or completing the top half of validation
// images); music continues a validation primer and is written as a .mid file.

import * as fs from "node:fs";
import * as path from "node:path";
import { imageGrid, scaleImage, tokensToImage, writePng } from "../data/image-codec.js";
import { eventsToMidi } from "../data/midi-codec.js";
import { createStreamingDecoder } from "../data/tokenizer.js";
import { generate, generateStream, type GenerateOptions } from "../generate/generate.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { imageSequence, ImageTask } from "../tasks/image-task.js";
import { MusicTask } from "../tasks/music-task.js";
import { TextTask } from "../tasks/text-task.js";
import { openModel, selectBackend, taskFor, type BackendFlags } from "./common.js";
import { UsageError } from "./overrides.js";
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
  out?: string;
  count: string;
  complete?: boolean;
  scale?: string;
  task?: string;
}

/** Generation options from the flags; `modelMaxLatents` (the model's max_latents) bounds --latents. */
function sampling(flags: SampleFlags, maxNewTokens: number, modelMaxLatents: number): GenerateOptions {
  const o: GenerateOptions = { maxNewTokens, seed: Number(flags.seed), useCache: flags.cache };
  const temperature = Number(flags.temperature);
  if (temperature === 0) o.greedy = true;
  else o.temperature = temperature;
  if (flags.topK !== undefined) o.topK = Number(flags.topK);
  if (flags.topP !== undefined) o.topP = Number(flags.topP);
  if (flags.numLatents !== undefined) o.numLatents = Number(flags.numLatents);
  if (flags.latents !== undefined) {
    const n = Number(flags.latents);
    if (flags.latents.trim() === "" || !Number.isInteger(n) || n < 1 || n > modelMaxLatents) {
      throw new UsageError(`--latents must be an integer in [1, ${modelMaxLatents}] (the model's max_latents), got "${flags.latents}"`);
    }
    o.maxLatents = n;
  }
  return o;
}

export async function sampleCommand(modelPath: string, flags: SampleFlags): Promise<void> {
  const backend = selectBackend(flags);
  const { model, dir } = openModel(await resolveModelPath(modelPath), backend);
  const task = taskFor(dir, { task: (flags.task ?? "text") as never });
  const t0 = performance.now();
  let produced = 0;
  if (task instanceof TextTask) {
    const prompt = task.tokenizer.encode(flags.prompt ?? "The ");
    if (prompt.length === 0) throw new UsageError("--prompt must not be empty");
    const max = Number(flags.maxTokens ?? 500);
    const options = { ...sampling(flags, max, model.config.maxLatents), eosId: task.eosId ?? undefined }; // flag errors before any output
    const dec = createStreamingDecoder(task.tokenizer);
    process.stdout.write(flags.prompt ?? "The ");
    for await (const t of generateStream(model, prompt, options)) {
      process.stdout.write(dec.push(t));
      produced++;
    }
    process.stdout.write(dec.flush() + "\n");
  } else if (task instanceof ImageTask) {
    produced = await sampleImages(model, task, flags);
  } else if (task instanceof MusicTask) {
    const val = task.data().validation;
    const primerLen = Math.min(Number(flags.prompt ?? 256), val.length);
    const max = Number(flags.maxTokens ?? 1024);
    const events = await generate(model, val.subarray(0, primerLen), sampling(flags, max, model.config.maxLatents));
    produced = events.length;
    const out = flags.out ?? "sample.mid";
    const all = Int32Array.from([...val.subarray(0, primerLen), ...events]);
    fs.writeFileSync(out, eventsToMidi(all));
    console.log(`wrote ${out}: ${primerLen} primer events + ${events.length} generated events`);
  } else {
    throw new UsageError(`sampling is not supported for the ${task.spec.task} task`);
  }
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${produced} tokens in ${s.toFixed(1)} s (${(produced / s).toFixed(1)} tokens/s, ${flags.cache ? "cached" : "uncached"})\n`);
}

async function sampleImages(model: PerceiverAR, task: ImageTask, flags: SampleFlags): Promise<number> {
  const { width, height, channels } = task.imageShape();
  const L = width * height * channels;
  const count = Number(flags.count);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count must be an integer >= 1, got "${flags.count}"`);
  const images = [];
  let produced = 0;
  const val = flags.complete ? task.images().validation : [];
  for (let i = 0; i < count; i++) {
    const given = flags.complete ? imageSequence(val[i % val.length]).subarray(0, 1 + Math.floor(height / 2) * width * channels) : Int32Array.of(2);
    const tokens = await generate(model, given, { ...sampling(flags, L + 1 - given.length, model.config.maxLatents), seed: Number(flags.seed) + i });
    produced += tokens.length;
    const all = [...given.subarray(1), ...tokens].slice(0, L);
    images.push(tokensToImage(Int32Array.from(all), width, height, channels));
    process.stderr.write(`image ${i + 1}/${count} done\n`);
  }
  const out = flags.out ?? "samples.png";
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const scale = Number(flags.scale ?? 1);
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new UsageError(`--scale must be an integer in [1, 16], got "${flags.scale}"`);
  writePng(out, scaleImage(imageGrid(images, Math.ceil(Math.sqrt(count))), scale));
  console.log(`wrote ${out} (${count} ${flags.complete ? "completions of the top half of validation images" : "unconditional samples"})`);
  return produced;
}
