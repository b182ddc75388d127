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
 *
 * Large documents (`/v1/enumerate`, `/v1/axfr`) are written in pieces on demand
 * (`goMarshalIndentChunks`), and a `GoLazySlice` makes its elements only as they are
 * written, so neither the whole text nor a converted copy of the record set exists at once
 * (issue #6).
 */

/** A value `goMarshalIndent` accepts. */
export type GoValue =
  | null
  | boolean
  | number
  | string
  | readonly GoValue[]
  | GoLazySlice
  | GoLazyList
  | ReadonlyMap<string, GoValue>
  | { readonly [field: string]: GoValue };

/** A slice (written as a JSON array) whose elements are made one by one while it is written. */
export class GoLazySlice {
  constructor(readonly length: number, readonly item: (index: number) => GoValue) {}
}

/**
 * A slice whose elements an iterable makes while it is written, their number unknown until
 * then (an empty one is `[]`). Written once: the iterable is iterated once.
 */
export class GoLazyList {
  constructor(readonly items: Iterable<GoValue>) {}
}

/** The elements of a slice (array or lazy), or undefined for anything else. */
function elementsOf(v: GoValue): Iterable<GoValue> | undefined {
  if (Array.isArray(v)) return v as readonly GoValue[];
  if (v instanceof GoLazyList) return v.items;
  if (v instanceof GoLazySlice) {
    return (function* () {
      for (let i = 0; i < v.length; i++) yield v.item(i);
    })();
  }
  return undefined;
}

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

/**
 * A Go map: a `Map`, or any other `ReadonlyMap` (the record store's layered maps, a base with
 * the changes over it), never a plain object (a struct).
 */
function isMap(v: unknown): v is ReadonlyMap<string, GoValue> {
  if (v instanceof Map) return true;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const m = v as Partial<ReadonlyMap<string, GoValue>>;
  return typeof m.get === "function" && typeof m.keys === "function" && typeof m.has === "function";
}

/** Where text is written: the text so far, and the line breaks per depth (cached). */
class Out {
  s = "";
  readonly #breaks: string[] = [];

  constructor(readonly prefix: string, readonly indent: string) {}

  /** A newline, the prefix and `depth` indents. */
  newline(depth: number): string {
    return this.#breaks[depth] ??= "\n" + this.prefix + this.indent.repeat(depth);
  }
}

/** The text of a non-container value, or undefined for arrays, maps and structs. */
function scalar(v: GoValue): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return formatNumber(v);
    case "string":
      return goQuote(v);
    case "object":
      return undefined;
    default:
      throw new TypeError(`json: unsupported type: ${typeof v}`);
  }
}

type GoObject = ReadonlyMap<string, GoValue> | { readonly [field: string]: GoValue };

/** The keys of a map (sorted as Go sorts them) or the fields of a struct (in order). */
function keysOf(v: GoObject): string[] {
  return isMap(v) ? [...v.keys()].sort(compareUtf8) : Object.keys(v);
}

function valueAt(v: GoObject, key: string): GoValue {
  return isMap(v) ? v.get(key)! : (v as { readonly [field: string]: GoValue })[key];
}

/** Writes one element of an array (`i`: its index) or one entry of an object, up to its value. */
function elementHead(out: Out, depth: number, i: number, key?: string): void {
  const br = out.newline(depth + 1);
  out.s += i === 0 ? br : "," + br;
  if (key !== undefined) out.s += goQuote(key) + ": ";
}

function checkDefined(key: string, val: GoValue): void {
  if (val === undefined) throw new TypeError(`json: field ${key} is undefined`);
}

/** Writes `v` whole. */
function write(v: GoValue, depth: number, out: Out): void {
  const text = scalar(v);
  if (text !== undefined) {
    out.s += text;
    return;
  }
  const items = elementsOf(v);
  if (items !== undefined) {
    let i = 0;
    for (const item of items) {
      if (i === 0) out.s += "[";
      elementHead(out, depth, i++);
      write(item, depth + 1, out);
    }
    out.s += i === 0 ? "[]" : out.newline(depth) + "]";
    return;
  }
  const obj = v as GoObject;
  const keys = keysOf(obj);
  if (keys.length === 0) {
    out.s += "{}";
    return;
  }
  out.s += "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const val = valueAt(obj, key);
    checkDefined(key, val);
    elementHead(out, depth, i, key);
    write(val, depth + 1, out);
  }
  out.s += out.newline(depth) + "}";
}

/** Containers with at most this many values inside are written whole, without pausing. */
const SMALL_NODES = 64;

/** Whether `v` holds at most `SMALL_NODES` values and no lazy slice (looks at no more than that). */
function isSmall(v: GoValue): boolean {
  let budget = SMALL_NODES;
  const visit = (x: GoValue): boolean => {
    if (--budget < 0) return false;
    if (x === null || typeof x !== "object") return true;
    if (x instanceof GoLazySlice || x instanceof GoLazyList) return false;
    if (Array.isArray(x)) return x.length <= budget && x.every(visit);
    if (isMap(x)) {
      if (x.size > budget) return false;
      for (const val of x.values()) if (!visit(val)) return false;
      return true;
    }
    for (const key in x) if (!visit((x as { readonly [field: string]: GoValue })[key])) return false;
    return true;
  };
  return visit(v);
}

/** Writes `v`, handing out the text written so far each time it reaches `limit` characters. */
function* writeChunks(v: GoValue, depth: number, out: Out, limit: number): Generator<string, void> {
  const small = isSmall(v);
  const items = small ? undefined : elementsOf(v);
  if (small) {
    write(v, depth, out);
  } else if (items !== undefined) {
    let i = 0;
    for (const item of items) {
      if (i === 0) out.s += "[";
      elementHead(out, depth, i++);
      yield* writeChunks(item, depth + 1, out, limit);
    }
    out.s += i === 0 ? "[]" : out.newline(depth) + "]";
  } else {
    const obj = v as GoObject;
    const keys = keysOf(obj);
    out.s += "{";
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const val = valueAt(obj, key);
      checkDefined(key, val);
      elementHead(out, depth, i, key);
      yield* writeChunks(val, depth + 1, out, limit);
    }
    out.s += out.newline(depth) + "}";
  }
  if (out.s.length >= limit) {
    const chunk = out.s;
    out.s = "";
    yield chunk;
  }
}

/**
 * Serialises `v` like Go's `json.MarshalIndent(v, prefix, indent)`: the first line has no
 * prefix, every later line starts with `prefix` plus one `indent` per nesting level, empty
 * arrays/objects stay `[]`/`{}`, and there is no trailing newline.
 */
export function goMarshalIndent(v: GoValue, prefix = " ", indent = " "): string {
  const out = new Out(prefix, indent);
  write(v, 0, out);
  return out.s;
}

/**
 * The text of `goMarshalIndent(v, prefix, indent)` in consecutive pieces of about
 * `chunkChars` characters or more (the last may be shorter), each made when asked for;
 * lazy slices are expanded only then. Their concatenation is exactly the whole text.
 */
export function* goMarshalIndentChunks(
  v: GoValue,
  prefix = " ",
  indent = " ",
  chunkChars = 64 * 1024,
): Generator<string, void> {
  const out = new Out(prefix, indent);
  yield* writeChunks(v, 0, out, Math.max(1, chunkChars));
  if (out.s !== "") yield out.s;
}
