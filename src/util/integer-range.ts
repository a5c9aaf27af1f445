// The one integer-range check of the package: `assertIntegerInRange(field, value, min, max)` throws
// an error naming the field, its allowed range and the value it got. Callers that need their own
// error class (the CLI's UsageError, the config's ConfigError) pass it; callers that word the
// message themselves use `isIntegerInRange` and `integerRangeText`.

/** True if `value` is a number that is an integer in [min, max]. */
export function isIntegerInRange(value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** "an integer in [min, max]", "an integer >= min", or "a safe integer (...)" for the whole safe range. */
export function integerRangeText(min: number, max: number = Number.MAX_SAFE_INTEGER): string {
  if (max !== Number.MAX_SAFE_INTEGER) return `an integer in [${min}, ${max}]`;
  if (min === Number.MIN_SAFE_INTEGER) return "a safe integer (|value| <= 2^53 - 1)";
  return `an integer >= ${min}`;
}

/**
 * Throws `new ErrorClass("<field> must be <range>, got <value>")` unless `value` is an integer in
 * [min, max] (`max` defaults to 2^53 - 1, so the default also rules out unsafe integers).
 */
export function assertIntegerInRange(
  field: string,
  value: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  ErrorClass: new (message: string) => Error = RangeError,
): asserts value is number {
  if (!isIntegerInRange(value, min, max)) throw new ErrorClass(`${field} must be ${integerRangeText(min, max)}, got ${formatValue(value)}`);
}

/** Formats a value for an error message (strings quoted, objects as JSON cut to 200 characters, others via String()). */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value).slice(0, 200);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
