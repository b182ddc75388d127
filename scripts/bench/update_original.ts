/**
 * The Go original for the `update` scenario (owns: starting a built Mesos-DNS binary, `--original PATH`,
 * with a config file written for the run, waiting until it serves the cluster's records, and
 * stopping it). Only bench scenarios that compare with the original use it; no test needs it.
 */
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
  const child = new Deno.Command(o.path, {
    args: [`-config=${config}`, "-logtostderr"],
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
      throw new Error(`the original exited at start: ${text.slice(-2000)}`);
    }
    try {
      const r = await udpQuery(o.dnsPort, "leader.mesos", "A", 300);
      if (r.answers.length > 0) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the original served no records within 60 s:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid, port: o.dnsPort, output: () => text, stop };
}
