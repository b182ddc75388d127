/**
 * The Go original for the `update` scenario (owns: starting a built Mesos-DNS binary, `--original PATH`,
 * with a config file written for the run, waiting until it serves the cluster's records, and
 * stopping it). Only bench scenarios that compare with the original use it; no test needs it.
 */
import { startServerProcess } from "./server_process.ts";
import { udpQuery } from "./dns_probe.ts";

export interface OriginalOptions {
  /** The built binary. */
  path: string;
  masters: readonly string[];
  dnsPort: number;
  httpPort: number;
  refreshSeconds: number;
  /** Where the config file goes. */
  dir: string;
}

export interface OriginalServer {
  readonly pid: number;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the original and resolves once `leader.<domain>` answers (its first state has loaded). */
export async function startOriginal(o: OriginalOptions): Promise<OriginalServer> {
  const config = `${o.dir}/original-config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      masters: o.masters,
      refreshSeconds: o.refreshSeconds,
      port: o.dnsPort,
      httpport: o.httpPort,
      listener: "127.0.0.1",
      domain: "mesos",
      dnson: true,
      httpon: true,
      externalon: false,
      resolvers: ["127.0.0.1"],
      IPSources: ["netinfo", "mesos", "host"],
    }),
  );
  const server = await startServerProcess({
    cmd: o.path,
    args: [`-config=${config}`, "-logtostderr"],
    name: "the original",
    readiness: "serve records",
    ready: async () => (await udpQuery(o.dnsPort, "leader.mesos", "A", 300)).answers.length > 0,
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  return { pid: server.pid, port: o.dnsPort, output: server.output, stop: server.stop };
}
