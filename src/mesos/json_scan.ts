/**
 * JSON read straight from its bytes into the fields a schema names (owns: the schema types
 * and a parser that builds only those fields, checks the syntax of everything else without
 * building it, and reduces objects as their schema says).
 *
 * The result equals `project(JSON.parse(text), schema)`. A large document is read once, as
 * bytes: a 100,000-task `/master/state` is 90 MB of JSON of which mesos-dns reads a few fields
 * per task; `JSON.parse` built about 270 MB of objects that were garbage a moment later,
 * after decoding a 90 MB string (issue #11). Strings are decoded only where they are kept,
 * and a string seen a moment ago (an agent id, a task state) is shared, not decoded again.
 * Long arrays can be read in steps (`scanJsonSteps`), other work running in between.
 */
import { runAll } from "../work_slices.ts";

/** A leaf: the JSON type required (`any`: kept as it is, not checked). */
export type LeafType = "string" | "number" | "integer" | "any";

/** An object with the fields read; others are not kept. */
export interface ObjectSchema {
  readonly fields: Readonly<Record<string, Schema>>;
  /**
   * What is kept of such an object (default: its fields); `fits` says whether the object may
   * be reduced (else the scan is refused: `SchemaMismatch`).
   */
  readonly reduce?: (o: Record<string, unknown>) => unknown;
  readonly fits?: (o: Record<string, unknown>) => boolean;
}

/** An array of objects. */
export interface ArraySchema {
  readonly items: ObjectSchema;
  /** Read in steps (`scanJsonSteps`): a long array (a state's tasks) lets other work run between its items. */
  readonly steps?: boolean;
}

export type Schema = LeafType | ObjectSchema | ArraySchema;

/** An object schema with the given fields (and reduction). */
export function object(
  fields: Record<string, Schema>,
  reduce?: ObjectSchema["reduce"],
  fits?: ObjectSchema["fits"],
): ObjectSchema {
  return reduce ? (fits ? { fields, reduce, fits } : { fields, reduce }) : { fields };
}

/** An array of objects with the given fields (`steps`: see `ArraySchema`). */
export function arrayOf(fields: Record<string, Schema>, steps = false): ArraySchema {
  return steps ? { items: object(fields), steps } : { items: object(fields) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `doc` reduced to the fields of `schema` (a parsed document, e.g. from `JSON.parse`): objects
 * keep only the schema's fields (then `reduce`), arrays of objects are projected element by
 * element, and a value whose type does not fit its schema is kept as it is.
 */
export function project(doc: unknown, schema: Schema): unknown {
  if (typeof schema === "string") return doc;
  if ("fields" in schema) {
    if (!isObject(doc)) return doc;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(schema.fields)) {
      if (Object.hasOwn(doc, key)) out[key] = project(doc[key], schema.fields[key]);
    }
    return schema.reduce ? schema.reduce(out) : out;
  }
  if (!Array.isArray(doc)) return doc;
  return doc.map((el) => isObject(el) ? project(el, schema.items) : el);
}

/** The bytes are not JSON (the message says where). */
export class JsonScanError extends SyntaxError {}

/** An object with a `fits` check failed it. */
export class SchemaMismatch extends Error {}

/** An object of the schema: its field names as strings and as bytes, and what each holds. */
class ObjectNode {
  readonly names: string[];
  readonly keys: Uint8Array[];
  readonly children: Node[];
  readonly reduce?: (o: Record<string, unknown>) => unknown;
  readonly fits?: (o: Record<string, unknown>) => boolean;
  /** Whether an array read in steps is inside it. */
  readonly steps: boolean;
  constructor(schema: ObjectSchema) {
    const enc = new TextEncoder();
    this.names = Object.keys(schema.fields);
    this.keys = this.names.map((n) => enc.encode(n));
    this.children = this.names.map((n) => compile(schema.fields[n]));
    this.reduce = schema.reduce;
    this.fits = schema.fits;
    this.steps = this.children.some((c) => c !== null && c.steps);
  }
}

class ArrayNode {
  readonly items: ObjectNode;
  readonly steps: boolean;
  constructor(schema: ArraySchema) {
    this.items = new ObjectNode(schema.items);
    this.steps = schema.steps === true || this.items.steps;
  }
}

/** How many items of an array read in steps make one step. */
const STEP_ITEMS = 256;

/** null: a leaf, kept whole whatever its type. */
type Node = ObjectNode | ArrayNode | null;

function compile(schema: Schema): Node {
  if (typeof schema === "string") return null;
  return "fields" in schema ? new ObjectNode(schema) : new ArrayNode(schema);
}

/** The compiled form of each object schema used so far. */
const compiled = new WeakMap<ObjectSchema, ObjectNode>();

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Deeper kept values are handed to `JSON.parse` (which has no recursion limit of ours). */
const MAX_DEPTH = 200;

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Strings up to this many bytes are looked up in the cache of strings seen. */
const CACHED_LEN = 64;
/** Most slots of the cache (a power of two); a slot holds the last string that hashed to it. */
const CACHE_SLOTS = 1 << 14;

class Scanner {
  i = 0;
  /** Whether the last string scanned (`stringEnd`) had an escape. */
  escaped = false;
  readonly n: number;
  // A BOM inside a string is text: kept, as JSON.parse keeps it.
  readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** Character codes of a short ASCII string, for `String.fromCharCode`. */
  readonly codes: number[] = [];
  /** The cache of strings seen: per slot, where the string's bytes are in `b`, their length, the string. */
  readonly cacheAt: Int32Array;
  readonly cacheLen: Int32Array;
  readonly cached: string[];
  readonly cacheMask: number;

  constructor(readonly b: Uint8Array) {
    this.n = b.length;
    // A slot per 64 bytes of input or so: a stream event of a kilobyte does not pay for a large cache.
    const slots = Math.min(CACHE_SLOTS, 2 ** Math.max(4, Math.ceil(Math.log2(b.length / 64 + 1))));
    this.cacheAt = new Int32Array(slots);
    this.cacheLen = new Int32Array(slots).fill(-1);
    this.cached = new Array(slots).fill("");
    this.cacheMask = slots - 1;
  }

  fail(what?: string): never {
    if (this.i >= this.n) throw new JsonScanError("Unexpected end of JSON input");
    const c = this.b[this.i];
    const shown = c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
    throw new JsonScanError(`${what ?? "Unexpected"} ${shown} at position ${this.i}`);
  }

  /** Skips whitespace; the byte there, or -1 at the end. */
  ws(): number {
    const b = this.b;
    let i = this.i;
    while (i < this.n) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
    return i < this.n ? b[i] : -1;
  }

  decode(s: number, e: number): string {
    const b = this.b;
    const len = e - s;
    if (len > CACHED_LEN) return this.decoder.decode(b.subarray(s, e));
    let h = 0x811c9dc5;
    let ascii = true;
    for (let i = s; i < e; i++) {
      const c = b[i];
      if (c > 0x7f) ascii = false;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & this.cacheMask;
    if (this.cacheLen[slot] === len) {
      const at = this.cacheAt[slot];
      let j = 0;
      while (j < len && b[at + j] === b[s + j]) j++;
      if (j === len) return this.cached[slot];
    }
    let str: string;
    if (ascii) {
      const codes = this.codes;
      codes.length = len;
      for (let i = 0; i < len; i++) codes[i] = b[s + i];
      str = String.fromCharCode.apply(null, codes);
    } else {
      str = this.decoder.decode(b.subarray(s, e));
    }
    this.cacheAt[slot] = s;
    this.cacheLen[slot] = len;
    this.cached[slot] = str;
    return str;
  }

  /** The index of the quote closing the string whose text starts at `from`; sets `escaped`. */
  stringEnd(from: number): number {
    const b = this.b;
    const n = this.n;
    let i = from;
    let escaped = false;
    while (true) {
      if (i >= n) {
        this.i = n;
        this.fail();
      }
      const c = b[i];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[i + 1];
        if (e === 0x75) {
          for (let k = i + 2; k < i + 6; k++) {
            const h = b[k];
            if (!((h >= ZERO && h <= NINE) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
              this.i = Math.min(k, n);
              this.fail("Bad Unicode escape");
            }
          }
          i += 6;
          continue;
        }
        if (
          e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e ||
          e === 0x72 || e === 0x74
        ) {
          i += 2;
          continue;
        }
        this.i = Math.min(i + 1, n);
        this.fail("Bad escaped character");
      }
      if (c < 0x20) {
        this.i = i;
        this.fail("Bad control character in string literal:");
      }
      i++;
    }
    this.escaped = escaped;
    return i;
  }

  /** The string at `i` (a quote). */
  string(): string {
    const start = this.i;
    const end = this.stringEnd(start + 1);
    this.i = end + 1;
    if (!this.escaped) return this.decode(start + 1, end);
    return JSON.parse(this.decode(start, end + 1));
  }

  /** Where the number starting at `i` ends (its syntax checked). */
  numberEnd(): number {
    const b = this.b;
    let i = this.i;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (b[i] > ZERO && b[i] <= NINE) { while (b[i] >= ZERO && b[i] <= NINE) i++; }
    else {
      this.i = i;
      this.fail("No number after minus sign:");
    }
    if (b[i] === 0x2e) {
      i++;
      if (!(b[i] >= ZERO && b[i] <= NINE)) {
        this.i = i;
        this.fail("Unterminated fractional number:");
      }
      while (b[i] >= ZERO && b[i] <= NINE) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === MINUS) i++;
      if (!(b[i] >= ZERO && b[i] <= NINE)) {
        this.i = i;
        this.fail("Exponent part is missing a number:");
      }
      while (b[i] >= ZERO && b[i] <= NINE) i++;
    }
    return i;
  }

  number(): number {
    const b = this.b;
    const start = this.i;
    const end = this.numberEnd();
    this.i = end;
    // Small integers exactly; anything else as Number() reads its text (correctly rounded).
    if (end - start <= 15) {
      let v = 0;
      let i = b[start] === MINUS ? start + 1 : start;
      for (; i < end; i++) {
        const c = b[i];
        if (c < ZERO || c > NINE) break;
        v = v * 10 + (c - ZERO);
      }
      if (i === end) return b[start] === MINUS ? -v : v;
    }
    return Number(this.decode(start, end));
  }

  literal(word: readonly number[]): void {
    const b = this.b;
    for (let k = 0; k < word.length; k++) {
      if (b[this.i] !== word[k]) this.fail();
      this.i++;
    }
  }

  /** Checks and skips the value at `i` (after whitespace), building nothing. */
  skip(): void {
    const stack: number[] = [];
    while (true) {
      // A value.
      const c = this.ws();
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.i++;
        const d = this.ws();
        if (c === OPEN_OBJECT) {
          if (d === CLOSE_OBJECT) this.i++;
          else {
            stack.push(CLOSE_OBJECT);
            this.key();
            continue;
          }
        } else if (d === CLOSE_ARRAY) this.i++;
        else {
          stack.push(CLOSE_ARRAY);
          continue;
        }
      } else this.scalar(c);
      // After a value: separators and the ends of containers.
      while (true) {
        if (stack.length === 0) return;
        const d = this.ws();
        const close = stack[stack.length - 1];
        if (d === COMMA) {
          this.i++;
          if (close === CLOSE_OBJECT) {
            this.ws();
            this.key();
          }
          break;
        }
        if (d !== close) this.fail();
        this.i++;
        stack.pop();
      }
    }
  }

  /** Skips a key and its colon (at `i`, a quote expected). */
  key(): void {
    if (this.b[this.i] !== QUOTE) this.fail();
    this.i = this.stringEnd(this.i + 1) + 1;
    this.colon();
  }

  /** Skips a string, number or literal starting with byte `c` at `i`. */
  scalar(c: number): void {
    if (c === QUOTE) this.i = this.stringEnd(this.i + 1) + 1;
    else if (c === MINUS || (c >= ZERO && c <= NINE)) this.i = this.numberEnd();
    else if (c === 0x74) this.literal(TRUE);
    else if (c === 0x66) this.literal(FALSE);
    else if (c === 0x6e) this.literal(NULL);
    else this.fail();
  }

  /** The value at `i` (after whitespace), built whole. */
  any(depth: number): unknown {
    const c = this.ws();
    if (c === QUOTE) return this.string();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth >= MAX_DEPTH) {
        const start = this.i;
        this.skip();
        return JSON.parse(this.decode(start, this.i));
      }
      return c === OPEN_OBJECT ? this.object(null, depth) : this.array(null, depth);
    }
    if (c === 0x74) return this.literal(TRUE), true;
    if (c === 0x66) return this.literal(FALSE), false;
    if (c === 0x6e) return this.literal(NULL), null;
    this.fail();
  }

  /** The value at `i` (after whitespace) as `node` keeps it. */
  value(node: Node): unknown {
    const c = this.ws();
    if (node instanceof ObjectNode && c === OPEN_OBJECT) return this.object(node);
    if (node instanceof ArrayNode && c === OPEN_ARRAY) return this.array(node);
    return this.any(0);
  }

  /** The index of the field of `node` named by the key `b[s, e)` (no escapes), or -1. */
  field(node: ObjectNode, s: number, e: number): number {
    const b = this.b;
    const len = e - s;
    const keys = node.keys;
    for (let f = 0; f < keys.length; f++) {
      const k = keys[f];
      if (k.length !== len) continue;
      let j = 0;
      while (j < len && b[s + j] === k[j]) j++;
      if (j === len) return f;
    }
    return -1;
  }

  /**
   * After a member or element of the container that `close` ends: past the comma (none may
   * come before `close`), or at `close`. Returns the byte then at `i`.
   */
  afterItem(close: number): number {
    let c = this.ws();
    if (c === COMMA) {
      this.i++;
      c = this.ws();
      if (c === close) this.fail();
    } else if (c !== close) this.fail();
    return c;
  }

  /** Skips whitespace, then the colon after a key. */
  colon(): void {
    if (this.ws() !== COLON) this.fail();
    this.i++;
  }

  /**
   * The object at `i` (`{`): with `node`, only its fields (then reduced as its schema says);
   * without, whole (`depth`: how deep it is in a whole value).
   */
  object(node: ObjectNode | null, depth = 0): unknown {
    const out: Record<string, unknown> = {};
    this.i++;
    let c = this.ws();
    while (c !== CLOSE_OBJECT) {
      if (c !== QUOTE) this.fail();
      if (node === null) {
        const key = this.string();
        this.colon();
        const v = this.any(depth + 1);
        if (key === "__proto__") {
          Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
        } else out[key] = v;
      } else {
        const f = this.member(node);
        if (f >= 0) out[node.names[f]] = this.value(node.children[f]);
        else this.skip();
      }
      c = this.afterItem(CLOSE_OBJECT);
    }
    this.i++;
    return node === null ? out : this.reduced(node, out);
  }

  /** `object(node)` for a node with arrays read in steps inside it: pauses where they do. */
  *objectSteps(node: ObjectNode): Generator<void, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    let c = this.ws();
    while (c !== CLOSE_OBJECT) {
      if (c !== QUOTE) this.fail();
      const f = this.member(node);
      if (f >= 0) out[node.names[f]] = yield* this.valueSteps(node.children[f]);
      else this.skip();
      c = this.afterItem(CLOSE_OBJECT);
    }
    this.i++;
    return this.reduced(node, out);
  }

  /** Reads a member's key (at `i`) and its colon; the index of the field of `node` it names, or -1. */
  member(node: ObjectNode): number {
    const s = this.i + 1;
    const e = this.stringEnd(s);
    const f = this.escaped
      ? node.names.indexOf(JSON.parse(this.decode(s - 1, e + 1)))
      : this.field(node, s, e);
    this.i = e + 1;
    this.colon();
    return f;
  }

  /** An object of `node` read whole: what its schema keeps of it (`reduce`, after `fits`). */
  reduced(node: ObjectNode, out: Record<string, unknown>): unknown {
    if (!node.reduce) return out;
    if (node.fits && !node.fits(out)) throw new SchemaMismatch("an object does not fit its schema");
    return node.reduce(out);
  }

  /** `value(node)`, in steps where `node` has them. */
  *valueSteps(node: Node): Generator<void, unknown> {
    if (node === null || !node.steps) return this.value(node);
    const c = this.ws();
    if (node instanceof ObjectNode && c === OPEN_OBJECT) return yield* this.objectSteps(node);
    if (node instanceof ArrayNode && c === OPEN_ARRAY) return yield* this.arraySteps(node);
    return this.any(0);
  }

  /** `array(node)` in steps: a pause every `STEP_ITEMS` items. */
  *arraySteps(node: ArrayNode): Generator<void, unknown[]> {
    const out: unknown[] = [];
    this.i++;
    let c = this.ws();
    let n = 0;
    while (c !== CLOSE_ARRAY) {
      out.push(c === OPEN_OBJECT ? yield* this.valueSteps(node.items) : this.any(0));
      if (++n % STEP_ITEMS === 0) yield;
      c = this.afterItem(CLOSE_ARRAY);
    }
    this.i++;
    return out.length < 16 ? out.slice() : out;
  }

  /**
   * The array at `i` (`[`): with `node`, its objects kept as `node.items` keeps them; without,
   * whole. Short arrays keep no room to spare.
   */
  array(node: ArrayNode | null, depth = 0): unknown[] {
    const out: unknown[] = [];
    this.i++;
    let c = this.ws();
    while (c !== CLOSE_ARRAY) {
      out.push(
        node === null ? this.any(depth + 1) : c === OPEN_OBJECT ? this.object(node.items) : this.any(0),
      );
      c = this.afterItem(CLOSE_ARRAY);
    }
    this.i++;
    return out.length < 16 ? out.slice() : out;
  }
}

/**
 * The JSON value in `bytes` (UTF-8; a leading byte order mark is ignored) projected onto
 * `schema`: `project(JSON.parse(text), schema)`. Throws `JsonScanError` when the bytes are
 * not one JSON value, `SchemaMismatch` when an object fails its schema's `fits`.
 */
export function scanJson(bytes: Uint8Array, schema: ObjectSchema): unknown {
  return runAll(scanJsonSteps(bytes, schema));
}

/** `scanJson` in steps: the arrays of `schema` marked `steps` pause every `STEP_ITEMS` items. */
export function* scanJsonSteps(bytes: Uint8Array, schema: ObjectSchema): Generator<void, unknown> {
  let root = compiled.get(schema);
  if (!root) compiled.set(schema, root = new ObjectNode(schema));
  const s = new Scanner(bytes);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) s.i = 3;
  const c = s.ws();
  const doc = c === OPEN_OBJECT ? (root.steps ? yield* s.objectSteps(root) : s.object(root)) : s.any(0);
  if (s.ws() !== -1) s.fail("Unexpected non-whitespace character after JSON:");
  return doc;
}
