/**
 * Zone transfers to secondaries (owns: answering AXFR (RFC 5936) and IXFR (RFC 1995) for
 * the domain over TCP to the clients `AXFRAllow` admits, REFUSED to the others, and the
 * bounded journal of differences between recent serials that IXFR answers from). The
 * journal is fed on every snapshot publish: from the names the snapshot says changed
 * (`changes.names`) when it says so, else by comparing the previous and current records.
 */
import { Buffer } from "node:buffer";
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import { AddressMatcher } from "../net/cidr.ts";
import type { RecordSet } from "../records/record_set.ts";
import type { Snapshot, SnapshotHolder } from "../records/snapshot.ts";
import { dnsPacket } from "./packet.ts";
import { questionLength, type SoaFields, XfrMessageWriter, type XfrRecord } from "./xfr_messages.ts";
import { diffRecordSets, serialGreater, ZoneJournal, zoneRecords } from "./xfr_zone.ts";
import {
  FLAG_QR,
  FLAG_RD,
  HEADER_LEN,
  RCODE_FORMERR,
  RCODE_NOTIMP,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  readU16,
  TYPE_AXFR,
  TYPE_IXFR,
} from "./wire.ts";
import { inDomain } from "./zone_answers.ts";

const log = logger("xfr");

/** Counters of the transfers answered (plain numbers; `/metrics` reads them). */
export interface XfrStats {
  /** AXFR requests answered with the whole zone. */
  axfr: number;
  /** IXFR requests answered with differences (incremental form). */
  ixfrIncremental: number;
  /** IXFR requests answered with the whole zone (serial not in the journal). */
  ixfrFull: number;
  /** IXFR requests from a client already at the current serial (one SOA). */
  ixfrCurrent: number;
  /** Transfer requests refused (client not in `AXFRAllow`, or not the zone apex). */
  refused: number;
}

/** The part of a snapshot the store adds: the names whose records changed since the previous one. */
interface SnapshotChanges {
  changes?: { names: ReadonlySet<string> };
}

export interface ZoneTransferOptions {
  /** Journal bounds (defaults: 256 steps, 200,000 records). */
  journalEntries?: number;
  journalRecords?: number;
  /** Size limit of one transfer message (default 16 KB). */
  messageLimit?: number;
}

/** The messages of `records`, each yielded as soon as it is complete. */
function* messages(w: XfrMessageWriter, records: Iterable<XfrRecord>): Generator<Uint8Array> {
  for (const r of records) {
    w.add(r);
    yield* w.take();
  }
  yield* w.finish();
}

/** Answers AXFR and IXFR for the domain and keeps the IXFR journal. */
export class ZoneTransfer {
  readonly stats: XfrStats = { axfr: 0, ixfrIncremental: 0, ixfrFull: 0, ixfrCurrent: 0, refused: 0 };
  #cfg: Config;
  readonly #holder: SnapshotHolder;
  #domain: string;
  readonly #allow: AddressMatcher;
  readonly #journal: ZoneJournal;
  readonly #limit: number | undefined;
  #last: { serial: number; records: RecordSet } | undefined;
  readonly #unsubscribe: () => void;

  constructor(config: Config, holder: SnapshotHolder, opts: ZoneTransferOptions = {}) {
    this.#cfg = config;
    this.#holder = holder;
    this.#domain = config.Domain.toLowerCase().replace(/\.+$/, "");
    this.#allow = new AddressMatcher(config.AXFRAllow ?? []);
    this.#journal = new ZoneJournal(opts.journalEntries, opts.journalRecords);
    this.#limit = opts.messageLimit;
    // Without clients allowed there is nobody to answer IXFR: no journal is kept.
    if (this.#allow.empty) {
      this.#unsubscribe = () => {};
      return;
    }
    const cur = holder.current();
    if (cur) this.#last = { serial: cur.serial, records: cur.records };
    this.#unsubscribe = holder.subscribe((s) => this.#record(s));
  }

  /**
   * A configuration reload: the SOA fields, TTL, SRV weight and `Domain` of later transfers
   * (a new domain empties the journal). `AXFRAllow` changes make a new server instead.
   */
  applyConfig(config: Config): void {
    const domain = config.Domain.toLowerCase().replace(/\.+$/, "");
    if (domain !== this.#domain) this.#journal.clear();
    this.#cfg = config;
    this.#domain = domain;
  }

  /** Stops following publishes. */
  close(): void {
    this.#unsubscribe();
  }

  /** How many steps the journal holds. */
  get journalSize(): number {
    return this.#journal.size;
  }

  #record(snap: Snapshot): void {
    const prev = this.#last;
    this.#last = { serial: snap.serial, records: snap.records };
    if (!prev) return;
    const t0 = performance.now();
    try {
      const changed = (snap as SnapshotChanges).changes?.names;
      const names = changed && new Set([...changed].map((n) => n.endsWith(".") ? n : `${n}.`));
      const d = diffRecordSets(prev.records, snap.records, this.#domain, names);
      this.#journal.add({ from: prev.serial, to: snap.serial, ...d });
      log.debug("journal: serial {from} → {to}: {rm} removed, {add} added ({ms} ms)", {
        from: prev.serial,
        to: snap.serial,
        rm: d.removed.length,
        add: d.added.length,
        ms: Math.round(performance.now() - t0),
      });
    } catch (e) {
      log.error("cannot record the zone's changes for IXFR ({e}); IXFR falls back to full transfers", {
        e: String(e),
      });
      this.#journal.clear();
    }
  }

  /** Whether a request asks for AXFR or IXFR (a query with one question of that type). */
  static isTransferRequest(req: Uint8Array): boolean {
    if (req.length < HEADER_LEN + 5 || (req[2] & 0xf8) !== 0 || readU16(req, 4) !== 1) return false;
    const q = questionLength(req);
    if (q < 0) return false;
    const type = readU16(req, HEADER_LEN + q - 4);
    return type === TYPE_AXFR || type === TYPE_IXFR;
  }

  #soa(serial: number): XfrRecord {
    const c = this.#cfg;
    const soa: SoaFields = {
      mname: c.SOAMname,
      rname: c.SOARname,
      serial,
      refresh: c.SOARefresh,
      retry: c.SOARetry,
      expire: c.SOAExpire,
      minimum: c.TTL,
    };
    return { name: this.#domain, type: "SOA", soa };
  }

  /**
   * Answers a transfer request (see `isTransferRequest`) from `remote` (an IP address):
   * the messages to send in order, or null when the name is outside the domain (the
   * caller handles it as any other query). The messages of a transfer are made as they
   * are iterated (from the snapshot current at the call), so the caller can send each
   * and let other work run in between.
   */
  answer(req: Uint8Array, remote: string): Iterable<Uint8Array> | null {
    const qlen = questionLength(req);
    const question = req.slice(HEADER_LEN, HEADER_LEN + qlen);
    const id = readU16(req, 0);
    const rd = (req[2] & FLAG_RD) !== 0;
    let packet;
    try {
      packet = dnsPacket.decode(Buffer.from(req));
    } catch {
      return [this.#error(id, rd, question, RCODE_FORMERR)];
    }
    const q = packet.questions?.[0];
    if (!q) return [this.#error(id, rd, question, RCODE_FORMERR)];
    const name = q.name.toLowerCase().replace(/\.+$/, "");
    if (!inDomain(name, this.#domain)) return null;
    const kind = q.type === "IXFR" ? "IXFR" : "AXFR";
    if (name !== this.#domain || (q.class !== "IN" && q.class !== "ANY")) {
      this.stats.refused++;
      return [this.#error(id, rd, question, name !== this.#domain ? RCODE_REFUSED : RCODE_NOTIMP)];
    }
    if (!this.#allow.matches(remote)) {
      this.stats.refused++;
      log.info("refused {kind} of {zone} to {remote} (not in AXFRAllow)", { kind, zone: name, remote });
      return [this.#error(id, rd, question, RCODE_REFUSED)];
    }
    const snap = this.#holder.current();
    if (!snap) return [this.#error(id, rd, question, RCODE_SERVFAIL)];
    const w = new XfrMessageWriter(
      id,
      question,
      this.#cfg.TTL >>> 0,
      this.#cfg.SRVRecordDefaultWeight & 0xffff,
      rd,
      this.#limit,
    );
    const current = this.#soa(snap.serial);
    if (kind === "IXFR") {
      const auth = packet.authorities?.find((a) => a.type === "SOA");
      const clientSerial = auth && "data" in auth ? (auth.data as { serial?: number }).serial : undefined;
      if (typeof clientSerial !== "number") return [this.#error(id, rd, question, RCODE_FORMERR)];
      if (clientSerial === snap.serial || serialGreater(clientSerial, snap.serial)) {
        // RFC 1995 §2: the client is current: the SOA alone.
        this.stats.ixfrCurrent++;
        w.add(current);
        return w.finish();
      }
      const steps = this.#journal.since(clientSerial);
      if (steps && steps.at(-1)!.to === snap.serial) {
        this.stats.ixfrIncremental++;
        log.info("IXFR of {zone} to {remote}: serial {from} → {to} in {n} steps", {
          zone: name,
          remote,
          from: clientSerial,
          to: snap.serial,
          n: steps.length,
        });
        const soa = (s: number) => this.#soa(s);
        return messages(
          w,
          function* () {
            yield current;
            for (const step of steps) {
              yield soa(step.from);
              yield* step.removed;
              yield soa(step.to);
              yield* step.added;
            }
            yield current;
          }(),
        );
      }
      this.stats.ixfrFull++;
    } else {
      this.stats.axfr++;
    }
    log.info("{kind} of {zone} (serial {serial}) to {remote}", {
      kind: kind === "IXFR" ? "IXFR (full zone)" : "AXFR",
      zone: name,
      serial: snap.serial,
      remote,
    });
    const domain = this.#domain;
    const ns: XfrRecord = { name: domain, type: "NS", value: this.#cfg.SOAMname };
    return messages(
      w,
      function* () {
        yield current;
        yield ns;
        yield* zoneRecords(snap.records, domain);
        yield current;
      }(),
    );
  }

  #error(id: number, rd: boolean, question: Uint8Array, rcode: number): Uint8Array {
    const out = new Uint8Array(HEADER_LEN + question.length);
    out[0] = id >>> 8;
    out[1] = id & 0xff;
    out[2] = FLAG_QR | (rd ? FLAG_RD : 0);
    out[3] = rcode;
    out[5] = question.length > 0 ? 1 : 0;
    out.set(question, HEADER_LEN);
    return out;
  }
}
