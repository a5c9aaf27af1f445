/**
 * HfTokenizer in Node: the tokenizer.json adapter of hf-tokenizer-core.ts (its contract holds)
 * plus `fromFile`, which reads tokenizer.json (a file, or a directory holding one) and a sibling
 * tokenizer_config.json when present.
 */

import { readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { HfTokenizer as HfJsonTokenizer, type HfTokenizerConfig, type HfTokenizerJson, type HfTokenizerOptions } from "./hf-tokenizer-core.js";

export type { HfTokenizerConfig, HfTokenizerJson, HfTokenizerOptions } from "./hf-tokenizer-core.js";

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${what} at ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} at ${JSON.stringify(path)} is not valid JSON: ${(e as Error).message}`);
  }
}

/** `Tokenizer` backed by a Hugging Face tokenizer.json, loadable from disk. */
export class HfTokenizer extends HfJsonTokenizer {
  /**
   * Loads a tokenizer from disk.
   * @param path tokenizer.json, or a directory containing tokenizer.json
   * @param configPath tokenizer_config.json; default: the sibling tokenizer_config.json if it exists
   */
  static fromFile(path: string, configPath?: string, options?: HfTokenizerOptions): HfTokenizer {
    let jsonPath = path;
    if (existsSync(path) && statSync(path).isDirectory()) jsonPath = join(path, "tokenizer.json");
    if (!existsSync(jsonPath)) {
      throw new Error(`tokenizer.json not found: ${JSON.stringify(jsonPath)} (path must be a tokenizer.json file or a directory containing one)`);
    }
    const json = readJsonFile(jsonPath, "tokenizer.json") as HfTokenizerJson;
    let config: HfTokenizerConfig = {};
    const cfgPath = configPath ?? join(dirname(jsonPath), "tokenizer_config.json");
    if (configPath !== undefined || existsSync(cfgPath)) {
      config = readJsonFile(cfgPath, "tokenizer_config.json") as HfTokenizerConfig;
    }
    return new HfTokenizer(json, config, options);
  }

  /** Same as the constructor (parsed tokenizer.json and optional tokenizer_config.json). */
  static override fromObjects(tokenizerJson: HfTokenizerJson, config?: HfTokenizerConfig, options?: HfTokenizerOptions): HfTokenizer {
    return new HfTokenizer(tokenizerJson, config, options);
  }
}
