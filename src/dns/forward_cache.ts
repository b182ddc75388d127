/**
 * The cache of forwarded answers (owns: a fixed-size hash table in shared memory holding
 * upstream replies in wire form with their expiry times; deciding what may be cached and
 * for how long, RFC 2308 for negative answers; writing entries (the main thread, when a
 * forwarded reply arrives) and answering a request from them without allocating (the
 * main thread and every UDP worker); hit counters per thread).
 *
 * Layout: slots in buckets of `WAYS`; a request's bucket comes from the hash of its
 * question name (case-insensitive), type, class and the flags that change an upstream's
 * answer (RD, CD, EDNS present, DO). Each slot has a version number used as a seqlock:
 * odd while the one writer rewrites the slot; a reader copies the reply, then checks that
 * the version is still the even one it started with, else it treats the lookup as a miss
 * (so a torn read is never sent). Replies are stored without their OPT record and with
 * the question name lower-cased; a reply is served with the request's ID and question
 * bytes (its letter case), our OPT when the request had one, and every TTL lowered by the
 * whole seconds since it was stored.
 *
 * Time is `performance.timeOrigin + performance.now()` in milliseconds, the same clock
 * in every thread of the process.
 */
import { hashWireName, lowerAscii } from "./name_index.ts";
import type { EdnsInfo } from "./query.ts";
import {
  FLAG_CD,
  FLAG_RD,
  FLAG_TC,
  HEADER_LEN,
  OPT_LEN,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  readU16,
  skipName,
  TYPE_OPT,
  TYPE_SOA,
  writeOpt,
  writeU16,
} from "./wire.ts";

/** Slots per bucket. */
const WAYS = 4;
/** Int32 fields per slot in `meta`. */
const META = 8;
const M_VERSION = 0;
const M_HASH = 1;
const M_QNAME_LEN = 2;
const M_TYPE_CLASS = 3;
const M_FLAGS = 4;
const M_LENGTH = 5;
const M_TTLS = 6;
/** Bytes per slot in `data`: the reply, then its TTL offsets (u16 each) from `TTL_TABLE_AT`. */
export const SLOT_BYTES = 2048;
/** The largest reply cached (without its OPT). */
export const MAX_CACHED_REPLY = 1536;
const TTL_TABLE_AT = MAX_CACHED_REPLY;
const MAX_TTLS = (SLOT_BYTES - TTL_TABLE_AT) / 2;
/** No entry lives longer than this, whatever its TTLs say (seconds). */
export const MAX_CACHE_TTL = 86400;
/** Negative answers at most this long (RFC 2308 §5 suggests one to three hours). */
export const MAX_NEGATIVE_TTL = 10800;

/** Counters per thread in `stats`: hits, and (main thread only) misses and stores. */
const STATS_PER_THREAD = 4;
const S_HITS = 0;
const S_MISSES = 1;
const S_STORES = 2;
/** Threads with their own counter row: the main thread (0) and up to 255 workers. */
export const MAX_THREADS = 256;

/** Key flags: the request header and OPT bits that change what an upstream answers. */
const KEY_RD = 1;
const KEY_CD = 2;
const KEY_EDNS = 4;
const KEY_DO = 8;

/** The shared arrays of a cache (post them to a worker; `new ForwardCache(parts, thread)` there). */
export interface ForwardCacheParts {
  meta: Int32Array;
  /** Per slot: stored at, expires at (ms). */
  times: Float64Array;
  data: Uint8Array;
  /** Per thread: `STATS_PER_THREAD` counters. */
  stats: Float64Array;
}

/** The request as the cache reads it (a `PlainQuery` or a `ParsedQuery` both fit). */
export interface CacheQuestion {
  qnameEnd: number;
  qEnd: number;
  qtype: number;
  qclass: number;
  edns: EdnsInfo | undefined;
}

/** Counters summed over every thread, and the live entries. */
export interface ForwardCacheStats {
  hits: number;
  misses: number;
  /** Replies written into the cache. */
  stores: number;
  /** Entries not yet expired. */
  entries: number;
  /** Slots (the configured size, rounded up to whole buckets). */
  capacity: number;
}

/** Milliseconds on a clock shared by the threads of this process. */
export function cacheNow(): number {
  return performance.timeOrigin + performance.now();
}

function keyFlags(req: Uint8Array, edns: EdnsInfo | undefined): number {
  let f = 0;
  if (req[2] & FLAG_RD) f |= KEY_RD;
  if (req[3] & FLAG_CD) f |= KEY_CD;
  if (edns) {
    f |= KEY_EDNS;
    if (edns.dnssecOk) f |= KEY_DO;
  }
  return f;
}

/** The question name's hash mixed with type, class and key flags. */
function keyHash(nameHash: number, typeClass: number, flags: number): number {
  let h = Math.imul(nameHash ^ typeClass, 0x01000193);
  h = Math.imul(h ^ flags, 0x01000193);
  return h ^ (h >>> 15);
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** What `cacheability` found in a reply: how long to keep it, its TTL offsets, its end without OPT. */
export interface Cacheable {
  ttl: number;
  ttlOffsets: number[];
  /** The reply's length without its OPT record (which must be the last record). */
  length: number;
  /** ARCOUNT without the OPT record. */
  arcount: number;
}

/**
 * Whether `reply` (to a request whose question ends at `qEnd`) may be cached, and for
 * how long (seconds): only NOERROR and NXDOMAIN replies without TC and without an
 * extended rcode; a reply with answers lives as long as its smallest TTL; one without
 * (NXDOMAIN, NODATA) as long as its authority SOA's TTL or MINIMUM, whichever is less
 * (RFC 2308 §5), and not at all without an SOA. A TTL with the top bit set counts as 0
 * (RFC 2181 §8). Undefined: do not cache.
 */
export function cacheability(reply: Uint8Array, qEnd: number): Cacheable | undefined {
  if (reply.length < qEnd || (reply[2] & FLAG_TC)) return undefined;
  const rcode = reply[3] & 0x0f;
  if (rcode !== RCODE_NOERROR && rcode !== RCODE_NXDOMAIN) return undefined;
  if (readU16(reply, 4) !== 1) return undefined;
  const an = readU16(reply, 6);
  const ns = readU16(reply, 8);
  const ar = readU16(reply, 10);
  const ttlOffsets: number[] = [];
  let minTtl = Infinity;
  let negativeTtl = -1;
  let pos = qEnd;
  let length = -1;
  let arcount = ar;
  for (let i = 0; i < an + ns + ar; i++) {
    const start = pos;
    const p = skipName(reply, pos);
    if (p < 0 || p + 10 > reply.length) return undefined;
    const type = readU16(reply, p);
    const end = p + 10 + readU16(reply, p + 8);
    if (end > reply.length) return undefined;
    if (type === TYPE_OPT && i >= an + ns) {
      // Our own OPT replaces it; it must be last, and carry no extended rcode.
      if (i !== an + ns + ar - 1 || reply[p + 4] !== 0) return undefined;
      length = start;
      arcount = ar - 1;
    } else {
      let ttl = readU32(reply, p + 4);
      if (ttl > 0x7fffffff) ttl = 0;
      minTtl = Math.min(minTtl, ttl);
      ttlOffsets.push(p + 4);
      if (type === TYPE_SOA && i >= an && i < an + ns && end - 4 >= p + 10) {
        negativeTtl = Math.min(ttl, readU32(reply, end - 4));
      }
    }
    pos = end;
  }
  if (length < 0) length = pos;
  let ttl: number;
  if (rcode === RCODE_NXDOMAIN || an === 0) {
    if (negativeTtl < 0) return undefined;
    ttl = Math.min(negativeTtl, minTtl, MAX_NEGATIVE_TTL);
  } else {
    ttl = Math.min(minTtl, MAX_CACHE_TTL);
  }
  if (!(ttl > 0)) return undefined;
  return { ttl, ttlOffsets, length, arcount };
}

/** A forwarded-answer cache on shared memory, read by every thread and written by one. */
export class ForwardCache {
  readonly parts: ForwardCacheParts;
  readonly #meta: Int32Array;
  readonly #times: Float64Array;
  readonly #data: Uint8Array;
  readonly #stats: Float64Array;
  readonly #buckets: number;
  /** This thread's counter row. */
  readonly #row: number;

  /** A new cache of at least `size` entries (> 0), or a view of `parts` for thread `thread`. */
  constructor(size: number | ForwardCacheParts, thread = 0) {
    if (typeof size === "number") {
      const slots = Math.ceil(Math.max(1, size) / WAYS) * WAYS;
      this.parts = {
        meta: new Int32Array(new SharedArrayBuffer(slots * META * 4)),
        times: new Float64Array(new SharedArrayBuffer(slots * 2 * 8)),
        data: new Uint8Array(new SharedArrayBuffer(slots * SLOT_BYTES)),
        stats: new Float64Array(new SharedArrayBuffer(MAX_THREADS * STATS_PER_THREAD * 8)),
      };
    } else {
      this.parts = size;
    }
    this.#meta = this.parts.meta;
    this.#times = this.parts.times;
    this.#data = this.parts.data;
    this.#stats = this.parts.stats;
    this.#buckets = this.#meta.length / META / WAYS;
    this.#row = Math.min(MAX_THREADS - 1, Math.max(0, thread)) * STATS_PER_THREAD;
  }

  /** Slots in the table. */
  get capacity(): number {
    return this.#buckets * WAYS;
  }

  /**
   * Writes the cached reply to the request `req` (its first `len` bytes; question read
   * into `q`, name hash `nameHash` as `hashWireName` computes it) into `out`, if there
   * is a live entry that fits `limit` bytes with our OPT; returns its length, or -1.
   * Allocates nothing. Counts a hit; a miss is counted by the forwarding code. `now`
   * (`cacheNow()` by default) is for tests.
   */
  answer(
    req: Uint8Array,
    q: CacheQuestion,
    nameHash: number,
    limit: number,
    out: Uint8Array,
    now = cacheNow(),
  ): number {
    const flags = keyFlags(req, q.edns);
    const typeClass = (q.qtype << 16) | q.qclass;
    const h = keyHash(nameHash, typeClass, flags);
    const qnameLen = q.qnameEnd - HEADER_LEN;
    const meta = this.#meta;
    const data = this.#data;
    const first = ((h >>> 0) % this.#buckets) * WAYS;
    for (let s = first; s < first + WAYS; s++) {
      const m = s * META;
      const v1 = Atomics.load(meta, m + M_VERSION);
      if ((v1 & 1) !== 0 || v1 === 0) continue;
      if (meta[m + M_HASH] !== h || meta[m + M_TYPE_CLASS] !== typeClass || meta[m + M_FLAGS] !== flags) {
        continue;
      }
      if (meta[m + M_QNAME_LEN] !== qnameLen) continue;
      const base = s * SLOT_BYTES;
      let i = 0;
      while (i < qnameLen && data[base + HEADER_LEN + i] === lowerAscii(req[HEADER_LEN + i])) i++;
      if (i !== qnameLen) continue;
      const storedAt = this.#times[s * 2];
      if (now >= this.#times[s * 2 + 1]) continue;
      const length = meta[m + M_LENGTH];
      const optLen = q.edns ? OPT_LEN : 0;
      if (length + optLen > limit || length > MAX_CACHED_REPLY || length < q.qEnd) continue;
      for (let k = 0; k < length; k++) out[k] = data[base + k];
      const ttls = meta[m + M_TTLS];
      if (ttls > MAX_TTLS || ttls < 0) continue;
      const elapsed = Math.floor((now - storedAt) / 1000);
      for (let t = 0; t < ttls; t++) {
        const at = base + TTL_TABLE_AT + t * 2;
        const off = (data[at] << 8) | data[at + 1];
        if (off + 4 > length) continue;
        const ttl = readU32(out, off);
        writeU32(out, off, ttl > elapsed ? ttl - elapsed : 0);
      }
      // The slot changed while it was copied: what was copied may be torn.
      if (Atomics.load(meta, m + M_VERSION) !== v1) return -1;
      out[0] = req[0];
      out[1] = req[1];
      for (let k = HEADER_LEN; k < q.qEnd; k++) out[k] = req[k];
      this.#stats[this.#row + S_HITS]++;
      if (!q.edns) return length;
      writeOpt(out, length, 0, q.edns.dnssecOk);
      writeU16(out, 10, ((out[10] << 8) | out[11]) + 1);
      return length + OPT_LEN;
    }
    return -1;
  }

  /** Counts a query that was forwarded because the cache had no answer for it. */
  countMiss(): void {
    this.#stats[this.#row + S_MISSES]++;
  }

  /**
   * Stores `reply`, the upstream's reply to `req` (question read into `q`), if it may be
   * cached (`cacheability`) and fits a slot. Returns whether it was stored. Only one
   * thread may call this (the cache has one writer). `now` is for tests.
   */
  store(req: Uint8Array, q: CacheQuestion, reply: Uint8Array, now = cacheNow()): boolean {
    const c = cacheability(reply, q.qEnd);
    if (!c || c.length > MAX_CACHED_REPLY || c.ttlOffsets.length > MAX_TTLS) return false;
    const qnameLen = q.qnameEnd - HEADER_LEN;
    const flags = keyFlags(req, q.edns);
    const typeClass = (q.qtype << 16) | q.qclass;
    const h = keyHash(hashWireName(req, HEADER_LEN, q.qnameEnd), typeClass, flags);
    const meta = this.#meta;
    const data = this.#data;
    const first = ((h >>> 0) % this.#buckets) * WAYS;
    // The same key, else a free or expired slot, else the one that expires first.
    let slot = -1;
    let soonest = Infinity;
    for (let s = first; s < first + WAYS; s++) {
      const m = s * META;
      const expires = this.#times[s * 2 + 1];
      if (
        meta[m + M_VERSION] !== 0 && meta[m + M_HASH] === h && meta[m + M_TYPE_CLASS] === typeClass &&
        meta[m + M_FLAGS] === flags && meta[m + M_QNAME_LEN] === qnameLen &&
        sameName(data, s * SLOT_BYTES + HEADER_LEN, req, qnameLen)
      ) {
        slot = s;
        break;
      }
      const rank = meta[m + M_VERSION] === 0 || expires <= now ? -1 : expires;
      if (rank < soonest) {
        soonest = rank;
        slot = s;
      }
    }
    const m = slot * META;
    const base = slot * SLOT_BYTES;
    Atomics.add(meta, m + M_VERSION, 1); // odd: being written
    data.set(reply.subarray(0, c.length), base);
    for (let i = 0; i < qnameLen; i++) {
      data[base + HEADER_LEN + i] = lowerAscii(data[base + HEADER_LEN + i]);
    }
    writeU16(data, base + 10, c.arcount);
    c.ttlOffsets.forEach((off, t) => writeU16(data, base + TTL_TABLE_AT + t * 2, off));
    meta[m + M_HASH] = h;
    meta[m + M_QNAME_LEN] = qnameLen;
    meta[m + M_TYPE_CLASS] = typeClass;
    meta[m + M_FLAGS] = flags;
    meta[m + M_LENGTH] = c.length;
    meta[m + M_TTLS] = c.ttlOffsets.length;
    this.#times[slot * 2] = now;
    this.#times[slot * 2 + 1] = now + c.ttl * 1000;
    Atomics.add(meta, m + M_VERSION, 1); // even: readable
    this.#stats[this.#row + S_STORES]++;
    return true;
  }

  /** Drops every entry (e.g. when the upstreams change). */
  clear(): void {
    for (let s = 0; s < this.capacity; s++) {
      const m = s * META;
      if ((Atomics.load(this.#meta, m + M_VERSION) & 1) === 0 && this.#times[s * 2 + 1] === 0) continue;
      Atomics.add(this.#meta, m + M_VERSION, 1);
      this.#times[s * 2 + 1] = 0;
      Atomics.add(this.#meta, m + M_VERSION, 1);
    }
  }

  /** The counters of every thread summed, and the entries alive now. */
  stats(now = cacheNow()): ForwardCacheStats {
    let hits = 0;
    let misses = 0;
    let stores = 0;
    for (let r = 0; r < MAX_THREADS * STATS_PER_THREAD; r += STATS_PER_THREAD) {
      hits += this.#stats[r + S_HITS];
      misses += this.#stats[r + S_MISSES];
      stores += this.#stats[r + S_STORES];
    }
    let entries = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.#meta[s * META + M_VERSION] !== 0 && this.#times[s * 2 + 1] > now) entries++;
    }
    return { hits, misses, stores, entries, capacity: this.capacity };
  }
}

function sameName(data: Uint8Array, at: number, req: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) {
    if (data[at + i] !== lowerAscii(req[HEADER_LEN + i])) return false;
  }
  return true;
}
