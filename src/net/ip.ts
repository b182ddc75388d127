/**
 * IP literal detection and canonical text (owns: deciding whether a string is an IP
 * address, whether it belongs in A or AAAA, and its one textual form: IPv4 and
 * IPv4-mapped IPv6 as dotted quads, other IPv6 compressed lower-case per RFC 5952).
 * Accepts what Go's `net.ParseIP` accepts (no zones, no leading zeros in IPv4 octets).
 * The one IP parser of the project: config validation, record generation and the DNS
 * wire code (addresses as bytes, sockaddrs) all use it.
 */

export type IPKind = "A" | "AAAA";

/** A parsed IP: the record type it goes to and its canonical text. */
export interface ParsedIP {
  readonly kind: IPKind;
  readonly text: string;
}

function parseIPv4Bytes(s: string, out: Uint8Array, at: number): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length === 0 || p.length > 3) return false;
    if (p.length > 1 && p.charCodeAt(0) === 48) return false; // leading zero
    let n = 0;
    for (let j = 0; j < p.length; j++) {
      const c = p.charCodeAt(j) - 48;
      if (c < 0 || c > 9) return false;
      n = n * 10 + c;
    }
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

/** Parses `part` (colon-separated hex groups, maybe ending in a dotted IPv4) into 16-bit groups. */
function groupsOf(part: string, allowV4: boolean): number[] | null {
  if (part === "") return [];
  const pieces = part.split(":");
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const g = pieces[i];
    if (allowV4 && i === pieces.length - 1 && g.includes(".")) {
      const b = new Uint8Array(4);
      if (!parseIPv4Bytes(g, b, 0)) return null;
      groups.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      continue;
    }
    if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

function parseIPv6Groups(s: string): number[] | null {
  const dbl = s.indexOf("::");
  if (dbl === -1) {
    const g = groupsOf(s, true);
    return g && g.length === 8 ? g : null;
  }
  if (s.indexOf("::", dbl + 1) !== -1) return null;
  const left = groupsOf(s.slice(0, dbl), false);
  const right = groupsOf(s.slice(dbl + 2), true);
  if (!left || !right) return null;
  const fill = 8 - left.length - right.length;
  if (fill < 1) return null; // "::" must stand for at least one zero group
  return [...left, ...new Array<number>(fill).fill(0), ...right];
}

function formatIPv6(g: readonly number[]): string {
  // Longest run of zero groups (first one on ties), compressed only if it spans ≥ 2 groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += g[i].toString(16);
  }
  return out;
}

/**
 * Parses an IP literal. Returns null for anything that is not one (host names,
 * bracketed forms, zones, empty strings). IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is an A.
 */
export function parseIP(s: string): ParsedIP | null {
  if (typeof s !== "string" || s.length === 0 || s.length > 64) return null;
  if (!s.includes(":")) {
    const b = new Uint8Array(4);
    if (!parseIPv4Bytes(s, b, 0)) return null;
    return { kind: "A", text: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
  }
  const g = parseIPv6Groups(s);
  if (!g) return null;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return { kind: "A", text: `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}` };
  }
  return { kind: "AAAA", text: formatIPv6(g) };
}

/** True if `s` is an IP literal (IPv4 or IPv6, no brackets, no zone). */
export function isIP(s: string): boolean {
  return parseIP(s) !== null;
}

/** True for loopback addresses: 127.0.0.0/8 (also IPv4-mapped) and `::1`. */
export function isLoopback(ip: ParsedIP): boolean {
  return ip.kind === "A" ? ip.text.startsWith("127.") : ip.text === "::1";
}

/** The canonical text of an IP literal (`2001:0db8::1` → `2001:db8::1`), or undefined if not an IP. */
export function canonicalIP(s: string): string | undefined {
  return parseIP(s)?.text;
}

/** The 4 bytes of an IPv4 literal (dotted quad), or undefined if `s` is not one. */
export function ipv4Bytes(s: string): Uint8Array | undefined {
  if (typeof s !== "string" || s.length < 7 || s.length > 15) return undefined;
  const b = new Uint8Array(4);
  return parseIPv4Bytes(s, b, 0) ? b : undefined;
}

/**
 * An IPv4 literal as an unsigned 32-bit number, or -1 if `s` is not one (the same rules as
 * `parseIP`, read without allocating: zone answers are built from many of these).
 */
export function ipv4Number(s: string): number {
  if (typeof s !== "string" || s.length < 7 || s.length > 15) return -1;
  let result = 0;
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || parts > 3) return -1;
      result = result * 256 + value;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      if (digits === 1 && value === 0) return -1; // leading zero
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? result : -1;
}

/**
 * The 16 bytes of an IPv6 literal (`::` and a trailing dotted quad allowed; IPv4-mapped
 * addresses stay 16 bytes), or undefined if `s` is not one (IPv4, zones, brackets).
 */
export function ipv6Bytes(s: string): Uint8Array | undefined {
  if (typeof s !== "string" || s.length < 2 || s.length > 64 || !s.includes(":")) return undefined;
  const g = parseIPv6Groups(s);
  if (!g) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = g[i] >>> 8;
    out[2 * i + 1] = g[i] & 0xff;
  }
  return out;
}
