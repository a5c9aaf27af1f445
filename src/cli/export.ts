// `perceiver-ar export <model> --out <dir> [--format hf|ours]`: writes a model (folder, run folder
// or hub id) in the hub layout that the reference's `from_pretrained` loads (hf, the default), or
// in our own layout. The tokenizer files beside the model (or the run's tokenizer.json) are
// copied; hub metadata (model type, tokenizer class, reference-only training fields) is kept.

import type { Command } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { getBackend } from "../backend/select.js";
import { loadPretrained, saveModel, TOKENIZER_FILES } from "../io/checkpoint.js";
import { resolveModelDir, readTaskSpec } from "./common.js";
import { resolveModelPath } from "./model-source.js";
import { UsageError } from "./overrides.js";

export interface ExportFlags {
  out?: string;
  format: string;
}

export async function exportCommand(modelRef: string, flags: ExportFlags): Promise<void> {
  if (flags.format !== "hf" && flags.format !== "ours") throw new UsageError(`--format must be hf or ours, got "${flags.format}"`);
  if (flags.out === undefined) throw new UsageError("--out <dir> is required");
  const dir = resolveModelDir(await resolveModelPath(modelRef));
  const loaded = loadPretrained(dir, getBackend("reference"));
  const spec = readTaskSpec(dir);
  const tokenizerFiles = TOKENIZER_FILES.map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (!tokenizerFiles.some((f) => path.basename(f) === "tokenizer.json") && spec?.tokenizer !== undefined && fs.existsSync(spec.tokenizer)) tokenizerFiles.push(spec.tokenizer);
  const hub = loaded.configJson.hub;
  const modelType = hub?.modelType ?? (spec?.task === "music" ? "perceiver-ar-symbolic-audio-model" : undefined);
  saveModel(loaded.model, flags.out, {
    format: flags.format,
    referenceFields: loaded.configJson.referenceFields,
    tokenizerFiles,
    ...(modelType !== undefined ? { modelType } : {}),
    ...(hub?.tokenizerClass !== undefined ? { tokenizerClass: hub.tokenizerClass } : {}),
  });
  const copied = tokenizerFiles.map((f) => path.basename(f));
  console.log(`wrote ${flags.out} (${flags.format === "hf" ? "config.json (hub layout), model.safetensors (backend_model. names)" : "config.json, weights.safetensors"}${copied.length > 0 ? `, ${copied.join(", ")}` : ", no tokenizer files"})`);
}

export function registerExportCommand(program: Command): void {
  program
    .command("export <model>")
    .description("write a model in the hub layout the reference's from_pretrained loads (or in ours)")
    .option("-o, --out <dir>", "output folder")
    .option("-f, --format <name>", "hf (config.json with model_config, model.safetensors with backend_model. names) or ours", "hf")
    .addHelpText(
      "after",
      "\nExamples:\n  perceiver-ar export runs/books --out exported/books          # then in Python: PerceiverCausalLanguageModel.from_pretrained(\"exported/books\")\n  perceiver-ar export krasserm/perceiver-ar-clm-base --format ours --out clm-base",
    )
    .action((model: string, opts: ExportFlags) => exportCommand(model, opts));
}
