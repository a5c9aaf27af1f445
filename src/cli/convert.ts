// `perceiver-ar convert <folder>`: writes model.safetensors next to a folder's pytorch_model.bin
// (or sharded .bin index), tensor by tensor, with the same names and dtypes (F64 is narrowed to
// F32, BOOL stored as U8, I16/I8 as I32: safetensors types this package writes). The folder then
// loads from model.safetensors (preferred over .bin, as in transformers).

import type { Command } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointError } from "../io/errors.js";
import { writeSafetensorsFileLazy, type LazyTensor, type SafeDType } from "../io/safetensors.js";
import { openShardedWeights, openWeightFile } from "../io/weights.js";
import { formatBytes } from "../models/memory.js";
import { UsageError } from "./overrides.js";

const WRITABLE: Record<string, SafeDType> = { F32: "F32", F16: "F16", BF16: "BF16", F64: "F32", I64: "I64", I32: "I32", I16: "I32", I8: "I32", U8: "U8", BOOL: "U8" };

export function convertFolder(dir: string, log: (line: string) => void = console.log): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`no such folder: ${dir}`);
  const bin = ["pytorch_model.bin", "pytorch_model.bin.index.json"].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (bin.length === 0) throw new CheckpointError(`${dir} has no pytorch_model.bin or pytorch_model.bin.index.json to convert`);
  if (bin.length > 1) throw new CheckpointError(`${dir} holds both pytorch_model.bin and pytorch_model.bin.index.json: ambiguous`);
  const out = path.join(dir, "model.safetensors");
  if (fs.existsSync(out)) throw new CheckpointError(`${out} exists already; remove it to convert again`);
  const source = bin[0]!.endsWith(".index.json") ? openShardedWeights(bin[0]!) : openWeightFile(bin[0]!);
  try {
    const notes = new Set<string>();
    const tensors = new Map<string, LazyTensor>();
    for (const [name, t] of source.tensors) {
      const dtype = WRITABLE[t.dtype];
      if (dtype === undefined) throw new CheckpointError(`${t.file}: tensor ${name} has dtype ${t.dtype}, which cannot be converted`);
      if (dtype !== t.dtype) notes.add(`${t.dtype} -> ${dtype}`);
      tensors.set(name, { dtype, shape: t.shape, data: () => t.read().data });
    }
    writeSafetensorsFileLazy(out, tensors, { format: "pt" });
    log(`wrote ${out} (${tensors.size} tensors, ${formatBytes(fs.statSync(out).size)})${notes.size > 0 ? `; converted dtypes: ${[...notes].join(", ")}` : ""}`);
  } finally {
    source.close();
  }
  return out;
}

export function registerConvertCommand(program: Command): void {
  program
    .command("convert <folder>")
    .description("write model.safetensors next to a folder's pytorch_model.bin (read without Python; nothing in the .bin is executed)")
    .addHelpText("after", "\nExamples:\n  perceiver-ar convert ~/models/perceiver-ar-clm-base")
    .action((folder: string) => {
      convertFolder(folder);
    });
}
