/**
 * Precomputed zone answers (owns: turning one snapshot + config into complete wire-form
 * responses per (lower-cased name, qtype) for the authoritative zone, SPEC §7.2–7.4 with
 * the §0 RFC deviations). Built once per publish so a query costs one table lookup and a
 * copy. Multi-record answers are stored once, in a random order drawn at build time, and
 * rotated by one record per response (a copy in two pieces plus a few pointer patches).
 *
 * Template layout: header (ID 0; QR, AA, RA and rcode set; RD/CD clear), room for the
 * question, then the records, whose owners point (compression) at the question name. The
 * question is not stored (`FlatZoneWriter.add`): the responder writes it as asked, with the
 * ID and flags.
 */
import type { Config } from "../config/types.ts";
import { ChildCounts } from "./child_counts.ts";
import { logger } from "../log.ts";
import { ipv4Number, ipv6Bytes } from "../net/ip.ts";
import {
  type FlatLayerParts,
  FlatZone,
  FlatZoneWriter,
  NAME_EXISTS,
  SLOT,
  SRV_TARGET_IN_RR,
  writeWireName,
} from "./flat_zone.ts";
import type { RecordSet } from "../records/record_set.ts";
import type { Snapshot } from "../records/snapshot.ts";
import {
  ByteWriter,
  CLASS_IN,
  copyBytes,
  FLAG_AA,
  FLAG_QR,
  FLAG_RA,
  HEADER_LEN,
  MAX_TCP_MESSAGE,
  nameToWire,
  TYPE_A,
  TYPE_AAAA,
  TYPE_NS,
  TYPE_SOA,
  TYPE_SRV,
} from "./wire.ts";

const log = logger("dns");

/** Compression pointer to the question name at offset 12. */
const PTR_QNAME = 0xc000 | HEADER_LEN;
/** Everything the responder needs to answer for the zone from one snapshot. */
export interface ZoneAnswers {
  /** Lower-cased domain, no trailing dot (`mesos`). */
  readonly domain: string;
  readonly serial: number;
  /** Every existing name's answers (names absent here do not exist), in shared memory. */
  readonly flat: FlatZone;
  /** The names of the top layer (main thread only; empty when the zone is one layer). */
  readonly topNames: ReadonlySet<string>;
  /**
   * How many names exist directly below each stored name (trailing dot) that has any (main
   * thread only): a name without records exists while this is above 0 (RFC 8020).
   */
  readonly children: ChildCounts;
  /** The writer of the top layer, which the next update goes on from (main thread only; none after a whole build). */
  readonly topWriter?: FlatZoneWriter;
  /** The record order of the stored SRV answers of names with many values (main thread only; see `SrvOrder`). */
  readonly srvOrders?: ReadonlyMap<string, SrvOrder>;
}

/**
 * The order of the records of a stored SRV answer with `REUSE_MIN` values or more: record k
 * holds `values[perm[k]]`. An update of the name copies the records of the values it keeps
 * from the stored answer, in that order, and writes only the new values' records, each put
 * at a random place (the order stays a uniformly random one): a value list of an app with
 * thousands of instances is not parsed and written again whole for each task that comes or goes.
 */
export interface SrvOrder {
  /** The stored value list the answer was built from (lists are never changed once stored). */
  readonly values: readonly string[];
  readonly perm: Int32Array;
}

/** SRV names with at least this many values keep their record order (`SrvOrder`). */
const REUSE_MIN = 64;

/** How many parents of recent names `Builder.parents` knows to be done. */
const RECENT_PARENTS = 4;

/** Whether an empty non-terminal (a name with only names below it) answers NODATA (RFC 8020). */
const EMPTY_NON_TERMINALS_EXIST = true;

function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** True if `name` (no trailing dot) is `domain` or below it. */
export function inDomain(name: string, domain: string): boolean {
  return name === domain || (name.length > domain.length && name.endsWith(domain) &&
    name.charCodeAt(name.length - domain.length - 1) === 0x2e);
}

/** Fisher–Yates over `p[0, n)`. */
function shuffle(p: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

/**
 * The parsed values of one name: A as numbers, AAAA as 16-byte arrays, SRV port and the
 * value whose text before `srvColon` is the target (written from there: a name with
 * thousands of SRV values makes no string per value).
 */
class Values {
  a: number[] = [];
  aaaa: Uint8Array[] = [];
  srvPort: number[] = [];
  srvValue: string[] = [];
  srvColon: number[] = [];
  /** Where each SRV value is in the name's stored list. */
  srvIndex: number[] = [];

  clear(): void {
    this.a.length = 0;
    this.aaaa.length = 0;
    this.srvPort.length = 0;
    this.srvValue.length = 0;
    this.srvColon.length = 0;
    this.srvIndex.length = 0;
  }
}

/** Builds the answers of names into one flat zone layer. */
class Builder {
  readonly ttl: number;
  readonly weight: number;
  readonly flags3: number;
  readonly domain: string;
  /** The domain as stored names end (`mesos.`): the builder's names are stored FQDNs. */
  readonly domainFqdn: string;
  readonly apexWire: Uint8Array;
  readonly mnameWire: Uint8Array;
  readonly rnameWire: Uint8Array;
  readonly out: FlatZoneWriter;
  /** Where answers are written before `out` copies them (grown by the writer when too small). */
  readonly scratch = new Uint8Array(65536);
  readonly #w = new ByteWriter(this.scratch);
  readonly #v = new Values();
  #perm = new Int32Array(1024);
  #starts: number[] = [];
  #patches: number[] = [];
  readonly #targetSrv = new Map<string, number>();
  readonly #srvStarts: number[] = [];
  readonly #srvValues: string[] = [];
  /** Parents whose ancestors are all in the layer, the latest first (see `parents`). */
  readonly #recentParents: string[] = [];
  /** Whether the last `#entry` added its name (it was not in the layer yet). */
  #added = false;
  /** The name `#start` last began an answer for, and where its question ends (-1: not encodable). */
  #qname = "";
  #qEnd = -1;
  /** Names directly below each name (see `ZoneAnswers.children`), counted as names are added. */
  readonly children = new Map<string, number>();
  /**
   * SRV-only names built in this layer whose `_tcp`/`_udp` twin is not built yet: their values
   * and answer. A twin with the same values takes the same answer (see `name`).
   */
  readonly #twins = new Map<string, { values: readonly string[]; id: number }>();
  /** The record orders of the layer's zone (`ZoneAnswers.srvOrders`): the previous zone's, updated. */
  readonly srvOrders: Map<string, SrvOrder>;
  /** Whether `#prepared` notes the order of the SRV records it writes (`#lastPerm`). */
  #orderWanted = false;
  #lastPerm: Int32Array | undefined;
  /** The SRV records of the name being built that its stored answer has (`#reusePlan`). */
  #reuse: { old: ReturnType<FlatZone["rotatedRecords"]>; records: number[]; indices: number[] } | undefined;
  bad = 0;

  /**
   * `expectedNames`: about how many names the layer gets (sizes its shared arrays);
   * `continues`: see `FlatZoneWriter`; `whole`: a whole build (`fullBuild`), which builds
   * each name with records once, so that they are added without a lookup (`addNewName`).
   */
  constructor(
    readonly records: RecordSet,
    readonly serial: number,
    readonly cfg: Config,
    expectedNames: number,
    continues?: FlatZoneWriter,
    readonly whole = false,
    /** The zone this layer goes over (an update): its stored SRV answers are reused. */
    readonly previous?: ZoneAnswers,
  ) {
    this.out = new FlatZoneWriter(expectedNames, continues);
    this.srvOrders = new Map(previous?.srvOrders);
    this.ttl = cfg.TTL >>> 0;
    this.weight = cfg.SRVRecordDefaultWeight & 0xffff;
    this.flags3 = cfg.RecurseOn ? FLAG_RA : 0;
    this.domain = cfg.Domain.toLowerCase().replace(/\.+$/, "");
    this.domainFqdn = this.domain + ".";
    this.apexWire = nameToWire(this.domain) ?? new Uint8Array([0]);
    this.mnameWire = this.#nameOr(cfg.SOAMname, `ns1.${this.domain}`);
    this.rnameWire = this.#nameOr(cfg.SOARname, `root.ns1.${this.domain}`);
  }

  #nameOr(name: string, fallback: string): Uint8Array {
    const w = nameToWire(name);
    if (w) return w;
    log.warn("SOA name {name} cannot be encoded; using {fallback}", { name, fallback });
    return nameToWire(fallback) ?? new Uint8Array([0]);
  }

  #bad(kind: string, name: string, value: string): void {
    if (this.bad++ < 5) log.warn(`skipping invalid ${kind} value for {name}: {value}`, { name, value });
  }

  /** Logs the total of skipped values once a build is done. */
  done(): void {
    if (this.bad > 5) log.warn("skipped {n} invalid record values in total", { n: this.bad });
  }

  /** The valid IPv4 values of `fqdn` (stored name) appended to `out`; the count of stored values. */
  #parseA(fqdn: string, out: number[]): number {
    const values = this.records.a.get(fqdn);
    if (values === undefined) return 0;
    for (const v of values) {
      const ip = ipv4Number(v);
      if (ip < 0) this.#bad("A", fqdn, v);
      else out.push(ip);
    }
    return values.length;
  }

  #parseAAAA(fqdn: string, out: Uint8Array[]): number {
    const values = this.records.aaaa.get(fqdn);
    if (values === undefined) return 0;
    for (const v of values) {
      const ip = ipv6Bytes(v);
      if (!ip) this.#bad("AAAA", fqdn, v);
      else out.push(ip);
    }
    return values.length;
  }

  /** Parses the SRV values of `fqdn` into `v`; `skip` (by index): values not to parse (reused). */
  #parseSRV(fqdn: string, v: Values, skip?: Uint8Array): number {
    const values = this.records.srv.get(fqdn);
    if (values === undefined) return 0;
    for (let i = 0; i < values.length; i++) {
      if (skip !== undefined && skip[i] === 1) continue;
      const value = values[i];
      const colon = value.lastIndexOf(":");
      const port = parsePort(value, colon + 1);
      if (port < 0 || colon <= 0 || !validName(value, colon)) {
        this.#bad("SRV", fqdn, value);
        continue;
      }
      v.srvPort.push(port);
      v.srvValue.push(value);
      v.srvColon.push(colon);
      v.srvIndex.push(i);
    }
    return values.length;
  }

  /** How many records of the stored answer the name being built keeps (`#reusePlan`). */
  #keptRecords(): number {
    return this.#reuse === undefined ? 0 : this.#reuse.records.length;
  }

  /**
   * When `fqdn`'s SRV answer is stored in the previous zone with a known order (`SrvOrder`):
   * notes which of its records the new values keep (`#reuse`) and returns, by index of `values`,
   * the values they hold (not to parse again). Undefined when there is nothing to reuse.
   */
  #reusePlan(fqdn: string, values: readonly string[]): Uint8Array | undefined {
    const order = this.previous?.srvOrders?.get(fqdn);
    if (order === undefined) return undefined;
    const flat = this.previous!.flat;
    const entry = flat.findName(stripDot(fqdn));
    const id = entry < 0 ? -1 : flat.answer(entry, TYPE_SRV);
    if (id < 0) return undefined;
    const old = flat.rotatedRecords(id);
    if (old.starts.length !== order.perm.length + 1) return undefined;
    // The store keeps a list's values in order and adds at the end: one walk matches them
    // (a value found out of order is taken as new, which costs time, not correctness).
    const was = order.values;
    const newIndex = new Int32Array(was.length).fill(-1);
    const kept = new Uint8Array(values.length);
    for (let i = 0, j = 0; i < was.length && j < values.length; i++) {
      if (was[i] === values[j]) {
        newIndex[i] = j;
        kept[j++] = 1;
      }
    }
    const records: number[] = [];
    const indices: number[] = [];
    for (let k = 0; k < order.perm.length; k++) {
      const j = newIndex[order.perm[k]];
      if (j >= 0) {
        records.push(k);
        indices.push(j);
      }
    }
    this.#reuse = { old, records, indices };
    return kept;
  }

  /** A random valid IPv4 of the stored name `fqdn`, or -1. */
  #oneA(fqdn: string): number {
    const values = this.records.a.get(fqdn);
    if (values === undefined) return -1;
    if (values.length === 1) return ipv4Number(values[0]);
    let valid = 0;
    for (const v of values) if (ipv4Number(v) >= 0) valid++;
    if (valid === 0) return -1;
    let pick = Math.floor(Math.random() * valid);
    for (const v of values) {
      const ip = ipv4Number(v);
      if (ip >= 0 && pick-- === 0) return ip;
    }
    return -1;
  }

  #oneAAAA(fqdn: string): Uint8Array | undefined {
    const values = this.records.aaaa.get(fqdn);
    if (values === undefined) return undefined;
    const valid: Uint8Array[] = [];
    for (const v of values) {
      const ip = ipv6Bytes(v);
      if (ip) valid.push(ip);
    }
    return valid.length === 0 ? undefined : valid[Math.floor(Math.random() * valid.length)];
  }

  /** The number of `fqdn` in the layer, added when missing (in a whole build, only the apex can be there). */
  #entry(fqdn: string): number {
    if (this.whole && fqdn !== this.domainFqdn) {
      this.#added = true;
      return this.out.addNewName(fqdn);
    }
    const have = this.out.numberOf(fqdn);
    this.#added = have === undefined;
    return have ?? this.out.addName(fqdn);
  }

  /** Whether the last name built (`name`) was added to the layer then (not there already). */
  get added(): boolean {
    return this.#added;
  }

  #countChild(parent: string): void {
    this.children.set(parent, (this.children.get(parent) ?? 0) + 1);
  }

  /**
   * The header, and room for the question (a trailing dot of `qname` ignored): the
   * question's bytes are not written, as they are not stored (`FlatZoneWriter.add`). False
   * if the name cannot be encoded.
   */
  #start(qname: string): boolean {
    if (qname !== this.#qname) {
      this.#qname = qname;
      this.#qEnd = validName(qname) ? HEADER_LEN + wireLength(qname) + 4 : -1;
    }
    if (this.#qEnd < 0) return false;
    const w = this.#w;
    w.buf = this.scratch;
    w.len = 0;
    w.ensure(this.#qEnd);
    const b = w.buf;
    b.fill(0, 0, HEADER_LEN);
    b[2] = FLAG_QR | FLAG_AA;
    b[3] = this.flags3;
    b[5] = 1;
    w.len = this.#qEnd;
    return true;
  }

  /** Owner (pointer or wire name), TYPE, CLASS, TTL and, unless `rdlen` is undefined, RDLENGTH. */
  #rrHead(owner: number | Uint8Array, type: number, rdlen: number | undefined): void {
    const w = this.#w;
    if (typeof owner === "number") w.u16(owner);
    else w.bytes(owner);
    w.u16(type);
    w.u16(CLASS_IN);
    w.u32(this.ttl);
    if (rdlen !== undefined) w.u16(rdlen);
  }

  /** Patches the counts and adds the answer to the layer; returns its number. */
  #finish(an: number, ns: number, ar: number, nStarts = 0, nPatches = 0): number {
    const w = this.#w;
    w.setU16(6, an);
    w.setU16(8, ns);
    w.setU16(10, ar);
    return this.out.add(w.buf, w.len, this.#qEnd, this.#starts, nStarts, this.#patches, nPatches);
  }

  #addrs(owner: number, as: readonly number[], aaaas: readonly Uint8Array[], starts: boolean): void {
    const w = this.#w;
    for (const ip of as) {
      if (starts) this.#starts.push(w.len);
      this.#rrHead(owner, TYPE_A, 4);
      w.u32(ip);
    }
    for (const ip of aaaas) {
      if (starts) this.#starts.push(w.len);
      this.#rrHead(owner, TYPE_AAAA, 16);
      w.bytes(ip);
    }
  }

  #permutation(n: number): Int32Array {
    if (this.#perm.length < n) this.#perm = new Int32Array(n * 2);
    shuffle(this.#perm, n);
    return this.#perm;
  }

  /**
   * A name's answer: SRV answers, then A, then AAAA answers (each list shuffled once
   * here), then for each distinct in-domain SRV target one A and one AAAA (picked at
   * random) as additional records whose owner points at the target. Undefined if the
   * name cannot be encoded.
   */
  #prepared(qname: string, srv: boolean, a: boolean, aaaa: boolean): number | undefined {
    const v = this.#v;
    if (!this.#start(qname)) return undefined;
    const w = this.#w;
    this.#starts.length = 0;
    this.#patches.length = 0;
    const targetSrv = this.#targetSrv;
    targetSrv.clear();
    // The new values' records, and those of the stored answer that the values keep (`#reusePlan`).
    const nNew = srv ? v.srvPort.length : 0;
    const reuse = srv ? this.#reuse : undefined;
    const nKept = reuse === undefined ? 0 : reuse.records.length;
    const nSrv = nNew + nKept;
    const srvAt = this.#srvStarts;
    srvAt.length = 0;
    // Each SRV record's value, for the targets noted below.
    const srvValues = this.#srvValues;
    srvValues.length = 0;
    const perm = srv && this.#orderWanted ? new Int32Array(nSrv) : undefined;
    this.#lastPerm = perm;
    if (nSrv > 0) {
      const p = this.#permutation(nNew);
      const stored = reuse === undefined ? undefined : this.records.srv.get(qname);
      let newLeft = nNew;
      let next = 0;
      let kept = 0;
      // Kept records that were next to each other are copied in one piece: `[runFrom, runTo)` of
      // the stored bytes, to `runAt` (copied when the run ends; only their places are needed before).
      let runFrom = -1;
      let runTo = -1;
      let runAt = 0;
      for (let i = 0; i < nSrv; i++) {
        this.#starts.push(w.len);
        srvAt.push(w.len);
        let value: string;
        // Kept records stay in their order, new ones go anywhere among them, each place as likely.
        if (kept < nKept && (newLeft === 0 || Math.random() * (newLeft + nKept - kept) >= newLeft)) {
          const old = reuse!.old;
          const k = reuse!.records[kept];
          const from = old.starts[k] + old.shift;
          const to = old.starts[k + 1] + old.shift;
          w.ensure(to - from);
          if (from !== runTo) {
            if (runFrom >= 0) copyBytes(w.buf, runAt, old.bytes, runFrom, runTo);
            runFrom = from;
            runAt = w.len;
          }
          runTo = to;
          w.len += to - from;
          const j = reuse!.indices[kept++];
          if (perm) perm[i] = j;
          value = stored![j];
        } else {
          // A run of kept records ends here: the next kept one is not next to it in the reply.
          if (runFrom >= 0) copyBytes(w.buf, runAt, reuse!.old.bytes, runFrom, runTo);
          runFrom = runTo = -1;
          const s = p[next++];
          newLeft--;
          value = v.srvValue[s];
          const colon = v.srvColon[s];
          if (perm) perm[i] = v.srvIndex[s];
          const lenAt = w.len + 10;
          this.#rrHead(PTR_QNAME, TYPE_SRV, 0);
          const rdStart = w.len;
          w.u16(0);
          w.u16(this.weight);
          w.u16(v.srvPort[s]);
          w.ensure(colon + 2);
          w.len = writeWireName(w.buf, w.len, value, colon, true);
          w.setU16(lenAt, w.len - rdStart);
        }
        srvValues[i] = value;
      }
      if (runFrom >= 0) copyBytes(w.buf, runAt, reuse!.old.bytes, runFrom, runTo);
    }
    let nA = 0;
    let nAAAA = 0;
    if (a && v.a.length > 0) {
      nA = v.a.length;
      const p = this.#permutation(nA);
      for (let i = 0; i < nA; i++) {
        this.#starts.push(w.len);
        this.#rrHead(PTR_QNAME, TYPE_A, 4);
        w.u32(v.a[p[i]]);
      }
    }
    if (aaaa && v.aaaa.length > 0) {
      nAAAA = v.aaaa.length;
      const p = this.#permutation(nAAAA);
      for (let i = 0; i < nAAAA; i++) {
        this.#starts.push(w.len);
        this.#rrHead(PTR_QNAME, TYPE_AAAA, 16);
        w.bytes(v.aaaa[p[i]]);
      }
    }
    this.#starts.push(w.len);
    const nStarts = this.#starts.length;
    // Pointers must stay below 0x4000 wherever rotation moves the target.
    const compress = w.len + SRV_TARGET_IN_RR < 0x4000;
    let ar = 0;
    // No reply holds more than MAX_TCP_MESSAGE bytes, and replies are cut at the end (records in
    // order, `truncateMessage`): past that, additional records would never be sent.
    if (w.len <= MAX_TCP_MESSAGE) {
      for (let i = 0; i < nSrv; i++) {
        const value = srvValues[i];
        // The target as stored (a trailing dot kept: it is the key of its own records).
        const target = value.slice(0, value.lastIndexOf(":")).toLowerCase();
        if (!targetSrv.has(target) && inDomain(target, this.domainFqdn)) targetSrv.set(target, i);
      }
    }
    for (const [target, i] of targetSrv) {
      const tA = this.#oneA(target);
      const tAAAA = this.#oneAAAA(target);
      if (tA < 0 && tAAAA === undefined) continue;
      // Past pointer range, the owner is the target's name as the SRV record holds it (a copy).
      const targetAt = srvAt[i] + SRV_TARGET_IN_RR;
      const owner = compress
        ? 0xc000 | targetAt
        : w.buf.slice(targetAt, targetAt + ((w.buf[srvAt[i] + 10] << 8) | w.buf[srvAt[i] + 11]) - 6);
      if (tA >= 0) {
        if (compress) this.#patches.push(w.len, i);
        this.#rrHead(owner, TYPE_A, 4);
        w.u32(tA);
        ar++;
      }
      if (tAAAA !== undefined) {
        if (compress) this.#patches.push(w.len, i);
        this.#rrHead(owner, TYPE_AAAA, 16);
        w.bytes(tAAAA);
        ar++;
      }
    }
    return this.#finish(nSrv + nA + nAAAA, 0, ar, nStarts, this.#patches.length);
  }

  /**
   * Builds the answers of `fqdn` (a stored name of a served key: lower-case, with the
   * trailing dot) if the record set has values for it; returns its number, or -1 when the
   * name has no stored values (or cannot be encoded).
   */
  name(fqdn: string): number {
    const twinned = this.#twinned(fqdn);
    if (twinned >= 0) return twinned;
    const v = this.#v;
    v.clear();
    const storedA = this.#parseA(fqdn, v.a);
    const storedAAAA = this.#parseAAAA(fqdn, v.aaaa);
    // A name with many SRV values and nothing else keeps its record order (`SrvOrder`).
    const srvList = this.records.srv.get(fqdn);
    const ordered = srvList !== undefined && srvList.length >= REUSE_MIN && storedA + storedAAAA === 0;
    this.#reuse = undefined;
    const storedSrv = this.#parseSRV(fqdn, v, ordered ? this.#reusePlan(fqdn, srvList) : undefined);
    if (storedA + storedAAAA + storedSrv === 0) return -1;
    const as = v.a.length > 0;
    const aaaas = v.aaaa.length > 0;
    const srvs = v.srvPort.length + this.#keptRecords() > 0;
    const pa = as ? this.#prepared(fqdn, false, true, false) : undefined;
    const paaaa = aaaas ? this.#prepared(fqdn, false, false, true) : undefined;
    this.#orderWanted = ordered;
    const psrv = srvs ? this.#prepared(fqdn, true, false, false) : undefined;
    this.#orderWanted = false;
    this.#reuse = undefined;
    const perm = this.#lastPerm;
    this.#lastPerm = undefined;
    if (ordered && psrv !== undefined && perm !== undefined) {
      this.srvOrders.set(fqdn, { values: srvList, perm });
    } else this.srvOrders.delete(fqdn);
    if (pa === undefined && paaaa === undefined && psrv === undefined) {
      // Stored, but every value was invalid (e.g. an agent name that did not resolve):
      // the name exists, so it answers NODATA (SPEC §6.10, §7.3).
      if (as || aaaas || srvs || !validName(fqdn)) {
        this.#bad("name", stripDot(fqdn), "(not encodable)");
        return -1;
      }
    }
    const n = this.#entry(fqdn);
    const out = this.out;
    out.setFlags(n, NAME_EXISTS);
    out.setAnswer(n, SLOT.a, pa);
    out.setAnswer(n, SLOT.aaaa, paaaa);
    out.setAnswer(n, SLOT.srv, psrv);
    const kinds = (as ? 1 : 0) + (aaaas ? 1 : 0) + (srvs ? 1 : 0);
    // The question is copied from the request, so a single-type answer serves ANY as is.
    out.setAnswer(
      n,
      SLOT.any,
      kinds > 1 ? this.#prepared(fqdn, srvs, as, aaaas) : (pa ?? paaaa ?? psrv),
    );
    if (kinds === 1 && psrv !== undefined && twinOf(fqdn) !== undefined) {
      this.#twins.set(fqdn, { values: this.records.srv.get(fqdn)!, id: psrv });
    }
    return n;
  }

  /**
   * `_T._udp.F.D.` and `_T._tcp.F.D.` usually hold the same SRV values and nothing else: their
   * answers are then the same bytes but for the question, which a reply takes from the request
   * (and both names have the same length). The second of the two built in a layer takes the
   * first one's answer: the name's number, or -1 when it has no such twin.
   */
  #twinned(fqdn: string): number {
    const twin = twinOf(fqdn);
    if (twin === undefined) return -1;
    const built = this.#twins.get(twin);
    if (built === undefined) return -1;
    const values = this.records.srv.get(fqdn);
    if (values === undefined || values.length !== built.values.length) return -1;
    if (this.records.a.get(fqdn) !== undefined || this.records.aaaa.get(fqdn) !== undefined) return -1;
    for (let i = 0; i < values.length; i++) if (values[i] !== built.values[i]) return -1;
    this.#twins.delete(twin);
    const order = this.srvOrders.get(twin);
    if (order !== undefined) this.srvOrders.set(fqdn, order);
    else this.srvOrders.delete(fqdn);
    const n = this.#entry(fqdn);
    const out = this.out;
    out.setFlags(n, NAME_EXISTS);
    out.setAnswer(n, SLOT.srv, built.id);
    out.setAnswer(n, SLOT.any, built.id);
    return n;
  }

  /**
   * Adds the empty non-terminals above `name` (RFC 8020): every missing parent up to the
   * apex (names below them are counted in `children`); `counted`: `name` was just added, so it is
   * counted below its parent (`children`), as each parent added here is below its own. In a
   * whole build, a parent with records is left to the build, which adds it and its own
   * parents (a name with records that is not built cannot be encoded, nor can `name`).
   */
  parents(name: string, counted: boolean): void {
    if (!EMPTY_NON_TERMINALS_EXIST) return;
    // Names come grouped (a framework's tasks, each with a name below `F.D.` and one below
    // `F.slave.D.`): the parents of the last few names are known to be done.
    const recent = this.#recentParents;
    const dot = name.indexOf(".");
    const parentLength = name.length - dot - 1;
    for (let i = 0; i < recent.length; i++) {
      const p = recent[i];
      if (p.length === parentLength && name.endsWith(p)) {
        if (counted) this.#countChild(p);
        return;
      }
    }
    let parent = name;
    let childAdded = counted;
    while (parent !== this.domainFqdn) {
      parent = parent.slice(parent.indexOf(".") + 1);
      if (childAdded) this.#countChild(parent);
      if (parent.length === parentLength) {
        if (recent.length === RECENT_PARENTS) recent.pop();
        recent.unshift(parent);
      }
      const have = this.out.numberOf(parent);
      if (have !== undefined) {
        this.out.setFlags(have, NAME_EXISTS);
        break;
      }
      if (this.whole && parent !== this.domainFqdn && hasStored(this.records, parent)) break;
      this.out.setFlags(this.out.addName(parent), NAME_EXISTS);
      childAdded = true;
    }
  }

  /**
   * RDLENGTH and RDATA of the SOA. Names are written whole: compressing them against the
   * question would show them in the asker's letter case.
   */
  #soaRdata(w: ByteWriter): void {
    const lenAt = w.len;
    w.u16(0);
    const start = w.len;
    w.bytes(this.mnameWire);
    w.bytes(this.rnameWire);
    w.u32(this.serial);
    w.u32(this.cfg.SOARefresh);
    w.u32(this.cfg.SOARetry);
    w.u32(this.cfg.SOAExpire);
    w.u32(this.ttl);
    w.setU16(lenAt, w.len - start);
  }

  negativeSoa(): Uint8Array {
    const w = new ByteWriter(128);
    w.u16(TYPE_SOA);
    w.u16(CLASS_IN);
    w.u32(this.ttl);
    this.#soaRdata(w);
    return w.finish();
  }

  /** All values of a served name, parsed (A and AAAA only). */
  #addresses(name: string): { a: number[]; aaaa: Uint8Array[] } {
    const a: number[] = [];
    const aaaa: Uint8Array[] = [];
    this.#parseA(name, a);
    this.#parseAAAA(name, aaaa);
    return { a, aaaa };
  }

  /**
   * SOA, NS and ANY at the apex. The NS answer carries the name server's addresses (the
   * `SOAMname` records) as additional records.
   */
  apex(): void {
    const n = this.#entry(this.domainFqdn);
    this.out.setFlags(n, NAME_EXISTS);
    const mname = stripDot(this.cfg.SOAMname).toLowerCase() + ".";
    const glue = this.#addresses(mname);
    const w = this.#w;
    this.#starts.length = 0;

    const soa = () => {
      this.#rrHead(PTR_QNAME, TYPE_SOA, undefined);
      this.#soaRdata(w);
    };
    /** Writes the NS record; returns where its target name starts. */
    const ns = (): number => {
      this.#rrHead(PTR_QNAME, TYPE_NS, undefined);
      const lenAt = w.len;
      w.u16(0);
      const at = w.len;
      w.bytes(this.mnameWire);
      w.setU16(lenAt, w.len - at);
      return at;
    };

    this.#start(this.domainFqdn);
    soa();
    this.out.setAnswer(n, SLOT.soa, this.#finish(1, 0, 0));

    this.#start(this.domainFqdn);
    let nsAt = ns();
    this.#addrs(0xc000 | nsAt, glue.a, glue.aaaa, false);
    this.out.setAnswer(n, SLOT.ns, this.#finish(1, 0, glue.a.length + glue.aaaa.length));

    this.#start(this.domainFqdn);
    soa();
    nsAt = ns();
    const apex = this.#addresses(this.domainFqdn);
    this.#addrs(PTR_QNAME, apex.a, apex.aaaa, false);
    this.#addrs(0xc000 | nsAt, glue.a, glue.aaaa, false);
    const an = 2 + apex.a.length + apex.aaaa.length;
    this.out.setAnswer(n, SLOT.any, this.#finish(an, 0, glue.a.length + glue.aaaa.length));
  }

  /** The layer's shared arrays. */
  finish(): FlatLayerParts {
    this.done();
    return this.out.finish(this.apexWire, this.negativeSoa(), this.flags3, this.serial);
  }

  /** `finish` in steps. */
  finishSteps(): Generator<void, FlatLayerParts> {
    this.done();
    return this.out.finishSteps(this.apexWire, this.negativeSoa(), this.flags3, this.serial);
  }
}

/** The name with its first `._tcp.` made `._udp.` or the other way round, or undefined without either. */
function twinOf(fqdn: string): string | undefined {
  const tcp = fqdn.indexOf("._tcp.");
  const udp = fqdn.indexOf("._udp.");
  const at = tcp < 0 ? udp : udp < 0 ? tcp : Math.min(tcp, udp);
  if (at < 0) return undefined;
  return fqdn.slice(0, at) + (at === tcp ? "._udp." : "._tcp.") + fqdn.slice(at + 6);
}

/** The length of `name` (a trailing dot ignored; encodable, see `validName`) in wire form. */
function wireLength(name: string): number {
  const n = name.length > 1 && name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
  return n === 0 ? 1 : n + 2;
}

/** The port number at `s[from..]` (digits only, at most 65535), or -1. */
function parsePort(s: string, from: number): number {
  if (from <= 0 || from >= s.length || s.length - from > 5) return -1;
  let port = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    port = port * 10 + (c - 0x30);
  }
  return port > 65535 ? -1 : port;
}

/**
 * Whether `name` (its first `end` characters; a trailing dot is ignored; not empty) can be
 * written in wire form: ASCII labels of 1–63 octets.
 */
function validName(name: string, end = name.length): boolean {
  let n = end;
  if (n > 1 && name.charCodeAt(n - 1) === 0x2e) n--;
  if (n === 0 || n + 2 > 255) return false;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) return false;
      label = 0;
    } else if (c > 0x7f || ++label > 63) {
      return false;
    }
  }
  return label > 0;
}

/** Whether a stored name is answered: no upper-case letter (checked without a lower-cased copy). */
function served(fqdn: string): boolean {
  for (let i = 0; i < fqdn.length; i++) {
    const c = fqdn.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
    if (c > 0x7f) return fqdn === fqdn.toLowerCase();
  }
  return true;
}

/**
 * Builds the base layer (`b` a whole build): every stored name, the empty non-terminals and
 * the apex. A name is built where its first type with values is listed (A, AAAA, SRV), so
 * once, and each built name's parents are added then.
 */
function* fullBuild(b: Builder, rs: RecordSet): Generator<void, FlatLayerParts> {
  let i = 0;
  const maps = [rs.a, rs.aaaa, rs.srv];
  for (let m = 0; m < maps.length; m++) {
    for (const [fqdn, values] of maps[m]) {
      if ((++i & 255) === 0) yield;
      if (values.length === 0) continue;
      if (m > 0 && (rs.a.get(fqdn)?.length ?? 0) > 0) continue;
      if (m > 1 && (rs.aaaa.get(fqdn)?.length ?? 0) > 0) continue;
      if (!served(fqdn) || !inDomain(fqdn, b.domainFqdn)) continue;
      // Not built: it cannot be encoded, so neither can any name below it.
      if (b.name(fqdn) < 0) continue;
      b.parents(fqdn, b.added);
    }
  }
  b.apex();
  yield;
  return yield* b.finishSteps();
}

/** Top layers go on from the previous one's answers until they hold this many bytes (or the base's size). */
const TOP_FRESH_BYTES = 16 * 1024 * 1024;

/**
 * Builds every precomputed zone answer for a snapshot (SPEC §7.2–7.4, §0): A, AAAA and
 * SRV (with in-domain target addresses as additional records) per name, ANY as what
 * exists, SOA/NS/ANY at the apex, and the SOA used in NXDOMAIN/NODATA replies.
 */
export function buildZoneAnswers(snapshot: Snapshot, config: Config): ZoneAnswers {
  const gen = zoneBuild(snapshot, config);
  let r = gen.next();
  while (!r.done) r = gen.next();
  return r.value;
}

/**
 * `buildZoneAnswers` as steps: each `next()` does a few hundred names' work, so a caller
 * can let other work run in between; the last returns the zone.
 */
export function* zoneBuild(snapshot: Snapshot, config: Config): Generator<void, ZoneAnswers> {
  const rs = snapshot.records;
  const b = new Builder(rs, snapshot.serial, config, rs.a.size + rs.aaaa.size + rs.srv.size, undefined, true);
  const base = yield* fullBuild(b, snapshot.records);
  return {
    domain: b.domain,
    serial: snapshot.serial,
    flat: new FlatZone(base),
    topNames: new Set<string>(),
    children: ChildCounts.of(b.children),
    srvOrders: b.srvOrders,
  };
}

/** Whether the record set has values stored under `fqdn` (of any type). */
function hasStored(rs: RecordSet, fqdn: string): boolean {
  return (rs.a.get(fqdn)?.length ?? 0) + (rs.aaaa.get(fqdn)?.length ?? 0) + (rs.srv.get(fqdn)?.length ?? 0) >
    0;
}

/** The number of labels of a stored name (its dots). */
function depth(fqdn: string): number {
  let n = 0;
  for (let i = 0; i < fqdn.length; i++) if (fqdn.charCodeAt(i) === 0x2e) n++;
  return n;
}

/**
 * The zone after a change of the names in `changed` (stored FQDNs): the base layer of
 * `previous` unchanged, and a new top layer rebuilt from `snapshot` for those names, the
 * names of the previous top layer, and the apex (its SOA carries the new serial). A name
 * without records any more becomes a tombstone, or an empty non-terminal while names exist
 * below it (`ZoneAnswers.children`, kept up to date here); its parents likewise, up to the
 * apex: an empty non-terminal whose last name below went is gone too (RFC 8020). `changed`
 * must name the SRV names whose targets' addresses changed too (their answers carry them
 * as additional records; the record store's `changes` do).
 * Cost: in proportion to the top layer's names and their parents, not the zone's.
 */
export function updateZoneAnswers(
  previous: ZoneAnswers,
  snapshot: Snapshot,
  config: Config,
  changed: Iterable<string>,
  /** `freshTopBytes`: the bytes of answers a top layer goes on from (default: 16 MiB or the base's size). */
  opts: { freshTopBytes?: number } = {},
): ZoneAnswers {
  const changedNames = [...changed];
  // The new top layer goes on from the previous one's answers (its unchanged names are taken
  // over without a copy), until the answers written since the base outweigh the base's own:
  // then it starts afresh, copying only the answers in use.
  const prev = previous.topWriter;
  const limit = opts.freshTopBytes ?? Math.max(TOP_FRESH_BYTES, previous.flat.parts.messages.length);
  const goOn = prev !== undefined && prev.messageBytes < limit;
  const b = new Builder(
    snapshot.records,
    snapshot.serial,
    config,
    2 * (changedNames.length + previous.topNames.size),
    goOn ? prev : undefined,
    false,
    previous,
  );
  const apex = b.domainFqdn;
  // Stored names (with the trailing dot), as the builder takes them.
  const names = new Set<string>();
  for (const fqdn of changedNames) {
    if (served(fqdn) && inDomain(fqdn, apex)) names.add(fqdn);
  }
  names.delete(apex);
  // The changed names and every parent of theirs below the apex, deepest first: whether a
  // name exists afterwards depends on the names below it.
  const affected = new Set<string>(names);
  for (const key of names) {
    for (
      let p = key.slice(key.indexOf(".") + 1);
      p !== apex && p.length > apex.length;
      p = p.slice(p.indexOf(".") + 1)
    ) {
      affected.add(p);
    }
  }
  const order = [...affected].sort((x, y) => depth(y) - depth(x));
  const before = previous.flat;
  const children = previous.children;
  /** The counts of names below the names decided here (see `ZoneAnswers.children`). */
  const counts = new Map<string, number>();
  /** Change in the number of names directly below a name, from the names below it decided so far. */
  const below = new Map<string, number>();
  /** Names written into this layer as an empty non-terminal or a tombstone. */
  const decided = new Set<string>();
  for (const key of order) {
    const was = before.findName(stripDot(key));
    const existed = was >= 0;
    // Records: rebuilt for a changed name; a parent's are those it had (not changed here).
    const recs = names.has(key) ? b.name(key) >= 0 : existed && hasStored(snapshot.records, key);
    const count = (children.get(key) ?? 0) + (below.get(key) ?? 0);
    counts.set(key, count);
    const exists = recs || count > 0;
    if (exists !== existed) {
      const parent = key.slice(key.indexOf(".") + 1);
      below.set(parent, (below.get(parent) ?? 0) + (exists ? 1 : -1));
    }
    if (recs) continue;
    b.srvOrders.delete(key);
    if (exists) {
      // An empty non-terminal (RFC 8020): NODATA for every type.
      b.out.setFlags(b.out.numberOf(key) ?? b.out.addName(key), NAME_EXISTS);
      decided.add(key);
    } else if (existed || previous.topNames.has(stripDot(key))) {
      // Gone: a tombstone over the base (NXDOMAIN).
      if (b.out.numberOf(key) === undefined) b.out.addName(key);
      decided.add(key);
    }
  }
  counts.set(apex, (children.get(apex) ?? 0) + (below.get(apex) ?? 0));
  // The previous top layer's other names keep their answers (copied, not built again).
  const oldTop = previous.flat.parts.top;
  if (oldTop) {
    const topIndex = new FlatZone({ ...oldTop, top: undefined });
    for (const servedName of previous.topNames) {
      const key = servedName + ".";
      if (names.has(key) || decided.has(key) || key === apex) continue;
      const n = topIndex.findName(servedName);
      // A tombstone is not in the index as a live name: written again as one.
      if (n >= 0 && goOn) b.out.reuseName(oldTop, n, key);
      else if (n >= 0) b.out.copyName(oldTop, n, key);
      else b.out.addName(key);
    }
  }
  b.name(apex);
  b.apex();
  const top = b.finish();
  const topNames = new Set<string>();
  for (let n = 0; n < b.out.names; n++) topNames.add(stripDot(b.out.nameAt(n)!));
  return {
    domain: b.domain,
    serial: snapshot.serial,
    flat: new FlatZone({ ...previous.flat.parts, top }),
    topNames,
    children: children.with(counts),
    topWriter: b.out,
    srvOrders: b.srvOrders,
  };
}
