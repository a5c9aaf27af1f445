// `--key value` overrides for config fields, accepting kebab-case, camelCase or the reference's
// snake_case names (`--num-channels 256`, `--numChannels 256`, `--num_channels 256`). Values are
// parsed as JSON when they look like numbers/booleans, else kept as strings.

export class UsageError extends Error {
  override name = "UsageError";
}

export function toCamel(key: string): string {
  return key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseValue(raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw)) return Number(raw);
  return raw;
}

/**
 * Split `args` (unknown options left over by commander) into `{field: value}` pairs, checking each
 * field against `allowed` (camelCase names). `--flag` with no value means true.
 */
export function parseOverrides(args: readonly string[], allowed: readonly string[]): Record<string, unknown> {
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
      throw new UsageError(`unknown option --${key}; config fields you can set: ${allowed.map((f) => "--" + f.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())).join(", ")}`);
    }
    out[field] = value === undefined ? true : parseValue(value);
  }
  return out;
}
