/**
 * UDP exchanges with upstream resolvers over a few shared sockets (owns: a small pool
 * of sockets per address family, each bound to its own OS-chosen port and read by one
 * loop into one reused buffer; a random query ID per exchange, unique on its socket;
 * accepting a reply only when ID, source address and port, and question (name
 * case-insensitively, type, class) all match, RFC 5452 §9.1, and ignoring anything else;
 * the per-exchange deadline, checked by one sweep every 50 ms while exchanges wait;
 * replacing each socket after a number of exchanges so the source ports keep changing).
 *
 * Memory is fixed by the pool size (one 64 KB buffer per socket), not by the number of
 * queries in flight; the caller bounds those.
 */
import { logger } from "../log.ts";
import { ipv4Bytes, ipv6Bytes } from "../net/ip.ts";
import { FLAG_QR, HEADER_LEN, readU16, skipName, writeU16 } from "./wire.ts";

const log = logger("dns");

/** An upstream as this module needs it. */
export interface UdpUpstream {
  hostname: string;
  port: number;
  /** Address bytes: 4 (IPv4) or 16 (IPv6). */
  addr: Uint8Array;
}

export interface UpstreamUdpOptions {
  /** Sockets per address family (default 4). */
  sockets?: number;
  /** Exchanges a socket serves before it is replaced by one on a new port (default 2000). */
  exchangesPerSocket?: number;
}

/** Largest UDP reply read whole. */
const RECEIVE_BUFFER = 65535;

/** How often exchanges past their deadline are looked for while any are waiting. */
const SWEEP_MS = 50;

interface Pending {
  up: UdpUpstream;
  /** The request's question section bytes (name, type, class) as sent. */
  question: Uint8Array;
  /** `performance.now()` after which the exchange fails. */
  deadline: number;
  timeoutMs: number;
  resolve(reply: Uint8Array): void;
  reject(e: Error): void;
}

/** Random 16-bit values from the system's CSPRNG, drawn 256 at a time. */
class RandomIds {
  readonly #pool = new Uint16Array(256);
  #next = 256;

  next(): number {
    if (this.#next === this.#pool.length) {
      crypto.getRandomValues(this.#pool);
      this.#next = 0;
    }
    return this.#pool[this.#next++];
  }
}

/** True if `hostname` (as Deno reports a peer) is the address `want` (4 or 16 bytes). */
export function sameAddress(want: Uint8Array, hostname: string): boolean {
  const got = ipv4Bytes(hostname) ?? ipv6Bytes(hostname);
  if (!got) return false;
  // An IPv4 upstream may answer on an IPv4-mapped IPv6 socket address.
  const g = got.length === 16 && want.length === 4 &&
      got.subarray(0, 12).every((x, i) => x === (i >= 10 ? 0xff : 0))
    ? got.subarray(12)
    : got;
  return g.length === want.length && g.every((x, i) => x === want[i]);
}

/**
 * True if the reply's first question is `question` (wire bytes of name, type, class),
 * the name compared ASCII case-insensitively.
 */
export function sameQuestion(reply: Uint8Array, question: Uint8Array): boolean {
  if (reply.length < HEADER_LEN + question.length || readU16(reply, 4) < 1) return false;
  const nameEnd = question.length - 4;
  for (let i = 0; i < question.length; i++) {
    let a = reply[HEADER_LEN + i];
    let b = question[i];
    if (a === b) continue;
    // Type and class must be equal; in the name, letters may differ in case (label
    // length bytes are below 64, so folding cannot make them equal to anything else).
    if (i >= nameEnd) return false;
    if (a >= 0x41 && a <= 0x5a) a += 0x20;
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (a !== b) return false;
  }
  return true;
}

/**
 * The question section bytes (first question: name, type, class) of a request, or
 * undefined when it has none or it cannot be read.
 */
export function questionOf(req: Uint8Array): Uint8Array | undefined {
  if (req.length < HEADER_LEN || readU16(req, 4) < 1) return undefined;
  const end = skipName(req, HEADER_LEN);
  if (end < 0 || end + 4 > req.length) return undefined;
  return req.subarray(HEADER_LEN, end + 4);
}

/** One shared socket: its own port, its read loop, the exchanges waiting on it. */
class SharedSocket {
  readonly pending = new Map<number, Pending>();
  readonly conn: Deno.DatagramConn;
  readonly done: Promise<void>;
  /** Exchanges started on it. */
  uses = 0;
  retired = false;
  #closed = false;

  constructor(v6: boolean) {
    this.conn = Deno.listenDatagram({ transport: "udp", hostname: v6 ? "::" : "0.0.0.0", port: 0 });
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(RECEIVE_BUFFER);
    let errors = 0;
    while (!this.#closed) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await this.conn.receive(buf);
        data = d;
        from = a as Deno.NetAddr;
        errors = 0;
      } catch (e) {
        if (this.#closed) return;
        log.debug("upstream UDP receive failed: {e}", { e: String(e) });
        if (++errors > 3) await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (data.length < HEADER_LEN || !(data[2] & FLAG_QR)) continue;
      const p = this.pending.get(readU16(data, 0));
      if (!p || from.port !== p.up.port || !sameAddress(p.up.addr, from.hostname)) continue;
      if (!sameQuestion(data, p.question)) continue;
      this.pending.delete(readU16(data, 0));
      p.resolve(data.slice());
      this.closeIfDrained();
    }
  }

  /** Closes a retired socket once nothing waits on it. */
  closeIfDrained(): void {
    if (this.retired && this.pending.size === 0) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    for (const p of this.pending.values()) p.reject(new Error("closed"));
    this.pending.clear();
  }
}

/** UDP exchanges with upstreams over a pool of shared sockets. */
export class UpstreamUdp {
  readonly #size: number;
  readonly #perSocket: number;
  /** Pool slots for IPv4 and IPv6 (undefined: opened on first use). */
  readonly #pools: [Array<SharedSocket | undefined>, Array<SharedSocket | undefined>];
  /** Every socket not yet closed, including retired ones still draining. */
  readonly #open = new Set<SharedSocket>();
  readonly #ids = new RandomIds();
  /** The deadline sweep, running while exchanges wait. */
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(opts: UpstreamUdpOptions = {}) {
    this.#size = Math.max(1, opts.sockets ?? 4);
    this.#perSocket = Math.max(1, opts.exchangesPerSocket ?? 2000);
    this.#pools = [new Array(this.#size).fill(undefined), new Array(this.#size).fill(undefined)];
  }

  /** Sockets open now (for tests and metrics). */
  get openSockets(): number {
    return this.#open.size;
  }

  /**
   * Sends `req` (its ID replaced by a random one) to `up` and resolves with the matching
   * reply, its ID still the random one. Rejects after `timeoutMs`, when the send fails,
   * when `req` has no readable question, or on close. `req` is not modified.
   */
  exchange(req: Uint8Array, up: UdpUpstream, timeoutMs: number): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error("closed"));
    const question = questionOf(req);
    if (!question) return Promise.reject(new Error("no question to match the reply against"));
    let sock: SharedSocket;
    try {
      sock = this.#socketFor(up.addr.length === 16);
    } catch (e) {
      return Promise.reject(e);
    }
    let id = this.#ids.next();
    while (sock.pending.has(id)) id = this.#ids.next();
    const out = req.slice();
    writeU16(out, 0, id);
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: Pending = {
        up,
        question,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        resolve,
        reject,
      };
      sock.pending.set(id, p);
      this.#sweep ??= setInterval(() => this.#expire(), SWEEP_MS);
      sock.conn.send(out, { transport: "udp", hostname: up.hostname, port: up.port }).catch((e) => {
        if (sock.pending.get(id) !== p) return;
        sock.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
        sock.closeIfDrained();
      });
    });
  }

  /** Fails the exchanges past their deadline; stops the sweep when nothing waits. */
  #expire(): void {
    const now = performance.now();
    let waiting = 0;
    for (const sock of this.#open) {
      for (const [id, p] of sock.pending) {
        if (p.deadline > now) {
          waiting++;
          continue;
        }
        sock.pending.delete(id);
        p.reject(new Error(`no reply within ${p.timeoutMs} ms`));
      }
      sock.closeIfDrained();
    }
    if (waiting === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** A pool socket of the family, chosen at random; opens or replaces it as needed. */
  #socketFor(v6: boolean): SharedSocket {
    const pool = this.#pools[v6 ? 1 : 0];
    const slot = this.#ids.next() % this.#size;
    let sock = pool[slot];
    if (!sock) {
      sock = new SharedSocket(v6);
      pool[slot] = sock;
      this.#open.add(sock);
      const opened = sock;
      void opened.done.then(() => this.#open.delete(opened));
    }
    if (++sock.uses >= this.#perSocket) {
      // Its last exchange: new ones go to a fresh socket (new port); this one closes when drained.
      sock.retired = true;
      pool[slot] = undefined;
    }
    return sock;
  }

  /** Closes every socket; exchanges in progress reject. Resolves when the read loops have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    const all = [...this.#open];
    for (const s of all) s.close();
    await Promise.all(all.map((s) => s.done));
  }
}
