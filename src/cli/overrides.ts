// `--key value` overrides for config fields, accepting kebab-case, camelCase or the reference's
// snake_case names (`--num-channels 256`, `--numChannels 256`, `--num_channels 256`). Values are
// parsed as JSON when they look like numbers/booleans, else kept as strings. An option that is
// neither a model field nor one of the command's own flags is refused with the closest names
// ("did you mean --max-steps?"), the suggestion commander would have made had the command not
// accepted model fields.

export class UsageError extends Error {
  override name = "UsageError";
}

export function toCamel(key: string): string {
  return key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** camelCase -> --kebab-case. */
export function toFlag(field: string): string {
  return "--" + field.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function parseValue(raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw)) return Number(raw);
  return raw;
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidates closest to `word` within 40% of its length (commander's rule), best first. */
export function closest(word: string, candidates: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(word.length * 0.4));
  const scored = [...new Set(candidates)].map((c) => ({ c, d: editDistance(word, c) })).filter((x) => x.d <= limit);
  const best = Math.min(...scored.map((x) => x.d));
  return scored.filter((x) => x.d === best).map((x) => x.c);
}

/**
 * Split `args` (unknown options left over by commander) into `{field: value}` pairs, checking each
 * field against `allowed` (camelCase names). `--flag` with no value means true. `commandFlags`
 * (the command's own long flags, e.g. "--max-steps") only feed the suggestion of an unknown option.
 */
export function parseOverrides(args: readonly string[], allowed: readonly string[], commandFlags: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"`);
    let key = a.slice(2);
    let value: string | undefined;
    const eq = key.indexOf("=");
    if (eq >= 0) [key, value] = [key.slice(0, eq), key.slice(eq + 1)];
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) value = args[++i];
    const field = toCamel(key);
    if (!allowed.includes(field)) {
      const guesses = closest("--" + key, [...commandFlags, ...allowed.map(toFlag)]);
      if (guesses.length > 0) throw new UsageError(`unknown option --${key} (did you mean ${guesses.join(" or ")}?)`);
      throw new UsageError(`unknown option --${key}; see --help for the command's options; model fields you can set: ${allowed.map(toFlag).join(", ")}`);
    }
    out[field] = value === undefined ? true : parseValue(value);
  }
  return out;
}
