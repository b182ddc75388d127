/**
 * The DNS server (owns: binding UDP and TCP on the same address and port, wiring the
 * responder and forwarder to both listeners, and shutting everything down).
 */
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import type { SnapshotHolder } from "../records/snapshot.ts";
import { Forwarder } from "./forwarder.ts";
import { Responder } from "./respond.ts";
import { serveTcp } from "./tcp_server.ts";
import { serveUdp } from "./udp_server.ts";

const log = logger("dns");

export interface DnsServerOptions {
  hostname: string;
  port: number;
  config: Config;
  holder: SnapshotHolder;
  tcpIdleTimeoutMs?: number;
}

export interface DnsServer {
  readonly port: number;
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
 * Starts the DNS server on UDP and TCP at `hostname:port` (port 0: a free port that both
 * can bind). Answers follow the holder's snapshots; before the first one, names in the
 * domain get SERVFAIL.
 */
// deno-lint-ignore require-await -- async by contract; binding happens to be synchronous in Deno.
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { tcp, udp } = bind(opts.hostname, opts.port);
  const port = tcp.addr.port;
  const forwarder = new Forwarder(opts.config);
  const responder = new Responder({ config: opts.config, holder: opts.holder, forwarder });
  const udpService = serveUdp(udp, responder);
  const tcpService = serveTcp(tcp, responder, { idleTimeoutMs: opts.tcpIdleTimeoutMs });
  log.info("DNS server listening on {host}:{port} (UDP and TCP)", { host: opts.hostname, port });
  let closing: Promise<void> | undefined;
  return {
    port,
    close(): Promise<void> {
      closing ??= (async () => {
        responder.close();
        forwarder.close();
        await Promise.all([udpService.close(), tcpService.close()]);
      })();
      return closing;
    },
  };
}
