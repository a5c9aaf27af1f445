// Numeric command-line flags: parsed from their text and checked against a range before anything
// runs, with an error (UsageError, exit code 2) that names the flag, its range and what was given.
// Training flags take their range from src/train/defaults.ts (`trainFlag`); the others from the
// call site (`integerFlag`, `numberFlag`, `limitedFlag`).

import { defaultFlag, limitText, TRAINING_DEFAULTS, withinLimit, type Limit, type TrainingDefault, type TrainingDefaultName } from "../train/defaults.js";
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

/** `raw` as a number within `limit`. @throws UsageError `--<flag> must be <limit>, got "<raw>"` */
export function limitedFlag(flag: string, raw: string, limit: Limit, note = ""): number {
  const n = toNumber(raw);
  if (!withinLimit(n, limit)) throw new UsageError(`--${flag} must be ${limitText(limit)}${note ? " " + note : ""}, got "${raw}"`);
  return n;
}

/** `raw` as a finite number in [min, max]. @throws UsageError `--<flag> must be a number in [min, max], got "<raw>"` */
export function numberFlag(flag: string, raw: string, min: number, max: number = Number.MAX_VALUE): number {
  return limitedFlag(flag, raw, { integer: false, min, max });
}

/** `integerFlag` for an optional flag: undefined when it was not given. */
export function optionalIntegerFlag(flag: string, raw: string | undefined, min: number, max?: number, note?: string): number | undefined {
  return raw === undefined ? undefined : integerFlag(flag, raw, min, max, note);
}

/** A `train` flag checked against its TRAINING_DEFAULTS limit; undefined when it was not given. */
export function trainFlag(name: TrainingDefaultName, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = (TRAINING_DEFAULTS[name] as TrainingDefault<unknown>).limit;
  if (limit === undefined) throw new Error(`${name} has no numeric limit in TRAINING_DEFAULTS`);
  return limitedFlag(defaultFlag(name).slice(2), raw, limit);
}
