/**
 * The Go original under the bench (owns: writing its config.json, starting the built
 * binary given with `--original PATH` as its docs say, waiting until it answers DNS, and
 * stopping it). The original opens its DNS port only after its first state reload.
 */
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
  const child = new Deno.Command(o.path, {
    args: [`-config=${file}`, "-logtostderr"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text = (text + chunk).slice(-20_000);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await status;
    await pumps;
  };
  const deadline = Date.now() + 60_000;
  while (true) {
    if (exited) {
      await pumps;
      throw new Error(`the original (${o.path}) exited at start:\n${text.slice(-2000)}`);
    }
    try {
      if ((await udpQuery(o.dnsPort, "leader.mesos.", "A", 300)).rcode === "NOERROR") break;
    } catch { /* not answering yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the original did not answer within 60 s:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { pid: child.pid, port: o.dnsPort, output: () => text, stop };
}
