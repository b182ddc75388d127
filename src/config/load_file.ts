/**
 * Reading a JSON config file (owns: a small JSON parser that keeps every key in document
 * order with its line and column, and the decoding of that document into a layer of key
 * values with Go `encoding/json` semantics, SPEC §2.1). Also decodes the IAM config file.
 *
 * Go semantics kept: keys match ASCII case-insensitively; the last occurrence of a key
 * (in any spelling) wins; `null` leaves a number/string/bool unchanged but clears a list
 * or map; integers must be written as integers; a map given twice is merged. Unknown keys
 * produce a warning (the original ignored them silently).
 */
import {
  asciiLower,
  closest,
  type ConfigOverlay,
  CREDENTIAL_FIELDS,
  findKey,
  KEYS,
  type KeySpec,
} from "./keys.ts";
import { ConfigError, keyError } from "./errors.ts";
import type { MesosCredentials } from "./types.ts";

/** Line and column (both 1-based) of a place in the JSON text. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed JSON value that remembers where it started; numbers keep their literal text. */
export type JsonNode =
  | { type: "object"; pos: Position; entries: { key: string; pos: Position; value: JsonNode }[] }
  | { type: "array"; pos: Position; items: JsonNode[] }
  | { type: "string"; pos: Position; value: string }
  | { type: "number"; pos: Position; raw: string }
  | { type: "bool"; pos: Position; value: boolean }
  | { type: "null"; pos: Position };

/** A syntax error in JSON text, with where it happened. */
export class JsonSyntaxError extends Error {
  constructor(readonly reason: string, readonly pos: Position) {
    super(`line ${pos.line}, column ${pos.column}: ${reason}`);
  }
}

const MAX_DEPTH = 512;

class Parser {
  private i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  parseDocument(): JsonNode {
    if (this.text.startsWith("\uFEFF")) this.i = this.lineStart = 1; // tolerate a byte-order mark
    this.skipSpace();
    const v = this.value(0);
    this.skipSpace();
    if (this.i < this.text.length) this.fail(`unexpected ${this.describe()} after the top-level value`);
    return v;
  }

  private pos(): Position {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  private fail(reason: string): never {
    throw new JsonSyntaxError(reason, this.pos());
  }

  private describe(): string {
    if (this.i >= this.text.length) return "end of input";
    return `character ${JSON.stringify(this.text[this.i])}`;
  }

  private skipSpace(): void {
    while (this.i < this.text.length) {
      const c = this.text[this.i];
      if (c === "\n") {
        this.i++;
        this.line++;
        this.lineStart = this.i;
      } else if (c === " " || c === "\t" || c === "\r") {
        this.i++;
      } else {
        break;
      }
    }
  }

  private value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const pos = this.pos();
    const c = this.text[this.i];
    if (c === "{") return this.object(pos, depth);
    if (c === "[") return this.array(pos, depth);
    if (c === '"') return { type: "string", pos, value: this.string() };
    if (c === "-" || (c >= "0" && c <= "9")) return { type: "number", pos, raw: this.number() };
    for (
      const [word, node] of [
        ["true", { type: "bool", pos, value: true }],
        ["false", { type: "bool", pos, value: false }],
        ["null", { type: "null", pos }],
      ] as const
    ) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return node;
      }
    }
    this.fail(`unexpected ${this.describe()}, expected a value`);
  }

  private object(pos: Position, depth: number): JsonNode {
    this.i++;
    const entries: { key: string; pos: Position; value: JsonNode }[] = [];
    this.skipSpace();
    if (this.text[this.i] === "}") {
      this.i++;
      return { type: "object", pos, entries };
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] !== '"') this.fail(`unexpected ${this.describe()}, expected a quoted key`);
      const keyPos = this.pos();
      const key = this.string();
      this.skipSpace();
      if (this.text[this.i] !== ":") {
        this.fail(`unexpected ${this.describe()}, expected ':' after key "${key}"`);
      }
      this.i++;
      this.skipSpace();
      entries.push({ key, pos: keyPos, value: this.value(depth + 1) });
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "}") {
        this.i++;
        return { type: "object", pos, entries };
      }
      this.fail(`unexpected ${this.describe()}, expected ',' or '}'`);
    }
  }

  private array(pos: Position, depth: number): JsonNode {
    this.i++;
    const items: JsonNode[] = [];
    this.skipSpace();
    if (this.text[this.i] === "]") {
      this.i++;
      return { type: "array", pos, items };
    }
    for (;;) {
      this.skipSpace();
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "]") {
        this.i++;
        return { type: "array", pos, items };
      }
      this.fail(`unexpected ${this.describe()}, expected ',' or ']'`);
    }
  }

  private string(): string {
    this.i++; // opening quote
    let out = "";
    for (;;) {
      if (this.i >= this.text.length) this.fail("unterminated string");
      const c = this.text[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c < " ") this.fail("control character in string (escape it)");
      if (c !== "\\") {
        out += c;
        this.i++;
        continue;
      }
      const e = this.text[this.i + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        this.i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) {
        out += String.fromCharCode(parseInt(this.text.slice(this.i + 2, this.i + 6), 16));
        this.i += 6;
      } else {
        this.i++;
        this.fail("invalid escape in string");
      }
    }
  }

  private number(): string {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.i, this.i + 400));
    if (!m) this.fail("malformed number");
    this.i += m[0].length;
    return m[0];
  }
}

/** Parses JSON text into a {@link JsonNode} tree; throws {@link JsonSyntaxError} with line and column. */
export function parseJson(text: string): JsonNode {
  return new Parser(text).parseDocument();
}

function at(pos: Position): string {
  return `line ${pos.line}, column ${pos.column}`;
}

/** A short description of a JSON value for error messages (`"60"`, `an object`, ...). */
function describeNode(n: JsonNode): string {
  switch (n.type) {
    case "string":
      return JSON.stringify(n.value);
    case "number":
      return n.raw;
    case "bool":
      return String(n.value);
    case "null":
      return "null";
    case "array":
      return "a list";
    case "object":
      return "an object";
  }
}

const INTEGER_EXPECTED: Record<string, string> = {
  int: "an integer",
  int32: "an integer",
  uint16: "an integer from 0 to 65535",
  uint32: "an integer from 0 to 4294967295",
};

/** Converts an integer literal to a number (large literals become large, out-of-range numbers). */
function integerOf(raw: string): number | undefined {
  if (!/^-?[0-9]+$/.test(raw)) return undefined;
  return Number(BigInt(raw));
}

type Where = { key: string; file: string };

function typeError(w: Where, n: JsonNode, expected: string): ConfigError {
  // Never echo what may be a secret.
  const got = w.key.endsWith(".Secret") ? `a JSON ${n.type}` : describeNode(n);
  return keyError(
    w.key,
    got,
    expected,
    `failed to unmarshal config file "${w.file}" at ${at(n.pos)}`,
  );
}

function decodeString(w: Where, n: JsonNode): string {
  if (n.type !== "string") throw typeError(w, n, "a string");
  return n.value;
}

function decodeStringList(w: Where, n: JsonNode): string[] {
  if (n.type !== "array") throw typeError(w, n, "a list of strings");
  // A null element decodes to Go's zero value, the empty string.
  return n.items.map((item) => {
    if (item.type === "null") return "";
    if (item.type !== "string") throw typeError(w, item, "a list of strings");
    return item.value;
  });
}

function decodeZones(w: Where, n: JsonNode, into: Record<string, string[]>): Record<string, string[]> {
  if (n.type !== "object") {
    throw typeError(w, n, 'an object of zone → list of resolvers, e.g. {"corp": ["10.0.0.1"]}');
  }
  for (const e of n.entries) {
    into[e.key] = e.value.type === "null"
      ? []
      : decodeStringList({ ...w, key: `${w.key}.${e.key}` }, e.value);
  }
  return into;
}

function decodeCredentials(
  w: Where,
  n: JsonNode,
  into: Partial<MesosCredentials>,
  warnings: string[],
): Partial<MesosCredentials> {
  if (n.type !== "object") throw typeError(w, n, 'an object {"principal": "...", "secret": "..."}');
  for (const e of n.entries) {
    const field = CREDENTIAL_FIELDS.find((f) => asciiLower(f) === asciiLower(e.key));
    if (!field) {
      warnings.push(`unknown config key "${w.key}.${e.key}" ignored (expected "Principal" or "Secret")`);
      continue;
    }
    if (e.value.type === "null") continue;
    into[field] = decodeString({ ...w, key: `${w.key}.${field}` }, e.value);
  }
  return into;
}

/**
 * Decodes one key's JSON value into `overlay` (Go semantics for `null`, merging maps and
 * credentials). Throws a ConfigError naming the key when the JSON type is wrong.
 */
function decodeKey(
  spec: KeySpec,
  n: JsonNode,
  file: string,
  overlay: ConfigOverlay,
  warnings: string[],
): void {
  const w: Where = { key: spec.name, file };
  const o = overlay as Record<string, unknown>;
  switch (spec.kind) {
    case "int":
    case "int32":
    case "uint16":
    case "uint32": {
      if (n.type === "null") return;
      const v = n.type === "number" ? integerOf(n.raw) : undefined;
      if (v === undefined) throw typeError(w, n, INTEGER_EXPECTED[spec.kind]);
      o[spec.name] = v;
      return;
    }
    case "string":
      if (n.type !== "null") o[spec.name] = decodeString(w, n);
      return;
    case "bool":
      if (n.type === "null") return;
      if (n.type !== "bool") throw typeError(w, n, "true or false");
      o[spec.name] = n.value;
      return;
    case "list":
      if (n.type === "null") {
        o[spec.name] = spec.name === "Masters" ? null : [];
      } else {
        o[spec.name] = decodeStringList(w, n);
      }
      return;
    case "zones":
      if (n.type === "null") {
        overlay.ZoneResolvers = {};
      } else {
        overlay.ZoneResolvers = decodeZones(w, n, overlay.ZoneResolvers ?? {});
      }
      return;
    case "credentials":
      if (n.type === "null") return;
      overlay.MesosCredentials = decodeCredentials(w, n, overlay.MesosCredentials ?? {}, warnings);
      return;
  }
}

/** The values a config file sets, and warnings about keys it ignores. */
export interface DecodedFile {
  overlay: ConfigOverlay;
  warnings: string[];
}

/**
 * Decodes the text of a config file. `file` (the absolute path) is only used in messages.
 * Throws ConfigError for malformed JSON (with line and column) or a value of the wrong type.
 */
export function decodeConfigFile(text: string, file: string): DecodedFile {
  let doc: JsonNode;
  try {
    doc = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new ConfigError(
      `failed to unmarshal config file "${file}": malformed JSON at ${at(e.pos)}: ${e.reason}`,
    );
  }
  if (doc.type !== "object") {
    throw new ConfigError(
      `failed to unmarshal config file "${file}": expected a JSON object of config keys, got ${
        describeNode(doc)
      }`,
    );
  }
  const overlay: ConfigOverlay = {};
  const warnings: string[] = [];
  for (const e of doc.entries) {
    const spec = findKey(e.key);
    if (!spec) {
      const hint = closest(e.key, KEYS.map((k) => k.name));
      warnings.push(
        `unknown config key "${e.key}" ignored (${file}, ${at(e.pos)})` +
          (hint ? `; did you mean "${hint}"?` : ""),
      );
      continue;
    }
    decodeKey(spec, e.value, file, overlay, warnings);
  }
  return { overlay, warnings };
}

/**
 * Decodes a JSON value given on the command line for a map or object key
 * (`--zone-resolvers={"corp":["10.0.0.1"]}`, `--mesos-credentials={"principal":"p"}`).
 */
export function decodeFlagJson(spec: KeySpec, text: string): ConfigOverlay {
  const doc = parseJson(text);
  const overlay: ConfigOverlay = {};
  decodeKey(spec, doc, "command line", overlay, []);
  return overlay;
}

/** The IAM credentials file (`IAMConfigFile`), SPEC §2.4. */
export interface IamConfig {
  uid: string;
  private_key: string;
  login_endpoint: string;
}

/**
 * Decodes the IAM config file text: a JSON object with `uid`, `private_key` and
 * `login_endpoint` (matched case-insensitively; missing ones are empty). Throws an Error
 * whose message says what is wrong (malformed JSON with line and column, wrong type).
 */
export function decodeIamConfig(text: string): IamConfig {
  const doc = parseJson(text);
  if (doc.type !== "object") throw new Error(`expected a JSON object, got ${describeNode(doc)}`);
  const out: IamConfig = { uid: "", private_key: "", login_endpoint: "" };
  for (const e of doc.entries) {
    const field = (["uid", "private_key", "login_endpoint"] as const).find((f) => f === asciiLower(e.key));
    if (!field || e.value.type === "null") continue;
    if (e.value.type !== "string") {
      throw new Error(`"${e.key}" at ${at(e.value.pos)}: expected a string, got ${describeNode(e.value)}`);
    }
    out[field] = e.value.value;
  }
  return out;
}
