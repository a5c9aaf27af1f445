// Model config resolution for the CLI: a preset, then task defaults, then a JSON file or model
// folder, then `--key value` overrides; the result is validated by makeConfig.

import * as fs from "node:fs";
import { readConfigFile } from "../io/checkpoint.js";
import { DEFAULT_CONFIG, makeConfig, type PerceiverARConfig } from "../models/config.js";
import { getPreset } from "../models/presets.js";
import { parseOverrides } from "./overrides.js";

export function resolveModelConfig(
  o: { preset?: string; config?: string },
  rest: readonly string[],
  defaults: Partial<PerceiverARConfig> = {},
): Record<string, unknown> {
  let cfg: Record<string, unknown> = { ...(o.preset ? getPreset(o.preset).model : {}), ...defaults };
  if (o.config) {
    const isDir = fs.existsSync(o.config) && fs.statSync(o.config).isDirectory();
    const file = isDir ? readConfigFile(o.config) : JSON.parse(fs.readFileSync(o.config, "utf8"));
    cfg = { ...cfg, ...makeConfig(file) };
  }
  const overrides = parseOverrides(rest, Object.keys(DEFAULT_CONFIG));
  return { ...makeConfig({ ...cfg, ...overrides }) };
}
