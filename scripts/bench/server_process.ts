/**
 * A server the bench starts as a child process (owns: spawning it with the tail of its
 * output kept, waiting until a probe says it serves, and stopping it). Used for knotd and
 * the Go original.
 */

export interface ServerProcess {
  pid: number;
  /** The last 20,000 characters of its stdout and stderr. */
  output(): string;
  /** SIGTERM (unless it has exited), then waits for it and its output to end. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  cmd: string;
  args: string[];
  /** Its name in errors, e.g. `knotd`. */
  name: string;
  /** What `ready` checks, for the error when it never holds, e.g. `answer leader.mesos`. */
  readiness: string;
  /** Resolves true once the server serves; exceptions count as "not yet". */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  intervalMs: number;
}

/** Spawns the server and resolves once `ready()` holds; stops it and throws if it exits or times out. */
export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const child = new Deno.Command(o.cmd, { args: o.args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
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
  const deadline = Date.now() + o.timeoutMs;
  while (true) {
    if (exited) {
      await pumps;
      throw new Error(`${o.name} exited at start:\n${text.slice(-2000)}`);
    }
    if (await o.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${o.name} did not ${o.readiness} within ${o.timeoutMs / 1000} s:\n${text.slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  return { pid: child.pid, output: () => text, stop };
}
