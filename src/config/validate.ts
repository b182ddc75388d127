/**
 * Validation and normalisation of a merged configuration (owns: every rule of SPEC §2.2
 * in the original's order, plus this project's own range checks of §10). Reads files only
 * through the injected environment: /etc/resolv.conf, certificate files, the IAM file.
 *
 * Order (first failure wins): numeric ranges (ours; the original failed these while
 * decoding) → DnsOn/HttpOn → Masters or Zk (and the `zk://` form, §10.8) → Masters →
 * if ExternalOn: resolv.conf fallback, Resolvers, ZoneResolvers → IPSources →
 * StateTimeoutSeconds → Domain → SOA names → certificates → authentication.
 */
import type { Config } from "./types.ts";
import { KEYS } from "./keys.ts";
import { ConfigError, keyError, show } from "./errors.ts";
import { masterKey, normaliseResolver } from "./addresses.ts";
import { canonicalIP } from "../net/ip.ts";
import { canonicalNetwork } from "../net/cidr.ts";
import { parseZkUrl, ZkUrlError } from "../mesos/zk_url.ts";
import { decodeIamConfig, JsonSyntaxError } from "./load_file.ts";

/** What validation may read from the outside world. */
export interface ValidationEnv {
  readTextFile: (path: string) => Promise<string>;
  /** IP addresses of the local interfaces, loopback included. */
  localIPs: () => string[];
  /** Current time in milliseconds (default `Date.now`); sets SOASerial. */
  now?: () => number;
  /** Extra text for the "neither masters nor zk" error (e.g. that no config file was found). */
  missingSourceHint?: string;
}

/** The validated, normalised configuration and the warnings to log. */
export interface Validated {
  config: Config;
  warnings: string[];
}

/** Longest delay, in seconds, a JS timer can hold (2^31-1 ms). */
export const MAX_TIMER_SECONDS = 2147483;

const DOMAIN_RE = /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/;
const DOMAIN_EXPECTED =
  'a domain name of letters, digits and hyphens in dot-separated labels, without a trailing dot, e.g. "mesos"';
const IP_SOURCES = ["host", "docker", "mesos", "netinfo"];
const RESOLV_CONF = "/etc/resolv.conf";

type Range = { min: number; max: number; expected: string };

/** Our range checks per integer key (the original's Go types, or sane limits where it had none). */
const RANGES: Partial<Record<keyof Config, Range>> = {
  RefreshSeconds: { min: 1, max: MAX_TIMER_SECONDS, expected: "an integer > 0" },
  Port: { min: 0, max: 65535, expected: "a port number from 0 to 65535 (0: the OS chooses)" },
  HttpPort: { min: 0, max: 65535, expected: "a port number from 0 to 65535 (0: the OS chooses)" },
  Timeout: { min: 0, max: MAX_TIMER_SECONDS, expected: "an integer >= 0 (seconds; 0 means 5)" },
  StateTimeoutSeconds: {
    min: Number.MIN_SAFE_INTEGER,
    max: MAX_TIMER_SECONDS,
    expected: `an integer > 0 and <= ${MAX_TIMER_SECONDS}`,
  },
  ZkDetectionTimeout: {
    min: Number.MIN_SAFE_INTEGER,
    max: MAX_TIMER_SECONDS,
    expected: `an integer <= ${MAX_TIMER_SECONDS} (seconds; 0 or less disables the timeout)`,
  },
  TTL: { min: 0, max: 2147483647, expected: "an integer from 0 to 2147483647" },
  RecordsDropWarnPercent: { min: 0, max: 100, expected: "an integer from 0 to 100 (0: never warn)" },
  DNSUDPWorkers: { min: 0, max: 255, expected: "an integer from 0 to 255 (0: one per CPU core)" },
  UDPReceiveBuffer: {
    min: 0,
    max: 1073741824,
    expected: "a number of bytes from 0 to 1073741824 (0: the kernel default)",
  },
  ForwardCacheSize: { min: 0, max: 10000000, expected: "an integer from 0 to 10000000 (0: no cache)" },
  ReadyMaxAgeSeconds: {
    min: -1,
    max: MAX_TIMER_SECONDS,
    expected: "an integer >= -1 (seconds; 0: never stale; -1: 3 x RefreshSeconds)",
  },
  RateLimit: { min: 0, max: 1_000_000_000, expected: "an integer >= 0 (responses per second; 0: no limit)" },
  RateLimitSlip: { min: 0, max: 100, expected: "an integer from 0 to 100 (0: drop every limited response)" },
};

function rangeOf(name: keyof Config, kind: string): Range | undefined {
  const own = RANGES[name];
  if (own) return own;
  if (kind === "uint16") return { min: 0, max: 65535, expected: "an integer from 0 to 65535" };
  if (kind === "uint32") return { min: 0, max: 4294967295, expected: "an integer from 0 to 4294967295" };
  return undefined;
}

function checkRanges(c: Config): void {
  for (const k of KEYS) {
    if (k.kind !== "int" && k.kind !== "int32" && k.kind !== "uint16" && k.kind !== "uint32") continue;
    const v = c[k.name] as number;
    const r = rangeOf(k.name, k.kind) ??
      { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, expected: "an integer" };
    if (!Number.isSafeInteger(v) || v < r.min || v > r.max) {
      let expected = r.expected;
      if (k.name === "RefreshSeconds" && Number.isInteger(v) && v > MAX_TIMER_SECONDS) {
        expected = `an integer > 0 and <= ${MAX_TIMER_SECONDS} (the longest timer)`;
      }
      throw keyError(k.name, show(v), expected);
    }
  }
}

function checkServicesAndSources(c: Config, hint: string | undefined): void {
  if (!c.DnsOn && !c.HttpOn) {
    throw new ConfigError(
      'config keys "DnsOn" and "HttpOn": got both false, expected at least one true ' +
        "(service validation failed: either DNS or HTTP server should be on)",
    );
  }
  if ((c.Masters === null || c.Masters.length === 0) && c.Zk === "") {
    throw new ConfigError(
      'config keys "Masters" and "Zk": got neither, expected Mesos masters (e.g. --masters=10.0.0.1:5050) ' +
        `or a ZooKeeper URL (e.g. --zk=zk://10.0.0.1:2181/mesos)${hint ? `; ${hint}` : ""} ` +
        "(service validation failed: specify Mesos masters or Zookeeper in config.json)",
    );
  }
  if (c.Zk !== "") {
    try {
      parseZkUrl(c.Zk); // the leader source's own parser, so both accept the same forms
    } catch (e) {
      // The message shows the value (user-info hidden), the reason and the expected form.
      if (e instanceof ZkUrlError) throw new ConfigError(`config key "Zk": ${e.message}`);
      throw e;
    }
  }
}

function checkMasters(masters: string[] | null): void {
  const seen = new Set<string>();
  for (const m of masters ?? []) {
    const r = masterKey(m);
    if ("error" in r) {
      throw keyError(
        "Masters",
        show(m),
        'host:port with a port from 1 to 65535, e.g. "10.0.0.1:5050" or "[2001:db8::1]:5050"',
        `error validating masters: ${r.error}`,
      );
    }
    if (seen.has(r.key)) {
      throw keyError(
        "Masters",
        `${show(m)} twice`,
        "each master once (IP addresses compare in canonical form)",
        `error validating masters: duplicate found: ${r.key}`,
      );
    }
    seen.add(r.key);
  }
}

const RESOLVER_EXPECTED = 'an IP address with an optional port 1..65535, e.g. "8.8.8.8", "10.0.0.1:5353", ' +
  '"2001:db8::1" or "[2001:db8::1]:53"';

/** Validates a resolver list and returns it as canonical `ip:port`; `key` names it in messages. */
function normaliseResolvers(key: string, list: string[], context = ""): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of list) {
    const n = normaliseResolver(r);
    if ("error" in n) {
      throw keyError(key, show(r) + context, RESOLVER_EXPECTED, `error validating resolvers: ${n.error}`);
    }
    if (seen.has(n.value)) {
      throw keyError(
        key,
        `${show(r)} twice${context}`,
        "each resolver once (a missing port means 53)",
        `error validating resolvers: duplicate found: ${n.value}`,
      );
    }
    seen.add(n.value);
    out.push(n.value);
  }
  return out;
}

/** The `nameserver` entries of resolv.conf text, in order. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (fields[0] === "nameserver" && fields.length > 1) out.push(fields[1]);
  }
  return out;
}

async function resolversFromSystem(env: ValidationEnv, warnings: string[]): Promise<string[]> {
  let text: string;
  try {
    text = await env.readTextFile(RESOLV_CONF);
  } catch (e) {
    throw keyError(
      "Resolvers",
      "[]",
      `resolvers, or a readable ${RESOLV_CONF} to take them from (or ExternalOn false)`,
      `failed to read ${RESOLV_CONF}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const local = new Set<string>();
  for (const ip of env.localIPs()) {
    local.add(ip);
    const canon = canonicalIP(ip);
    if (canon) local.add(canon);
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const ns of parseResolvConf(text)) {
    if (local.has(ns) || local.has(canonicalIP(ns) ?? "")) continue;
    const n = normaliseResolver(ns);
    if ("error" in n) {
      warnings.push(`ignoring nameserver ${show(ns)} of ${RESOLV_CONF}: not an IP address`);
      continue;
    }
    if (seen.has(n.value)) continue;
    seen.add(n.value);
    out.push(ns);
  }
  return out;
}

function isDotSuffix(inner: string, outer: string): boolean {
  return inner === outer || inner.endsWith(`.${outer}`);
}

function normaliseZones(zones: Record<string, string[]>, domain: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const given = new Map<string, string>();
  const lowerDomain = domain.toLowerCase();
  for (const zone of Object.keys(zones).sort()) {
    const list = zones[zone];
    if (list.length === 0) {
      throw keyError(
        "ZoneResolvers",
        `an empty list for zone ${show(zone)}`,
        "at least one resolver per zone",
        `field ZoneResolver ${zone} is empty`,
      );
    }
    if (!DOMAIN_RE.test(zone)) {
      throw keyError("ZoneResolvers", `zone ${show(zone)}`, DOMAIN_EXPECTED, `invalid domain name: ${zone}`);
    }
    const lower = zone.toLowerCase();
    if (lower === lowerDomain) {
      throw keyError(
        "ZoneResolvers",
        `zone ${show(zone)}`,
        `a zone other than the Mesos domain ${show(domain)}`,
        `can't specify ZoneResolver for Mesos domain (${domain})`,
      );
    }
    if (given.has(lower)) {
      throw keyError(
        "ZoneResolvers",
        `zones ${show(given.get(lower))} and ${show(zone)}`,
        "each zone once (zone names are case-insensitive)",
      );
    }
    given.set(lower, zone);
    out[lower] = normaliseResolvers("ZoneResolvers", list, ` for zone ${show(zone)}`);
  }
  // No zone (nor the Mesos domain) may lie inside another one.
  const names = [...given.keys(), lowerDomain];
  for (const a of names) {
    for (const b of names) {
      if (a === b || !isDotSuffix(a, b)) continue;
      const aText = a === lowerDomain ? `the Mesos domain ${show(domain)}` : `zone ${show(given.get(a))}`;
      const bText = b === lowerDomain ? `the Mesos domain ${show(domain)}` : `zone ${show(given.get(b))}`;
      throw keyError(
        "ZoneResolvers",
        `${aText} inside ${bText}`,
        "zones that do not contain one another nor the Mesos domain",
        `ambiguous zone resolvers: .${a} is masked by .${b}`,
      );
    }
  }
  return out;
}

function checkIPSources(sources: string[]): void {
  const expected = `a non-empty list of distinct sources from ${IP_SOURCES.join(", ")}`;
  if (sources.length === 0) {
    throw keyError("IPSources", "[]", expected, "IPSources validation failed: empty ip sources");
  }
  const seen = new Set<string>();
  for (const s of sources) {
    if (!IP_SOURCES.includes(s)) {
      throw keyError(
        "IPSources",
        show(s),
        expected,
        `IPSources validation failed: invalid ip source ${show(s)}`,
      );
    }
    if (seen.has(s)) {
      throw keyError(
        "IPSources",
        `${show(s)} twice`,
        expected,
        "IPSources validation failed: duplicate ip source specified",
      );
    }
    seen.add(s);
  }
}

/** Removes trailing dots and appends exactly one. */
function oneTrailingDot(s: string): string {
  return s.replace(/\.+$/, "") + ".";
}

type PemBlock = { label: string; body: string };

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2].split(/\r?\n/).filter((l) => !l.includes(":")).join("").replace(/\s+/g, "");
    try {
      if (body.length > 0) {
        atob(body);
        out.push({ label: m[1], body });
      }
    } catch {
      // not base64: not a usable block
    }
  }
  return out;
}

async function readFor(key: string, path: string, env: ValidationEnv, expected: string, what: string) {
  try {
    return await env.readTextFile(path);
  } catch (e) {
    throw keyError(
      key,
      show(path),
      expected,
      `${what} open failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function checkCertificates(c: Config, env: ValidationEnv): Promise<void> {
  if (c.CACertFile !== "") {
    const expected = "a readable PEM file with at least one CERTIFICATE block";
    const text = await readFor("CACertFile", c.CACertFile, env, expected, "CACertFile");
    if (!pemBlocks(text).some((b) => b.label === "CERTIFICATE")) {
      throw keyError(
        "CACertFile",
        show(c.CACertFile),
        expected,
        "CACertFile parsing failed: no certificate found",
      );
    }
  }
  if (c.CertFile !== "" && c.KeyFile === "") {
    throw keyError("KeyFile", '""', "the private key of CertFile (both or neither)", "Missing private key");
  }
  if (c.KeyFile !== "" && c.CertFile === "") {
    throw keyError("CertFile", '""', "the certificate of KeyFile (both or neither)", "Missing certificate");
  }
  if (c.CertFile !== "") {
    const certExpected = "a readable PEM file with a CERTIFICATE block";
    const cert = await readFor("CertFile", c.CertFile, env, certExpected, "CertFile");
    if (!pemBlocks(cert).some((b) => b.label === "CERTIFICATE")) {
      throw keyError("CertFile", show(c.CertFile), certExpected, "failed to load client key pair");
    }
    const keyExpected = "a readable PEM file with a PRIVATE KEY block";
    const key = await readFor("KeyFile", c.KeyFile, env, keyExpected, "KeyFile");
    if (!pemBlocks(key).some((b) => b.label.endsWith("PRIVATE KEY"))) {
      throw keyError("KeyFile", show(c.KeyFile), keyExpected, "failed to load client key pair");
    }
  }
}

async function checkAuthentication(c: Config, env: ValidationEnv, warnings: string[]): Promise<void> {
  const mode = c.MesosAuthentication as string;
  if (mode !== "" && mode !== "basic" && mode !== "iam") {
    throw keyError(
      "MesosAuthentication",
      show(mode),
      'one of "" (none), "basic", "iam"',
      "unregistered factory requested",
    );
  }
  const iamExpected = "a readable JSON file with uid, private_key and login_endpoint";
  let iam: { uid: string; private_key: string; login_endpoint: string } | undefined;
  if (c.IAMConfigFile !== "") {
    let text: string;
    try {
      text = await env.readTextFile(c.IAMConfigFile);
    } catch (e) {
      throw keyError(
        "IAMConfigFile",
        show(c.IAMConfigFile),
        iamExpected,
        `failed to load IAM config from file ${c.IAMConfigFile}: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
    }
    try {
      iam = decodeIamConfig(text);
    } catch (e) {
      const reason = e instanceof JsonSyntaxError ? `malformed JSON at ${e.message}` : (e as Error).message;
      throw keyError("IAMConfigFile", show(c.IAMConfigFile), iamExpected, `invalid IAM JSON: ${reason}`);
    }
    if (iam.login_endpoint !== "" && !isHttpUrl(iam.login_endpoint)) {
      throw keyError(
        "IAMConfigFile",
        show(c.IAMConfigFile),
        "a login_endpoint that is an http:// or https:// URL",
        `invalid LoginEndpoint URL: ${iam.login_endpoint}`,
      );
    }
  }
  if (mode === "basic" && c.MesosCredentials.Principal === "" && c.MesosCredentials.Secret === "") {
    throw keyError(
      "MesosCredentials",
      "an empty principal and secret",
      'a principal and a secret with MesosAuthentication "basic"',
      "invalid HTTP Basic configuration",
    );
  }
  if (mode === "iam") {
    if (!iam) {
      throw keyError(
        "IAMConfigFile",
        '""',
        'the path of the IAM JSON file with MesosAuthentication "iam"',
        "missing configuration for specified authentication mechanism",
      );
    }
    const missing = (["uid", "private_key", "login_endpoint"] as const).filter((f) => iam[f] === "");
    if (missing.length > 0) {
      throw keyError(
        "IAMConfigFile",
        show(c.IAMConfigFile),
        `non-empty uid, private_key and login_endpoint (empty: ${missing.join(", ")})`,
        "invalid HTTP IAM configuration",
      );
    }
  }
  if (mode === "" && c.MesosCredentials.Principal !== "") {
    warnings.push('MesosCredentials are set but MesosAuthentication is "" (none): they are not used');
  }
  if (mode !== "iam" && c.IAMConfigFile !== "") {
    warnings.push(`IAMConfigFile is set but MesosAuthentication is ${show(mode)}: the file is not used`);
  }
}

/** Checks an address list (IPs or CIDR prefixes); returns the entries in canonical form. */
function normaliseAllowList(key: keyof Config, list: readonly string[]): string[] {
  return list.map((entry) => {
    const net = canonicalNetwork(String(entry).trim());
    if (net === undefined) {
      throw keyError(
        key,
        show(entry),
        'IP addresses or CIDR prefixes, IPv4 or IPv6, e.g. ["10.0.0.0/8", "::1"]',
      );
    }
    return net;
  });
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Validates and normalises a merged configuration (SPEC §2.2 and §10). Returns a new
 * Config: Resolvers/ZoneResolvers as canonical `ip:port` (when ExternalOn), zones and
 * Domain lower-cased, SOA names with one trailing dot, SOASerial = now. Throws
 * ConfigError naming the key, the bad value and what was expected.
 */
export async function validateConfig(input: Config, env: ValidationEnv): Promise<Validated> {
  const warnings: string[] = [];
  const c: Config = {
    ...input,
    Masters: input.Masters === null ? null : [...input.Masters],
    ZoneResolvers: { ...input.ZoneResolvers },
    Resolvers: [...input.Resolvers],
    IPSources: [...input.IPSources],
    AXFRAllow: [...input.AXFRAllow],
    NotifySecondaries: [...input.NotifySecondaries],
    ForwardAllow: [...input.ForwardAllow],
    MesosCredentials: { ...input.MesosCredentials },
  };
  checkRanges(c);
  checkServicesAndSources(c, env.missingSourceHint);
  checkMasters(c.Masters);
  if (c.ExternalOn) {
    if (c.Resolvers.length === 0) {
      c.Resolvers = normaliseResolvers(
        "Resolvers",
        await resolversFromSystem(env, warnings),
        ` (from ${RESOLV_CONF})`,
      );
    } else {
      c.Resolvers = normaliseResolvers("Resolvers", c.Resolvers);
    }
    c.ZoneResolvers = normaliseZones(c.ZoneResolvers, c.Domain);
  }
  checkIPSources(c.IPSources);
  if (!["auto", "ffi", "portable"].includes(c.DNSUDPEngine)) {
    throw keyError("DNSUDPEngine", show(c.DNSUDPEngine), '"auto", "ffi" or "portable"');
  }
  c.AXFRAllow = c.AXFRAllow.map((s) => {
    const net = canonicalNetwork(s.trim());
    if (net === undefined) {
      throw keyError(
        "AXFRAllow",
        show(s),
        'IP addresses or networks, e.g. ["10.0.0.5", "10.1.0.0/16", "fd00::/8"]',
      );
    }
    return net;
  });
  c.NotifySecondaries = normaliseResolvers("NotifySecondaries", c.NotifySecondaries);
  c.ForwardAllow = normaliseAllowList("ForwardAllow", c.ForwardAllow);
  if (!["auto", "stream", "poll"].includes(c.StateSource)) {
    throw keyError("StateSource", show(c.StateSource), '"auto", "stream" or "poll"');
  }
  if (c.StateTimeoutSeconds <= 0) {
    throw keyError(
      "StateTimeoutSeconds",
      show(c.StateTimeoutSeconds),
      "an integer > 0",
      `Invalid HTTP Timeout: ${c.StateTimeoutSeconds}`,
    );
  }
  const domain = c.Domain.toLowerCase();
  if (!DOMAIN_RE.test(domain)) {
    throw keyError("Domain", show(c.Domain), DOMAIN_EXPECTED, `${domain} is not a valid domain name`);
  }
  c.Domain = domain;
  c.SOAMname = oneTrailingDot(c.SOAMname);
  c.SOARname = oneTrailingDot(c.SOARname.replaceAll("@", "."));
  c.SOASerial = Math.floor((env.now ?? Date.now)() / 1000);
  await checkCertificates(c, env);
  await checkAuthentication(c, env, warnings);
  return { config: c, warnings };
}
