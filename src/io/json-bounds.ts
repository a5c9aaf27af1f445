// A linear pre-scan of untrusted JSON text that enforces structural bounds before JSON.parse
// builds anything: nesting depth, keys per object, elements per array, and no duplicate keys
// (JSON.parse would silently keep the last one). One pass, O(1) work per character, no recursion.
//
// Contract: `checkJsonBounds(text, limits)` returns normally or throws a JsonBoundsError naming
// the rule and where it was broken (the object path of keys, e.g. `"w" > "shape"`). It does not
// validate JSON syntax fully: malformed text that passes the scan is left to JSON.parse to reject.

export interface JsonLimits {
  /** Deepest nesting of objects/arrays (the top-level value is depth 1). */
  maxDepth: number;
  /** Keys of one object, by depth (index 0 = the top-level object); the last entry applies deeper. */
  maxKeys: readonly number[];
  /** Elements of one array. */
  maxArrayLength: number;
}

export class JsonBoundsError extends Error {
  override name = "JsonBoundsError";
}

interface Level {
  isObject: boolean;
  expectKey: boolean;
  count: number;
  /** Keys seen: a short array first (most objects have a few keys), a Set past SMALL_OBJECT. */
  keys: string[] | Set<string> | null;
  key: string | null; // the key this container was opened under, for messages
}

/** Objects up to this many keys check duplicates by a linear search (cheaper than a Set). */
const SMALL_OBJECT = 16;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function checkJsonBounds(text: string, limits: JsonLimits): void {
  const stack: Level[] = [];
  const path = (): string => stack.map((l) => l.key).filter((k): k is string => k !== null).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 37)}...` : k)).join(" > ") || "top level";
  let pendingKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top !== undefined && top.isObject && top.expectKey) {
        let key: string;
        const raw = text.slice(start + 1, i);
        if (raw.indexOf("\\") < 0) key = raw;
        else {
          try {
            key = JSON.parse(text.slice(start, i + 1)) as string;
          } catch {
            return; // a malformed string: JSON.parse of the whole text reports it
          }
        }
        top.expectKey = false;
        top.count++;
        const max = limits.maxKeys[Math.min(stack.length - 1, limits.maxKeys.length - 1)]!;
        if (top.count > max) throw new JsonBoundsError(`more than ${max} keys in one object (at ${path()})`);
        if (top.keys !== null) {
          const seen = Array.isArray(top.keys) ? top.keys.includes(key) : top.keys.has(key);
          if (seen) throw new JsonBoundsError(`duplicate key ${JSON.stringify(key)} (at ${path()}): ambiguous, refusing`);
          if (Array.isArray(top.keys)) {
            top.keys.push(key);
            if (top.keys.length > SMALL_OBJECT) top.keys = new Set(top.keys);
          } else top.keys.add(key);
        }
        pendingKey = key;
      } else if (top !== undefined && !top.isObject) {
        countElement(top, limits, path);
      }
      continue;
    }
    if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      const top = stack[stack.length - 1];
      if (top !== undefined && !top.isObject) countElement(top, limits, path);
      if (stack.length + 1 > limits.maxDepth) throw new JsonBoundsError(`nesting deeper than ${limits.maxDepth} levels (at ${path()})`);
      const isObject = ch === 0x7b;
      stack.push({ isObject, expectKey: isObject, count: 0, keys: isObject ? [] : null, key: top?.isObject ? pendingKey : null });
      pendingKey = null;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
    } else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.isObject) top.expectKey = true;
    } else if (ch > 0x20 && ch !== 0x3a /* : */) {
      // A scalar (number, true, false, null): count it once, at its first character.
      const top = stack[stack.length - 1];
      if (top !== undefined && !top.isObject) countElement(top, limits, path);
      while (i + 1 < text.length && isScalarChar(text.charCodeAt(i + 1))) i++;
    }
  }
}

function isScalarChar(c: number): boolean {
  return c > 0x20 && c !== 0x2c && c !== 0x5d && c !== 0x7d && c !== 0x3a && c !== QUOTE && c !== 0x5b && c !== 0x7b;
}

function countElement(top: Level, limits: JsonLimits, path: () => string): void {
  top.count++;
  if (top.count > limits.maxArrayLength) throw new JsonBoundsError(`array longer than ${limits.maxArrayLength} elements (at ${path()})`);
}
