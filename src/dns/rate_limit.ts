/**
 * Response rate limiting per client prefix (owns: the RRL decision — pass, drop or slip —
 * for a UDP response to a client, in the spirit of BIND's and Knot's RRL, and the slipped
 * reply: the question with TC set and no records, so a real client retries over TCP while
 * a spoofed victim gets no amplified answer).
 *
 * Clients are grouped by IPv4 /24 and IPv6 /56 prefix. Each prefix may receive `perSecond`
 * responses per wall-clock second; beyond that, every `slip`-th limited response goes out
 * truncated and the others are dropped (`slip` 0: all dropped; 1: all truncated). The table
 * is fixed-size typed arrays indexed by a hash of the prefix (a colliding prefix takes the
 * slot over), so `check` allocates nothing: the UDP worker calls it per response.
 */
import { FLAG_TC, HEADER_LEN, skipName, writeU16 } from "./wire.ts";

export const RRL_PASS = 0;
export const RRL_DROP = 1;
export const RRL_SLIP = 2;

const AF_INET = 2;
const AF_INET6 = 10;

export interface RateLimitOptions {
  /** Responses per second per client prefix (> 0). */
  perSecond: number;
  /** Every `slip`-th limited response is sent truncated (0: none, 1: all). */
  slip: number;
  /** Table slots, rounded up to a power of two (default 16384). */
  slots?: number;
}

/** The rate limiter's table (one per answering thread). */
export class ResponseRateLimit {
  readonly perSecond: number;
  readonly slip: number;
  readonly #mask: number;
  readonly #key0: Int32Array;
  readonly #key1: Int32Array;
  readonly #second: Int32Array;
  readonly #count: Int32Array;
  readonly #limited: Int32Array;

  constructor(opts: RateLimitOptions) {
    this.perSecond = opts.perSecond;
    this.slip = Math.max(0, opts.slip);
    let size = 1;
    while (size < (opts.slots ?? 16384)) size <<= 1;
    this.#mask = size - 1;
    this.#key0 = new Int32Array(size);
    this.#key1 = new Int32Array(size);
    this.#second = new Int32Array(size).fill(-1);
    this.#count = new Int32Array(size);
    this.#limited = new Int32Array(size);
  }

  /**
   * Counts one response to the client whose socket address (Linux `sockaddr_in` or
   * `sockaddr_in6` bytes) starts at `sa[at]`, in second `now` (any integer clock in
   * seconds), and says what to do with it: `RRL_PASS`, `RRL_DROP` or `RRL_SLIP`. Unknown
   * address families pass.
   */
  check(sa: Uint8Array, at: number, now: number): number {
    const family = sa[at] | (sa[at + 1] << 8);
    let k0: number;
    let k1: number;
    if (family === AF_INET) {
      k0 = (sa[at + 4] << 16) | (sa[at + 5] << 8) | sa[at + 6];
      k1 = 4;
    } else if (family === AF_INET6) {
      if (isMappedV4(sa, at + 8)) {
        k0 = (sa[at + 20] << 16) | (sa[at + 21] << 8) | sa[at + 22];
        k1 = 4;
      } else {
        // The first 56 bits.
        k0 = (sa[at + 8] << 24) | (sa[at + 9] << 16) | (sa[at + 10] << 8) | sa[at + 11];
        k1 = (sa[at + 12] << 24) | (sa[at + 13] << 16) | (sa[at + 14] << 8) | 6;
      }
    } else {
      return RRL_PASS;
    }
    const slot = (Math.imul(k0 ^ Math.imul(k1, 0x27d4eb2d), 0x9e3779b1) >>> 16) & this.#mask;
    if (this.#key0[slot] !== k0 || this.#key1[slot] !== k1 || this.#second[slot] !== now) {
      this.#key0[slot] = k0;
      this.#key1[slot] = k1;
      this.#second[slot] = now;
      this.#count[slot] = 0;
      this.#limited[slot] = 0;
    }
    if (++this.#count[slot] <= this.perSecond) return RRL_PASS;
    const n = ++this.#limited[slot];
    return this.slip > 0 && n % this.slip === 0 ? RRL_SLIP : RRL_DROP;
  }
}

/** Whether the 16 address bytes at `at` are `::ffff:a.b.c.d`. */
function isMappedV4(a: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (a[at + i] !== 0) return false;
  return a[at + 10] === 0xff && a[at + 11] === 0xff;
}

/**
 * Turns the reply of `len` bytes at the start of `out` into a slipped one in place: the
 * header and question kept, TC set, no records. Returns its length (the header alone when
 * the question cannot be read). Allocation-free.
 */
export function slipReply(out: Uint8Array, len: number): number {
  if (len < HEADER_LEN) return len;
  let end = HEADER_LEN;
  if (((out[4] << 8) | out[5]) > 0) {
    const nameEnd = skipName(out, HEADER_LEN);
    if (nameEnd > 0 && nameEnd + 4 <= len) end = nameEnd + 4;
    else writeU16(out, 4, 0);
  }
  if (end > HEADER_LEN) writeU16(out, 4, 1);
  out[2] |= FLAG_TC;
  writeU16(out, 6, 0);
  writeU16(out, 8, 0);
  writeU16(out, 10, 0);
  return end;
}
