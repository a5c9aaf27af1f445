// `perceiver-ar info`: a config's parameters, compute per token and memory estimates.

import * as os from "node:os";
import { makeConfig, type PerceiverARConfig } from "../models/config.js";
import { estimateGenerationMemory, estimateTrainingMemory, formatBytes, largestTrainableContext } from "../models/memory.js";

export interface InfoOptions {
  batchSize: number;
}

export function describeConfig(config: PerceiverARConfig, o: InfoOptions): string {
  const c = makeConfig(config as unknown as Record<string, unknown>);
  const train = estimateTrainingMemory(c, { batchSize: o.batchSize });
  const gen = estimateGenerationMemory(c, { batchSize: 1 });
  const budget = os.totalmem();
  const lines = [
    "model config:",
    ...Object.entries(c).map(([k, v]) => `  ${k.padEnd(30)} ${String(v)}`),
    "",
    `parameters:                      ${train.parameters.toLocaleString("en-US")}`,
    `training memory (batch ${o.batchSize}):       ~${formatBytes(train.totalBytes)} (parameters+optimizer ${formatBytes(train.parameterBytes)}, activations ${formatBytes(train.activationBytes)})`,
    `generation memory (batch 1):     ~${formatBytes(gen.totalBytes)}`,
    `machine memory:                  ${formatBytes(budget)}`,
  ];
  if (train.totalBytes > budget) {
    lines.push(`WARNING: training would not fit; the largest context that fits is about ${largestTrainableContext(c, budget, { batchSize: o.batchSize })}`);
  }
  return lines.join("\n");
}
