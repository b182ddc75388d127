/**
 * The configuration key table (owns: every key's canonical Go name, value kind, default,
 * flag name and one-line meaning; key lookup by any spelling; and how a layer of values
 * — the file, then the flags — is laid over the one below). Defaults follow SPEC §2.2.
 */
import type { Config, MesosCredentials } from "./types.ts";

/**
 * The value kind of a key. Integer kinds name the Go type whose range applies:
 * `int` (any safe integer), `int32`, `uint16`, `uint32`.
 */
export type KeyKind =
  | "int"
  | "int32"
  | "uint16"
  | "uint32"
  | "string"
  | "bool"
  | "list"
  | "zones"
  | "credentials";

/** One configuration key. */
export interface KeySpec {
  /** Canonical Go field name, as in config files and `/v1/config`. */
  name: keyof Config;
  /** The kebab-case flag name (`--refresh-seconds`); the Go name also works as a flag. */
  flag: string;
  kind: KeyKind;
  /** One line for `--help`. */
  doc: string;
}

/** Every key, in the order of `/v1/config` (SPEC §8.3). */
export const KEYS: readonly KeySpec[] = [
  {
    name: "RefreshSeconds",
    flag: "refresh-seconds",
    kind: "int",
    doc: "seconds between reloads of the Mesos state",
  },
  { name: "Port", flag: "port", kind: "int", doc: "DNS port, UDP and TCP (0: the OS chooses)" },
  {
    name: "Timeout",
    flag: "timeout",
    kind: "int",
    doc: "seconds to wait for an upstream resolver (0 means 5)",
  },
  {
    name: "StateTimeoutSeconds",
    flag: "state-timeout-seconds",
    kind: "int",
    doc: "seconds to wait for a master's state document",
  },
  {
    name: "ZkDetectionTimeout",
    flag: "zk-detection-timeout",
    kind: "int",
    doc: "seconds without a leader from ZooKeeper before exiting (0 or less: never)",
  },
  { name: "HttpPort", flag: "http-port", kind: "int", doc: "HTTP API port (0: the OS chooses)" },
  { name: "TTL", flag: "ttl", kind: "int32", doc: "time to live, in seconds, of the records served" },
  {
    name: "SRVRecordDefaultWeight",
    flag: "srv-record-default-weight",
    kind: "uint16",
    doc: "weight field of the SRV records served",
  },
  {
    name: "SOASerial",
    flag: "soa-serial",
    kind: "uint32",
    doc: "ignored: the SOA serial is the Unix time of the start or last reload",
  },
  { name: "SOARefresh", flag: "soa-refresh", kind: "uint32", doc: "SOA REFRESH value, seconds" },
  { name: "SOARetry", flag: "soa-retry", kind: "uint32", doc: "SOA RETRY value, seconds" },
  { name: "SOAExpire", flag: "soa-expire", kind: "uint32", doc: "SOA EXPIRE value, seconds" },
  {
    name: "SOAMinttl",
    flag: "soa-minttl",
    kind: "uint32",
    doc: "accepted but unused: the SOA MINIMUM served is TTL",
  },
  {
    name: "SOAMname",
    flag: "soa-mname",
    kind: "string",
    doc: "name server of the zone (SOA MNAME; gets an A record with the listener address)",
  },
  {
    name: "SOARname",
    flag: "soa-rname",
    kind: "string",
    doc: "mailbox of the zone's administrator (SOA RNAME; '@' is turned into '.')",
  },
  {
    name: "Masters",
    flag: "masters",
    kind: "list",
    doc: "Mesos masters as host:port, comma-separated; the first is the presumed leader",
  },
  {
    name: "ZoneResolvers",
    flag: "zone-resolvers",
    kind: "zones",
    doc: "resolvers for given zones: zone=ip[:port],ip;zone2=ip  or a JSON object",
  },
  {
    name: "Resolvers",
    flag: "resolvers",
    kind: "list",
    doc: "upstream resolvers ip[:port], comma-separated; empty: the nameservers of /etc/resolv.conf",
  },
  {
    name: "IPSources",
    flag: "ip-sources",
    kind: "list",
    doc: "where task addresses come from, in order of preference: netinfo, mesos, docker, host",
  },
  {
    name: "Zk",
    flag: "zk",
    kind: "string",
    doc: "ZooKeeper URL zk://host:port[,host:port]/path for leader detection",
  },
  { name: "Domain", flag: "domain", kind: "string", doc: "domain under which Mesos names are served" },
  { name: "File", flag: "file", kind: "string", doc: "informational: path of the loaded config file" },
  {
    name: "Listener",
    flag: "listener",
    kind: "string",
    doc: "IP address the DNS server binds (also the address of the SOAMname record)",
  },
  { name: "HTTPListener", flag: "http-listener", kind: "string", doc: "IP address the HTTP API binds" },
  {
    name: "RecurseOn",
    flag: "recurse-on",
    kind: "bool",
    doc: "set RA (recursion available) in Mesos-domain replies",
  },
  { name: "DnsOn", flag: "dns-on", kind: "bool", doc: "serve DNS" },
  { name: "HttpOn", flag: "http-on", kind: "bool", doc: "serve the HTTP API" },
  {
    name: "ExternalOn",
    flag: "external-on",
    kind: "bool",
    doc: "forward names outside the domain to Resolvers/ZoneResolvers",
  },
  {
    name: "EnforceRFC952",
    flag: "enforce-rfc952",
    kind: "bool",
    doc: "make labels RFC 952 compliant (start with a letter, at most 24 characters)",
  },
  {
    name: "SetTruncateBit",
    flag: "set-truncate-bit",
    kind: "bool",
    doc: "set TC on UDP replies that were cut short",
  },
  { name: "EnumerationOn", flag: "enumeration-on", kind: "bool", doc: "enable /v1/enumerate and /v1/axfr" },
  { name: "MesosHTTPSOn", flag: "mesos-https-on", kind: "bool", doc: "talk to the masters over HTTPS" },
  {
    name: "CACertFile",
    flag: "ca-cert-file",
    kind: "string",
    doc: "PEM file of the CAs trusted for masters (empty: the system roots)",
  },
  { name: "CertFile", flag: "cert-file", kind: "string", doc: "PEM client certificate for the masters" },
  { name: "KeyFile", flag: "key-file", kind: "string", doc: "PEM private key of the client certificate" },
  {
    name: "MesosCredentials",
    flag: "mesos-credentials",
    kind: "credentials",
    doc: "principal and secret for basic authentication (--mesos-credentials.principal=..., .secret=...)",
  },
  {
    name: "IAMConfigFile",
    flag: "iam-config-file",
    kind: "string",
    doc: "JSON file with uid, private_key and login_endpoint for iam authentication",
  },
  {
    name: "MesosAuthentication",
    flag: "mesos-authentication",
    kind: "string",
    doc: 'authentication to the masters: "" (none), basic or iam',
  },
  {
    name: "RecordsDropWarnPercent",
    flag: "records-drop-warn-percent",
    kind: "int",
    doc: "warn loudly when a new state drops more than this % of the records at once (0: never)",
  },
  {
    name: "DNSUDPEngine",
    flag: "dns-udp-engine",
    kind: "string",
    doc: "UDP server: auto (the Linux FFI fast path when it can load, else portable), ffi or portable",
  },
  {
    name: "AXFRAllow",
    flag: "axfr-allow",
    kind: "list",
    doc: "clients allowed AXFR/IXFR of the domain over TCP: IPs or CIDRs, comma-separated (empty: nobody)",
  },
  {
    name: "NotifySecondaries",
    flag: "notify-secondaries",
    kind: "list",
    doc: "secondaries sent a DNS NOTIFY after each change, as ip[:port] (default port 53), comma-separated",
  },
  {
    name: "PTROn",
    flag: "ptr-on",
    kind: "bool",
    doc: "answer PTR queries (in-addr.arpa, ip6.arpa) for the addresses of tasks, agents and masters",
  },
  {
    name: "HealthAware",
    flag: "health-aware",
    kind: "bool",
    doc: "give no records to tasks whose latest status says healthy: false",
  },
  {
    name: "DNSUDPWorkers",
    flag: "dns-udp-workers",
    kind: "int",
    doc: "UDP fast path worker threads, each with its own socket on the DNS address (0: one per CPU core)",
  },
  {
    name: "UDPReceiveBuffer",
    flag: "udp-receive-buffer",
    kind: "int",
    doc: "bytes of kernel receive buffer asked for each DNS UDP socket, for bursts (0: the kernel default)",
  },
  {
    name: "ForwardCacheSize",
    flag: "forward-cache-size",
    kind: "int",
    doc: "entries in the cache of forwarded answers (0: no cache)",
  },
  {
    name: "ReadyMaxAgeSeconds",
    flag: "ready-max-age-seconds",
    kind: "int",
    doc:
      "/ready answers 503 when the last good state update is older than this (0: never; -1: 3 x refreshSeconds)",
  },
  {
    name: "ForwardAllow",
    flag: "forward-allow",
    kind: "list",
    doc:
      "clients (IPs or CIDR prefixes, comma-separated) whose outside names are forwarded; others get REFUSED",
  },
  {
    name: "RateLimit",
    flag: "rate-limit",
    kind: "int",
    doc:
      "UDP responses per second per client /24 or /56 prefix; beyond it dropped or truncated (0: no limit)",
  },
  {
    name: "RateLimitSlip",
    flag: "rate-limit-slip",
    kind: "int",
    doc: "every n-th rate-limited response is sent truncated so real clients retry over TCP (0: drop all)",
  },
  {
    name: "StateSource",
    flag: "state-source",
    kind: "string",
    doc: "where the state comes from: auto (the operator API event stream, else polling), stream or poll",
  },
];

/**
 * The built-in defaults (SPEC §2.2) in their normalised form (SOA names with the trailing
 * dot, resolvers as `ip:port`; normalising them again changes nothing), so the result is a
 * usable Config as it is. SOASerial is 0 until validation sets it. A fresh object per call.
 */
export function defaultConfig(): Config {
  return {
    RefreshSeconds: 60,
    Port: 53,
    Timeout: 5,
    StateTimeoutSeconds: 300,
    ZkDetectionTimeout: 30,
    HttpPort: 8123,
    TTL: 60,
    SRVRecordDefaultWeight: 1,
    SOASerial: 0,
    SOARefresh: 60,
    SOARetry: 600,
    SOAExpire: 86400,
    SOAMinttl: 60,
    SOAMname: "ns1.mesos.",
    SOARname: "root.ns1.mesos.",
    Masters: null,
    ZoneResolvers: {},
    Resolvers: ["8.8.8.8:53"],
    IPSources: ["netinfo", "mesos", "host"],
    Zk: "",
    Domain: "mesos",
    File: "",
    Listener: "0.0.0.0",
    HTTPListener: "0.0.0.0",
    RecurseOn: true,
    DnsOn: true,
    HttpOn: true,
    ExternalOn: true,
    EnforceRFC952: false,
    SetTruncateBit: true,
    EnumerationOn: true,
    MesosHTTPSOn: false,
    CACertFile: "",
    CertFile: "",
    KeyFile: "",
    MesosCredentials: { Principal: "", Secret: "" },
    IAMConfigFile: "",
    MesosAuthentication: "",
    RecordsDropWarnPercent: 50,
    DNSUDPEngine: "auto",
    AXFRAllow: [],
    NotifySecondaries: [],
    PTROn: false,
    HealthAware: false,
    DNSUDPWorkers: 0,
    UDPReceiveBuffer: 4194304,
    ForwardCacheSize: 10000,
    ReadyMaxAgeSeconds: -1,
    ForwardAllow: ["0.0.0.0/0", "::/0"],
    RateLimit: 0,
    RateLimitSlip: 2,
    StateSource: "auto",
  };
}

/** The fields of `MesosCredentials`, matched case-insensitively like the keys. */
export const CREDENTIAL_FIELDS: readonly (keyof MesosCredentials)[] = ["Principal", "Secret"];

const byFolded = new Map(KEYS.map((k) => [k.name.toLowerCase(), k]));

/** Finds a key by its name in any ASCII letter case (`refreshseconds`), as config files name them. */
export function findKey(name: string): KeySpec | undefined {
  return byFolded.get(asciiLower(name));
}

/** Lower-cases ASCII letters only (SPEC §10.9: key matching is ASCII case-insensitive). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Folds a flag or key spelling for loose matching: ASCII lower case, `-` and `_` dropped. */
export function foldName(s: string): string {
  return asciiLower(s).replace(/[-_]/g, "");
}

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps as one each. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => [i, ...new Array<number>(b.length).fill(0)],
  );
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Picks the candidate closest to `name` (after {@link foldName}) for a "did you mean"
 * hint, or undefined when none is close enough.
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const folded = foldName(name);
  const limit = Math.max(1, Math.floor(folded.length / 4));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(folded, foldName(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/**
 * A layer of values over the defaults: any subset of keys, and any subset of the
 * credential fields. Values have the right JS type but are not yet validated.
 */
export type ConfigOverlay = Partial<Omit<Config, "MesosCredentials">> & {
  MesosCredentials?: Partial<MesosCredentials>;
};

function copyValue<T>(v: T): T {
  if (Array.isArray(v)) return [...v] as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = Array.isArray(x) ? [...x] : x;
    return out as T;
  }
  return v;
}

/** Returns a copy of `base` with the keys present in `overlay` replaced (credential fields one by one). */
export function applyOverlay(base: Config, overlay: ConfigOverlay): Config {
  const out = {} as Record<keyof Config, unknown>;
  for (const { name } of KEYS) {
    if (name === "MesosCredentials") {
      out[name] = { ...base.MesosCredentials, ...overlay.MesosCredentials };
    } else {
      out[name] = copyValue(name in overlay ? overlay[name] : base[name]);
    }
  }
  return out as unknown as Config;
}
