/**
 * Forwarding from a UDP worker (owns: the worker's own upstream UDP sockets, opened with
 * libc and replaced after a number of queries so the source port keeps changing; the
 * table of queries in flight, each under a fresh random ID; matching replies by ID,
 * source address and port, and question (RFC 5452 §9.1); and the per-query deadline).
 * It is the first attempt only, to the first resolver: what does not come back whole
 * and in time (a timeout, a truncated or oversized reply, a send error) is handed back
 * to the caller, which gives it to the main thread's full forwarding (fail-over in list
 * order, TCP retry). No allocation per query: every buffer is made once.
 */
import {
  AF_INET6,
  EINTR,
  type Libc,
  MMSGHDR_SIZE,
  MSG_DONTWAIT,
  MSG_LEN,
  MSG_NAMELEN,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_STORAGE_SIZE,
  writeSockaddr,
} from "./libc.ts";
import { lowerAscii } from "./name_index.ts";
import { MmsgBuffers } from "./mmsg_buffers.ts";
import { FLAG_QR, HEADER_LEN } from "./wire.ts";

/** What the worker forwards with: the resolvers in order (only the first is tried here) and the timeout. */
export interface WorkerForwardPlan {
  upstreams: ReadonlyArray<{ hostname: string; port: number }>;
  timeoutMs: number;
  /** Queries in flight in the whole process (shared with the main thread's forwarder). */
  inFlight: Int32Array;
  /** The bound on them: beyond it a query gets SERVFAIL at once. */
  maxInFlight: number;
  /** [requests, failures] to the first resolver from the workers (shared, for metrics). */
  counts: Float64Array;
}

/** Queries in flight at most per worker; more are handed to the main thread. */
export const MAX_PENDING = 4096;
/** The largest request forwarded here (larger ones go to the main thread). */
const MAX_REQUEST = 512;
/** Queries a socket carries before a new one (new port) takes over. */
const QUERIES_PER_SOCKET = 2000;
/** Slot fields in `#meta`. */
const META = 6;
const F_ID = 0;
const F_SOCKET = 1;
const F_ADDR_LEN = 2;
const F_REQ_LEN = 3;
const F_LIMIT = 4;
const F_QEND = 5;

/** Receives what the forwarder decided about one query in flight. */
export interface ForwardSink {
  /**
   * The upstream's reply `reply[0, len)` to the request `req[0, reqLen)` from the client
   * at `addr[addrAt, addrAt + addrLen)`; its ID is still the random one.
   */
  reply(
    reply: Uint8Array,
    len: number,
    req: Uint8Array,
    reqAt: number,
    reqLen: number,
    addrAt: number,
    addrLen: number,
    qtype: number,
    sentAt: number,
  ): void;
  /**
   * The first upstream did not answer in time: the main thread takes the query and goes
   * on with the next ones.
   */
  timedOut(req: Uint8Array, reqAt: number, reqLen: number, addrAt: number, addrLen: number): void;
  /**
   * The reply `reply[0, len)` was truncated or larger than the client takes: the main
   * thread retries over TCP.
   */
  truncated(
    reply: Uint8Array,
    len: number,
    req: Uint8Array,
    reqAt: number,
    reqLen: number,
    addrAt: number,
    addrLen: number,
  ): void;
}

export class WorkerForwarder {
  readonly #libc: Libc;
  readonly #errno: Deno.UnsafePointerView;
  readonly #rx: MmsgBuffers;
  /** The two sockets (current and retiring), -1 when closed. */
  readonly fds = new Int32Array([-1, -1]);
  readonly #uses = new Int32Array(2);
  readonly #inFlight = new Int32Array(2);
  #current = 0;
  /** (socket << 16 | id) → slot + 1. */
  readonly #byId = new Int32Array(2 * 65536);
  readonly #meta = new Int32Array(MAX_PENDING * META);
  readonly #deadline = new Float64Array(MAX_PENDING);
  /** Client addresses, then requests, by slot. */
  readonly addrs = new Uint8Array(MAX_PENDING * SOCKADDR_STORAGE_SIZE);
  readonly reqs = new Uint8Array(MAX_PENDING * MAX_REQUEST);
  readonly #free = new Int32Array(MAX_PENDING);
  #freeCount = MAX_PENDING;
  readonly #out = new Uint8Array(MAX_REQUEST);
  readonly #ids = new Uint16Array(256);
  #nextId = 256;
  /** The first upstream's socket address (16 or 28 bytes), and its family. */
  readonly #to = new Uint8Array(28);
  #toLen = 0;
  #family = 0;
  #timeoutMs = 5000;
  #inFlightShared: Int32Array | undefined;
  #counts: Float64Array | undefined;
  #maxInFlight = 0;
  /** Queries in flight now. */
  pending = 0;

  constructor(libc: Libc) {
    this.#libc = libc;
    this.#errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
    this.#rx = new MmsgBuffers(libc, 32);
    for (let i = 0; i < MAX_PENDING; i++) this.#free[i] = MAX_PENDING - 1 - i;
  }

  /** Takes a new plan (undefined: forward nothing here); sockets of another family are retired. */
  setPlan(plan: WorkerForwardPlan | undefined): boolean {
    const first = plan?.upstreams[0];
    this.#toLen = first ? writeSockaddr(this.#to, 0, first.hostname, first.port) : 0;
    if (!first || this.#toLen === 0) return false;
    const family = this.#to[0] | (this.#to[1] << 8);
    if (family !== this.#family) {
      // A socket of the old family carries no new queries.
      this.#uses[this.#current] = QUERIES_PER_SOCKET;
      this.#family = family;
    }
    this.#timeoutMs = plan!.timeoutMs;
    this.#inFlightShared = plan!.inFlight;
    this.#maxInFlight = plan!.maxInFlight;
    this.#counts = plan!.counts;
    return true;
  }

  /** Whether a plan is set. */
  get enabled(): boolean {
    return this.#toLen > 0;
  }

  #randomId(): number {
    if (this.#nextId === 256) {
      crypto.getRandomValues(this.#ids);
      this.#nextId = 0;
    }
    return this.#ids[this.#nextId++];
  }

  /** The socket for the next query: the current one, or a new one once it has carried its share. */
  #socket(): number {
    let s = this.#current;
    if (this.fds[s] < 0 || this.#uses[s] >= QUERIES_PER_SOCKET) {
      const other = 1 - s;
      if (this.fds[other] >= 0) {
        if (this.#inFlight[other] > 0) return this.fds[s] >= 0 ? s : -1; // still draining: keep this one
        this.#close(other);
      }
      const fd = this.#libc.symbols.socket(this.#family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return this.fds[s] >= 0 ? s : -1;
      this.fds[other] = fd;
      this.#uses[other] = 0;
      this.#current = other;
      s = other;
      // The old one closes once nothing waits on it.
      if (this.fds[1 - s] >= 0 && this.#inFlight[1 - s] === 0) this.#close(1 - s);
    }
    return s;
  }

  #close(s: number): void {
    if (this.fds[s] >= 0) this.#libc.symbols.close(this.fds[s]);
    this.fds[s] = -1;
  }

  /**
   * Sends the request `req[0, len)` (its question ends at `qEnd`; the client's reply
   * limit is `limit`) from the client at `addr[addrAt, addrAt + addrLen)` to the first
   * upstream. Returns 1 when it was sent; 0 when it cannot be forwarded here (no plan,
   * too large, table full, no socket, send failed: the caller hands it to the main
   * thread); -1 when the process has `maxInFlight` queries in flight (SERVFAIL at once).
   */
  forward(
    req: Uint8Array,
    len: number,
    qEnd: number,
    limit: number,
    addr: Uint8Array,
    addrAt: number,
    addrLen: number,
    now: number,
  ): number {
    if (this.#toLen === 0 || len > MAX_REQUEST || this.#freeCount === 0) return 0;
    const shared = this.#inFlightShared!;
    if (Atomics.load(shared, 0) >= this.#maxInFlight) return -1;
    const s = this.#socket();
    if (s < 0) return 0;
    let id = this.#randomId();
    while (this.#byId[(s << 16) | id] !== 0) id = this.#randomId();
    const slot = this.#free[--this.#freeCount];
    const m = slot * META;
    this.#meta[m + F_ID] = id;
    this.#meta[m + F_SOCKET] = s;
    this.#meta[m + F_ADDR_LEN] = addrLen;
    this.#meta[m + F_REQ_LEN] = len;
    this.#meta[m + F_LIMIT] = limit;
    this.#meta[m + F_QEND] = qEnd;
    this.#deadline[slot] = now + this.#timeoutMs;
    const r0 = slot * MAX_REQUEST;
    for (let i = 0; i < len; i++) this.reqs[r0 + i] = req[i];
    const a0 = slot * SOCKADDR_STORAGE_SIZE;
    for (let i = 0; i < addrLen; i++) this.addrs[a0 + i] = addr[addrAt + i];
    const out = this.#out;
    for (let i = 2; i < len; i++) out[i] = req[i];
    out[0] = id >>> 8;
    out[1] = id & 0xff;
    while (true) {
      const r = this.#libc.symbols.sendto(this.fds[s], out, BigInt(len), MSG_DONTWAIT, this.#to, this.#toLen);
      if (r >= 0) break;
      if (this.#errno.getInt32() === EINTR) continue;
      this.#free[this.#freeCount++] = slot;
      return 0;
    }
    this.#byId[(s << 16) | id] = slot + 1;
    this.#uses[s]++;
    this.#inFlight[s]++;
    this.pending++;
    Atomics.add(shared, 0, 1);
    if (this.#counts) this.#counts[0]++;
    return 1;
  }

  #release(slot: number): void {
    const m = slot * META;
    const s = this.#meta[m + F_SOCKET];
    this.#byId[(s << 16) | this.#meta[m + F_ID]] = 0;
    this.#inFlight[s]--;
    this.pending--;
    if (this.#inFlightShared) Atomics.sub(this.#inFlightShared, 0, 1);
    this.#free[this.#freeCount++] = slot;
    if (s !== this.#current && this.#inFlight[s] === 0) this.#close(s);
  }

  /** Whether `b[at, at + len)` (a received sockaddr) is the upstream's address and port. */
  #fromUpstream(b: Uint8Array, at: number, len: number): boolean {
    const to = this.#to;
    if (len < this.#toLen) return false;
    // Family and port, then the address (IPv4: 4 bytes at 4; IPv6: 16 bytes at 8).
    for (let i = 0; i < 4; i++) if (b[at + i] !== to[i]) return false;
    const v6 = (to[0] | (to[1] << 8)) === AF_INET6;
    const from = v6 ? 8 : 4;
    const end = v6 ? 24 : 8;
    for (let i = from; i < end; i++) if (b[at + i] !== to[i]) return false;
    return true;
  }

  /** Whether the reply's first question is the request's (name in any letter case, type, class). */
  #sameQuestion(reply: Uint8Array, at: number, len: number, reqAt: number, qEnd: number): boolean {
    if (len < qEnd || reply[at + 4] !== 0 || reply[at + 5] === 0) return false;
    for (let i = HEADER_LEN; i < qEnd; i++) {
      if (lowerAscii(reply[at + i]) !== lowerAscii(this.reqs[reqAt + i])) return false;
    }
    return true;
  }

  /** Reads every reply waiting on socket `s` and gives each matching one to `sink`. */
  receive(s: number, sink: ForwardSink): void {
    const fd = this.fds[s];
    if (fd < 0) return;
    const rx = this.#rx;
    const { u8, dv } = rx;
    while (true) {
      const n = this.#libc.symbols.recvmmsg(fd, rx.rMsgPtr, rx.batch, MSG_DONTWAIT, null);
      if (n <= 0) {
        if (n < 0 && this.#errno.getInt32() === EINTR) continue;
        return;
      }
      for (let i = 0; i < n; i++) {
        const h = rx.rMsg + i * MMSGHDR_SIZE;
        const len = dv.getUint32(h + MSG_LEN, true);
        const nameLen = dv.getUint32(h + MSG_NAMELEN, true);
        dv.setUint32(h + MSG_NAMELEN, SOCKADDR_STORAGE_SIZE, true);
        const data = rx.rSlots[i];
        if (len < HEADER_LEN || (data[2] & FLAG_QR) === 0) continue;
        const slot1 = this.#byId[(s << 16) | (data[0] << 8) | data[1]];
        if (slot1 === 0 || !this.#fromUpstream(u8, rx.rName + i * SOCKADDR_STORAGE_SIZE, nameLen)) continue;
        const slot = slot1 - 1;
        const m = slot * META;
        const reqAt = slot * MAX_REQUEST;
        if (!this.#sameQuestion(data, 0, len, reqAt, this.#meta[m + F_QEND])) continue;
        const reqLen = this.#meta[m + F_REQ_LEN];
        const addrAt = slot * SOCKADDR_STORAGE_SIZE;
        const addrLen = this.#meta[m + F_ADDR_LEN];
        // Truncated or larger than the client takes: the main thread retries over TCP / cuts it.
        if ((data[2] & 0x02) !== 0 || len > this.#meta[m + F_LIMIT]) {
          sink.truncated(data, len, this.reqs, reqAt, reqLen, addrAt, addrLen);
        } else {
          const qEnd = this.#meta[m + F_QEND];
          const qtype = (this.reqs[reqAt + qEnd - 4] << 8) | this.reqs[reqAt + qEnd - 3];
          const sentAt = this.#deadline[slot] - this.#timeoutMs;
          sink.reply(data, len, this.reqs, reqAt, reqLen, addrAt, addrLen, qtype, sentAt);
        }
        this.#release(slot);
      }
      if (n < rx.batch) return;
    }
  }

  /** Hands back every query past its deadline. */
  expire(now: number, sink: ForwardSink): void {
    if (this.pending === 0) return;
    for (let slot = 0; slot < MAX_PENDING; slot++) {
      const m = slot * META;
      const s = this.#meta[m + F_SOCKET];
      if (this.#byId[(s << 16) | this.#meta[m + F_ID]] !== slot + 1) continue;
      if (this.#deadline[slot] > now) continue;
      const reqLen = this.#meta[m + F_REQ_LEN];
      if (this.#counts) this.#counts[1]++;
      sink.timedOut(
        this.reqs,
        slot * MAX_REQUEST,
        reqLen,
        slot * SOCKADDR_STORAGE_SIZE,
        this.#meta[m + F_ADDR_LEN],
      );
      this.#release(slot);
    }
  }

  /** Closes the sockets and frees the receive buffers. */
  close(): void {
    // What is still in flight will not come back through here.
    if (this.#inFlightShared && this.pending > 0) Atomics.sub(this.#inFlightShared, 0, this.pending);
    this.pending = 0;
    this.#close(0);
    this.#close(1);
    this.#rx.free();
  }
}
