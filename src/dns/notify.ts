/**
 * DNS NOTIFY to secondaries (owns: telling every `NotifySecondaries` entry that the zone
 * changed, RFC 1996, and reading their serials at start). Per secondary, at most one
 * NOTIFY per `minIntervalMs`: changes in between are coalesced into the next one, which
 * carries the serial current when it is sent. A NOTIFY is resent with doubling timeouts
 * until the secondary acknowledges it (a reply with the same ID and opcode) or
 * `attempts` is reached.
 */
import { logger } from "../log.ts";
import { splitHostPort } from "../net/host_port.ts";
import {
  CLASS_IN,
  FLAG_AA,
  FLAG_QR,
  HEADER_LEN,
  nameToWire,
  readU16,
  skipName,
  skipRecord,
  TYPE_SOA,
} from "./wire.ts";

const log = logger("xfr");

const OPCODE_NOTIFY = 4;

/** Counters of the NOTIFY messages (plain numbers; `/metrics` reads them). */
export interface NotifyStats {
  /** NOTIFY datagrams sent, retries included. */
  sent: number;
  /** NOTIFYs acknowledged. */
  acked: number;
  /** NOTIFYs given up after every attempt. */
  failed: number;
}

export interface NotifierOptions {
  /** Lower-cased domain, no trailing dot. */
  domain: string;
  /** `ip:port` (IPv6 bracketed). */
  secondaries: readonly string[];
  /** The serial to announce (the current one when a NOTIFY is sent). */
  serial: () => number | undefined;
  /** Least time between two NOTIFYs to one secondary (default 1000 ms). */
  minIntervalMs?: number;
  /** First wait for an acknowledgement; doubled at each retry (default 1000 ms). */
  timeoutMs?: number;
  /** Sends per change before giving up (default 5). */
  attempts?: number;
}

interface Target {
  addr: Deno.NetAddr;
  label: string;
  dirty: boolean;
  inFlight: boolean;
  lastSent: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves the wait for an acknowledgement of this ID. */
  waiting: { id: number; done: () => void } | undefined;
}

/** Sends rate-limited NOTIFYs to a fixed list of secondaries. */
export class Notifier {
  readonly stats: NotifyStats = { sent: 0, acked: 0, failed: 0 };
  readonly #o: Required<NotifierOptions>;
  readonly #targets: Target[];
  readonly #sockets = new Map<"v4" | "v6", Deno.DatagramConn>();
  #apex: Uint8Array;
  #closed = false;
  readonly #loops: Promise<void>[] = [];

  constructor(opts: NotifierOptions) {
    this.#o = { minIntervalMs: 1000, timeoutMs: 1000, attempts: 5, ...opts };
    this.#apex = nameToWire(opts.domain) ?? new Uint8Array([0]);
    this.#targets = opts.secondaries.map((s) => {
      const hp = splitHostPort(s);
      if (!hp) throw new Error(`NotifySecondaries: ${s} is not ip:port`);
      return {
        addr: { transport: "udp", hostname: hp.host, port: Number(hp.port) },
        label: s,
        dirty: false,
        inFlight: false,
        lastSent: -Infinity,
        timer: undefined,
        waiting: undefined,
      };
    });
  }

  #socket(t: Target): Deno.DatagramConn {
    const fam = t.addr.hostname.includes(":") ? "v6" : "v4";
    let s = this.#sockets.get(fam);
    if (!s) {
      s = Deno.listenDatagram({ transport: "udp", hostname: fam === "v6" ? "::" : "0.0.0.0", port: 0 });
      this.#sockets.set(fam, s);
      this.#loops.push(this.#receive(s));
    }
    return s;
  }

  async #receive(s: Deno.DatagramConn): Promise<void> {
    while (!this.#closed) {
      let msg: Uint8Array;
      let from: Deno.Addr;
      try {
        [msg, from] = await s.receive();
      } catch {
        return; // closed
      }
      if (msg.length < HEADER_LEN || (msg[2] & FLAG_QR) === 0) continue;
      const id = readU16(msg, 0);
      const opcode = (msg[2] >> 3) & 0x0f;
      const f = from as Deno.NetAddr;
      for (const t of this.#targets) {
        if (t.waiting?.id !== id || t.addr.port !== f.port) continue;
        if (opcode === OPCODE_NOTIFY) {
          const rcode = msg[3] & 0x0f;
          if (rcode !== 0) log.warn("{to} answered our NOTIFY with rcode {rcode}", { to: t.label, rcode });
          t.waiting.done();
        }
      }
    }
  }

  /** A configuration reload: NOTIFYs name the new `Domain` from now on. */
  applyConfig(config: { Domain: string }): void {
    this.#apex = nameToWire(config.Domain.toLowerCase().replace(/\.+$/, "")) ?? this.#apex;
  }

  /** Announces a change: every secondary gets a NOTIFY, as soon as its rate limit allows. */
  changed(): void {
    if (this.#closed) return;
    for (const t of this.#targets) {
      t.dirty = true;
      this.#schedule(t);
    }
  }

  #schedule(t: Target): void {
    if (this.#closed || t.inFlight || t.timer !== undefined || !t.dirty) return;
    const delay = Math.max(0, t.lastSent + this.#o.minIntervalMs - Date.now());
    t.timer = setTimeout(() => {
      t.timer = undefined;
      this.#send(t).catch((e) => log.error("NOTIFY to {to} failed: {e}", { to: t.label, e: String(e) }))
        .finally(() => {
          t.inFlight = false;
          this.#schedule(t);
        });
    }, delay);
  }

  #message(id: number, serial: number | undefined): Uint8Array {
    const apex = this.#apex;
    const soaLen = serial === undefined ? 0 : 12 + 22;
    const out = new Uint8Array(HEADER_LEN + apex.length + 4 + soaLen);
    out[0] = id >>> 8;
    out[1] = id & 0xff;
    out[2] = (OPCODE_NOTIFY << 3) | FLAG_AA;
    out[5] = 1;
    let at = HEADER_LEN;
    out.set(apex, at);
    at += apex.length;
    out[at + 1] = TYPE_SOA;
    out[at + 3] = CLASS_IN;
    at += 4;
    if (serial !== undefined) {
      // The SOA as a hint (RFC 1996 §3.7): only the serial is read; the names are the root.
      out[7] = 1;
      const view = new DataView(out.buffer);
      view.setUint16(at, 0xc000 | HEADER_LEN);
      view.setUint16(at + 2, TYPE_SOA);
      view.setUint16(at + 4, CLASS_IN);
      view.setUint32(at + 6, 0);
      view.setUint16(at + 10, 22);
      // MNAME and RNAME: the root (one zero byte each), then five 32-bit fields.
      view.setUint32(at + 14, serial >>> 0);
    }
    return out;
  }

  async #send(t: Target): Promise<void> {
    t.inFlight = true;
    t.dirty = false;
    t.lastSent = Date.now();
    const serial = this.#o.serial();
    const id = Math.floor(Math.random() * 65536);
    const msg = this.#message(id, serial);
    const sock = this.#socket(t);
    let timeout = this.#o.timeoutMs;
    for (let attempt = 1; attempt <= this.#o.attempts && !this.#closed; attempt++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const acked = new Promise<boolean>((resolve) => {
        t.waiting = { id, done: () => resolve(true) };
        timer = setTimeout(() => resolve(false), timeout);
      });
      try {
        await sock.send(msg, t.addr);
        this.stats.sent++;
      } catch (e) {
        log.debug("sending NOTIFY to {to} failed: {e}", { to: t.label, e: String(e) });
      }
      const ok = await acked;
      clearTimeout(timer);
      t.waiting = undefined;
      if (ok) {
        this.stats.acked++;
        log.debug("NOTIFY (serial {serial}) acknowledged by {to}", { serial, to: t.label });
        return;
      }
      timeout *= 2;
    }
    if (!this.#closed) {
      this.stats.failed++;
      log.warn("{to} did not acknowledge our NOTIFY (serial {serial}) after {n} attempts", {
        to: t.label,
        serial,
        n: this.#o.attempts,
      });
    }
  }

  /**
   * Asks every secondary for its SOA serial of the zone (one UDP query each, `timeoutMs`);
   * resolves with the serials that came back.
   */
  async secondarySerials(timeoutMs = 1000): Promise<number[]> {
    const out: number[] = [];
    await Promise.all(this.#targets.map(async (t) => {
      const s = await querySoaSerial(t.addr, this.#apex, timeoutMs).catch(() => undefined);
      if (s !== undefined) out.push(s);
    }));
    return out;
  }

  /** Stops sending; pending retries are abandoned. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#targets) {
      clearTimeout(t.timer);
      t.waiting?.done();
    }
    for (const s of this.#sockets.values()) {
      try {
        s.close();
      } catch { /* already closed */ }
    }
    await Promise.all(this.#loops);
  }
}

/** One SOA query over UDP; the serial of the answer's SOA, or undefined. */
async function querySoaSerial(
  addr: Deno.NetAddr,
  apex: Uint8Array,
  timeoutMs: number,
): Promise<number | undefined> {
  const sock = Deno.listenDatagram({
    transport: "udp",
    hostname: addr.hostname.includes(":") ? "::" : "0.0.0.0",
    port: 0,
  });
  const timer = setTimeout(() => sock.close(), timeoutMs);
  try {
    const id = Math.floor(Math.random() * 65536);
    const q = new Uint8Array(HEADER_LEN + apex.length + 4);
    q[0] = id >>> 8;
    q[1] = id & 0xff;
    q[5] = 1;
    q.set(apex, HEADER_LEN);
    q[HEADER_LEN + apex.length + 1] = TYPE_SOA;
    q[HEADER_LEN + apex.length + 3] = CLASS_IN;
    await sock.send(q, addr);
    while (true) {
      const [msg] = await sock.receive();
      if (msg.length < HEADER_LEN || readU16(msg, 0) !== id || (msg[3] & 0x0f) !== 0) continue;
      let at = HEADER_LEN;
      for (let i = 0; i < readU16(msg, 4); i++) at = skipName(msg, at) + 4;
      for (let i = 0; i < readU16(msg, 6); i++) {
        const end = skipRecord(msg, at);
        const nameEnd = skipName(msg, at);
        if (readU16(msg, nameEnd) === TYPE_SOA) {
          const rd = nameEnd + 10;
          const serialAt = skipName(msg, skipName(msg, rd));
          return new DataView(msg.buffer, msg.byteOffset).getUint32(serialAt);
        }
        at = end;
      }
      return undefined;
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      sock.close();
    } catch { /* closed by the timer */ }
  }
}
