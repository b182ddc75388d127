/**
 * `deno task demo` (owns: the one-command tour). Starts the Mesos master simulator with a
 * generated cluster and mesos-dns on unprivileged ports, both as child processes exactly
 * as an operator would run them, prints what to try, and stops both on Ctrl-C. mesos-dns follows
 * the leading master's event stream (`StateSource` auto), so a killed or launched task changes
 * DNS at once; `--refresh` only matters while no stream is open.
 *
 * Options: --dns-port (8053), --http-port (8123), --master-port (5050; 0 = any free port),
 * --tasks (60), --agents (5), --frameworks (3), --refresh (5 seconds).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "dns-port": { type: "string", default: "8053" },
    "http-port": { type: "string", default: "8123" },
    "master-port": { type: "string", default: "5050" },
    tasks: { type: "string", default: "60" },
    agents: { type: "string", default: "5" },
    frameworks: { type: "string", default: "3" },
    refresh: { type: "string", default: "5" },
  },
});

const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();

/** Reads the child's stdout line by line until `match` returns a value; the rest is echoed. */
async function firstMatchingLine<T>(
  child: Deno.ChildProcess,
  match: (line: string) => T | undefined,
): Promise<T> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error("simulator exited before it was ready");
    buf += value;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = match(line);
      if (m !== undefined) {
        // Keep draining (and echoing) the rest in the background.
        (async () => {
          for (let r = await reader.read(); !r.done; r = await reader.read()) {
            await Deno.stdout.write(new TextEncoder().encode(r.value));
          }
        })().catch(() => {});
        return m;
      }
    }
  }
}

function portFree(port: number): boolean {
  try {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
    return true;
  } catch {
    return false;
  }
}

let masterPort = Number(values["master-port"]);
if (masterPort !== 0 && !portFree(masterPort)) {
  console.log(`port ${masterPort} is busy; the simulated master takes a free port instead`);
  masterPort = 0;
}

const sim = new Deno.Command(deno, {
  args: [
    "run",
    "--allow-net",
    "--allow-read",
    "scripts/mesos_sim.ts",
    "--port",
    String(masterPort),
    "--masters",
    "3",
    "--frameworks",
    values.frameworks,
    "--agents",
    values.agents,
    "--tasks",
    values.tasks,
    "--seed",
    "1",
  ],
  cwd: root,
  stdout: "piped",
  stderr: "inherit",
}).spawn();

interface SimReady {
  masters: string[];
  leader: number;
  control: string;
}
const ready = await firstMatchingLine<SimReady>(sim, (line) => {
  try {
    const v = JSON.parse(line);
    return Array.isArray(v?.masters) ? v as SimReady : undefined;
  } catch {
    return undefined;
  }
});

const dnsPort = values["dns-port"];
const httpPort = values["http-port"];
const dns = new Deno.Command(deno, {
  args: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env=HOME,USERPROFILE",
    "--allow-sys=networkInterfaces",
    "--allow-ffi",
    "main.ts",
    `--masters=${ready.masters.join(",")}`,
    "--domain=mesos",
    "--listener=127.0.0.1",
    `--port=${dnsPort}`,
    "--httplistener=127.0.0.1",
    `--httpport=${httpPort}`,
    `--refreshSeconds=${values.refresh}`,
    "-v=1",
  ],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).spawn();

// Wait until mesos-dns has loaded the first state.
const deadline = Date.now() + 20_000;
let isReady = false;
while (Date.now() < deadline && !isReady) {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/ready`);
    isReady = res.ok;
    await res.body?.cancel();
  } catch {
    // not listening yet
  }
  if (!isReady) await new Promise((r) => setTimeout(r, 200));
}

// Pick a running task to show.
let example = "";
let exampleSrv = "";
try {
  const axfr = await (await fetch(`http://127.0.0.1:${httpPort}/v1/axfr`)).json();
  // A plain task service: `_name._tcp.framework.mesos.`, lower-case (not a legacy DiscoveryInfo name).
  const srvNames = Object.keys(axfr.Records.SRVs).filter((n) =>
    /^_[a-z0-9-]+\._tcp\.[a-z0-9.-]+\.$/.test(n) && !/^_(leader|slave|master|framework)\./.test(n) &&
    !n.includes(".slave.")
  );
  exampleSrv = srvNames[0] ?? "_leader._tcp.mesos.";
  const target = axfr.Records.SRVs[exampleSrv]?.[0]?.split(":")[0] ?? "leader.mesos.";
  const parts = exampleSrv.split(".");
  example = `${parts[0].slice(1)}.${parts.slice(2).join(".")}`;
  if (!axfr.Records.As[example]) example = target;
} catch {
  example = "leader.mesos.";
  exampleSrv = "_leader._tcp.mesos.";
}

// A task behind the example name, to kill, and the framework to launch a task in.
let exampleTask = "<task id from /v1/enumerate>";
let framework = "marathon";
try {
  const en = await (await fetch(`http://127.0.0.1:${httpPort}/v1/enumerate`)).json() as {
    frameworks: Array<
      { name: string; tasks: Array<{ id: string; records: Array<{ name: string }> | null }> }
    >;
  };
  for (const fw of en.frameworks ?? []) {
    const t = fw.tasks.find((t) => (t.records ?? []).some((r) => r.name === example));
    if (t) {
      exampleTask = t.id;
      framework = fw.name;
    }
  }
} catch {
  // the placeholder stays
}

console.log(`
mesos-dns demo is ${isReady ? "running" : "starting (no state loaded yet)"}:
  simulated Mesos masters: ${ready.masters.join(", ")} (leader: ${ready.masters[ready.leader]})
  mesos-dns DNS on 127.0.0.1:${dnsPort} (UDP and TCP), HTTP API on 127.0.0.1:${httpPort}

Try:
  dig @127.0.0.1 -p ${dnsPort} leader.mesos
  dig @127.0.0.1 -p ${dnsPort} ${example}
  dig @127.0.0.1 -p ${dnsPort} SRV ${exampleSrv}
  dig @127.0.0.1 -p ${dnsPort} master.mesos +tcp
  curl http://127.0.0.1:${httpPort}/v1/enumerate
  curl http://127.0.0.1:${httpPort}/v1/services/${exampleSrv}
  open http://127.0.0.1:${httpPort}/ in a browser      # the status page (search: /?q=...)

Change the cluster: mesos-dns follows the leading master's event stream, so DNS changes at once:
  curl -X POST '${ready.control}/kill?task=${exampleTask}'
      # then at once: dig @127.0.0.1 -p ${dnsPort} ${example}   (that task's address is gone)
  curl -X POST '${ready.control}/launch?name=hello&framework=${framework}'
      # then at once: dig @127.0.0.1 -p ${dnsPort} hello.${framework}.mesos
  curl -X POST '${ready.control}/leader?index=1'
      # the stream moves to the new leader: dig @127.0.0.1 -p ${dnsPort} SRV _leader._tcp.mesos
  curl -s http://127.0.0.1:${httpPort}/metrics | grep stream

Press Ctrl-C to stop.
`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping mesos-dns and the simulator...");
  for (const child of [dns, sim]) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.allSettled([dns.status, sim.status]);
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

const first = await Promise.race([dns.status.then(() => "mesos-dns"), sim.status.then(() => "simulator")]);
if (!stopping) {
  console.error(`${first} exited unexpectedly; stopping`);
  await stop();
}
