/**
 * Runs mesos-dns as a real child process (owns: spawning `deno run main.ts <flags>` as an
 * operator would, learning its DNS and HTTP ports from its start-up log lines, collecting
 * its output, and stopping it). Used by the end-to-end tests.
 */
import { startTaskPermissions } from "../../scripts/bench/mesos_dns.ts";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

export interface MesosDnsProcess {
  readonly pid: number;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** Everything the process wrote so far (stdout and stderr, interleaved by arrival). */
  output(): string;
  /** GET a path on the HTTP API and parse JSON. */
  getJson(path: string): Promise<unknown>;
  /** Waits until `/ready` answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sends a signal (e.g. SIGHUP to reload the configuration). */
  signal(sig: Deno.Signal): void;
  /** Whether the process has exited. */
  exited(): boolean;
  /** SIGTERM, then waits for the exit; returns the exit code. */
  stop(): Promise<number>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs main.ts to completion (for -version, --help, bad config) with a deadline. */
export async function runMesosDns(args: string[], cwd = ROOT, timeoutMs = 15_000): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The `deno run` flags of deno.json's `start` task (its permissions and V8 flags). */
export function startTaskFlags(): string[] {
  return startTaskPermissions(Deno.readTextFileSync(`${ROOT}deno.json`));
}

/**
 * Starts mesos-dns with `args` (plus `-v=1` so it logs its ports) and resolves once both
 * servers listen. Pass `--port=0 --httpport=0` to let the OS choose free ports. `denoFlags`:
 * the `deno run` flags (default `-A`; `startTaskFlags()` for what the `start` task grants).
 */
export async function startMesosDns(
  args: string[],
  cwd = ROOT,
  denoFlags: readonly string[] = ["-A"],
): Promise<MesosDnsProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...denoFlags, `${ROOT}main.ts`, "-v=1", ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const portOf = (re: RegExp) => {
    const m = text.match(re);
    return m ? Number(m[1]) : 0;
  };
  try {
    await waitFor(() => {
      if (exited) throw new Error(`mesos-dns exited early:\n${text}`);
      return portOf(/DNS server listening on [^\s]+:(\d+)/) > 0 &&
        portOf(/HTTP API listening on [^\s]+:(\d+)/) > 0;
    }, { timeoutMs: 20_000, message: "mesos-dns did not log its listening ports" });
  } catch (err) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pumps;
    throw new Error(`${(err as Error).message}\n--- output ---\n${text}`);
  }
  const dnsPort = portOf(/DNS server listening on [^\s]+:(\d+)/);
  const httpPort = portOf(/HTTP API listening on [^\s]+:(\d+)/);

  const proc: MesosDnsProcess = {
    pid: child.pid,
    dnsPort,
    httpPort,
    output: () => text,
    async getJson(path: string) {
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
      return await res.json();
    },
    async waitReady(timeoutMs = 10_000) {
      await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${httpPort}/ready`);
        await res.body?.cancel();
        return res.status === 200;
      }, { timeoutMs, message: "mesos-dns never became ready" });
    },
    signal(sig: Deno.Signal) {
      if (!exited) child.kill(sig);
    },
    exited: () => exited,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await pumps;
      return s.code;
    },
  };
  return proc;
}

/** Runs `dig` against a local server and returns its stdout. */
export async function dig(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
