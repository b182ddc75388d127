/**
 * Forwarding to upstream resolvers (owns: choosing the resolvers for a name, SPEC §7.6
 * with case-insensitive `ZoneResolvers` keys, and the exchanges with them: in list
 * order, `Timeout` seconds each, UDP over the shared sockets of `upstream_udp.ts`, TCP
 * one connection per exchange, a truncated UDP reply retried over TCP, replies accepted
 * only for the ID, address and question sent, and a bound on queries in flight). The
 * reply is handed back with the client's ID.
 */
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import { questionOf, sameQuestion, UpstreamUdp } from "./upstream_udp.ts";
import { inDomain } from "./zone_answers.ts";
import { ipv4Bytes, ipv6Bytes } from "../net/ip.ts";
import { FLAG_QR, FLAG_TC, HEADER_LEN, readU16, writeU16 } from "./wire.ts";

const log = logger("dns");

/** One upstream resolver address. */
export interface Upstream {
  hostname: string;
  port: number;
  /** Address bytes (4 or 16), to check where a UDP reply came from. */
  addr: Uint8Array;
}

export type Transport = "udp" | "tcp";

/** Parses `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 53. */
export function parseUpstream(s: string): Upstream | undefined {
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (s.indexOf(":") === s.lastIndexOf(":") && s.includes(":")) {
    host = s.slice(0, s.indexOf(":"));
    port = Number(s.slice(s.indexOf(":") + 1));
  }
  const addr = ipv4Bytes(host) ?? ipv6Bytes(host);
  if (!addr || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { hostname: host, port, addr };
}

function parseList(list: readonly string[] | null | undefined): Upstream[] {
  const out: Upstream[] = [];
  for (const s of list ?? []) {
    const u = parseUpstream(s);
    if (u) out.push(u);
    else log.warn("ignoring resolver {s}: not an IP address with an optional port", { s });
  }
  return out;
}

export interface ForwarderOptions {
  /** Most forwarded queries in flight (default 1024); more get no upstream (the caller answers SERVFAIL). */
  maxInFlight?: number;
  /** Shared UDP sockets per address family for upstream queries (default 4). */
  udpSockets?: number;
  /** Queries a shared UDP socket carries before it is replaced by one on a new port (default 2000). */
  udpExchangesPerSocket?: number;
}

/** Exchanges with one upstream (for metrics). */
export interface UpstreamStats {
  /** Queries sent to it (each attempt). */
  requests: number;
  /** Attempts that got no usable reply (timeout, connection or socket error). */
  failures: number;
}

/** An upstream as the metrics label it: `ip:port`, IPv6 bracketed. */
function upstreamLabel(up: Upstream): string {
  return up.addr.length === 16 ? `[${up.hostname}]:${up.port}` : `${up.hostname}:${up.port}`;
}

interface Closable {
  close(): void;
}

/** Sends queries for names outside the zone to the configured resolvers. */
export class Forwarder {
  #enabled!: boolean;
  #default!: Upstream[];
  /** Lower-cased zone → resolvers, longest zone first. */
  #zones!: Array<{ zone: string; upstreams: Upstream[] }>;
  #timeoutMs!: number;
  readonly #maxInFlight: number;
  readonly #open = new Set<Closable>();
  readonly #udp: UpstreamUdp;
  /**
   * Queries in flight, shared with the UDP workers that forward themselves (they count
   * theirs here too), so `maxInFlight` bounds them all together.
   */
  readonly inFlightCounter = new Int32Array(new SharedArrayBuffer(4));
  /** [requests, failures] the UDP workers sent to the first resolver themselves. */
  readonly workerCounts = new Float64Array(new SharedArrayBuffer(16));
  #closed = false;
  readonly #stats = new Map<Upstream, UpstreamStats>();

  constructor(config: Config, opts: ForwarderOptions = {}) {
    this.applyConfig(config);
    this.#maxInFlight = Math.max(0, opts.maxInFlight ?? 1024);
    this.#udp = new UpstreamUdp({ sockets: opts.udpSockets, exchangesPerSocket: opts.udpExchangesPerSocket });
  }

  /**
   * Takes `ExternalOn`, `Resolvers`, `ZoneResolvers` and `Timeout` from `config` (at start
   * and on a configuration reload); queries in flight finish with the upstreams they had.
   */
  applyConfig(config: Config): void {
    this.#enabled = config.ExternalOn;
    this.#default = config.ExternalOn ? parseList(config.Resolvers) : [];
    this.#zones = config.ExternalOn
      ? Object.entries(config.ZoneResolvers ?? {})
        .map(([zone, list]) => ({ zone: zone.toLowerCase().replace(/\.+$/, ""), upstreams: parseList(list) }))
        .sort((x, y) => y.zone.length - x.zone.length)
      : [];
    this.#timeoutMs = (config.Timeout > 0 ? config.Timeout : 5) * 1000;
  }

  /**
   * When every name outside the domain goes to the same resolvers (`ExternalOn`, some
   * `Resolvers`, no `ZoneResolvers`): those resolvers and the timeout per attempt, for
   * the UDP workers that forward on their own. Undefined otherwise.
   */
  get simplePlan(): { upstreams: readonly Upstream[]; timeoutMs: number } | undefined {
    if (!this.#enabled || this.#zones.length > 0 || this.#default.length === 0) return undefined;
    return { upstreams: this.#default, timeoutMs: this.#timeoutMs };
  }

  /** The first of the default resolvers (where a UDP worker sent its attempt). */
  get firstUpstream(): Upstream | undefined {
    return this.#default[0];
  }

  /** The `ZoneResolvers` zones (lower-cased, no trailing dot), longest first; none when `ExternalOn` is false. */
  get zones(): readonly string[] {
    return this.#zones.map((z) => z.zone);
  }

  /**
   * The `ZoneResolvers` zone matching `name` (lower-cased, no trailing dot) by longest
   * suffix, or undefined. Not consulted when `ExternalOn` is false.
   */
  zoneFor(name: string): { zone: string; upstreams: readonly Upstream[] } | undefined {
    for (const z of this.#zones) if (inDomain(name, z.zone)) return z;
    return undefined;
  }

  /** The resolvers for a name outside the zone; undefined when forwarding is off or none are set. */
  upstreamsFor(name: string): readonly Upstream[] | undefined {
    if (!this.#enabled) return undefined;
    const ups = this.zoneFor(name)?.upstreams ?? this.#default;
    return ups.length > 0 ? ups : undefined;
  }

  /**
   * Forwards `req` to each upstream in order over `transport` until one replies (each
   * attempt under a fresh random ID; a reply counts only if it comes from that upstream
   * with that ID and the request's first question). A truncated UDP reply is retried over
   * TCP with the same upstream; the TCP reply is used if it fits `udpLimit`, else the
   * truncated one. Returns the reply with the request's ID, or undefined if all failed,
   * too many queries are in flight (see `saturated`), `req` has no readable question, or
   * we are closed. `req` is not modified.
   */
  async forward(
    req: Uint8Array,
    transport: Transport,
    upstreams: readonly Upstream[],
    udpLimit: number,
  ): Promise<Uint8Array | undefined> {
    if (this.saturated) return undefined;
    const question = questionOf(req);
    if (!question) return undefined;
    Atomics.add(this.inFlightCounter, 0, 1);
    try {
      for (const up of upstreams) {
        if (this.#closed) return undefined;
        let stats = this.#stats.get(up);
        if (!stats) this.#stats.set(up, stats = { requests: 0, failures: 0 });
        stats.requests++;
        try {
          let reply: Uint8Array;
          if (transport === "udp") {
            reply = await this.#udp.exchange(req, up, this.#timeoutMs);
            if (reply[2] & FLAG_TC) {
              try {
                const full = await this.#tcp(req, question, up);
                if (full.length <= udpLimit) reply = full;
              } catch (e) {
                log.debug("TCP retry to {host} failed: {e}", { host: up.hostname, e: String(e) });
              }
            }
          } else {
            reply = await this.#tcp(req, question, up);
          }
          reply[0] = req[0];
          reply[1] = req[1];
          return reply;
        } catch (e) {
          stats.failures++;
          log.debug("forwarding to {host}:{port} failed: {e}", {
            host: up.hostname,
            port: up.port,
            e: String(e),
          });
        }
      }
      return undefined;
    } finally {
      Atomics.sub(this.inFlightCounter, 0, 1);
    }
  }

  /** Exchanges per upstream (`ip:port`) since the start, for metrics. */
  upstreamStats(): Map<string, UpstreamStats> {
    const out = new Map<string, UpstreamStats>();
    for (const [up, s] of this.#stats) {
      const key = upstreamLabel(up);
      const sum = out.get(key) ?? { requests: 0, failures: 0 };
      sum.requests += s.requests;
      sum.failures += s.failures;
      out.set(key, sum);
    }
    const first = this.#default[0];
    if (first && this.workerCounts[0] > 0) {
      const key = upstreamLabel(first);
      const sum = out.get(key) ?? { requests: 0, failures: 0 };
      sum.requests += this.workerCounts[0];
      sum.failures += this.workerCounts[1];
      out.set(key, sum);
    }
    return out;
  }

  /** Queries in flight now (for tests and metrics). */
  get inFlight(): number {
    return Atomics.load(this.inFlightCounter, 0);
  }

  /** The bound on queries in flight. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /**
   * One exchange over TCP with `up` (the retry of a truncated UDP reply a UDP worker got):
   * the reply with the request's ID, or undefined when it fails.
   */
  async tcpExchange(req: Uint8Array, up: Upstream): Promise<Uint8Array | undefined> {
    const question = questionOf(req);
    if (!question || this.#closed) return undefined;
    try {
      const reply = await this.#tcp(req, question, up);
      reply[0] = req[0];
      reply[1] = req[1];
      return reply;
    } catch (e) {
      log.debug("TCP retry to {host} failed: {e}", { host: up.hostname, e: String(e) });
      return undefined;
    }
  }

  /** True when a new query would exceed the in-flight bound (or we are closed): it gets no upstream. */
  get saturated(): boolean {
    return this.#closed || Atomics.load(this.inFlightCounter, 0) >= this.#maxInFlight;
  }

  /** Shared upstream UDP sockets open now (for tests and metrics). */
  get udpSockets(): number {
    return this.#udp.openSockets;
  }

  /**
   * Aborts every exchange in progress; later `forward` calls return undefined. Resolves
   * once the shared UDP sockets are closed and their read loops have ended.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#open.clear();
    await this.#udp.close();
  }

  /** Runs `fn` with a deadline: on expiry (or close) the registered resource is closed. */
  async #withDeadline<T>(res: Closable, fn: () => Promise<T>): Promise<T> {
    let done = false;
    const closer = {
      close: () => {
        if (done) return;
        done = true;
        try {
          res.close();
        } catch { /* already closed */ }
      },
    };
    this.#open.add(closer);
    const timer = setTimeout(() => closer.close(), this.#timeoutMs);
    try {
      return await fn();
    } finally {
      clearTimeout(timer);
      this.#open.delete(closer);
      closer.close();
    }
  }

  async #tcp(req: Uint8Array, question: Uint8Array, up: Upstream): Promise<Uint8Array> {
    const ac = new AbortController();
    let conn: Deno.TcpConn | undefined;
    const id = crypto.getRandomValues(new Uint16Array(1))[0];
    return await this.#withDeadline({ close: () => (conn ? conn.close() : ac.abort()) }, async () => {
      conn = await Deno.connect({ hostname: up.hostname, port: up.port, signal: ac.signal });
      const framed = new Uint8Array(req.length + 2);
      writeU16(framed, 0, req.length);
      framed.set(req, 2);
      writeU16(framed, 2, id);
      let off = 0;
      while (off < framed.length) off += await conn.write(framed.subarray(off));
      while (true) {
        const len = readU16(await readExact(conn, 2), 0);
        const msg = await readExact(conn, len);
        if (
          msg.length >= HEADER_LEN && readU16(msg, 0) === id && (msg[2] & FLAG_QR) &&
          sameQuestion(msg, question)
        ) {
          return msg;
        }
      }
    });
  }
}

/** Reads exactly `n` bytes or throws if the connection ends first. */
async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await conn.read(out.subarray(off));
    if (r === null) throw new Error("connection closed by upstream");
    off += r;
  }
  return out;
}
