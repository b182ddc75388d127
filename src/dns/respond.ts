/**
 * The per-query function (owns: bytes in → bytes out for one request: routing to the
 * precomputed zone answers or to the forwarder, error replies, EDNS0 OPT echo, the size
 * limit per transport and truncation, SPEC §7 with the §0/§10 decisions). A reply that
 * is ready at once is written into a buffer the caller gives (`respondInto`, for the UDP
 * engines' send buffers) or returned as a fresh array (`respond`). It keeps the zone
 * answers current by rebuilding them on every snapshot publish.
 */
import { Buffer } from "node:buffer";
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import type { Snapshot, SnapshotHolder } from "../records/snapshot.ts";
import { dnsPacket } from "./packet.ts";
import type { Forwarder, Transport, Upstream } from "./forwarder.ts";
import {
  type EdnsInfo,
  isZoneClass,
  type ParsedQuery,
  parseQuery,
  PlainQuery,
  scanPlainQuery,
} from "./query.ts";
import {
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  HEADER_LEN,
  MAX_TCP_MESSAGE,
  MAX_UDP_PAYLOAD,
  nameToWire,
  OPT_LEN,
  questionWire,
  RCODE_BADVERS,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  skipName,
  truncateMessage,
  TYPE_AXFR,
  TYPE_IXFR,
  TYPE_PTR,
  writeOpt,
  writeU16,
} from "./wire.ts";
import type { FlatZone } from "./flat_zone.ts";
import type { ForwardCache } from "./forward_cache.ts";
import { AddressSet } from "../net/cidr.ts";
import {
  type DnsCounterRegion,
  PROTO_TCP,
  PROTO_UDP,
  SOURCE_ERROR,
  SOURCE_FORWARD,
  SOURCE_REFUSED,
  SOURCE_ZONE,
} from "../metrics/dns_counters.ts";
import { ResponseRateLimit, RRL_DROP, RRL_SLIP, slipReply } from "./rate_limit.ts";
import { buildPtrAnswers, type PtrAnswers } from "./ptr_answers.ts";
import type { WorkerForwarding } from "./udp_ffi_protocol.ts";
import { PACE_AT_ONCE_MS, PACE_SPACING, WorkPacer } from "../work_pacer.ts";
import { yieldToEventLoop } from "../work_slices.ts";
import { ZoneGarbage } from "./zone_garbage.ts";
import { inDomain, updateZoneAnswers, type ZoneAnswers, zoneBuild } from "./zone_answers.ts";
import { answerPlain, finishReply, replyLimit, writeAnswer, writeNegative } from "./zone_reply.ts";

export type { Transport } from "./forwarder.ts";

const log = logger("dns");

/** A reply to send now, one that comes later (forwarded), or nothing (drop the request). */
export type RespondResult = Uint8Array | null | Promise<Uint8Array | null>;

/**
 * What `respondInto` did: the length of the reply written into the caller's buffer (0:
 * send nothing), or the promise of a reply that comes later (forwarded; null: nothing).
 */
export type RespondIntoResult = number | Promise<Uint8Array | null>;

/** The smallest buffer `respondInto` accepts per transport: the largest reply it may write. */
export const MIN_REPLY_BUFFER: Readonly<Record<Transport, number>> = {
  udp: MAX_UDP_PAYLOAD,
  tcp: MAX_TCP_MESSAGE,
};

export interface ResponderOptions {
  config: Config;
  holder: SnapshotHolder;
  forwarder: Forwarder;
  /**
   * False answers every request through the general parser, without the
   * allocation-free path (default true); the tests compare the two.
   */
  plainPath?: boolean;
  /** Where this thread counts the queries it answers (region 0 of the server's counter slots). */
  counters?: DnsCounterRegion;
  /** The cache of forwarded answers (none: every outside name is forwarded). */
  cache?: ForwardCache;
  /** Updates slower than this are followed by a pause (default `PACE_AT_ONCE_MS`; tests set -1: always). */
  updateAtOnceMs?: number;
  /** Shared memory of replaced zones that makes a full collection due (default `ZONE_GARBAGE_BYTES`). */
  zoneGarbageBytes?: number;
}

/**
 * Writes `performance.now()` into `to[at]`. A clock read whose result stays in a typed
 * array: a double returned from a call that is not inlined would be boxed (allocated).
 */
function stamp(to: Float64Array, at: number): void {
  to[at] = performance.now();
}

/**
 * The qtype of the question echoed in a reply (0 when it has none), read without
 * allocating: what the query counters are keyed by.
 */
function replyQtype(reply: Uint8Array, len: number): number {
  if (len < HEADER_LEN || ((reply[4] << 8) | reply[5]) === 0) return 0;
  const end = skipName(reply, HEADER_LEN);
  return end > 0 && end + 2 <= len ? (reply[end] << 8) | reply[end + 1] : 0;
}

/**
 * A reply carrying only a header, the request's first question (if it was readable)
 * and an OPT RR if the request had one (`edns`, by default the question's): used for
 * errors and refusals.
 */
export function headerReply(
  req: Uint8Array,
  id: number,
  flags2: number,
  flags3: number,
  rcode: number,
  q: ParsedQuery | undefined,
  extraFlags3 = 0,
  edns: EdnsInfo | undefined = q?.edns,
): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + (q ? q.qEnd - HEADER_LEN : 0) + (edns ? OPT_LEN : 0));
  writeHeaderReply(out, req, id, flags2, flags3, rcode, q, extraFlags3, edns);
  return out;
}

/** `headerReply` written at the start of `out` (which must be large enough); returns its length. */
function writeHeaderReply(
  out: Uint8Array,
  req: Uint8Array,
  id: number,
  flags2: number,
  flags3: number,
  rcode: number,
  q: ParsedQuery | undefined,
  extraFlags3 = 0,
  edns: EdnsInfo | undefined = q?.edns,
): number {
  const qlen = q ? q.qEnd - HEADER_LEN : 0;
  writeU16(out, 0, id);
  out[2] = FLAG_QR | (flags2 & 0x78) | (flags2 & FLAG_RD);
  out[3] = (flags3 & FLAG_CD) | extraFlags3 | (rcode & 0x0f);
  writeU16(out, 4, q ? 1 : 0);
  writeU16(out, 6, 0);
  writeU16(out, 8, 0);
  writeU16(out, 10, edns ? 1 : 0);
  if (q) out.set(req.subarray(HEADER_LEN, q.qEnd), HEADER_LEN);
  if (edns) writeOpt(out, HEADER_LEN + qlen, rcode >>> 4, edns.dnssecOk);
  return HEADER_LEN + qlen + (edns ? OPT_LEN : 0);
}

/** PTR answers that took longer than this to build are not built again for every small change. */
export const PTR_BUILD_AT_ONCE_MS = 20;
/** The pause after a slow PTR build, in multiples of its duration. */
export const PTR_BUILD_SPACING = 10;

/** Longest stretch a full zone build keeps the thread before letting queries in. */
export const REBUILD_SLICE_MS = 10;

/** Record sets with fewer names are built in one go (a few tens of milliseconds at most). */
export const SLICED_BUILD_NAMES = 20000;

/** Names a top layer may hold before the zone is built whole again. */
export function topLimit(baseNames: number): number {
  return 4096 + (baseNames >> 5);
}

/** Answers DNS requests from the zone snapshot or through the forwarder. */
export class Responder {
  #cfg!: Config;
  readonly #forwarder: Forwarder;
  readonly #holder: SnapshotHolder;
  readonly #plainAllowed: boolean;
  #domain!: string;
  #setTC!: boolean;
  #zoneFlags3!: number;
  readonly #unsubscribe: () => void;
  /** Where `respond` writes a reply before copying it out. */
  readonly #scratch = new Uint8Array(MAX_TCP_MESSAGE);
  #zone: ZoneAnswers | undefined;
  /** PTR answers for the known addresses (`PTROn`), else undefined. */
  #ptr: PtrAnswers | undefined;
  /** The pause after a slow PTR build (`#followPtr`). */
  readonly #ptrPacer = new WorkPacer(PTR_BUILD_AT_ONCE_MS, PTR_BUILD_SPACING);
  #zoneSnapshot: Snapshot | undefined;
  /** The newest snapshot not applied yet. */
  #latest: Snapshot | undefined;
  /** Names changed since the zone's snapshot (when `#wantFull` is false). */
  #changed = new Set<string>();
  /** A snapshot without `changes` came: the next build is a full one. */
  #wantFull = false;
  /** A full build is under way (in slices). */
  #building = false;
  /** The pause after a slow update (`work_pacer.ts`). */
  readonly #pacer: WorkPacer;
  #closed = false;
  /** What the zones replaced hold (`zoneGarbageDue`). */
  readonly #garbage: ZoneGarbage;
  #garbageDue = false;
  readonly #zoneListeners = new Set<(zone: ZoneAnswers) => void>();
  /** What the allocation-free path read from the current request. */
  readonly #plain = new PlainQuery();
  /**
   * Whether in-domain questions may take the allocation-free path: not when a
   * `ZoneResolvers` zone lies inside the domain (those names are forwarded).
   */
  #plainZone!: boolean;
  readonly #cache: ForwardCache | undefined;
  /** Resolvers to leave out of the next forward (a UDP worker asked them already). */
  #skipUpstreams = 0;
  readonly #counters: DnsCounterRegion | undefined;
  /** `ForwardAllow`; undefined when it holds everyone. */
  #forwardAllow: AddressSet | undefined;
  /** `RateLimit` for UDP responses of this thread; undefined when off. */
  #rateLimit: ResponseRateLimit | undefined;
  /** When the request being answered came in, and when its reply was ready (`performance.now()`). */
  readonly #start = new Float64Array(2);
  /** The reply just written came from the forward cache (counted as forwarded). */
  #fromCache = false;
  /** Replies to forwarded queries made here (SERVFAIL when every upstream failed), for the counters. */
  readonly #localReplies = new WeakSet<Uint8Array>();

  constructor(opts: ResponderOptions) {
    this.#cache = opts.cache;
    this.#counters = opts.counters;
    this.#forwarder = opts.forwarder;
    this.#holder = opts.holder;
    this.#plainAllowed = opts.plainPath !== false;
    this.#pacer = new WorkPacer(opts.updateAtOnceMs ?? PACE_AT_ONCE_MS, PACE_SPACING);
    this.#garbage = new ZoneGarbage(opts.zoneGarbageBytes);
    this.#settings(opts.config);
    const current = opts.holder.current();
    if (current) this.#rebuild(current);
    this.#unsubscribe = opts.holder.subscribe((s) => this.#rebuild(s));
  }

  #settings(config: Config): void {
    this.#cfg = config;
    this.#domain = config.Domain.toLowerCase().replace(/\.+$/, "");
    this.#setTC = config.SetTruncateBit;
    this.#zoneFlags3 = config.RecurseOn ? FLAG_RA : 0;
    this.#plainZone = this.#plainAllowed &&
      !this.#forwarder.zones.some((z) => z.length > this.#domain.length && inDomain(z, this.#domain));
    const allow = new AddressSet(config.ForwardAllow ?? ["0.0.0.0/0", "::/0"]);
    this.#forwardAllow = allow.everyone ? undefined : allow;
    const rrl = this.#rateLimit;
    if (!(config.RateLimit > 0)) {
      this.#rateLimit = undefined;
    } else if (!rrl || rrl.perSecond !== config.RateLimit || rrl.slip !== config.RateLimitSlip) {
      this.#rateLimit = new ResponseRateLimit({ perSecond: config.RateLimit, slip: config.RateLimitSlip });
    }
  }

  /**
   * A configuration reload: takes the new settings (domain, TTL, SOA fields, flags; the
   * forwarder's zones must be updated first) and rebuilds the answers of the current
   * snapshot with them. Queries keep being answered from the previous answers meanwhile.
   */
  applyConfig(config: Config): void {
    this.#settings(config);
    const current = this.#holder.current();
    // Every answer depends on the settings: built whole (PTR answers too, at once).
    this.#wantFull = true;
    this.#ptr = undefined;
    if (current) this.#rebuild(current);
  }

  /**
   * Follows a new snapshot. Its changed names (`changes`) go into the zone's small top
   * layer at once (`updateZoneAnswers`); a snapshot without them, or a top layer grown past
   * `topLimit`, is built whole in slices of `REBUILD_SLICE_MS`, the previous zone answering
   * (TCP and the general path included) in between; snapshots published meanwhile are
   * merged and applied when it is done. Small zones (`SLICED_BUILD_NAMES`) are built at
   * once, before `publish` returns; a large first zone in slices too (the domain gets
   * SERVFAIL until it is whole). An update slower than `PACE_AT_ONCE_MS`
   * (a cluster of 100,000 tasks changing fast: each change rewrites the answers of names
   * with thousands of records) is followed by a pause as long, so that a stream of changes
   * takes at most half the thread: what comes meanwhile is merged into the next update.
   * HTTP reads the snapshot the zone was built from (`servedSnapshot`), so it never runs ahead.
   */
  #rebuild(snap: Snapshot): void {
    this.#followPtr(snap);
    this.#latest = snap;
    if (snap.changes === undefined) this.#wantFull = true;
    else if (!this.#wantFull) { for (const name of snap.changes.names) this.#changed.add(name); }
    if (!this.#building) this.#pacer.run(() => this.#apply());
  }

  /**
   * PTR answers follow the snapshots (`PTROn`). They are built from every address of the
   * record set, so with a large cluster and a stream of small changes they are not built
   * for each one: a build that took more than `PTR_BUILD_AT_ONCE_MS` is followed by a pause
   * `PTR_BUILD_SPACING` times as long, after which one build takes the newest snapshot (at most
   * about a tenth of the thread). A snapshot without `changes` (a state built from scratch)
   * builds them at once.
   */
  #followPtr(snap: Snapshot): void {
    if (!this.#cfg.PTROn) {
      this.#ptr = undefined;
      this.#ptrPacer.reset();
      return;
    }
    if (snap.changes === undefined || this.#ptr === undefined) {
      this.#ptrPacer.reset();
      this.#buildPtr(snap);
      return;
    }
    this.#ptrPacer.run(() => {
      const current = this.#holder.current();
      if (current && this.#cfg.PTROn) this.#buildPtr(current);
    });
  }

  #buildPtr(snap: Snapshot): void {
    const t0 = performance.now();
    try {
      this.#ptr = buildPtrAnswers(snap, this.#cfg);
    } catch (e) {
      log.error("building PTR answers failed, keeping the previous ones: {e}", { e: String(e) });
    }
    this.#ptrPacer.took(performance.now() - t0);
  }

  /** The snapshot the zone in use was built from (undefined before the first zone). */
  get servedSnapshot(): Snapshot | undefined {
    return this.#zoneSnapshot;
  }

  /** Applies the newest snapshot: top layer, or a full build (sliced); then any newer one. */
  #apply(): void {
    const snap = this.#latest;
    if (!snap || this.#closed) return;
    this.#latest = undefined;
    const t0 = performance.now();
    const zone = this.#zone;
    const changed = this.#changed;
    this.#changed = new Set();
    const full = this.#wantFull || zone === undefined ||
      changed.size + zone.topNames.size > topLimit(zone.flat.size);
    this.#wantFull = false;
    if (!full) {
      try {
        this.#install(updateZoneAnswers(zone, snap, this.#cfg, changed), snap, t0, changed.size);
      } catch (e) {
        log.error("updating DNS answers failed, keeping the previous ones: {e}", { e: String(e) });
      }
      this.#pacer.took(performance.now() - t0);
      return;
    }
    this.#building = true;
    const done = (z: ZoneAnswers | undefined) => {
      this.#building = false;
      if (z && !this.#closed) this.#install(z, snap, t0, undefined);
      if (this.#latest) this.#apply();
    };
    let build: Generator<void, ZoneAnswers>;
    try {
      build = zoneBuild(snap, this.#cfg);
    } catch (e) {
      log.error("building DNS answers failed, keeping the previous ones: {e}", { e: String(e) });
      return done(undefined);
    }
    // Small zones are built at once; large ones in slices, with a pause that depends on what
    // answers meanwhile. A first zone: nothing of the domain is answered before it is done, so
    // the shortest pause that lets TCP and HTTP through (`yieldToEventLoop`, about 50 µs). A
    // rebuild: the previous zone answers, so a timer turn (`setTimeout(0)`, about 2 ms here)
    // leaves more of the CPU to the UDP workers and to the updates that follow.
    const rs = snap.records;
    const atOnce = rs.a.size + rs.aaaa.size + rs.srv.size < SLICED_BUILD_NAMES;
    const first = zone === undefined;
    const slice = (): void => {
      try {
        const end = atOnce ? Infinity : performance.now() + REBUILD_SLICE_MS;
        let r = build.next();
        while (!r.done) {
          if (this.#closed) return done(undefined);
          if (performance.now() >= end) {
            if (first) void yieldToEventLoop().then(slice);
            else setTimeout(slice, 0);
            return;
          }
          r = build.next();
        }
        done(r.value);
      } catch (e) {
        log.error("building DNS answers failed, keeping the previous ones: {e}", { e: String(e) });
        done(undefined);
      }
    };
    slice();
  }

  #install(zone: ZoneAnswers, snap: Snapshot, t0: number, changed: number | undefined): void {
    const previous = this.#zone;
    this.#zone = zone;
    this.#zoneSnapshot = snap;
    this.#garbageDue = this.#garbage.swapped(previous?.flat.parts, zone.flat.parts);
    for (const fn of this.#zoneListeners) {
      try {
        fn(zone);
      } catch (e) {
        log.error("a zone listener failed: {e}", { e: String(e) });
      }
    }
    const ms = Math.round(performance.now() - t0);
    if (changed === undefined) {
      log.debug("built DNS answers for {n} names in {ms} ms", { n: zone.flat.size, ms });
    } else {
      log.debug("updated DNS answers for {changed} changed names in {ms} ms ({top} names over the base)", {
        changed,
        ms,
        top: zone.flat.topSize,
      });
    }
  }

  /**
   * Whether the zones replaced up to the current one hold much shared memory
   * (`ZONE_GARBAGE_BYTES`): the zone listeners' threads should collect fully after this swap.
   */
  get zoneGarbageDue(): boolean {
    return this.#garbageDue;
  }

  /** Calls `fn` with the new zone answers after each rebuild; returns the unsubscribe function. */
  onZone(fn: (zone: ZoneAnswers) => void): () => void {
    this.#zoneListeners.add(fn);
    return () => this.#zoneListeners.delete(fn);
  }

  /** Whether plain in-zone queries may be answered without the general path (see `scanPlainQuery`). */
  get plainPath(): boolean {
    return this.#plainZone;
  }

  /** `SetTruncateBit`: whether a cut reply carries TC. */
  get setTruncateBit(): boolean {
    return this.#setTC;
  }

  /**
   * What a UDP worker needs to forward outside names itself: when every such name goes
   * to the same resolvers (`Forwarder.simplePlan`), those and the domain's apex.
   */
  get workerForwarding(): WorkerForwarding | undefined {
    const plan = this.#forwarder.simplePlan;
    const apex = nameToWire(this.#domain);
    // With a rate limit, forwarded replies are limited on this thread: the workers hand them over.
    if (!plan || !apex || this.#rateLimit) return undefined;
    return {
      ptr: this.#cfg.PTROn,
      upstreams: plan.upstreams.map((u) => ({ hostname: u.hostname, port: u.port })),
      timeoutMs: plan.timeoutMs,
      apex,
      inFlight: this.#forwarder.inFlightCounter,
      counts: this.#forwarder.workerCounts,
      maxInFlight: this.#forwarder.maxInFlight,
    };
  }

  /** The cache of forwarded answers, if there is one. */
  get cache(): ForwardCache | undefined {
    return this.#cache;
  }

  /** `ForwardAllow` entries when they do not hold everyone (the UDP workers check cache answers with it). */
  get forwardAllow(): readonly string[] | undefined {
    return this.#forwardAllow ? this.#cfg.ForwardAllow : undefined;
  }

  /**
   * Whether answers depend on the client's address (`ForwardAllow` is not everyone, or
   * `RateLimit` is on): the UDP and TCP servers then pass it to `respondInto`.
   */
  get needsClient(): boolean {
    return this.#forwardAllow !== undefined || this.#rateLimit !== undefined;
  }

  /** `RateLimit` and `RateLimitSlip` when rate limiting is on (the UDP worker keeps its own table). */
  get rateLimit(): { perSecond: number; slip: number } | undefined {
    const r = this.#rateLimit;
    return r ? { perSecond: r.perSecond, slip: r.slip } : undefined;
  }

  /** The zone answers in use (undefined before the first snapshot). */
  get zone(): ZoneAnswers | undefined {
    return this.#zone;
  }

  /** Stops following snapshot updates. */
  close(): void {
    this.#closed = true;
    this.#ptrPacer.close();
    this.#pacer.close();
    this.#unsubscribe();
  }

  /**
   * Answers one request received over `transport`. Returns the reply bytes, a promise
   * of them for forwarded queries, or null to send nothing. `req` may be reused by the
   * caller once this returns. Never throws.
   */
  respond(req: Uint8Array, transport: Transport, client?: Uint8Array): RespondResult {
    const n = this.respondInto(req, transport, this.#scratch, req.length, client);
    if (typeof n !== "number") return n;
    return n === 0 ? null : this.#scratch.slice(0, n);
  }

  /**
   * Answers one request received over `transport`, writing a reply that is ready now at
   * the start of `out` (at least `MIN_REPLY_BUFFER[transport]` bytes, else a RangeError)
   * and returning its length; 0 means send nothing. Forwarded queries return a promise
   * of the reply instead (`out` untouched). The request is the first `len` bytes of `req`
   * (all of it by default). `req` may be reused by the caller once this returns; `out` is
   * the caller's again too. Never throws otherwise.
   *
   * A plain in-zone query (the common shape, see `scanPlainQuery`) is answered without
   * allocating: hash the name while reading it, one table lookup, copy, patch.
   *
   * `client` is the sender's socket address (Linux `sockaddr_in`/`sockaddr_in6` bytes):
   * `ForwardAllow` and, over UDP, `RateLimit` apply to it; without it, neither applies.
   * Every reply is counted in the thread's query counters.
   */
  respondInto(
    req: Uint8Array,
    transport: Transport,
    out: Uint8Array,
    len = req.length,
    client?: Uint8Array,
  ): RespondIntoResult {
    if (out.length < MIN_REPLY_BUFFER[transport]) {
      throw new RangeError(
        `reply buffer of ${out.length} bytes; ${transport} needs ${MIN_REPLY_BUFFER[transport]}`,
      );
    }
    // Times live in a typed array: a number passed between functions would be boxed (allocated).
    stamp(this.#start, 0);
    const r = this.#respondInto(req, transport, out, len, client);
    const proto = transport === "tcp" ? PROTO_TCP : PROTO_UDP;
    if (typeof r === "number") {
      if (r <= 0) return r;
      const source = this.#fromCache ? SOURCE_FORWARD : -1;
      this.#fromCache = false;
      return this.#finish(out, r, proto, client, source);
    }
    return this.#whenForwarded(r, proto, client);
  }

  /**
   * `respondInto` for a UDP request a worker forwarded to the first `skipUpstreams`
   * resolvers in vain (no reply in time): forwarding goes on with the next ones.
   */
  respondAfterWorker(
    req: Uint8Array,
    out: Uint8Array,
    client: Uint8Array,
    skipUpstreams: number,
  ): RespondIntoResult {
    this.#skipUpstreams = skipUpstreams;
    try {
      return this.respondInto(req, "udp", out, req.length, client);
    } finally {
      this.#skipUpstreams = 0;
    }
  }

  /**
   * Counts (and rate-limits) a forwarded query's reply when it comes. Kept apart from
   * `respondInto`: a closure there would make every call allocate its context.
   */
  #whenForwarded(
    r: Promise<Uint8Array | null>,
    proto: number,
    client: Uint8Array | undefined,
  ): Promise<Uint8Array | null> {
    // The caller may reuse `client` once `respondInto` returns.
    const who = client && this.#rateLimit ? client.slice() : undefined;
    const t0 = this.#start[0];
    return r.then((reply) => {
      if (!reply) return reply;
      const source = this.#localReplies.has(reply) ? SOURCE_ERROR : SOURCE_FORWARD;
      this.#start[0] = t0;
      const n = this.#finish(reply, reply.length, proto, who, source);
      return n === 0 ? null : n === reply.length ? reply : reply.subarray(0, n);
    });
  }

  /**
   * Applies the rate limit to a UDP reply of `len` bytes in `out` and counts it, as
   * answered `#start[0]` ms after the time origin; returns the length to send (0: drop).
   * `source` -1: from the reply's rcode (a local answer).
   */
  #finish(
    out: Uint8Array,
    len: number,
    proto: number,
    client: Uint8Array | undefined,
    source: number,
  ): number {
    const rrl = this.#rateLimit;
    const c = this.#counters;
    if (rrl && client && proto === PROTO_UDP) {
      const verdict = rrl.check(client, 0, Math.floor(this.#start[0] / 1000));
      if (verdict === RRL_DROP) {
        c?.rateLimitDropped();
        return 0;
      }
      if (verdict === RRL_SLIP) {
        len = slipReply(out, len);
        c?.rateLimitSlipped();
      }
    }
    if (!c) return len;
    const rcode = out[3] & 0x0f;
    c.query(proto, replyQtype(out, len), rcode);
    if (source < 0) {
      source = rcode === RCODE_REFUSED
        ? SOURCE_REFUSED
        : rcode === RCODE_NOERROR || rcode === RCODE_NXDOMAIN
        ? SOURCE_ZONE
        : SOURCE_ERROR;
    }
    c.source(source);
    stamp(this.#start, 1);
    c.latency(proto, Math.round((this.#start[1] - this.#start[0]) * 1000));
    return len;
  }

  #respondInto(
    req: Uint8Array,
    transport: Transport,
    out: Uint8Array,
    len: number,
    client: Uint8Array | undefined,
  ): RespondIntoResult {
    try {
      const zone = this.#zone;
      const plainZone = zone !== undefined && this.#plainZone;
      // Cached forwarded answers only for clients that may have outside names forwarded.
      const allow = this.#forwardAllow;
      const cache = client && allow && !allow.hasSockaddr(client) ? undefined : this.#cache;
      if ((plainZone || cache) && scanPlainQuery(req, len, this.#plain)) {
        const tcp = transport === "tcp";
        if (plainZone) {
          const n = answerPlain(zone.flat, req, this.#plain, tcp, this.#setTC, out);
          if (n > 0) return n;
        }
        if (cache) {
          const q = this.#plain;
          const n = cache.answer(req, q, q.hash, replyLimit(tcp, q.edns), out);
          if (n > 0) {
            this.#fromCache = true;
            return n;
          }
        }
      }
      return this.#respond(len === req.length ? req : req.subarray(0, len), transport, out, client);
    } catch (e) {
      log.error("internal error answering a query: {e}", { e: String(e) });
      if (req.length < HEADER_LEN) return 0;
      return writeHeaderReply(out, req, (req[0] << 8) | req[1], req[2], req[3], RCODE_SERVFAIL, undefined);
    }
  }

  #respond(
    req: Uint8Array,
    transport: Transport,
    out: Uint8Array,
    client: Uint8Array | undefined,
  ): RespondIntoResult {
    const r = parseQuery(req);
    if (r.kind === "drop") return 0;
    if (r.kind === "error") {
      return writeHeaderReply(out, req, r.id, r.flags2, r.flags3, r.rcode, r.query, 0, r.edns);
    }
    const q = r.query;
    const edns = q.edns;
    if (edns && edns.version > 0) {
      return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_BADVERS, q);
    }
    const limit = replyLimit(transport === "tcp", edns);

    const name = q.name;
    let zoneRoute = inDomain(name, this.#domain);
    if (zoneRoute) {
      const z = this.#forwarder.zoneFor(name);
      if (z && z.zone.length > this.#domain.length) zoneRoute = false;
    }
    if (!zoneRoute) {
      // A reverse name of an address we know (`PTROn`): answered here, never forwarded.
      const ptr = this.#ptr;
      if (ptr && q.qtype === TYPE_PTR && isZoneClass(q.qclass)) {
        const n = ptr.write(name, req, q, limit, this.#setTC, out);
        if (n > 0) return n;
      }
      const all = this.#forwarder.upstreamsFor(name);
      if (!all) return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_REFUSED, q);
      // Not an open resolver: only `ForwardAllow` clients have outside names forwarded.
      if (client && this.#forwardAllow && !this.#forwardAllow.hasSockaddr(client)) {
        return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_REFUSED, q);
      }
      // A UDP worker already tried the first ones (and they did not answer in time).
      const skip = this.#skipUpstreams;
      const ups = skip > 0 ? all.slice(skip) : all;
      if (ups.length === 0) return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_SERVFAIL, q);
      // Over the in-flight bound: SERVFAIL now, without copying or waiting.
      if (this.#forwarder.saturated) {
        return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_SERVFAIL, q);
      }
      return this.#forward(req.slice(), q, transport, ups, limit);
    }

    if (!isZoneClass(q.qclass) || q.qtype === TYPE_AXFR || q.qtype === TYPE_IXFR) {
      return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_REFUSED, q, this.#zoneFlags3);
    }
    const zone = this.#zone;
    if (!zone) {
      return writeHeaderReply(out, req, q.id, q.flags2, q.flags3, RCODE_SERVFAIL, q, this.#zoneFlags3);
    }

    const flat = zone.flat;
    const entry = flat.findName(name);
    if (entry >= 0) {
      const id = flat.answer(entry, q.qtype);
      if (id >= 0) return writeAnswer(flat, id, req, q, limit, this.#setTC, out);
    } else if (name.includes(".*")) {
      // The original's crude wildcard: `bob.*.mesos` is looked up as `bob.mesos` (SPEC §7.3).
      const key = name.replaceAll(".*", "");
      const e2 = inDomain(key, zone.domain) ? flat.findName(key) : -1;
      if (e2 >= 0) {
        const id = flat.answer(e2, q.qtype);
        if (id >= 0) return this.#wildcard(flat, id, key, req, q, limit, out);
        return writeNegative(flat, req, q, RCODE_NOERROR, limit, this.#setTC, out);
      }
    }
    return writeNegative(flat, req, q, entry >= 0 ? RCODE_NOERROR : RCODE_NXDOMAIN, limit, this.#setTC, out);
  }

  /**
   * Slow path for `.*` names: re-encodes the stored answer of `key` with the question as asked,
   * its records owned by `key` (a stored answer may be its `_tcp`/`_udp` twin's).
   */
  #wildcard(
    flat: FlatZone,
    id: number,
    key: string,
    req: Uint8Array,
    q: ParsedQuery,
    limit: number,
    out: Uint8Array,
  ): number {
    // The stored answer with `key` as its question: its records' owners point at it.
    const stored = new Uint8Array(flat.length(id));
    stored.set(questionWire(key, q.qtype)!, HEADER_LEN);
    flat.renderInto(id, stored);
    const packet = dnsPacket.decode(Buffer.from(stored));
    // Decode just the header and the asked question (counts zeroed but QDCOUNT = 1).
    const mini = Buffer.alloc(q.qEnd);
    mini.set(req.subarray(HEADER_LEN, q.qEnd), HEADER_LEN);
    mini[5] = 1;
    packet.questions = dnsPacket.decode(mini).questions;
    const body = new Uint8Array(dnsPacket.encode(packet));
    const optLen = q.edns ? OPT_LEN : 0;
    const cut = body.length + optLen > limit ? truncateMessage(body, limit - optLen, this.#setTC) : body;
    out.set(cut);
    return finishReply(out, cut.length, req, q);
  }

  /**
   * The reply to a request whose UDP attempt (by a UDP worker, to the first resolver)
   * came back truncated, or larger than the client takes: retried over TCP with that
   * resolver; the TCP reply if it fits the client's UDP limit, else `udpReply` (cut to the
   * limit), with the request's ID. Null when the request cannot be read.
   */
  async retryTruncated(req: Uint8Array, udpReply: Uint8Array): Promise<Uint8Array | null> {
    const r = parseQuery(req);
    if (r.kind !== "query") return null;
    const q = r.query;
    const limit = replyLimit(false, q.edns);
    const up = this.#forwarder.firstUpstream;
    const full = up ? await this.#forwarder.tcpExchange(req, up) : undefined;
    if (this.#closed) return null;
    if (full) this.#cache?.store(req, q, full);
    let out = full && full.length <= limit ? full : udpReply.slice();
    out[0] = req[0];
    out[1] = req[1];
    if (out.length > limit) out = truncateMessage(out, limit, this.#setTC);
    if (!this.#setTC) out[2] &= ~FLAG_TC;
    return out;
  }

  async #forward(
    req: Uint8Array,
    q: ParsedQuery,
    transport: Transport,
    ups: readonly Upstream[],
    limit: number,
  ): Promise<Uint8Array | null> {
    this.#cache?.countMiss();
    const reply = await this.#forwarder.forward(req, transport, ups, limit);
    if (this.#closed) return null;
    if (!reply) {
      const failed = headerReply(req, q.id, q.flags2, q.flags3, RCODE_SERVFAIL, q);
      this.#localReplies.add(failed);
      return failed;
    }
    this.#cache?.store(req, q, reply);
    let out = reply;
    if (out.length > limit) out = truncateMessage(out, limit, this.#setTC);
    if (!this.#setTC) out[2] &= ~FLAG_TC;
    return out;
  }
}
