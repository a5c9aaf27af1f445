// Numeric command-line flags: parsed from their text and checked against a range before anything
// runs, with an error (UsageError, exit code 2) that names the flag, its range and what was given.
// The range text comes from the package's one integer-range check (src/util/integer-range.ts).

import { integerRangeText, isIntegerInRange } from "../util/integer-range.js";
import { UsageError } from "./overrides.js";

/** A flag's text as a number: blank text is NaN (Number("") would be 0). */
function toNumber(raw: string): number {
  return raw.trim() === "" ? NaN : Number(raw);
}

/**
 * `raw` as an integer in [min, max]; `note` explains the bound, e.g. "(the model's max_latents)".
 * @throws UsageError `--<flag> must be an integer in [min, max] <note>, got "<raw>"`
 */
export function integerFlag(flag: string, raw: string, min: number, max: number = Number.MAX_SAFE_INTEGER, note = ""): number {
  const n = toNumber(raw);
  if (!isIntegerInRange(n, min, max)) throw new UsageError(`--${flag} must be ${integerRangeText(min, max)}${note ? " " + note : ""}, got "${raw}"`);
  return n;
}

/** `raw` as a finite number >= min. @throws UsageError `--<flag> must be a number >= min, got "<raw>"` */
export function numberFlag(flag: string, raw: string, min: number): number {
  const n = toNumber(raw);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${flag} must be a number >= ${min}, got "${raw}"`);
  return n;
}

/** `integerFlag` for an optional flag: undefined when it was not given. */
export function optionalIntegerFlag(flag: string, raw: string | undefined, min: number, max?: number, note?: string): number | undefined {
  return raw === undefined ? undefined : integerFlag(flag, raw, min, max, note);
}
