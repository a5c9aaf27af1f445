// Model config resolution for the CLI: a preset, then task defaults, then a JSON file, model
// folder or run folder, then `--key value` overrides; the result is validated by makeConfig.
// `commandFlags` (the command's own long flags) only feed the suggestion for a mistyped option.

import * as fs from "node:fs";
import { readConfigFile } from "../io/checkpoint.js";
import { DEFAULT_CONFIG, makeConfig, type PerceiverARConfig } from "../models/config.js";
import { getPreset } from "../models/presets.js";
import { modelFolderOf } from "../train/run-folder.js";
import { parseOverrides, UsageError } from "./overrides.js";

export function resolveModelConfig(
  o: { preset?: string; config?: string },
  rest: readonly string[],
  defaults: Partial<PerceiverARConfig> = {},
  commandFlags: readonly string[] = [],
): Record<string, unknown> {
  const overrides = parseOverrides(rest, Object.keys(DEFAULT_CONFIG), commandFlags);
  let cfg: Record<string, unknown> = { ...(o.preset ? getPreset(o.preset).model : {}), ...defaults };
  if (o.config) {
    if (!fs.existsSync(o.config)) throw new UsageError(`--config: no such file or folder: ${o.config}`);
    const isDir = fs.statSync(o.config).isDirectory();
    const file = isDir ? readConfigFile(modelFolderOf(o.config)) : JSON.parse(fs.readFileSync(o.config, "utf8"));
    cfg = { ...cfg, ...makeConfig(file) };
  }
  return { ...makeConfig({ ...cfg, ...overrides }) };
}
