/**
 * Address lists with networks (owns: parsing `IP` or `IP/prefix` entries and checking
 * whether an address falls in any of them). IPv4-mapped IPv6 addresses match IPv4 entries.
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
