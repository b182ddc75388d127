/**
 * The `zk` config value (owns: parsing `zk://[user:pass@]h1:p1,h2:p2/path` into servers
 * and a znode path, SPEC §3.2 and §10.8). Pure.
 *
 * Only the `zk://` form is accepted (§10.8); every error names the expected form. The
 * user-info part is accepted and ignored, like the original; it never appears in errors.
 * A host without a port gets ZooKeeper's default port 2181. IPv6 hosts use brackets.
 */

/** One ensemble member. */
export interface ZkHost {
  host: string;
  port: number;
}

/** A parsed `zk://` URL. */
export interface ZkUrl {
  servers: ZkHost[];
  /** The znode whose children are the Mesos masters, e.g. `/mesos` (no trailing slash). */
  path: string;
}

/** The form every error message shows. */
export const ZK_URL_FORM =
  "zk://host1:port1[,host2:port2,...]/path (e.g. zk://10.0.0.1:2181,10.0.0.2:2181/mesos)";

const DEFAULT_PORT = 2181;

/** Thrown for an unusable `zk` value; the message says what is wrong and shows the expected form. */
export class ZkUrlError extends Error {
  constructor(value: string, reason: string) {
    super(`invalid zk URL ${JSON.stringify(redact(value))}: ${reason}; expected ${ZK_URL_FORM}`);
    this.name = "ZkUrlError";
  }
}

/** Hides the user-info (`user:pass@`) of a URL-like string so it can be logged. */
export function redact(value: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/@]*@)/.exec(value);
  return m ? `${m[1]}***@${value.slice(m[0].length)}` : value;
}

/** Parses a `zk://` URL; throws `ZkUrlError` with the reason and the expected form. */
export function parseZkUrl(value: string): ZkUrl {
  const v = value.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v);
  if (!scheme) throw new ZkUrlError(value, "not a zk:// URL");
  if (scheme[1] !== "zk") throw new ZkUrlError(value, `scheme must be "zk", not "${scheme[1]}"`);
  let rest = v.slice(scheme[0].length);
  if (/[?#]/.test(rest)) throw new ZkUrlError(value, "query strings and fragments are not allowed");
  const slash = rest.indexOf("/");
  if (slash < 0) throw new ZkUrlError(value, "missing znode path");
  let authority = rest.slice(0, slash);
  rest = rest.slice(slash);
  const at = authority.lastIndexOf("@");
  if (at >= 0) authority = authority.slice(at + 1); // user-info: accepted, unused
  if (authority === "") throw new ZkUrlError(value, "no ZooKeeper host given");
  const servers = authority.split(",").map((part) => parseHost(value, part));
  return { servers, path: parsePath(value, rest) };
}

function parseHost(value: string, part: string): ZkHost {
  if (part === "") throw new ZkUrlError(value, "empty host in the host list");
  let host: string;
  let portText: string | undefined;
  if (part.startsWith("[")) {
    const close = part.indexOf("]");
    if (close < 0) throw new ZkUrlError(value, `unclosed "[" in host "${part}"`);
    host = part.slice(1, close);
    const after = part.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw new ZkUrlError(value, `bad host "${part}"`);
    portText = after === "" ? undefined : after.slice(1);
    if (!host.includes(":")) throw new ZkUrlError(value, `brackets are only for IPv6 addresses: "${part}"`);
  } else {
    const colon = part.indexOf(":");
    if (colon >= 0 && part.indexOf(":", colon + 1) >= 0) {
      throw new ZkUrlError(value, `IPv6 address "${part}" must be in brackets, e.g. [::1]:2181`);
    }
    host = colon >= 0 ? part.slice(0, colon) : part;
    portText = colon >= 0 ? part.slice(colon + 1) : undefined;
    if (host === "") throw new ZkUrlError(value, `missing host name in "${part}"`);
    if (!/^[a-zA-Z0-9._-]+$/.test(host)) throw new ZkUrlError(value, `bad host name "${host}"`);
  }
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) {
      throw new ZkUrlError(value, `bad port "${portText}" for host "${host}"`);
    }
    port = Number(portText);
    if (port < 1 || port > 65535) throw new ZkUrlError(value, `port ${port} out of range 1-65535`);
  }
  return { host, port };
}

function parsePath(value: string, raw: string): string {
  const path = raw.replace(/\/+$/, "");
  if (path === "") throw new ZkUrlError(value, "missing znode path (e.g. /mesos)");
  const segments = path.slice(1).split("/");
  for (const s of segments) {
    if (s === "") throw new ZkUrlError(value, `empty segment in path "${raw}"`);
    if (s === "." || s === "..") throw new ZkUrlError(value, `relative segment "${s}" in path "${raw}"`);
  }
  return path;
}
