/**
 * A `deno eval` program run as a child process (owns: spawning it with the project's
 * deno.json and optional V8 flags, reading its stdout line by line, writing lines to its
 * stdin, and stopping it: stdin closed, the exit awaited with a deadline, then SIGKILL).
 * Used by the tests that run a server in a process of its own to measure its memory.
 */

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface EvalChildOptions {
  /** V8 flags for the child (passed as `--v8-flags=a,b`). */
  v8Flags?: string[];
  /** How long `close()` waits for the exit before SIGKILL (default 10,000 ms). */
  exitTimeoutMs?: number;
}

export interface EvalChild {
  readonly child: Deno.ChildProcess;
  /** The next line the program writes to stdout, without its newline; rejects if stdout ends first. */
  nextLine(): Promise<string>;
  /** Writes `line` and a newline to the program's stdin. */
  writeLine(line?: string): Promise<void>;
  /** Closes stdin, waits for the exit (SIGKILL after the deadline), and drains stdout. */
  close(): Promise<void>;
}

/** Spawns `deno eval --quiet --config deno.json <program>`; its stderr goes to the test's. */
export function spawnEvalChild(program: string, opts: EvalChildOptions = {}): EvalChild {
  const v8 = opts.v8Flags?.length ? [`--v8-flags=${opts.v8Flags.join(",")}`] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", ...v8, "--quiet", "--config", CONFIG, program],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let buffered = "";
  return {
    child,
    async nextLine() {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the child process ended before a full line: ${buffered}`);
        buffered += value;
      }
      const line = buffered.slice(0, buffered.indexOf("\n"));
      buffered = buffered.slice(line.length + 1);
      return line;
    },
    async writeLine(line = "") {
      await stdin.write(encoder.encode(`${line}\n`));
    },
    async close() {
      await stdin.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        child.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), opts.exitTimeoutMs ?? 10_000)),
      ]);
      clearTimeout(timer);
      if (late) child.kill("SIGKILL");
      await child.status;
      while (!(await lines.read()).done) { /* drain */ }
    },
  };
}

/** Runs `fn` with the spawned program, and closes it afterwards whatever happens. */
export async function withEvalChild<T>(
  program: string,
  opts: EvalChildOptions,
  fn: (c: EvalChild) => Promise<T>,
): Promise<T> {
  const c = spawnEvalChild(program, opts);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}
