/**
 * Reverse lookups (owns: which name a PTR record of an address points to, `PTROn`, the
 * original's issues #67 and #286). Pure: computed from a published record set, so every
 * target is a name that has the address as an A or AAAA record (forward-confirmed reverse
 * DNS holds by construction), whichever way the records were generated.
 *
 * One name per address, the first of these that has it (ties: the name that sorts first):
 * 1. `masterN.<domain>`: a master, by its stable index (lowest N); not `leader`, which moves;
 * 2. `slave.<domain>`: an agent (the only agent name in the zone; agents' own host names
 *    are not records of ours);
 * 3. the name server itself (`SOAMname`);
 * 4. a task's canonical name `<task>-<hash>-<agent tail>.<framework>.<domain>`: unique per
 *    task and unchanged by scaling the app up or down;
 * 5. `leader.<domain>`, `master.<domain>`, a framework's name `<framework>.<domain>`,
 *    and a task's shared name `<task>.<framework>.<domain>`;
 * 6. anything else (e.g. the `.slave` names of tasks, which carry agent addresses).
 */
import type { RecordSet } from "./record_set.ts";
import { ipv4Bytes, ipv6Bytes } from "../net/ip.ts";

export interface PtrOptions {
  /** Lower-cased domain without trailing dot. */
  domain: string;
  /** The name server's name (`SOAMname`), with or without trailing dot. */
  soaMname: string;
}

/** z-base-32, the alphabet of the 5-character task hash (records/task_hash.ts). */
const HASHED_LABEL = /-[ybndrfg8ejkmcpqxot1uwisza345h769]{5}-[^-]+$/;
const NAME_RE = /^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/;

/** The reverse name of an IP (`4.3.2.1.in-addr.arpa`, nibbles `.ip6.arpa`), no trailing dot; undefined if not an IP. */
export function reverseName(ip: string): string | undefined {
  const v4 = ipv4Bytes(ip);
  if (v4) return `${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}.in-addr.arpa`;
  const v6 = ipv6Bytes(ip);
  if (!v6) return undefined;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((v6[i] & 0xf).toString(16), (v6[i] >> 4).toString(16));
  return `${nibbles.join(".")}.ip6.arpa`;
}

/** A name's rank as a PTR target (lower is better), per the list in the module comment. */
function rankOf(name: string, domain: string, mname: string): number {
  if (name === mname) return 3;
  const rest = name.slice(0, name.length - domain.length - 1);
  if (/^master[0-9]+$/.test(rest)) return 1;
  if (rest === "slave") return 2;
  if (rest === "leader" || rest === "master") return 5;
  const labels = rest.split(".");
  if (labels.length > 1 && labels.at(-1) === "slave") return 6;
  if (labels.length >= 2 && HASHED_LABEL.test(labels[0])) return 4;
  return 5;
}

/** Among names of one rank, the stable pick: `master2` before `master10`, else text order. */
function before(a: string, b: string, rank: number): boolean {
  if (rank === 1 && a.length !== b.length) return a.length < b.length;
  return a < b;
}

/**
 * The PTR target of every address the record set holds in A or AAAA records under the
 * domain: reverse name (no trailing dot) → target FQDN (lower case, trailing dot).
 * Names DNS does not answer (upper case, out of the domain, unencodable) are not targets.
 */
export function ptrTargets(rs: RecordSet, opts: PtrOptions): Map<string, string> {
  const domain = opts.domain.toLowerCase().replace(/\.+$/, "");
  const mname = opts.soaMname.toLowerCase().replace(/\.+$/, "");
  const tail = `.${domain}`;
  const best = new Map<string, { name: string; rank: number }>();
  for (const map of [rs.a, rs.aaaa]) {
    for (const [fqdn, values] of map) {
      const name = fqdn.endsWith(".") ? fqdn.slice(0, -1) : fqdn;
      if (!name.endsWith(tail) || name.length > 253 || !NAME_RE.test(name)) continue;
      const rank = rankOf(name, domain, mname);
      for (const ip of values) {
        const cur = best.get(ip);
        if (!cur || rank < cur.rank || (rank === cur.rank && before(name, cur.name, rank))) {
          best.set(ip, { name, rank });
        }
      }
    }
  }
  const out = new Map<string, string>();
  for (const [ip, { name }] of best) {
    const rev = reverseName(ip);
    if (rev) out.set(rev, `${name}.`);
  }
  return out;
}
