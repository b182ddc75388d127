/**
 * The zone as a list of resource records (owns: which records of a record set a zone
 * transfer carries, the difference between two record sets for the IXFR journal, and
 * serial number arithmetic, RFC 1982). Pure. A transfer carries exactly what the server
 * answers: names in the domain, lower case (the verbatim DiscoveryInfo names with upper
 * case are listed by HTTP only), values that encode (SPEC §6.10's bogus agent values do not).
 */
import type { RecordSet, RRType } from "../records/record_set.ts";
import { inDomain } from "./zone_answers.ts";
import { nameToWire } from "./wire.ts";
import { ipv4Bytes, ipv6Bytes } from "../net/ip.ts";

/** One record: owner (lower case, no trailing dot), type, value as the record set holds it. */
export interface ZoneRecord {
  readonly name: string;
  readonly type: RRType;
  readonly value: string;
}

/** The difference between two serials. */
export interface ZoneDiff {
  readonly from: number;
  readonly to: number;
  readonly removed: readonly ZoneRecord[];
  readonly added: readonly ZoneRecord[];
}

/** `a` is greater than `b` in serial number arithmetic (RFC 1982, 32 bits). */
export function serialGreater(a: number, b: number): boolean {
  const d = ((a >>> 0) - (b >>> 0)) >>> 0;
  return d !== 0 && d < 0x80000000;
}

function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** The owner a record-set name is served under, or undefined when DNS never answers it. */
export function servedOwner(fqdn: string, domain: string): string | undefined {
  const name = stripDot(fqdn);
  if (name !== name.toLowerCase() || !inDomain(name, domain) || !nameToWire(name)) return undefined;
  return name;
}

/** Whether a value of `type` can be encoded (invalid values are skipped by the answers too). */
export function validValue(type: RRType, value: string): boolean {
  if (type === "A") return ipv4Bytes(value) !== undefined;
  if (type === "AAAA") return ipv6Bytes(value) !== undefined;
  const colon = value.lastIndexOf(":");
  const port = Number(value.slice(colon + 1));
  return colon > 0 && Number.isInteger(port) && port >= 0 && port <= 65535 &&
    nameToWire(stripDot(value.slice(0, colon))) !== undefined;
}

const TYPES: readonly RRType[] = ["A", "AAAA", "SRV"];

function mapOf(rs: RecordSet, type: RRType): ReadonlyMap<string, readonly string[]> {
  return type === "A" ? rs.a : type === "AAAA" ? rs.aaaa : rs.srv;
}

/** Every record of the zone except the apex SOA and NS, in record-set order. */
export function* zoneRecords(rs: RecordSet, domain: string): Generator<ZoneRecord> {
  for (const type of TYPES) {
    for (const [fqdn, values] of mapOf(rs, type)) {
      const name = servedOwner(fqdn, domain);
      if (name === undefined) continue;
      for (const value of values) if (validValue(type, value)) yield { name, type, value };
    }
  }
}

/** The served values of one name and type, as a set. */
function servedValues(rs: RecordSet, type: RRType, fqdn: string): Set<string> {
  const out = new Set<string>();
  for (const v of mapOf(rs, type).get(fqdn) ?? []) if (validValue(type, v)) out.add(v);
  return out;
}

/** The same list, or lists with the same values in the same order. */
function sameValues(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  if (x === y) return true;
  if (!x || !y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The records removed and added between two record sets. `names` (FQDNs with trailing
 * dot) limits the comparison to the names known to have changed; without it every name
 * of both sets is compared.
 */
export function diffRecordSets(
  before: RecordSet,
  after: RecordSet,
  domain: string,
  names?: ReadonlySet<string>,
): { removed: ZoneRecord[]; added: ZoneRecord[] } {
  const removed: ZoneRecord[] = [];
  const added: ZoneRecord[] = [];
  for (const type of TYPES) {
    const b = mapOf(before, type);
    const a = mapOf(after, type);
    const compare = (fqdn: string) => {
      const old = b.get(fqdn);
      const now = a.get(fqdn);
      if (sameValues(old, now)) return; // a full rebuild makes equal lists in the same order
      const name = servedOwner(fqdn, domain);
      if (name === undefined) return;
      const oldSet = servedValues(before, type, fqdn);
      const newSet = servedValues(after, type, fqdn);
      for (const v of oldSet) if (!newSet.has(v)) removed.push({ name, type, value: v });
      for (const v of newSet) if (!oldSet.has(v)) added.push({ name, type, value: v });
    };
    if (names) {
      for (const fqdn of names) compare(fqdn);
    } else {
      for (const fqdn of b.keys()) compare(fqdn);
      for (const fqdn of a.keys()) if (!b.has(fqdn)) compare(fqdn);
    }
  }
  return { removed, added };
}

/**
 * The recent differences between serials, oldest first, bounded by the number of
 * entries and the number of records they hold (the oldest are dropped first).
 */
export class ZoneJournal {
  #entries: ZoneDiff[] = [];
  #records = 0;

  constructor(readonly maxEntries = 256, readonly maxRecords = 200_000) {}

  /** Appends the step `diff.from` → `diff.to`; a step that does not follow the last one restarts the journal. */
  add(diff: ZoneDiff): void {
    const last = this.#entries.at(-1);
    if (last && last.to !== diff.from) this.clear();
    const size = diff.removed.length + diff.added.length;
    if (size > this.maxRecords) {
      this.clear();
      return;
    }
    this.#entries.push(diff);
    this.#records += size;
    while (this.#entries.length > this.maxEntries || this.#records > this.maxRecords) {
      const first = this.#entries.shift()!;
      this.#records -= first.removed.length + first.added.length;
    }
  }

  clear(): void {
    this.#entries = [];
    this.#records = 0;
  }

  /** The steps from `serial` to the newest serial, or undefined when `serial` is not in the journal. */
  since(serial: number): readonly ZoneDiff[] | undefined {
    const i = this.#entries.findIndex((d) => d.from === serial);
    return i < 0 ? undefined : this.#entries.slice(i);
  }

  /** The oldest serial an IXFR can start from (undefined when empty). */
  get oldest(): number | undefined {
    return this.#entries[0]?.from;
  }

  get size(): number {
    return this.#entries.length;
  }
}
