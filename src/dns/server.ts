/**
 * The DNS server (owns: binding UDP and TCP on the same address and port, choosing the
 * UDP engine — the Linux FFI fast path or the portable `Deno.listenDatagram` loop —
 * wiring the responder and forwarder to the listeners, and shutting everything down).
 */
import type { Config, DnsUdpEngine } from "../config/types.ts";
import { logger } from "../log.ts";
import type { Snapshot, SnapshotHolder } from "../records/snapshot.ts";
import { Forwarder, type ForwarderOptions } from "./forwarder.ts";
import { Responder } from "./respond.ts";
import { serveTcp } from "./tcp_server.ts";
import { ForwardCache, type ForwardCacheStats } from "./forward_cache.ts";
import {
  type FfiUdpService,
  type FfiUdpStats,
  FfiUnavailableError,
  serveUdpFfi,
  setPortableReceiveBuffer,
} from "./udp_ffi.ts";
import { serveUdp, type UdpService } from "./udp_server.ts";
import { DnsCounterSlots } from "../metrics/dns_counters.ts";
import type { UpstreamStats } from "./forwarder.ts";
import { type XfrStats, ZoneTransfer } from "./xfr.ts";
import { Notifier, type NotifyStats } from "./notify.ts";
import { serialGreater } from "./xfr_zone.ts";

const log = logger("dns");

export interface DnsServerOptions {
  hostname: string;
  port: number;
  config: Config;
  holder: SnapshotHolder;
  tcpIdleTimeoutMs?: number;
  /** The UDP engine; default `config.DNSUDPEngine` (`auto` when unset). */
  udpEngine?: DnsUdpEngine;
  /** Where queries are counted (default: new slots); the app keeps one for the process's life. */
  counters?: DnsCounterSlots;
  /** False: the UDP workers hand every outside name to the main thread (default: they forward it). */
  forwardInWorker?: boolean;
  /** Forwarding limits (queries in flight, shared upstream sockets); defaults as in `ForwarderOptions`. */
  forwarder?: ForwarderOptions;
}

export interface DnsServer {
  readonly port: number;
  /** The UDP engine that runs. */
  readonly udpEngine: "ffi" | "portable";
  /** The fast path's counters (undefined on the portable engine). */
  udpStats(): FfiUdpStats | undefined;
  /**
   * A configuration reload: forwarding (`ExternalOn`, `Resolvers`, `ZoneResolvers`,
   * `Timeout`) and the answers' settings (`TTL`, SOA fields, `Domain`, flags) take the new
   * values; the answers are rebuilt while the previous ones keep being served. The address,
   * port and UDP engine stay (a new listener is a new server).
   */
  applyConfig(config: Config): void;
  /** Zone transfers answered and refused. */
  readonly xfrStats: XfrStats;
  /** NOTIFYs sent to `NotifySecondaries` (undefined without any). */
  readonly notifyStats: NotifyStats | undefined;
  /** The forwarded-answer cache's counters (undefined when `ForwardCacheSize` is 0). */
  cacheStats(): ForwardCacheStats | undefined;
  /** Query counters of every answering thread (region 0: the main thread; 1, 2, ...: the UDP workers). */
  readonly counters: DnsCounterSlots;
  /** Forwarded exchanges per upstream `ip:port`. */
  upstreamStats(): Map<string, UpstreamStats>;
  /**
   * The snapshot DNS answers from (it lags the published one while a large zone is built;
   * HTTP reads this one, so both agree).
   */
  servedSnapshot(): Snapshot | undefined;
  /** Calls `fn` each time DNS starts answering from new answers; returns the unsubscribe. */
  onServed(fn: () => void): () => void;
  close(): Promise<void>;
}

/** How many times to look for a port free for both UDP and TCP when asked for port 0. */
const PORT_ATTEMPTS = 10;

function bind(hostname: string, port: number): { tcp: Deno.TcpListener; udp: Deno.DatagramConn } {
  if (port !== 0) {
    const tcp = Deno.listen({ hostname, port, transport: "tcp" });
    try {
      return { tcp, udp: Deno.listenDatagram({ hostname, port, transport: "udp" }) };
    } catch (e) {
      tcp.close();
      throw e;
    }
  }
  let lastError: unknown;
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const tcp = Deno.listen({ hostname, port: 0, transport: "tcp" });
    try {
      const udp = Deno.listenDatagram({ hostname, port: tcp.addr.port, transport: "udp" });
      return { tcp, udp };
    } catch (e) {
      lastError = e;
      tcp.close();
    }
  }
  throw lastError;
}

/**
 * Serves UDP on the engine `choice` names: `ffi` (throws if it cannot run), `portable`,
 * or `auto` (the fast path where it can run, else portable, saying why at info level).
 */
function serveUdpWith(
  choice: DnsUdpEngine,
  conn: Deno.DatagramConn,
  responder: Responder,
  config: Config,
  counters: DnsCounterSlots,
  forwardInWorker: boolean,
): { service: UdpService; engine: "ffi" | "portable" } {
  const receiveBuffer = config.UDPReceiveBuffer ?? 0;
  if (choice !== "portable") {
    try {
      const workers = config.DNSUDPWorkers > 0 ? config.DNSUDPWorkers : navigator.hardwareConcurrency || 1;
      const service = serveUdpFfi(conn, responder, {
        workers,
        receiveBuffer,
        cache: responder.cache,
        counters,
        forwardInWorker,
      });
      log.info("UDP fast path: {workers} worker thread(s); receive buffer {got} (asked {asked} bytes)", {
        workers,
        got: describeBuffer(service.stats.receiveBuffer, receiveBuffer),
        asked: receiveBuffer,
      });
      return { service, engine: "ffi" };
    } catch (e) {
      if (!(e instanceof FfiUnavailableError)) throw e;
      if (choice === "ffi") throw new FfiUnavailableError(`DNSUDPEngine "ffi" cannot run: ${e.message}`);
      log.info("UDP fast path unavailable ({reason}); using the portable UDP engine", { reason: e.message });
    }
  }
  if (receiveBuffer > 0) {
    const got = setPortableReceiveBuffer(conn, receiveBuffer);
    log.info("UDP receive buffer {got} (asked {asked} bytes)", {
      got: describeBuffer(got, receiveBuffer),
      asked: receiveBuffer,
    });
  }
  return { service: serveUdp(conn, responder), engine: "portable" };
}

/** What the kernel granted, for the log: it reports twice the usable size it was asked for. */
function describeBuffer(reported: number | undefined, asked: number): string {
  if (asked <= 0) return "left at the kernel default";
  if (reported === undefined) return "not set (needs --allow-ffi on Linux)";
  const usable = Math.floor(reported / 2);
  return usable < asked
    ? `${usable} bytes, capped by the kernel (raise net.core.rmem_max, or run with CAP_NET_ADMIN)`
    : `${usable} bytes`;
}

/**
 * Starts the DNS server on UDP and TCP at `hostname:port` (port 0: a free port that both
 * can bind). Answers follow the holder's snapshots; before the first one, names in the
 * domain get SERVFAIL. UDP runs on the engine chosen by `udpEngine` / `DNSUDPEngine`.
 */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const choice = opts.udpEngine ?? opts.config.DNSUDPEngine ?? "auto";
  const { tcp, udp } = bind(opts.hostname, opts.port);
  const port = tcp.addr.port;
  const forwarder = new Forwarder(opts.config, opts.forwarder);
  const cacheSize = opts.config.ForwardCacheSize ?? 0;
  const cache = cacheSize > 0 ? new ForwardCache(cacheSize) : undefined;
  const counters = opts.counters ?? new DnsCounterSlots();
  const responder = new Responder({
    config: opts.config,
    holder: opts.holder,
    forwarder,
    cache,
    counters: counters.region(0),
  });
  let udpService: UdpService;
  let engine: "ffi" | "portable";
  try {
    ({ service: udpService, engine } = serveUdpWith(
      choice,
      udp,
      responder,
      opts.config,
      counters,
      opts.forwardInWorker !== false,
    ));
  } catch (e) {
    responder.close();
    await forwarder.close();
    try {
      udp.close();
    } catch { /* the fast path had closed it already */ }
    tcp.close();
    throw e;
  }
  const transfer = new ZoneTransfer(opts.config, opts.holder);
  const notifier = await startNotifier(opts.config, opts.holder);
  const tcpService = serveTcp(tcp, responder, { idleTimeoutMs: opts.tcpIdleTimeoutMs, transfer });
  log.info("DNS server listening on {host}:{port} (UDP and TCP; UDP engine: {engine})", {
    host: opts.hostname,
    port,
    engine,
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    udpEngine: engine,
    servedSnapshot: () => responder.servedSnapshot,
    onServed: (fn) => responder.onZone(() => fn()),
    udpStats: () => "stats" in udpService ? (udpService as FfiUdpService).stats : undefined,
    applyConfig(config: Config): void {
      forwarder.applyConfig(config);
      responder.applyConfig(config);
      transfer.applyConfig(config);
      notifier?.applyConfig(config);
      // Other upstreams or another domain: what was cached may no longer be what they say.
      cache?.clear();
    },
    cacheStats: () => cache?.stats(),
    counters,
    upstreamStats: () => forwarder.upstreamStats(),
    xfrStats: transfer.stats,
    notifyStats: notifier?.stats,
    close(): Promise<void> {
      closing ??= (async () => {
        responder.close();
        transfer.close();
        await Promise.all([
          forwarder.close(),
          udpService.close(),
          tcpService.close(),
          notifier?.close(),
        ]);
      })();
      return closing;
    },
  };
}

/**
 * The NOTIFY sender for `NotifySecondaries` (undefined without any), following every
 * publish. First asks the secondaries for their serials, so that after a restart our
 * serial starts above theirs: a server that published faster than once a second ran its
 * serial ahead of the clock, and a secondary ignores a primary whose serial is not greater
 * than its own (RFC 1982 comparison).
 */
async function startNotifier(config: Config, holder: SnapshotHolder): Promise<Notifier | undefined> {
  const secondaries = config.NotifySecondaries ?? [];
  if (secondaries.length === 0) return undefined;
  const notifier = new Notifier({
    domain: config.Domain.toLowerCase().replace(/\.+$/, ""),
    secondaries,
    serial: () => holder.current()?.serial,
  });
  const now = Math.floor(Date.now() / 1000);
  for (const serial of await notifier.secondarySerials()) {
    if (serialGreater(serial, Math.max(now, holder.current()?.serial ?? 0))) {
      log.info("a secondary has serial {serial}, ahead of ours: serials continue above it", { serial });
      holder.serialAbove(serial);
    }
  }
  const unsubscribe = holder.subscribe(() => notifier.changed());
  const close = notifier.close.bind(notifier);
  notifier.close = () => {
    unsubscribe();
    return close();
  };
  return notifier;
}
