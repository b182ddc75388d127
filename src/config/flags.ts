/**
 * Command-line parsing (owns: flag syntax, the original's flags, one flag per config key,
 * and the usage text). Pure: takes the argument list, returns what it asks for.
 *
 * Syntax is Go's `flag` package (SPEC §1.1): `-name=value`, `-name value`, `--name=value`;
 * booleans as bare `-name` (true) or `-name=true|false` (also 1/0, t/f); parsing stops at
 * `--` or at the first argument that is not a flag, and the rest is ignored (with a warning).
 *
 * Beyond the original, every config key is a flag, matched ASCII case-insensitively with or
 * without hyphens/underscores: `--refreshSeconds=5`, `--refresh-seconds=5`, `--REFRESHSECONDS=5`.
 * Lists are comma-separated (`--masters=10.0.0.1:5050,10.0.0.2:5050`; empty value = empty list).
 * ZoneResolvers: `--zone-resolvers='corp=10.0.0.1,10.0.0.2:5353;lab.example=10.1.0.1'` or a JSON
 * object. Credentials: `--mesos-credentials.principal=p --mesos-credentials.secret=s` or a JSON object.
 * The glog flags of the original are accepted and ignored.
 */
import {
  asciiLower,
  closest,
  type ConfigOverlay,
  CREDENTIAL_FIELDS,
  defaultConfig,
  foldName,
  KEYS,
  type KeySpec,
} from "./keys.ts";
import { ConfigError, UsageError } from "./errors.ts";
import { decodeFlagJson, JsonSyntaxError } from "./load_file.ts";

/** What the command line asks for. */
export interface ParsedFlags {
  /** `-h`, `-help` or `--help` was given. */
  help: boolean;
  /** `-version` was given (and true). */
  version: boolean;
  /** The `-v` value (glog verbosity). */
  verbosity: number;
  /** The `-config` value when given. */
  configPath?: string;
  /** The config keys set by flags. */
  overlay: ConfigOverlay;
  warnings: string[];
}

type BuiltinKind = "bool" | "int" | "string";

interface Builtin {
  name: string;
  kind: BuiltinKind;
  arg: string;
  doc: string;
  defaultText: string;
}

/** The original's own flags (SPEC §1.1), glog's included. */
const BUILTINS: readonly Builtin[] = [
  {
    name: "config",
    kind: "string",
    arg: "<path>",
    doc: "path to the JSON config file; optional when flags give masters or zk",
    defaultText: "config.json",
  },
  { name: "version", kind: "bool", arg: "", doc: "print the version and exit", defaultText: "false" },
  {
    name: "v",
    kind: "int",
    arg: "<level>",
    doc: "log verbosity: 0 warnings and errors, 1 verbose, 2 very verbose",
    defaultText: "0",
  },
  { name: "logtostderr", kind: "bool", arg: "", doc: "accepted and ignored (glog)", defaultText: "false" },
  {
    name: "alsologtostderr",
    kind: "bool",
    arg: "",
    doc: "accepted and ignored (glog)",
    defaultText: "false",
  },
  {
    name: "stderrthreshold",
    kind: "string",
    arg: "<severity>",
    doc: "accepted and ignored (glog)",
    defaultText: "",
  },
  { name: "log_dir", kind: "string", arg: "<dir>", doc: "accepted and ignored (glog)", defaultText: "" },
  { name: "vmodule", kind: "string", arg: "<spec>", doc: "accepted and ignored (glog)", defaultText: "" },
  {
    name: "log_backtrace_at",
    kind: "string",
    arg: "<file:line>",
    doc: "accepted and ignored (glog)",
    defaultText: "",
  },
];

const HELP_NAMES = new Set(["h", "help"]);

type Target =
  | { type: "builtin"; def: Builtin }
  | { type: "key"; spec: KeySpec }
  | { type: "credential"; field: "Principal" | "Secret" };

const byFolded = new Map<string, Target>();
for (const def of BUILTINS) byFolded.set(foldName(def.name), { type: "builtin", def });
for (const spec of KEYS) {
  byFolded.set(foldName(spec.name), { type: "key", spec });
  byFolded.set(foldName(spec.flag), { type: "key", spec });
}

function lookup(name: string): Target | undefined {
  const dot = name.indexOf(".");
  if (dot < 0) return byFolded.get(foldName(name));
  const head = byFolded.get(foldName(name.slice(0, dot)));
  if (head?.type !== "key" || head.spec.kind !== "credentials") return undefined;
  const field = CREDENTIAL_FIELDS.find((f) => asciiLower(f) === foldName(name.slice(dot + 1)));
  return field ? { type: "credential", field } : undefined;
}

function allFlagNames(): string[] {
  return [
    ...BUILTINS.map((b) => b.name),
    ...KEYS.map((k) => k.flag),
    "mesos-credentials.principal",
    "mesos-credentials.secret",
    "help",
  ];
}

function isBool(t: Target): boolean {
  return (t.type === "builtin" && t.def.kind === "bool") || (t.type === "key" && t.spec.kind === "bool");
}

const TRUE_WORDS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_WORDS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

function parseBool(v: string): boolean | undefined {
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  return undefined;
}

function parseInteger(v: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(v) ? Number(BigInt(v)) : undefined;
}

function parseList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses `zone=ip,ip;zone2=ip` (or a JSON object) into a zone map. */
function parseZones(spec: KeySpec, v: string): Record<string, string[]> {
  const text = v.trim();
  if (text.startsWith("{")) return decodeFlagJson(spec, text).ZoneResolvers ?? {};
  const out: Record<string, string[]> = {};
  for (const part of text.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) {
      throw new Error(`expected zone=ip[:port],ip;zone2=ip or a JSON object ("${part.trim()}" has no "=")`);
    }
    out[part.slice(0, eq).trim()] = parseList(part.slice(eq + 1));
  }
  return out;
}

function invalid(flag: string, value: string, expected: string): UsageError {
  return new UsageError(`invalid value ${JSON.stringify(value)} for flag ${flag}: ${expected}`, usageText());
}

/** Applies one key flag's value to `out`; throws UsageError when the value does not parse. */
function setKey(spec: KeySpec, flag: string, value: string, out: ParsedFlags): void {
  const o = out.overlay as Record<string, unknown>;
  switch (spec.kind) {
    case "int":
    case "int32":
    case "uint16":
    case "uint32": {
      const n = parseInteger(value);
      if (n === undefined) throw invalid(flag, value, "expected an integer");
      o[spec.name] = n;
      return;
    }
    case "bool": {
      const b = parseBool(value);
      if (b === undefined) throw invalid(flag, value, "expected true or false");
      o[spec.name] = b;
      return;
    }
    case "string":
      o[spec.name] = value;
      return;
    case "list":
      o[spec.name] = parseList(value);
      return;
    case "zones":
    case "credentials": {
      try {
        if (spec.kind === "credentials") {
          if (!value.trim().startsWith("{")) {
            throw new Error('expected a JSON object {"principal": "...", "secret": "..."}');
          }
          out.overlay.MesosCredentials = {
            ...out.overlay.MesosCredentials,
            ...decodeFlagJson(spec, value).MesosCredentials,
          };
          return;
        }
        out.overlay.ZoneResolvers = parseZones(spec, value);
      } catch (e) {
        const reason = e instanceof JsonSyntaxError
          ? `malformed JSON at ${e.message}`
          : e instanceof ConfigError
          ? e.message.replace(/^config key "[^"]*": /, "").replace(/ \(failed to unmarshal.*\)$/, "")
          : (e as Error).message;
        throw invalid(flag, value, reason);
      }
      return;
    }
  }
}

/**
 * Parses the command line (arguments after the program name). Throws UsageError for an
 * unknown flag, a missing or malformed value, or bad flag syntax; `-h`/`-help` stop parsing.
 */
export function parseFlags(args: readonly string[]): ParsedFlags {
  const out: ParsedFlags = { help: false, version: false, verbosity: 0, overlay: {}, warnings: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") break;
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (body === "" || body[0] === "-" || body[0] === "=") {
      throw new UsageError(`bad flag syntax: ${arg}`, usageText());
    }
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const dashes = arg.startsWith("--") ? "--" : "-";
    const flag = `${dashes}${name}`;
    if (HELP_NAMES.has(asciiLower(name))) {
      out.help = true;
      return out;
    }
    const target = lookup(name);
    if (!target) {
      const hint = closest(name, allFlagNames());
      throw new UsageError(
        `flag provided but not defined: ${flag}` + (hint ? ` (did you mean --${hint}?)` : ""),
        usageText(),
      );
    }
    let value: string;
    if (eq >= 0) {
      value = body.slice(eq + 1);
    } else if (isBool(target)) {
      value = "true";
    } else if (i + 1 < args.length) {
      value = args[++i];
    } else {
      throw new UsageError(`flag needs an argument: ${flag}`, usageText());
    }
    if (target.type === "credential") {
      out.overlay.MesosCredentials = { ...out.overlay.MesosCredentials, [target.field]: value };
    } else if (target.type === "key") {
      setKey(target.spec, flag, value, out);
    } else if (target.def.kind === "bool") {
      const b = parseBool(value);
      if (b === undefined) throw invalid(flag, value, "expected true or false");
      if (target.def.name === "version") out.version = b;
    } else if (target.def.kind === "int") {
      const n = parseInteger(value);
      if (n === undefined || !Number.isSafeInteger(n)) throw invalid(flag, value, "expected an integer");
      out.verbosity = n;
    } else if (target.def.name === "config") {
      out.configPath = value;
    }
  }
  if (i < args.length) {
    out.warnings.push(
      `ignoring command-line arguments after the flags (flags must come first): ${args.slice(i).join(" ")}`,
    );
  }
  return out;
}

/** The default shown in `--help`, or "" when there is nothing to show. */
function defaultText(spec: KeySpec): string {
  const v = defaultConfig()[spec.name];
  switch (spec.kind) {
    case "list":
      return v === null ? "" : (v as string[]).join(",");
    case "zones":
    case "credentials":
      return "";
    case "string":
      return v === "" ? '""' : String(v);
    default:
      return String(v);
  }
}

const ARG_OF: Record<string, string> = {
  int: "<int>",
  int32: "<int>",
  uint16: "<int>",
  uint32: "<int>",
  string: "<string>",
  bool: "[=true|false]",
  list: "<a,b,...>",
  zones: "<zone=ip,ip;...>",
  credentials: "<json>",
};

/** The `--help` text: every flag with its argument, default and meaning. */
export function usageText(): string {
  const lines = [
    "Usage: mesos-dns [flags]",
    "",
    "DNS-based service discovery for Apache Mesos.",
    "Flags take the forms -name=value, -name value, --name=value; booleans may be bare (-name).",
    "",
    "Flags:",
  ];
  for (const b of BUILTINS) {
    lines.push(`  -${b.name}${b.arg ? ` ${b.arg}` : ""}`);
    lines.push(`        ${b.doc}${b.defaultText ? ` (default ${b.defaultText})` : ""}`);
  }
  lines.push("  -h, -help");
  lines.push("        print this help and exit");
  lines.push(
    "",
    "Configuration keys (override the config file; defaults < config file < flags).",
    "Each key is also a flag: its config-file name works too, in any letter case (--refreshSeconds=5).",
    "",
  );
  for (const k of KEYS) {
    const arg = ARG_OF[k.kind];
    lines.push(`  --${k.flag}${k.kind === "bool" ? arg : ` ${arg}`}    (${k.name})`);
    const def = defaultText(k);
    lines.push(`        ${k.doc}${def ? ` (default ${def})` : ""}`);
    if (k.kind === "credentials") {
      lines.push("  --mesos-credentials.principal <string>    (MesosCredentials.Principal)");
      lines.push("  --mesos-credentials.secret <string>    (MesosCredentials.Secret)");
    }
  }
  return lines.join("\n") + "\n";
}
