/**
 * Precomputed zone answers (owns: turning one snapshot + config into complete wire-form
 * responses per (lower-cased name, qtype) for the authoritative zone, SPEC §7.2–7.4 with
 * the §0 RFC deviations). Built once per publish so a query costs one table lookup and a
 * copy. Multi-record answers are stored once, in a random order drawn at build time, and
 * rotated by one record per response (a copy in two pieces plus a few pointer patches).
 *
 * Template layout: header (ID 0; QR, AA, RA and rcode set; RD/CD clear), the question
 * with the lower-cased name, then the records, whose owners point (compression) at the
 * question name. The responder overwrites the ID, flags and question bytes as asked.
 */
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import { ipv4Number, ipv6Bytes } from "../net/ip.ts";
import { type FlatZone, FlatZoneWriter, type NameAnswers, SRV_TARGET_IN_RR } from "./flat_zone.ts";
import type { Snapshot } from "../records/snapshot.ts";
import {
  ByteWriter,
  CLASS_IN,
  FLAG_AA,
  FLAG_QR,
  FLAG_RA,
  HEADER_LEN,
  nameToWire,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_NS,
  TYPE_SOA,
  TYPE_SRV,
} from "./wire.ts";

const log = logger("dns");

/** Compression pointer to the question name at offset 12. */
const PTR_QNAME = 0xc000 | HEADER_LEN;
/** Answers for one existing name (a name with records, an empty non-terminal, or the apex). */
export class NameEntry implements NameAnswers {
  a: number | undefined = undefined;
  aaaa: number | undefined = undefined;
  srv: number | undefined = undefined;
  any: number | undefined = undefined;
  soa: number | undefined = undefined;
  ns: number | undefined = undefined;
}

/** Everything the responder needs to answer for the zone from one snapshot. */
export interface ZoneAnswers {
  /** Lower-cased domain, no trailing dot (`mesos`). */
  readonly domain: string;
  readonly serial: number;
  /** Every existing name's answers (names absent here do not exist), in shared memory. */
  readonly flat: FlatZone;
}

/** Whether an empty non-terminal (a name with only names below it) answers NODATA (RFC 8020). */
const EMPTY_NON_TERMINALS_EXIST = true;

interface SrvItem {
  port: number;
  targetWire: Uint8Array;
  /** Lower-cased target without trailing dot. */
  target: string;
}

/** A copy of `list` in random order. */
function shuffled<T>(list: readonly T[]): T[] {
  const p = list.slice();
  for (let i = p.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** True if `name` (no trailing dot) is `domain` or below it. */
export function inDomain(name: string, domain: string): boolean {
  return name === domain || (name.length > domain.length && name.endsWith(domain) &&
    name.charCodeAt(name.length - domain.length - 1) === 0x2e);
}

/** Context shared while building one snapshot's answers. */
class Builder {
  readonly ttl: number;
  readonly weight: number;
  readonly flags3: number;
  readonly domain: string;
  readonly apexWire: Uint8Array;
  readonly mnameWire: Uint8Array;
  readonly rnameWire: Uint8Array;
  /** Lower-cased name without trailing dot → IPv4 addresses as 32-bit numbers. */
  readonly a = new Map<string, number[]>();
  readonly aaaa = new Map<string, Uint8Array[]>();
  readonly srv = new Map<string, SrvItem[]>();
  readonly names = new Map<string, NameEntry>();
  readonly targetWires = new Map<string, Uint8Array>();
  /** Every name the record set holds values for, valid or not: these names exist (NODATA, not NXDOMAIN). */
  readonly present = new Set<string>();
  readonly out = new FlatZoneWriter();
  /** Where sized answers are written before `out` copies them (one at a time). */
  readonly scratch = new Uint8Array(65536);
  bad = 0;

  constructor(readonly snap: Snapshot, readonly cfg: Config) {
    this.ttl = cfg.TTL >>> 0;
    this.weight = cfg.SRVRecordDefaultWeight & 0xffff;
    this.flags3 = cfg.RecurseOn ? FLAG_RA : 0;
    this.domain = cfg.Domain.toLowerCase().replace(/\.+$/, "");
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

  /**
   * Validates and indexes the record set's values by name. Queries are lower-cased, so
   * stored names with upper case (the legacy verbatim DiscoveryInfo names, SPEC §5.4) are
   * listed by HTTP but never answered over DNS, as in the original.
   */
  index(): void {
    const rs = this.snap.records;
    for (const [fqdn, values] of rs.a) {
      const key = this.#servedKey(fqdn, values);
      if (key === undefined) continue;
      let list = this.a.get(key);
      for (const v of values) {
        const ip = ipv4Number(v);
        if (ip < 0) {
          this.#bad("A", fqdn, v);
          continue;
        }
        if (!list) this.a.set(key, list = []);
        list.push(ip);
      }
    }
    for (const [fqdn, values] of rs.aaaa) {
      const key = this.#servedKey(fqdn, values);
      if (key === undefined) continue;
      let list = this.aaaa.get(key);
      for (const v of values) {
        const ip = ipv6Bytes(v);
        if (!ip) {
          this.#bad("AAAA", fqdn, v);
          continue;
        }
        if (!list) this.aaaa.set(key, list = []);
        list.push(ip);
      }
    }
    for (const [fqdn, values] of rs.srv) {
      const key = this.#servedKey(fqdn, values);
      if (key === undefined) continue;
      let list = this.srv.get(key);
      for (const v of values) {
        const colon = v.lastIndexOf(":");
        const port = Number(v.slice(colon + 1));
        const target = stripDot(v.slice(0, colon)).toLowerCase();
        if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
          this.#bad("SRV", fqdn, v);
          continue;
        }
        let targetWire = this.targetWires.get(target);
        if (!targetWire) {
          targetWire = nameToWire(target);
          if (!targetWire) {
            this.#bad("SRV", fqdn, v);
            continue;
          }
          this.targetWires.set(target, targetWire);
        }
        if (!list) this.srv.set(key, list = []);
        list.push({ port, targetWire, target });
      }
    }
    if (this.bad > 5) log.warn("skipped {n} invalid record values in total", { n: this.bad });
  }

  /** The lookup key of a stored name, or undefined when DNS never answers it (upper case). */
  #servedKey(fqdn: string, values: readonly string[]): string | undefined {
    const key = stripDot(fqdn);
    if (key !== key.toLowerCase()) return undefined;
    if (values.length > 0) this.present.add(key);
    return key;
  }

  #entry(name: string): NameEntry {
    let e = this.names.get(name);
    if (!e) {
      e = new NameEntry();
      this.names.set(name, e);
    }
    return e;
  }

  /**
   * Header and question (name written from text; undefined if it cannot be encoded).
   * Counts are patched by `#finish`. `size` is the expected total, 0 if unknown.
   */
  #start(qname: string, qtype: number, size = 0): ByteWriter | undefined {
    const w = new ByteWriter(
      size && size <= this.scratch.length ? this.scratch : qname.length + 2 + HEADER_LEN + 4 + 128 + size,
    );
    w.u16(0);
    w.u8(FLAG_QR | FLAG_AA);
    w.u8(this.flags3);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    if (!w.name(qname)) return undefined;
    w.u16(qtype);
    w.u16(CLASS_IN);
    return w;
  }

  /** Owner (pointer or wire name), TYPE, CLASS, TTL and, unless `rdlen` is undefined, RDLENGTH. */
  #rrHead(w: ByteWriter, owner: number | Uint8Array, type: number, rdlen: number | undefined): void {
    if (typeof owner === "number") w.u16(owner);
    else w.bytes(owner);
    w.u16(type);
    w.u16(CLASS_IN);
    w.u32(this.ttl);
    if (rdlen !== undefined) w.u16(rdlen);
  }

  /** Patches the counts and adds the answer to the flat zone; returns its number. */
  #finish(
    w: ByteWriter,
    an: number,
    ns: number,
    ar: number,
    starts: readonly number[] = [],
    patches: readonly number[] = [],
  ): number {
    w.setU16(6, an);
    w.setU16(8, ns);
    w.setU16(10, ar);
    return this.out.add(w.buf.subarray(0, w.len), starts, patches);
  }

  #addrs(
    w: ByteWriter,
    owner: number,
    as: readonly number[],
    aaaas: readonly Uint8Array[],
    starts?: number[],
  ): void {
    for (const ip of as) {
      starts?.push(w.len);
      this.#rrHead(w, owner, TYPE_A, 4);
      w.u32(ip);
    }
    for (const ip of aaaas) {
      starts?.push(w.len);
      this.#rrHead(w, owner, TYPE_AAAA, 16);
      w.bytes(ip);
    }
  }

  /**
   * A name's answer: SRV answers, then A, then AAAA answers (each list shuffled once
   * here), then for each distinct in-domain SRV target one A and one AAAA (picked at
   * random) as additional records whose owner points at the target. Undefined if the
   * name cannot be encoded.
   */
  #prepared(
    qname: string,
    qtype: number,
    srvList: SrvItem[] | undefined,
    aList: number[] | undefined,
    aaaaList: Uint8Array[] | undefined,
  ): number | undefined {
    const srvs = srvList ? shuffled(srvList) : [];
    const as = aList ? shuffled(aList) : [];
    const aaaas = aaaaList ? shuffled(aaaaList) : [];
    // Exact size (assuming compressed additional owners), so the buffer needs no copy.
    let size = HEADER_LEN + qname.length + 2 + 4 + 16 * as.length + 28 * aaaas.length;
    const targetSrv = new Map<string, number>();
    for (let i = 0; i < srvs.length; i++) {
      const s = srvs[i];
      size += SRV_TARGET_IN_RR + s.targetWire.length;
      if (targetSrv.has(s.target) || !inDomain(s.target, this.domain)) continue;
      targetSrv.set(s.target, i);
      if (this.a.has(s.target)) size += 16;
      if (this.aaaa.has(s.target)) size += 28;
    }
    const w = this.#start(qname, qtype, size);
    if (!w) return undefined;
    const starts: number[] = [];
    for (const s of srvs) {
      starts.push(w.len);
      this.#rrHead(w, PTR_QNAME, TYPE_SRV, 6 + s.targetWire.length);
      w.u16(0);
      w.u16(this.weight);
      w.u16(s.port);
      w.bytes(s.targetWire);
    }
    this.#addrs(w, PTR_QNAME, as, aaaas, starts);
    starts.push(w.len);
    // Pointers must stay below 0x4000 wherever rotation moves the target.
    const compress = w.len + SRV_TARGET_IN_RR < 0x4000;
    const patches: number[] = [];
    let ar = 0;
    for (const [target, i] of targetSrv) {
      const owner = compress ? 0xc000 | (starts[i] + SRV_TARGET_IN_RR) : srvs[i].targetWire;
      const tA = this.a.get(target);
      if (tA) {
        if (compress) patches.push(w.len, i);
        this.#rrHead(w, owner, TYPE_A, 4);
        w.u32(tA[Math.floor(Math.random() * tA.length)]);
        ar++;
      }
      const tAAAA = this.aaaa.get(target);
      if (tAAAA) {
        if (compress) patches.push(w.len, i);
        this.#rrHead(w, owner, TYPE_AAAA, 16);
        w.bytes(tAAAA[Math.floor(Math.random() * tAAAA.length)]);
        ar++;
      }
    }
    return this.#finish(w, srvs.length + as.length + aaaas.length, 0, ar, starts, patches);
  }

  /** Builds the entries for every name with records, empty non-terminals and the apex. */
  build(): ZoneAnswers {
    for (const name of this.present) {
      if (!inDomain(name, this.domain)) continue;
      const as = this.a.get(name);
      const aaaas = this.aaaa.get(name);
      const srvs = this.srv.get(name);
      const pa = as && this.#prepared(name, TYPE_A, undefined, as, undefined);
      const paaaa = aaaas && this.#prepared(name, TYPE_AAAA, undefined, undefined, aaaas);
      const psrv = srvs && this.#prepared(name, TYPE_SRV, srvs, undefined, undefined);
      if (pa === undefined && paaaa === undefined && psrv === undefined) {
        // Stored, but every value was invalid (e.g. an agent name that did not resolve):
        // the name exists, so it answers NODATA (SPEC §6.10, §7.3).
        if (as || aaaas || srvs || !nameToWire(name)) {
          this.#bad("name", name, "(not encodable)");
          continue;
        }
      }
      const e = this.#entry(name);
      e.a = pa;
      e.aaaa = paaaa;
      e.srv = psrv;
      const kinds = (as ? 1 : 0) + (aaaas ? 1 : 0) + (srvs ? 1 : 0);
      // The question is copied from the request, so a single-type answer serves ANY as is.
      e.any = kinds > 1 ? this.#prepared(name, TYPE_ANY, srvs, as, aaaas) : (pa ?? paaaa ?? psrv);
      if (EMPTY_NON_TERMINALS_EXIST) {
        let parent = name;
        while (parent !== this.domain) {
          parent = parent.slice(parent.indexOf(".") + 1);
          if (this.names.has(parent)) break;
          this.#entry(parent);
        }
      }
    }
    this.#buildApex();
    return {
      domain: this.domain,
      serial: this.snap.serial,
      flat: this.out.finish(this.names, this.apexWire, this.#negativeSoa(), this.flags3, this.snap.serial),
    };
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
    w.u32(this.snap.serial);
    w.u32(this.cfg.SOARefresh);
    w.u32(this.cfg.SOARetry);
    w.u32(this.cfg.SOAExpire);
    w.u32(this.ttl);
    w.setU16(lenAt, w.len - start);
  }

  #negativeSoa(): Uint8Array {
    const w = new ByteWriter(128);
    w.u16(TYPE_SOA);
    w.u16(CLASS_IN);
    w.u32(this.ttl);
    this.#soaRdata(w);
    return w.finish();
  }

  /**
   * SOA, NS and ANY at the apex. The NS answer carries the name server's addresses (the
   * `SOAMname` records) as additional records.
   */
  #buildApex(): void {
    const e = this.#entry(this.domain);
    const mname = stripDot(this.cfg.SOAMname).toLowerCase();
    const glueA = this.a.get(mname) ?? [];
    const glueAAAA = this.aaaa.get(mname) ?? [];
    const start = (qtype: number) => this.#start(this.domain, qtype)!;

    const soa = (w: ByteWriter) => {
      this.#rrHead(w, PTR_QNAME, TYPE_SOA, undefined);
      this.#soaRdata(w);
    };
    /** Writes the NS record; returns where its target name starts. */
    const ns = (w: ByteWriter): number => {
      this.#rrHead(w, PTR_QNAME, TYPE_NS, undefined);
      const lenAt = w.len;
      w.u16(0);
      const at = w.len;
      w.bytes(this.mnameWire);
      w.setU16(lenAt, w.len - at);
      return at;
    };

    let w = start(TYPE_SOA);
    soa(w);
    e.soa = this.#finish(w, 1, 0, 0);

    w = start(TYPE_NS);
    let nsAt = ns(w);
    this.#addrs(w, 0xc000 | nsAt, glueA, glueAAAA);
    e.ns = this.#finish(w, 1, 0, glueA.length + glueAAAA.length);

    w = start(TYPE_ANY);
    soa(w);
    nsAt = ns(w);
    const apexA = this.a.get(this.domain) ?? [];
    const apexAAAA = this.aaaa.get(this.domain) ?? [];
    this.#addrs(w, PTR_QNAME, apexA, apexAAAA);
    this.#addrs(w, 0xc000 | nsAt, glueA, glueAAAA);
    const an = 2 + apexA.length + apexAAAA.length;
    e.any = this.#finish(w, an, 0, glueA.length + glueAAAA.length);
  }
}

/**
 * Builds every precomputed zone answer for a snapshot (SPEC §7.2–7.4, §0): A, AAAA and
 * SRV (with in-domain target addresses as additional records) per name, ANY as what
 * exists, SOA/NS/ANY at the apex, and the SOA used in NXDOMAIN/NODATA replies.
 */
export function buildZoneAnswers(snapshot: Snapshot, config: Config): ZoneAnswers {
  const b = new Builder(snapshot, config);
  b.index();
  return b.build();
}
