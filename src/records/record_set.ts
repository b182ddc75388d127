/**
 * The record set type (owns: the shape of what one state update produces, and a
 * builder that keeps (name, value) pairs unique per type, in insertion order).
 * A record set is immutable once built; DNS and HTTP only read it.
 */

export type RRType = "A" | "AAAA" | "SRV";

/** One record a task added, as `/v1/enumerate` lists it (SPEC §8.6). */
export interface EnumRecord {
  name: string;
  host: string;
  rtype: RRType;
}

export interface EnumTask {
  name: string;
  id: string;
  records: EnumRecord[] | null;
}

export interface EnumFramework {
  tasks: EnumTask[];
  name: string;
}

export interface RecordSet {
  /** Lower-cased domain without trailing dot, e.g. `mesos`. */
  readonly domain: string;
  /** FQDN (with trailing dot) → IPv4 values, unique, in insertion order. */
  readonly a: ReadonlyMap<string, readonly string[]>;
  /** FQDN → IPv6 values (canonical textual form). */
  readonly aaaa: ReadonlyMap<string, readonly string[]>;
  /** FQDN → `target-fqdn:port` values. */
  readonly srv: ReadonlyMap<string, readonly string[]>;
  /** Per framework, per task, the records each task newly added (for `/v1/enumerate`). */
  readonly frameworks: readonly EnumFramework[] | null;
}

/** Accumulates unique (name, value) pairs per type; `add` reports whether it was new. */
export class RecordSetBuilder {
  readonly a = new Map<string, string[]>();
  readonly aaaa = new Map<string, string[]>();
  readonly srv = new Map<string, string[]>();
  readonly #seen = new Set<string>();

  constructor(readonly domain: string) {}

  /** Adds a value; returns false if the (type, name, value) triple was already there. */
  add(rtype: RRType, name: string, value: string): boolean {
    const key = `${rtype} ${name} ${value}`;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    const map = rtype === "A" ? this.a : rtype === "AAAA" ? this.aaaa : this.srv;
    const list = map.get(name);
    if (list) list.push(value);
    else map.set(name, [value]);
    return true;
  }

  build(frameworks: EnumFramework[] | null): RecordSet {
    return { domain: this.domain, a: this.a, aaaa: this.aaaa, srv: this.srv, frameworks };
  }
}
