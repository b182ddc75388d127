/**
 * Address lists with networks (owns: parsing `IP` or `IP/prefix` entries and checking
 * whether an address falls in any of them: from its text, `AddressMatcher`, or
 * allocation-free from a socket address, `AddressSet`). IPv4-mapped IPv6 addresses match
 * IPv4 entries.
 */
import { ipv4Bytes, ipv6Bytes, parseIP } from "./ip.ts";

/** One network: the address bytes (4 or 16) and the prefix length. */
interface Network {
  bytes: Uint8Array;
  prefix: number;
}

/** The 4 or 16 bytes of a canonical IP text from `parseIP`. */
function ipBytes(text: string, kind: "A" | "AAAA"): Uint8Array {
  return (kind === "A" ? ipv4Bytes(text) : ipv6Bytes(text))!;
}

/**
 * Parses `IP` or `IP/prefix` into its canonical text (`10.0.0.0/8`, `fd00::/8`; a bare IP
 * stays bare), or returns undefined if it is neither.
 */
export function canonicalNetwork(s: string): string | undefined {
  const net = parseNetwork(s);
  if (!net) return undefined;
  return net.text;
}

function parseNetwork(s: string): (Network & { text: string }) | undefined {
  const slash = s.indexOf("/");
  const ip = parseIP(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const bytes = ipBytes(ip.text, ip.kind);
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max, text: ip.text };
  const p = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) return undefined;
  const prefix = Number(p);
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  const base = ip.kind === "A" ? [...bytes].join(".") : parseIP(formatV6(bytes))!.text;
  return { bytes, prefix, text: `${base}/${prefix}` };
}

function formatV6(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(":");
}

/** A set of networks that addresses are checked against. */
export class AddressMatcher {
  readonly #nets: Network[];

  /** `entries` must be valid (`canonicalNetwork` accepts them); others are ignored. */
  constructor(entries: readonly string[]) {
    this.#nets = entries.map(parseNetwork).filter((n): n is Network & { text: string } => n !== undefined);
  }

  /** Whether the list is empty (nobody matches). */
  get empty(): boolean {
    return this.#nets.length === 0;
  }

  /** Whether the address (IP text, e.g. a connection's remote address) is in one of the networks. */
  matches(address: string): boolean {
    const ip = parseIP(address);
    if (!ip) return false;
    const bytes = ipBytes(ip.text, ip.kind);
    for (const n of this.#nets) {
      if (n.bytes.length !== bytes.length) continue;
      let ok = true;
      const full = n.prefix >> 3;
      for (let i = 0; i < full && ok; i++) ok = n.bytes[i] === bytes[i];
      const rest = n.prefix & 7;
      if (ok && rest) {
        const mask = (0xff << (8 - rest)) & 0xff;
        ok = (n.bytes[full] & mask) === (bytes[full] & mask);
      }
      if (ok) return true;
    }
    return false;
  }
}

/** Linux address family numbers in a socket address. */
const AF_INET = 2;
const AF_INET6 = 10;

/** An entry that is not an IP address or network. */
export class CidrError extends Error {
  override name = "CidrError";
}

/** Whether the first `bits` bits of `a` (from `at`) equal those of `prefix`. */
function matchesAt(prefix: Uint8Array, bits: number, a: Uint8Array, at: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[at + i] !== prefix[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[at + i] & mask) === (prefix[i] & mask);
}

/** Whether the 16 bytes at `at` are `::ffff:a.b.c.d`. */
export function isV4Mapped(a: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (a[at + i] !== 0) return false;
  return a[at + 10] === 0xff && a[at + 11] === 0xff;
}

/**
 * A set of IPv4 and IPv6 networks tested against address bytes: `hasSockaddr` allocates
 * nothing, so the DNS path can ask it per query (`ForwardAllow`).
 */
export class AddressSet {
  readonly #v4: Network[] = [];
  readonly #v6: Network[] = [];

  /** Throws CidrError for an entry that is not an IP address or network. */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const n = parseNetwork(e.trim());
      if (!n) throw new CidrError(`${JSON.stringify(e)} is not an IP address or network (IP/prefix)`);
      (n.bytes.length === 4 ? this.#v4 : this.#v6).push(n);
    }
  }

  /** True when the set holds every address (`0.0.0.0/0` and `::/0`): no test is needed. */
  get everyone(): boolean {
    return this.#v4.some((n) => n.prefix === 0) && this.#v6.some((n) => n.prefix === 0);
  }

  /** Whether the IPv4 address (4 bytes at `at`) is in the set. */
  hasV4(a: Uint8Array, at: number): boolean {
    for (const n of this.#v4) if (matchesAt(n.bytes, n.prefix, a, at)) return true;
    return false;
  }

  /** Whether the IPv6 address (16 bytes at `at`) is in the set (IPv4-mapped: as IPv4). */
  hasV6(a: Uint8Array, at: number): boolean {
    if (isV4Mapped(a, at)) return this.hasV4(a, at + 12);
    for (const n of this.#v6) if (matchesAt(n.bytes, n.prefix, a, at)) return true;
    return false;
  }

  /**
   * Whether the address of a Linux socket address (`sockaddr_in`/`sockaddr_in6` bytes at
   * `at`, family in host order) is in the set. Allocation-free. Unknown families are not.
   */
  hasSockaddr(sa: Uint8Array, at = 0): boolean {
    const family = sa[at] | (sa[at + 1] << 8);
    if (family === AF_INET) return this.hasV4(sa, at + 4);
    if (family === AF_INET6) return this.hasV6(sa, at + 8);
    return false;
  }

  /** Whether an IP literal is in the set (false for anything that is not an IP). */
  hasText(ip: string): boolean {
    const host = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
    const v4 = ipv4Bytes(host);
    if (v4) return this.hasV4(v4, 0);
    const v6 = ipv6Bytes(host);
    return v6 ? this.hasV6(v6, 0) : false;
  }
}
