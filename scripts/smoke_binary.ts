/**
 * Smoke test of a built mesos-dns (owns: "does this binary start and answer"), run by the
 * release workflow on the Linux x86_64 binary before anything is published:
 *
 *   deno run -A scripts/smoke_binary.ts dist/mesos-dns-x86_64-unknown-linux-gnu
 *   deno run -A scripts/smoke_binary.ts --from-source    # main.ts through `deno run` with the
 *                                                        # compile task's flags (no binary needed)
 *
 * Checks `-version` prints the version, starts the project's Mesos master simulator
 * (scripts/mesos_sim.ts, serving tests/fixtures/mesos-dns-fake.json with its leader
 * rewritten to the simulated one), runs the binary against it on free local ports, and
 * waits until `dig leader.mesos` answers the leader's address and `/health` answers 200.
 * Exit 0 when all of that holds within the deadline, 1 otherwise; everything started is
 * stopped either way.
 */
import { runFlags } from "./compile.ts";
import { VERSION } from "../src/version.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DEADLINE_MS = 30_000;

function usage(): never {
  console.error("usage: smoke_binary.ts BINARY | --from-source");
  Deno.exit(2);
}

/** The command that runs mesos-dns: the binary itself, or `deno run <compile flags> main.ts`. */
function mesosDnsCommand(args: string[]): { cmd: string; args: string[] } {
  const what = Deno.args[0];
  if (what === undefined || what.startsWith("-") && what !== "--from-source") usage();
  if (what === "--from-source") {
    return { cmd: Deno.execPath(), args: ["run", ...runFlags(), `${ROOT}main.ts`, ...args] };
  }
  return { cmd: what.includes("/") ? what : `./${what}`, args };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A child whose stdout and stderr are collected; `line(re)` waits for a matching line. */
function spawn(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, { args, cwd: ROOT, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  return {
    output: () => text,
    exited: () => exited,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await pumps;
    },
  };
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function dig(port: number, name: string): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+time=1", "+tries=1", "+short", name, "A"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function main(): Promise<void> {
  const version = await new Deno.Command(mesosDnsCommand(["-version"]).cmd, {
    args: mesosDnsCommand(["-version"]).args,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const printed = new TextDecoder().decode(version.stdout).trim();
  if (version.code !== 0 || printed !== VERSION) {
    throw new Error(
      `-version: exit ${version.code}, printed ${JSON.stringify(printed)}, expected ${VERSION}`,
    );
  }
  console.log(`-version: ${printed}`);

  const sim = spawn(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "scripts/mesos_sim.ts",
    "--file",
    "tests/fixtures/mesos-dns-fake.json",
    "--rewrite-leader",
    "--port",
    "0",
  ]);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const ready = await until("the simulator's ready line", () => {
      if (sim.exited()) throw new Error(`the simulator exited:\n${sim.output()}`);
      const line = sim.output().split("\n").find((l) => l.startsWith("{"));
      return line ? JSON.parse(line) as { masters: string[] } : undefined;
    });
    const master = ready.masters[0];
    const leaderIP = master.slice(0, master.lastIndexOf(":"));
    const dnsPort = freePort();
    const httpPort = freePort();
    const run = mesosDnsCommand([
      `--masters=${master}`,
      "--listener=127.0.0.1",
      `--port=${dnsPort}`,
      "--httplistener=127.0.0.1",
      `--httpport=${httpPort}`,
      "--externalon=false",
      "--refreshSeconds=1",
      "-v=1",
    ]);
    server = spawn(run.cmd, run.args);
    const s = server;
    const answer = await until("dig leader.mesos", async () => {
      if (s.exited()) throw new Error(`mesos-dns exited:\n${s.output()}`);
      const a = await dig(dnsPort, "leader.mesos.");
      return a === leaderIP ? a : undefined;
    });
    console.log(`dig leader.mesos: ${answer}`);
    const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
    await health.body?.cancel();
    if (health.status !== 200) throw new Error(`/health answered ${health.status}`);
    console.log("/health: 200");
    console.log("smoke test passed");
  } catch (err) {
    if (server) console.error(`--- mesos-dns output ---\n${server.output()}`);
    throw err;
  } finally {
    await server?.stop();
    await sim.stop();
  }
}

try {
  await main();
} catch (err) {
  console.error(`smoke test failed: ${err instanceof Error ? err.message : String(err)}`);
  Deno.exit(1);
}
