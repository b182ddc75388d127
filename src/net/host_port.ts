/**
 * `host:port` syntax (owns: splitting and joining as Go's `net.SplitHostPort` and
 * `net.JoinHostPort` do, IPv6 hosts in brackets, and port-number checks). The one
 * host:port parser of the project: config, state fetching, records and ZooKeeper use it.
 */

/** A host and a port, both as written (the port is not normalised). */
export interface HostPort {
  host: string;
  port: string;
}

/**
 * Splits `host:port` (IPv6 hosts in brackets: `[::1]:53`) with the rules of Go's
 * `net.SplitHostPort`: the port is everything after the last colon; an unbracketed host
 * may not contain a colon; stray brackets are errors. The port is not checked here.
 * Returns the parts, or the reason the text is not `host:port`.
 */
export function splitHostPortOrError(s: string): HostPort | { error: string } {
  const i = s.lastIndexOf(":");
  if (i < 0) return { error: "missing port in address" };
  let host: string;
  let j = 0;
  let k = 0;
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0) return { error: "missing ']' in address" };
    if (end + 1 === s.length) return { error: "missing port in address" };
    if (end + 1 !== i) {
      return { error: s[end + 1] === ":" ? "too many colons in address" : "missing port in address" };
    }
    host = s.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = s.slice(0, i);
    if (host.includes(":")) return { error: "too many colons in address" };
  }
  if (s.indexOf("[", j) >= 0) return { error: "unexpected '[' in address" };
  if (s.indexOf("]", k) >= 0) return { error: "unexpected ']' in address" };
  return { host, port: s.slice(i + 1) };
}

/** {@link splitHostPortOrError} without the reason: null when `s` cannot be split. */
export function splitHostPort(s: string): HostPort | null {
  const hp = splitHostPortOrError(s);
  return "error" in hp ? null : hp;
}

/**
 * The lenient splitter used for masters and the leader (the original's `urls.SplitHostPort`):
 * `splitHostPort`, else everything before the first colon is the host and the rest the port.
 * Returns null only when there is no colon at all (e.g. the empty "unknown leader" entry).
 */
export function splitHostPortLoose(pair: string): HostPort | null {
  const hp = splitHostPort(pair);
  if (hp) return hp;
  const c = pair.indexOf(":");
  if (c < 0) return null;
  return { host: pair.slice(0, c), port: pair.slice(c + 1) };
}

/** Joins a host and a port, bracketing hosts that contain a colon (IPv6). */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True if `port` is a decimal port number 0..65535. */
export function isNumericPort(port: string): boolean {
  return /^[0-9]{1,5}$/.test(port) && Number(port) <= 65535;
}

/** The port as a number when `text` is a decimal integer in 1..65535, else undefined. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}
