#!/usr/bin/env node
// The `perceiver-ar` command line: train, evaluate, sample and inspect Perceiver AR models.
// Each command lives in its own file; this one wires them to commander and turns expected errors
// (bad options, bad configs, bad files) into one-line messages with exit code 2.

import { Command } from "commander";
import * as fs from "node:fs";
import { ConfigError, makeConfig } from "../models/config.js";
import { getPreset, PRESETS, presetNames } from "../models/presets.js";
import { describeConfig } from "./info.js";
import { parseOverrides, UsageError } from "./overrides.js";
import { DEFAULT_CONFIG } from "../models/config.js";
import { readConfigFile } from "../io/checkpoint.js";

const VERSION = JSON.parse(fs.readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version as string;

/** preset, then a JSON file or model folder, then --key value overrides. */
export function resolveModelConfig(o: { preset?: string; config?: string }, rest: readonly string[]): Record<string, unknown> {
  let cfg: Record<string, unknown> = { ...(o.preset ? getPreset(o.preset).model : {}) };
  if (o.config) {
    const isDir = fs.existsSync(o.config) && fs.statSync(o.config).isDirectory();
    const file = isDir ? readConfigFile(o.config) : JSON.parse(fs.readFileSync(o.config, "utf8"));
    cfg = { ...cfg, ...makeConfig(file) };
  }
  const overrides = parseOverrides(rest, Object.keys(DEFAULT_CONFIG));
  return { ...makeConfig({ ...cfg, ...overrides }) };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("perceiver-ar")
    .description("Perceiver AR: long-context autoregressive models (text, images, music) on Node.js")
    .version(VERSION, "-v, --version")
    .showHelpAfterError();

  program
    .command("info")
    .description("show a model config, its parameter count and memory estimates")
    .option("-p, --preset <name>", `start from a preset (${presetNames().join(", ")})`)
    .option("-c, --config <path>", "a config.json file or a model folder")
    .option("-b, --batch-size <n>", "batch size for the training estimate", "1")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .addHelpText(
      "after",
      `
Any model field can be overridden: --num-channels 256 --max-seq-len 65536 (kebab, camel or snake case).

Examples:
  perceiver-ar info --preset standard
  perceiver-ar info --preset standard --max-seq-len 65536
  perceiver-ar info --config runs/text/checkpoint

Presets:
${Object.entries(PRESETS)
  .map(([k, p]) => `  ${k.padEnd(16)} ${p.description}`)
  .join("\n")}`,
    )
    .action((opts: { preset?: string; config?: string; batchSize: string }, cmd: Command) => {
      const cfg = resolveModelConfig(opts, cmd.args);
      console.log(describeConfig(cfg as never, { batchSize: Number(opts.batchSize) }));
    });

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof RangeError || e instanceof SyntaxError) {
      console.error(`perceiver-ar: ${(e as Error).message}`);
      process.exit(2);
    }
    throw e;
  }
}

main();
