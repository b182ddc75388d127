/**
 * The Go original under the bench (owns: writing its config.json, starting the built
 * binary given with `--original PATH` as its docs say, waiting until it answers DNS, and
 * stopping it). The original opens its DNS port only after its first state reload.
 */
import { startServerProcess } from "./server_process.ts";
import { udpQuery } from "./dns_probe.ts";

export interface OriginalOptions {
  /** The built Go mesos-dns binary. */
  path: string;
  /** Directory for its config.json. */
  dir: string;
  masters: readonly string[];
  dnsPort: number;
  httpPort: number;
  /** Upstream resolvers `ip:port` (forwarding on), or none (forwarding off). */
  resolvers?: readonly string[];
}

/** A running original. */
export interface OriginalServer {
  readonly pid: number;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the original and resolves once it answers `leader.mesos.` (its first state has loaded). */
export async function startOriginal(o: OriginalOptions): Promise<OriginalServer> {
  const config = {
    masters: o.masters,
    refreshSeconds: 600,
    ttl: 60,
    domain: "mesos",
    port: o.dnsPort,
    resolvers: o.resolvers ?? [],
    timeout: 5,
    listener: "127.0.0.1",
    SOAMname: "ns1.mesos",
    SOARname: "root.ns1.mesos",
    httpon: true,
    dnson: true,
    httpport: o.httpPort,
    externalon: (o.resolvers ?? []).length > 0,
    IPSources: ["netinfo", "mesos", "host"],
  };
  await Deno.mkdir(o.dir, { recursive: true });
  const file = `${o.dir}/config.json`;
  await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
  const server = await startServerProcess({
    cmd: o.path,
    args: [`-config=${file}`, "-logtostderr"],
    name: `the original (${o.path})`,
    readiness: "answer leader.mesos.",
    ready: async () => (await udpQuery(o.dnsPort, "leader.mesos.", "A", 300)).rcode === "NOERROR",
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  return { pid: server.pid, port: o.dnsPort, output: server.output, stop: server.stop };
}
