/**
 * DNS query counters in shared memory (owns: the layout of the counter slots — queries by
 * protocol × query type × rcode, responses by source, a latency histogram per protocol,
 * rate-limit outcomes — one region per writing thread, and the sums `/metrics` reads).
 *
 * Each thread that answers queries (the main thread: region 0; each UDP worker: its own
 * region 1, 2, ...) writes only its own region, with plain Float64 increments: no atomics,
 * no allocation, no contention between threads, and exact integers up to 2^53. The main
 * thread sums the regions when `/metrics` is scraped (an aligned 8-byte read is not torn
 * on the platforms the fast path runs on).
 */

/** The protocols counted. */
export const PROTOS = ["udp", "tcp"] as const;
export type Proto = typeof PROTOS[number];
export const PROTO_UDP = 0;
export const PROTO_TCP = 1;

/** Query types with their own series; everything else is `other`. */
export const QTYPE_NAMES = [
  "A",
  "AAAA",
  "SRV",
  "SOA",
  "NS",
  "PTR",
  "CNAME",
  "MX",
  "TXT",
  "ANY",
  "AXFR",
  "IXFR",
  "other",
] as const;
const QTYPE_NUMBERS = [1, 28, 33, 6, 2, 12, 5, 15, 16, 255, 252, 251];
const QTYPE_OTHER = QTYPE_NAMES.length - 1;
const QTYPES = QTYPE_NAMES.length;

/** Index of each type number below 256 in `QTYPE_NAMES`. */
const QTYPE_INDEX = new Uint8Array(256).fill(QTYPE_OTHER);
QTYPE_NUMBERS.forEach((n, i) => QTYPE_INDEX[n] = i);

/** RCODE names by the 4-bit header value. */
export const RCODE_NAMES = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSET",
  "NOTAUTH",
  "NOTZONE",
  "RCODE11",
  "RCODE12",
  "RCODE13",
  "RCODE14",
  "RCODE15",
] as const;
const RCODES = 16;

/** Where a response came from. */
export const SOURCE_NAMES = ["zone", "forward", "refused", "error"] as const;
export type Source = typeof SOURCE_NAMES[number];
export const SOURCE_ZONE = 0;
export const SOURCE_FORWARD = 1;
/** REFUSED: outside the domain without forwarding, a client outside `ForwardAllow`, zone transfers. */
export const SOURCE_REFUSED = 2;
/** Answered with an error made here (FORMERR, SERVFAIL, NOTIMP, BADVERS). */
export const SOURCE_ERROR = 3;

/** Upper bounds of the latency buckets, seconds (the last bucket is +Inf). */
export const LATENCY_BOUNDS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];
const BUCKETS = LATENCY_BOUNDS.length + 1;
/** Bucket counts, then the sum of observed microseconds. */
const LATENCY_STRIDE = BUCKETS + 1;

// Float64 offsets inside a region.
const QUERIES_AT = 0;
const SOURCES_AT = QUERIES_AT + PROTOS.length * QTYPES * RCODES;
const LATENCY_AT = SOURCES_AT + SOURCE_NAMES.length;
const RATE_LIMIT_AT = LATENCY_AT + PROTOS.length * LATENCY_STRIDE;
/** Slots of one region (rounded up so regions start on their own cache lines). */
export const REGION_SLOTS = Math.ceil((RATE_LIMIT_AT + 2) / 16) * 16;

/**
 * Regions allocated by default: the main thread and up to 255 UDP workers (the most
 * `DNSUDPWorkers` allows). Pages of regions nobody writes are never touched.
 */
export const DEFAULT_REGIONS = 256;

/** The bounds in whole microseconds (compared with integers, so nothing is boxed). */
const LATENCY_BOUNDS_MICROS = Int32Array.from(LATENCY_BOUNDS, (s) => Math.round(s * 1e6));

/** The bucket of a duration in microseconds. */
export function latencyBucket(micros: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MICROS.length && micros > LATENCY_BOUNDS_MICROS[i]) i++;
  return i;
}

/**
 * One thread's writer over its region. Every method is allocation-free, so the UDP
 * worker may call it per query.
 */
export class DnsCounterRegion {
  readonly #f: Float64Array;
  readonly #base: number;

  /** Writes region `index` of `buffer` (a `DnsCounterSlots.buffer`). */
  constructor(buffer: SharedArrayBuffer, index: number) {
    this.#f = new Float64Array(buffer);
    this.#base = index * REGION_SLOTS;
    if (this.#base + REGION_SLOTS > this.#f.length) throw new RangeError(`no counter region ${index}`);
  }

  /** Counts one answered query: its protocol (`PROTO_*`), QTYPE number and the reply's 4-bit RCODE. */
  query(proto: number, qtype: number, rcode: number): void {
    const t = qtype < 256 ? QTYPE_INDEX[qtype] : QTYPE_OTHER;
    this.#f[this.#base + QUERIES_AT + (proto * QTYPES + t) * RCODES + (rcode & 15)]++;
  }

  /** Counts `n` responses from `source` (`SOURCE_*`). */
  source(source: number, n = 1): void {
    this.#f[this.#base + SOURCES_AT + source] += n;
  }

  /**
   * Records `n` responses over `proto` that each took `micros` microseconds (at most). An
   * integer, so that calling this never boxes a number (no allocation on the query path).
   */
  latency(proto: number, micros: number, n = 1): void {
    const at = this.#base + LATENCY_AT + proto * LATENCY_STRIDE;
    this.#f[at + latencyBucket(micros)] += n;
    this.#f[at + BUCKETS] += micros * n;
  }

  /** Counts a response the rate limit dropped. */
  rateLimitDropped(): void {
    this.#f[this.#base + RATE_LIMIT_AT]++;
  }

  /** Counts a response the rate limit sent truncated instead (slip). */
  rateLimitSlipped(): void {
    this.#f[this.#base + RATE_LIMIT_AT + 1]++;
  }
}

/** The counter slots of every thread, and their sums. */
export class DnsCounterSlots {
  /** Shared with the workers (each gets its region index). */
  readonly buffer: SharedArrayBuffer;
  readonly regions: number;
  readonly #f: Float64Array;

  constructor(regions = DEFAULT_REGIONS) {
    this.regions = regions;
    this.buffer = new SharedArrayBuffer(regions * REGION_SLOTS * 8);
    this.#f = new Float64Array(this.buffer);
  }

  /** The writer of region `index` (0: the main thread). */
  region(index: number): DnsCounterRegion {
    return new DnsCounterRegion(this.buffer, index);
  }

  #sum(offset: number): number {
    let s = 0;
    for (let r = 0; r < this.regions; r++) s += this.#f[r * REGION_SLOTS + offset];
    return s;
  }

  /** Answered queries per protocol, type and rcode (only the non-zero ones). */
  queries(): Array<{ proto: Proto; qtype: string; rcode: string; value: number }> {
    const out: Array<{ proto: Proto; qtype: string; rcode: string; value: number }> = [];
    for (let p = 0; p < PROTOS.length; p++) {
      for (let t = 0; t < QTYPES; t++) {
        for (let rc = 0; rc < RCODES; rc++) {
          const v = this.#sum(QUERIES_AT + (p * QTYPES + t) * RCODES + rc);
          if (v > 0) out.push({ proto: PROTOS[p], qtype: QTYPE_NAMES[t], rcode: RCODE_NAMES[rc], value: v });
        }
      }
    }
    return out;
  }

  /** Responses per source. */
  sources(): Array<{ source: Source; value: number }> {
    return SOURCE_NAMES.map((source, i) => ({ source, value: this.#sum(SOURCES_AT + i) }));
  }

  /** The latency histogram of a protocol: counts per bucket (not cumulative) and the sum. */
  latency(proto: number): { counts: number[]; sum: number } {
    const at = LATENCY_AT + proto * LATENCY_STRIDE;
    const counts = Array.from({ length: BUCKETS }, (_, i) => this.#sum(at + i));
    return { counts, sum: this.#sum(at + BUCKETS) / 1e6 };
  }

  /** Responses the rate limit dropped and sent truncated. */
  rateLimited(): { dropped: number; slipped: number } {
    return { dropped: this.#sum(RATE_LIMIT_AT), slipped: this.#sum(RATE_LIMIT_AT + 1) };
  }
}
