/**
 * Free ports for the bench's servers (owns: finding a 127.0.0.1 port that is free for
 * both UDP and TCP, for servers that must be told their port up front).
 */

/** A port free on 127.0.0.1 for TCP and UDP at the time of the call. */
export function freeDnsPort(): number {
  for (let i = 0; i < 20; i++) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = tcp.addr.port;
    try {
      const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
      udp.close();
      return port;
    } catch {
      // taken for UDP: try another
    } finally {
      tcp.close();
    }
  }
  throw new Error("no port free for both UDP and TCP on 127.0.0.1");
}
