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

/** A framework of `/v1/enumerate` whose tasks are made as they are read. */
export interface EnumFrameworkLazy {
  readonly name: string;
  readonly tasks: Iterable<EnumTask>;
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
  /**
   * `frameworks` made as it is read, when the set can (the record store's): each call starts
   * afresh; its frameworks' tasks must be read in order, each once. Nothing is kept, so a
   * cluster's million records never exist at once.
   */
  readonly enumerateLazily?: () => readonly EnumFrameworkLazy[] | null;
  /** How many (type, name, value) records the set holds, when its maker counted them. */
  readonly recordCount?: number;
}

/**
 * A name's value list gets a Set beside it once it holds this many values; shorter lists
 * are checked by a scan, which costs less than a string key per record (issue #6).
 */
const SCAN_LIMIT = 8;

/** Accumulates unique (name, value) pairs per type; `add` reports whether it was new. */
export class RecordSetBuilder {
  readonly a = new Map<string, string[]>();
  readonly aaaa = new Map<string, string[]>();
  readonly srv = new Map<string, string[]>();
  /** The values of each list longer than `SCAN_LIMIT`, keyed by the list itself. */
  readonly #long = new Map<string[], Set<string>>();
  /** How many records were added (each new triple once). */
  count = 0;

  constructor(readonly domain: string) {}

  /** Adds a value; returns false if the (type, name, value) triple was already there. */
  add(rtype: RRType, name: string, value: string): boolean {
    const map = rtype === "A" ? this.a : rtype === "AAAA" ? this.aaaa : this.srv;
    const list = map.get(name);
    if (list === undefined) {
      map.set(name, [value]);
      this.count++;
      return true;
    }
    if (list.length < SCAN_LIMIT) {
      if (list.includes(value)) return false;
      list.push(value);
      if (list.length === SCAN_LIMIT) this.#long.set(list, new Set(list));
      this.count++;
      return true;
    }
    const values = this.#long.get(list)!;
    // One hash lookup, not two: adding a value that is there leaves the size as it was.
    const size = values.size;
    if (values.add(value).size === size) return false;
    list.push(value);
    this.count++;
    return true;
  }

  build(frameworks: EnumFramework[] | null): RecordSet {
    return {
      domain: this.domain,
      a: this.a,
      aaaa: this.aaaa,
      srv: this.srv,
      frameworks,
      recordCount: this.count,
    };
  }
}
