/**
 * Mesos PID and host:port parsing (owns: SPEC §4.4 `id@host:port` pids and the two
 * host:port splitters the original uses: the strict one for pids, and the lenient one
 * for the masters list and the state's `leader`). IPv6 hosts are bracketed.
 */

/** A host and a port, both as written (the port is not normalised). */
export interface HostPort {
  host: string;
  port: string;
}

/** A parsed libprocess PID such as `slave(1)@10.0.0.11:5051`. */
export interface Pid extends HostPort {
  id: string;
}

/**
 * Splits `host:port` or `[host]:port` the way Go's `net.SplitHostPort` does: the port is
 * everything after the last colon; an unbracketed host may not contain a colon; stray
 * brackets are errors. Returns null when it cannot be split.
 */
export function splitHostPort(hostport: string): HostPort | null {
  const i = hostport.lastIndexOf(":");
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith("[")) {
    const end = hostport.indexOf("]");
    if (end < 0 || end + 1 !== i) return null;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) return null;
  }
  if (hostport.indexOf("[", j) >= 0) return null;
  if (hostport.indexOf("]", k) >= 0) return null;
  return { host, port: hostport.slice(i + 1) };
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

/** True if `port` is a decimal port number 0..65535. */
export function isNumericPort(port: string): boolean {
  return /^[0-9]{1,5}$/.test(port) && Number(port) <= 65535;
}

/**
 * Parses a PID value from the state: surrounding quotes and spaces are trimmed, there must
 * be exactly one `@`, and the rest must split into host and a numeric port. Anything else
 * (including non-strings such as a JSON null) gives null.
 */
export function parsePid(raw: unknown): Pid | null {
  if (typeof raw !== "string") return null;
  const s = raw.replace(/^[" ]+|[" ]+$/g, "");
  const at = s.indexOf("@");
  if (at < 0 || s.indexOf("@", at + 1) >= 0) return null;
  const hp = splitHostPort(s.slice(at + 1));
  if (!hp || !isNumericPort(hp.port)) return null;
  return { id: s.slice(0, at), host: hp.host, port: hp.port };
}

/** Joins host and port, bracketing hosts that contain a colon (IPv6). */
export function joinHostPort(host: string, port: string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
