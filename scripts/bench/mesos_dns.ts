/**
 * mesos-dns under the bench (owns: starting `deno run main.ts` with exactly the
 * permissions of the project's `start` task, as an operator would, waiting until it has
 * loaded the cluster, and stopping it). A process that exits at start (e.g. a flag this
 * build does not know yet) is reported with its exit code and output.
 */

/** The `deno run` flags of the `start` task in deno.json (its permissions), without main.ts. */
export function startTaskPermissions(denoJson: string): string[] {
  const start: string | undefined = JSON.parse(denoJson)?.tasks?.start;
  if (!start) throw new Error("deno.json has no start task");
  const words = start.trim().split(/\s+/);
  const run = words.indexOf("run");
  const main = words.findIndex((w) => w.endsWith("main.ts"));
  if (run < 0 || main < run) throw new Error(`unexpected start task: ${start}`);
  return words.slice(run + 1, main);
}

export interface MesosDnsOptions {
  /** Project root (holds deno.json and main.ts). */
  root: string;
  masters: readonly string[];
  dnsPort: number;
  httpPort: number;
  refreshSeconds: number;
  /** Value of `--DNSUDPEngine`, or undefined to leave the flag out. */
  engine?: string;
  /** `deno run` flags added to the start task's (e.g. a permission it lacks yet). */
  extraDenoFlags?: readonly string[];
  /** Upstream resolvers `ip:port`: forwarding on, to them (default: forwarding off). */
  resolvers?: readonly string[];
  /** More mesos-dns flags (e.g. `--DNSUDPWorkers=1`). */
  extraFlags?: readonly string[];
}

/** A running mesos-dns. */
export interface MesosDnsServer {
  readonly pid: number;
  readonly port: number;
  readonly httpPort: number;
  /** The command line it was started with. */
  readonly command: string;
  /** What it printed (the last 20 KB). */
  output(): string;
  getJson(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** mesos-dns ended before it was ready; `code` is its exit status. */
export class StartFailed extends Error {
  constructor(readonly code: number, readonly output: string) {
    super(
      `mesos-dns exited with status ${code} at start: ${output.trim().split("\n").slice(0, 3).join(" / ")}`,
    );
  }
}

/** Starts mesos-dns and resolves once `/ready` answers 200 (the cluster state is loaded). */
export async function startMesosDns(o: MesosDnsOptions): Promise<MesosDnsServer> {
  const perms = startTaskPermissions(await Deno.readTextFile(`${o.root}/deno.json`));
  const args = [
    "run",
    ...perms,
    ...(o.extraDenoFlags ?? []),
    "main.ts",
    `--masters=${o.masters.join(",")}`,
    `--port=${o.dnsPort}`,
    "--listener=127.0.0.1",
    `--httpport=${o.httpPort}`,
    "--httplistener=127.0.0.1",
    `--refreshSeconds=${o.refreshSeconds}`,
    // Nothing may be sent to the Internet: forwarding only to the bench's own upstream.
    ...(o.resolvers?.length
      ? ["--externalon=true", `--resolvers=${o.resolvers.join(",")}`]
      : ["--externalon=false"]),
    ...(o.extraFlags ?? []),
    ...(o.engine ? [`--DNSUDPEngine=${o.engine}`] : []),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: o.root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text = (text + chunk).slice(-20_000);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exitCode: number | undefined;
  const status = child.status.then((s) => {
    exitCode = s.code;
    return s;
  });
  const stop = async () => {
    if (exitCode === undefined) child.kill("SIGTERM");
    await status;
    await pumps;
  };
  const base = `http://127.0.0.1:${o.httpPort}`;
  const deadline = Date.now() + 120_000;
  while (true) {
    if (exitCode !== undefined) {
      await pumps;
      throw new StartFailed(exitCode, text);
    }
    try {
      const res = await fetch(`${base}/ready`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mesos-dns was not ready within 120 s:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    port: o.dnsPort,
    httpPort: o.httpPort,
    command: `deno ${args.join(" ")}`,
    output: () => text,
    async getJson(path: string) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`);
      } catch (e) {
        await new Promise((r) => setTimeout(r, 200)); // let its last words arrive
        throw new Error(`GET ${path} failed (${e}); mesos-dns said:\n${text.slice(-3000)}`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`GET ${path}: HTTP ${res.status}`);
      }
      return await res.json();
    },
    stop,
  };
}
