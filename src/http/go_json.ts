/**
 * Go-compatible JSON text (owns: producing the exact bytes the original's
 * `json.MarshalIndent(v, prefix, indent)` produced, so HTTP bodies match byte for byte).
 *
 * Value model: plain objects are Go structs (fields in insertion order, as given);
 * `Map` instances are Go maps (keys sorted by UTF-8 byte order, as Go does); arrays are
 * slices; `null` is a nil slice/map/pointer. Strings are escaped as Go's encoder does with
 * HTML escaping on: `<` `>` `&` become `\u003c` `\u003e` `\u0026`, U+2028/U+2029 are escaped,
 * control characters use `\n` `\r` `\t` or `\u00XX` (the pre-Go-1.22 form the original
 * was built with, so `\b` is `\u0008`), lone surrogates become `\ufffd`.
 */

/** A value `goMarshalIndent` accepts. */
export type GoValue =
  | null
  | boolean
  | number
  | string
  | readonly GoValue[]
  | ReadonlyMap<string, GoValue>
  | { readonly [field: string]: GoValue };

const HEX = "0123456789abcdef";

function hex4(code: number): string {
  return "\\u" + HEX[(code >> 12) & 0xf] + HEX[(code >> 8) & 0xf] + HEX[(code >> 4) & 0xf] + HEX[code & 0xf];
}

/** Quotes a string the way Go's `encoding/json` does (HTML-safe escaping). */
export function goQuote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      esc = c === 0x0a ? "\\n" : c === 0x0d ? "\\r" : c === 0x09 ? "\\t" : hex4(c);
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = "\\\\";
    else if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) esc = hex4(c);
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid surrogate pair: copied verbatim
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** Orders strings by Unicode code point, which is the UTF-8 byte order Go sorts map keys by. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (supplementary code points) sort after every BMP code unit in UTF-8.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`);
  // JS and Go (float64, 'g'-like shortest form) agree: plain digits for exponents in
  // [-7, 21), otherwise `1e+21` / `1e-7`. Negative zero prints as 0 (integers in Go).
  return Object.is(n, -0) ? "0" : String(n);
}

function isMap(v: unknown): v is ReadonlyMap<string, GoValue> {
  return v instanceof Map;
}

function write(v: GoValue, prefix: string, indent: string, depth: number, parts: string[]): void {
  if (v === null) {
    parts.push("null");
    return;
  }
  switch (typeof v) {
    case "boolean":
      parts.push(v ? "true" : "false");
      return;
    case "number":
      parts.push(formatNumber(v));
      return;
    case "string":
      parts.push(goQuote(v));
      return;
    case "object":
      break;
    default:
      throw new TypeError(`json: unsupported type: ${typeof v}`);
  }
  const inner = "\n" + prefix + indent.repeat(depth + 1);
  const close = "\n" + prefix + indent.repeat(depth);
  if (Array.isArray(v)) {
    if (v.length === 0) {
      parts.push("[]");
      return;
    }
    parts.push("[");
    v.forEach((item: GoValue, i: number) => {
      parts.push(i === 0 ? inner : "," + inner);
      write(item, prefix, indent, depth + 1, parts);
    });
    parts.push(close, "]");
    return;
  }
  let entries: Array<[string, GoValue]>;
  if (isMap(v)) {
    entries = [...v.entries()].sort((x, y) => compareUtf8(x[0], y[0]));
  } else {
    entries = Object.entries(v as { readonly [field: string]: GoValue });
  }
  if (entries.length === 0) {
    parts.push("{}");
    return;
  }
  parts.push("{");
  entries.forEach(([key, val], i) => {
    if (val === undefined) throw new TypeError(`json: field ${key} is undefined`);
    parts.push(i === 0 ? inner : "," + inner, goQuote(key), ": ");
    write(val, prefix, indent, depth + 1, parts);
  });
  parts.push(close, "}");
}

/**
 * Serialises `v` like Go's `json.MarshalIndent(v, prefix, indent)`: the first line has no
 * prefix, every later line starts with `prefix` plus one `indent` per nesting level, empty
 * arrays/objects stay `[]`/`{}`, and there is no trailing newline.
 */
export function goMarshalIndent(v: GoValue, prefix = " ", indent = " "): string {
  const parts: string[] = [];
  write(v, prefix, indent, 0, parts);
  return parts.join("");
}
