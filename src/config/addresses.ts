/**
 * Address syntax used by the configuration (owns: IP literal parsing and canonical
 * formatting, `host:port` splitting as Go's `net.SplitHostPort` does it). Pure functions,
 * no I/O; other modules may reuse them. (The `zk://` form lives in src/mesos/zk_url.ts.)
 */

/** Result of {@link splitHostPort}: the parts, or the reason the text is not `host:port`. */
export type HostPort = { host: string; port: string } | { error: string };

/**
 * Splits `host:port` (IPv6 hosts in brackets: `[::1]:53`) with the rules of Go's
 * `net.SplitHostPort`. The port is returned as text and not checked here.
 */
export function splitHostPort(s: string): HostPort {
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
  if (s.slice(j).includes("[")) return { error: "unexpected '[' in address" };
  if (s.slice(k).includes("]")) return { error: "unexpected ']' in address" };
  return { host, port: s.slice(i + 1) };
}

/** Joins a host and a port, bracketing hosts that contain a colon (IPv6). */
export function joinHostPort(host: string, port: string | number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The port as a number when `text` is a decimal integer in 1..65535, else undefined. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function parseIPv4Bytes(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Go rejects leading zeros (ambiguous octal) since 1.17.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIPv6Bytes(s: string): number[] | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === "") return [];
    const items = part.split(":");
    const bytes: number[] = [];
    for (let n = 0; n < items.length; n++) {
      const item = items[n];
      if (allowV4Tail && n === items.length - 1 && item.includes(".")) {
        const v4 = parseIPv4Bytes(item);
        if (!v4) return undefined;
        bytes.push(...v4);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        const v = parseInt(item, 16);
        bytes.push(v >> 8, v & 0xff);
      }
    }
    return bytes;
  };
  if (halves.length === 1) {
    const all = groupsOf(halves[0], true);
    return all && all.length === 16 ? all : undefined;
  }
  const head = groupsOf(halves[0], false);
  const tail = groupsOf(halves[1], true);
  if (!head || !tail) return undefined;
  // "::" stands for at least one zero group.
  const fill = 16 - head.length - tail.length;
  if (fill < 2) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/**
 * Parses an IP literal (IPv4 dotted quad or IPv6 text, no brackets, no zone) into its
 * 16-byte form, IPv4 as IPv4-mapped IPv6 as Go's `net.ParseIP` does; undefined if invalid.
 */
export function parseIP(s: string): Uint8Array | undefined {
  if (s.includes(":")) {
    const b = parseIPv6Bytes(s);
    return b ? Uint8Array.from(b) : undefined;
  }
  const v4 = parseIPv4Bytes(s);
  return v4 ? Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]) : undefined;
}

/** Formats a 16-byte address like Go's `net.IP.String()`: dotted for IPv4(-mapped), RFC 5952 for IPv6. */
export function formatIP(b: Uint8Array): string {
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // Longest run of at least two zero groups (first one wins a tie) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The canonical text of an IP literal (`2001:0db8::1` → `2001:db8::1`), or undefined if not an IP. */
export function canonicalIP(s: string): string | undefined {
  const b = parseIP(s);
  return b ? formatIP(b) : undefined;
}

/**
 * Normalises a resolver given as `IP` or `IP:port` (IPv6 bare or `[IPv6]:port`) to
 * canonical `ip:port` (default port 53), or returns the reason it is invalid.
 */
export function normaliseResolver(s: string): { value: string } | { error: string } {
  const split = splitHostPort(s);
  const host = "error" in split ? s : split.host;
  const portText = "error" in split ? "53" : split.port;
  const ip = canonicalIP(host);
  if (ip === undefined) return { error: `illegal ip specified: ${s}` };
  if (parsePort(portText) === undefined) return { error: `illegal port specified: ${s}` };
  return { value: joinHostPort(ip, Number(portText)) };
}

/**
 * Checks a master given as `host:port` and returns the key used to detect duplicates
 * (IP literals canonicalised), or the reason it is invalid.
 */
export function masterKey(s: string): { key: string } | { error: string } {
  const split = splitHostPort(s);
  if ("error" in split) return { error: `illegal host:port specified: ${s}. Error: ${split.error}` };
  if (split.host === "") return { error: `illegal host:port specified: ${s}. Error: empty host` };
  if (parsePort(split.port) === undefined) {
    return { error: `illegal host:port specified: ${s}. Error: port must be an integer in 1..65535` };
  }
  const host = canonicalIP(split.host) ?? split.host;
  return { key: joinHostPort(host, Number(split.port)) };
}
