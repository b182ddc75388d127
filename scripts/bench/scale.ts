/**
 * The `scale` bench scenario (owns: time to first answer and peak RSS at growing cluster
 * sizes, and query load while state updates land, for mesos-dns and, with `--original`,
 * the Go original in the same run).
 *
 * For each size a generated cluster (scripts/sim/cluster.ts; agents = tasks / 20) is
 * serialised once and served ready-made by a minimal master on a free port, so the state
 * costs the servers, not the simulator. Each server is started alone (mesos-dns with the
 * `start` task's flags, the original with `refreshSeconds: 1`) and timed from the moment
 * its first `/master/state` request arrives to the first answer for a task name (a UDP
 * query every 10 ms); its peak RSS (`VmHWM`) is read then. mesos-dns is measured twice:
 * polling (the master has no operator API), and from the event stream (the master answers
 * `SUBSCRIBE` with the same cluster as a ready-made SUBSCRIBED record, timed from that
 * request). At the largest size, each server
 * in turn then gets dnsperf load while the master alternates every second between the state
 * and one with 1% of the tasks killed (so every reload changes records), the pollers polling
 * every `refreshSeconds` second, and on the event stream the same change as events (those
 * tasks' TASK_UPDATED to TASK_KILLED, then their TASK_ADDED as running): queries per second
 * and the maximum and p99 latency. Knot then
 * serves the same names (a zone file from mesos-dns's `/v1/axfr`) under the same load without
 * updates: the tail latency the machine itself gives.
 */
import type { MesosState, MesosTask } from "../../src/mesos/state_types.ts";
import { generateRecords } from "../../src/records/generate.ts";
import { generateDocument } from "../sim/cluster.ts";
import { subscribedEvent, taskAdded, taskUpdated } from "../sim/operator_events.ts";
import { encodeRecord } from "../../src/mesos/recordio.ts";
import { runDnsperf } from "./dnsperf.ts";
import { type AxfrDoc, currentUser, startKnot, zoneFileFromAxfr } from "./knot.ts";
import { startTaskPermissions } from "./mesos_dns.ts";
import { freeDnsPort } from "./ports.ts";
import { clockTicksPerSecond, sampleProcess } from "./proc.ts";
import { buildQueryFile, type EnumerateDoc } from "./query_file.ts";

export interface ScaleOptions {
  /** Project root (deno.json, main.ts). */
  root: string;
  /** Task counts, e.g. [10000, 50000, 100000]. */
  sizes: number[];
  /** The built Go original, or undefined to measure mesos-dns alone. */
  original?: string;
  /** Seconds of dnsperf load at the largest size (0: skip the load part). */
  loadSeconds: number;
  /** dnsperf clients during the load part. */
  clients: number;
  /** Also run Knot (Debian `knot`) on the same names under the same load, as the machine's reference. */
  knot?: boolean;
  /** Seconds between state reloads during the load part. */
  refreshSeconds: number;
  seed: number;
  /** Directory for dnsperf output and the original's config file. */
  tmp: string;
  progress: (line: string) => void;
}

interface Master {
  readonly address: string;
  /** When the first `/master/state` request arrived (performance.now()), or undefined. */
  firstRequest(): number | undefined;
  resetFirst(): void;
  /** Alternate between the bodies every `ms` (0: serve the first only). */
  alternate(ms: number): void;
  /** Answer `SUBSCRIBE` with the stream body (true), or as a master without the operator API (false). */
  streamOn(on: boolean): void;
  close(): Promise<void>;
}

/**
 * A master serving pre-serialised states (the first, or alternating between them), and
 * with `streamOn(true)` the operator API's event stream: `stream` (a RecordIO SUBSCRIBED
 * record), then, while it alternates, `events[0]`, `events[1]`, ... in turn at each change
 * (the stream stays open until `close`).
 */
function serveStates(bodies: Uint8Array[], stream: Uint8Array, events: Uint8Array[], port: number): Master {
  let first: number | undefined;
  let current = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let streaming = false;
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/v1") {
      if (!streaming) return new Response("no operator API here", { status: 404 });
      first ??= performance.now();
      let ctrl: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => {
          ctrl = c;
          open.add(c);
          c.enqueue(stream as Uint8Array<ArrayBuffer>);
        },
        cancel: () => {
          open.delete(ctrl);
        },
      });
      return new Response(body, { headers: { "content-type": "application/recordio" } });
    }
    if (path !== "/master/state" && path !== "/master/state.json" && path !== "/state.json") {
      return new Response("not found", { status: 404 });
    }
    first ??= performance.now();
    return new Response(bodies[current] as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/json" },
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    firstRequest: () => first,
    resetFirst: () => {
      first = undefined;
    },
    alternate: (ms) => {
      clearInterval(timer);
      current = 0;
      let batch = 0;
      if (ms > 0) {
        timer = setInterval(() => {
          current = (current + 1) % bodies.length;
          for (const c of open) c.enqueue(events[batch] as Uint8Array<ArrayBuffer>);
          batch = (batch + 1) % events.length;
        }, ms);
      }
    },
    streamOn: (on) => {
      streaming = on;
    },
    close: async () => {
      clearInterval(timer);
      for (const c of open) c.close();
      open.clear();
      await server.shutdown();
    },
  };
}

/** A UDP A query for `name` (id 0x5ca1), answered with at least one A record? */
function probe(name: string): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".");
  const q = [0x5c, 0xa1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const l of labels) q.push(l.length, ...new TextEncoder().encode(l));
  q.push(0, 0, 1, 0, 1);
  return new Uint8Array(q);
}

/** Asks `port` for `name` every 10 ms until an answer with records comes; resolves with the time. */
async function firstAnswer(
  port: number,
  name: string,
  deadline: number,
  alive: () => boolean,
): Promise<number> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const query = probe(name);
  let answeredAt: number | undefined;
  const receiving = (async () => {
    while (answeredAt === undefined) {
      const [b] = await sock.receive();
      // NOERROR with ANCOUNT > 0.
      if (b.length > 12 && (b[3] & 0x0f) === 0 && ((b[6] << 8) | b[7]) > 0) answeredAt = performance.now();
    }
  })().catch(() => {});
  try {
    while (answeredAt === undefined) {
      if (performance.now() > deadline || !alive()) throw new Error(`no answer for ${name} in time`);
      await sock.send(query, { transport: "udp", hostname: "127.0.0.1", port });
      await new Promise((r) => setTimeout(r, 10));
    }
    return answeredAt;
  } finally {
    sock.close();
    await receiving;
  }
}

/** Peak RSS (VmHWM) of `pid` in MB (read through `cat`: Deno reads other processes' /proc only with -A). */
async function peakRssMB(pid: number): Promise<number> {
  return (await sampleProcess(pid, clockTicksPerSecond())).hwm / 1048576;
}

interface Running {
  pid: number;
  port: number;
  /** The HTTP API's port. */
  http: number;
  alive: () => boolean;
  stop: () => Promise<void>;
  output: () => string;
}

function spawn(cmd: string, args: string[], cwd: string, port: number, http: number): Running {
  const child = new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  let text = "";
  let done = false;
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text = (text + chunk).slice(-10_000);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  return {
    pid: child.pid,
    port,
    http,
    alive: () => !done,
    output: () => text,
    stop: async () => {
      if (!done) child.kill("SIGTERM");
      await status;
      await pumps;
    },
  };
}

/** mesos-dns as the `start` task runs it. */
async function startOurs(o: ScaleOptions, master: string, refresh: number): Promise<Running> {
  const perms = startTaskPermissions(await Deno.readTextFile(`${o.root}/deno.json`));
  const port = freeDnsPort();
  const http = freeDnsPort();
  return spawn(
    Deno.execPath(),
    [
      "run",
      ...perms,
      "main.ts",
      `--masters=${master}`,
      `--port=${port}`,
      "--listener=127.0.0.1",
      `--httpport=${http}`,
      "--httplistener=127.0.0.1",
      `--refreshSeconds=${refresh}`,
      "--externalon=false",
    ],
    o.root,
    port,
    http,
  );
}

/** The Go original with a config file of its keys. */
async function startOriginal(o: ScaleOptions, master: string, refresh: number): Promise<Running> {
  const port = freeDnsPort();
  const http = freeDnsPort();
  const config = `${o.tmp}/original-${port}.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      masters: [master],
      refreshSeconds: refresh,
      port,
      httpport: http,
      listener: "127.0.0.1",
      externalon: false,
      resolvers: ["127.0.0.1"],
      domain: "mesos",
    }),
  );
  return spawn(o.original!, ["-config", config], o.tmp, port, http);
}

/** The state with leader fields pointing at `master`, and one with 1% of its running tasks killed. */
function states(
  tasks: number,
  seed: number,
  master: string,
): { docs: MesosState[]; probe: string; enumerate: EnumerateDoc; stream: Uint8Array; events: Uint8Array[] } {
  const doc = generateDocument({ frameworks: 5, agents: Math.max(1, Math.round(tasks / 20)), tasks, seed });
  doc.leader = `master@${master}`;
  doc.pid = doc.leader;
  const rs = generateRecords({
    state: doc,
    masters: [master],
    options: {
      domain: "mesos",
      enforceRFC952: false,
      ipSources: ["netinfo", "mesos", "host"],
      soaMname: "ns1.mesos.",
    },
    nameServerIPs: [],
    resolved: new Map(),
  });
  const enumerate = { frameworks: rs.frameworks } as unknown as EnumerateDoc;
  let probeName = "";
  for (const f of rs.frameworks ?? []) {
    for (const t of f.tasks) {
      const r = t.records?.find((r) => r.rtype === "A" && /^[a-z0-9.-]+$/.test(r.name));
      if (r) {
        probeName = r.name;
        break;
      }
    }
    if (probeName) break;
  }
  const changed = structuredClone(doc);
  // The same change as events: those tasks killed (TASK_UPDATED), then listed again running (TASK_ADDED).
  let kills = "";
  let revivals = "";
  let n = 0;
  for (const [fi, f] of (changed.frameworks ?? []).entries()) {
    for (const [ti, t] of ((f.tasks ?? []) as MesosTask[]).entries()) {
      if (t.state !== "TASK_RUNNING" || n++ % 100 !== 50) continue;
      t.state = "TASK_KILLED";
      const was = doc.frameworks![fi].tasks![ti];
      kills += encodeRecord(JSON.stringify(taskUpdated(was, { state: "TASK_KILLED", timestamp: 2e9 })));
      revivals += encodeRecord(JSON.stringify(taskAdded(was as MesosTask & Record<string, unknown>)));
    }
  }
  const stream = new TextEncoder().encode(encodeRecord(JSON.stringify(subscribedEvent(doc, 15))));
  const events = [new TextEncoder().encode(kills), new TextEncoder().encode(revivals)];
  return { docs: [doc, changed], probe: probeName, enumerate, stream, events };
}

/** mesos-dns measured on the event stream's SUBSCRIBED snapshot instead of a polled state. */
const STREAMED = "mesos-dns (event stream)";
const ORIGINAL = "Go original";
const KNOT = "Knot (same names, no updates)";

export interface BuildResult {
  server: string;
  tasks: number;
  stateMB: number;
  seconds: number;
  rssMB: number;
}

export interface LoadResult {
  server: string;
  qps: number;
  maxMs: number;
  p99Ms: number;
  lost: number;
  reloads: string;
}

/**
 * Knot serving the same names (a zone file from mesos-dns's `/v1/axfr`), under the same
 * dnsperf load, without updates: the machine's own tail latency, for reference.
 */
async function knotUnderLoad(o: ScaleOptions, axfr: AxfrDoc, queryFile: string): Promise<LoadResult> {
  const zone = zoneFileFromAxfr(axfr);
  const zonePath = `${o.tmp}/scale-${axfr.Domain}.zone`;
  await Deno.writeTextFile(zonePath, zone.text);
  o.progress(`scale: Knot (${zone.records} records) under dnsperf for ${o.loadSeconds} s, no updates`);
  const knot = await startKnot({
    dir: `${o.tmp}/scale-knot`,
    port: freeDnsPort(),
    domain: axfr.Domain,
    zoneFile: zonePath,
    user: await currentUser(),
    serial: axfr.Serial,
  });
  try {
    const r = await runDnsperf({
      port: knot.port,
      queryFile,
      seconds: o.loadSeconds,
      clients: o.clients,
      outFile: `${o.tmp}/scale-dnsperf.out`,
    });
    return {
      server: KNOT,
      qps: r.qps,
      maxMs: r.maxLatencyMs,
      p99Ms: r.p99LatencyMs,
      lost: r.lost,
      reloads: "none",
    };
  } finally {
    await knot.stop();
  }
}

/** Runs the scenario; returns the markdown report. */
export async function runScale(o: ScaleOptions): Promise<string> {
  const builds: BuildResult[] = [];
  const loads: LoadResult[] = [];
  const servers: Array<[string, (m: string, r: number) => Promise<Running>]> = [
    ["mesos-dns", (m, r) => startOurs(o, m, r)],
    [STREAMED, (m, r) => startOurs(o, m, r)],
  ];
  if (o.original) servers.push([ORIGINAL, (m, r) => startOriginal(o, m, r)]);
  const largest = Math.max(...o.sizes);
  for (const tasks of o.sizes) {
    o.progress(`scale: generating a cluster of ${tasks} tasks`);
    const masterPort = freeDnsPort();
    const address = `127.0.0.1:${masterPort}`;
    const { docs, probe, enumerate, stream, events } = states(tasks, o.seed, address);
    const bodies = docs.map((d) => new TextEncoder().encode(JSON.stringify(d)) as Uint8Array<ArrayBuffer>);
    const master = serveStates(bodies, stream, events, masterPort);
    try {
      for (const [name, start] of servers) {
        master.resetFirst();
        master.alternate(0);
        master.streamOn(name === STREAMED);
        // mesos-dns reloads at start; the original only after its first refresh period.
        const refresh = name === ORIGINAL ? 1 : 600;
        const size = name === STREAMED ? stream.length : bodies[0].length;
        o.progress(`scale: ${name} loading ${tasks} tasks (${(size / 1e6).toFixed(0)} MB)`);
        const s = await start(address, refresh);
        try {
          const answered = await firstAnswer(s.port, probe, performance.now() + 300_000, s.alive);
          const fetched = master.firstRequest() ?? NaN;
          builds.push({
            server: name,
            tasks,
            stateMB: size / 1e6,
            seconds: (answered - fetched) / 1000,
            rssMB: await peakRssMB(s.pid),
          });
        } catch (e) {
          o.progress(`scale: ${name} failed: ${e}\n${s.output().slice(-2000)}`);
        } finally {
          await s.stop();
        }
      }
      master.streamOn(false);
      if (tasks === largest && o.loadSeconds > 0) {
        let axfr: AxfrDoc | undefined;
        const queries = buildQueryFile(enumerate, { total: 100_000, seed: o.seed });
        const file = `${o.tmp}/scale-queries.txt`;
        await Deno.writeTextFile(file, queries.lines.join("\n") + "\n");
        for (const [name, start] of servers) {
          master.alternate(0);
          master.resetFirst();
          master.streamOn(name === STREAMED);
          const s = await start(address, o.refreshSeconds);
          try {
            await firstAnswer(s.port, probe, performance.now() + 300_000, s.alive);
            master.alternate(1000);
            o.progress(`scale: ${name} under dnsperf for ${o.loadSeconds} s while the state changes`);
            const r = await runDnsperf({
              port: s.port,
              queryFile: file,
              seconds: o.loadSeconds,
              clients: o.clients,
              outFile: `${o.tmp}/scale-dnsperf.out`,
            });
            loads.push({
              server: name,
              qps: r.qps,
              maxMs: r.maxLatencyMs,
              p99Ms: r.p99LatencyMs,
              lost: r.lost,
              reloads: name === STREAMED
                ? "events each second (1% of the tasks killed, then listed again)"
                : `every ${o.refreshSeconds} s`,
            });
            if (name === "mesos-dns" && o.knot) {
              const res = await fetch(`http://127.0.0.1:${s.http}/v1/axfr`);
              axfr = await res.json() as AxfrDoc;
            }
          } catch (e) {
            o.progress(`scale: ${name} load failed: ${e}\n${s.output().slice(-2000)}`);
          } finally {
            master.alternate(0);
            master.streamOn(false);
            await s.stop();
          }
        }
        if (axfr) loads.push(await knotUnderLoad(o, axfr, file));
      }
    } finally {
      await master.close();
    }
  }
  return report(builds, loads, o);
}

/** Issue 11's targets at 100,000 tasks. */
export const SCALE_TARGETS = { tasks: 100_000, firstAnswerSeconds: 1, peakRssMB: 500, maxLatencyMs: 10 };

/**
 * One line per issue-11 target that this run measured (the first answer and peak RSS at
 * 100,000 tasks, and the load part's maximum latency and queries per second there), for each
 * mesos-dns source: met or not, with the original's and Knot's figures beside them.
 */
export function scaleTargetLines(
  builds: readonly BuildResult[],
  loads: readonly LoadResult[],
  loadTasks: number,
  t = SCALE_TARGETS,
): string[] {
  const out: string[] = [];
  const verdict = (ok: boolean) => ok ? "met" : "NOT met";
  const at = builds.filter((b) => b.tasks === t.tasks);
  const original = at.find((b) => b.server === ORIGINAL);
  const beside = original
    ? `; the original ${original.seconds.toFixed(2)} s, ${original.rssMB.toFixed(0)} MB`
    : "";
  for (const b of at.filter((x) => x.server !== ORIGINAL)) {
    out.push(
      `- ${b.server}: first answer under ${t.firstAnswerSeconds} s: ${
        verdict(b.seconds < t.firstAnswerSeconds)
      } ` +
        `(${b.seconds.toFixed(2)} s${beside})`,
      `- ${b.server}: peak RSS under ${t.peakRssMB} MB: ${verdict(b.rssMB < t.peakRssMB)} (${
        b.rssMB.toFixed(0)
      } MB)`,
    );
  }
  if (loadTasks === t.tasks) {
    const orig = loads.find((l) => l.server === ORIGINAL);
    const knot = loads.find((l) => l.server === KNOT);
    for (const l of loads.filter((x) => x.server !== ORIGINAL && x.server !== KNOT)) {
      out.push(
        `- ${l.server}: maximum latency under ${t.maxLatencyMs} ms while updates land: ` +
          `${verdict(l.maxMs < t.maxLatencyMs)} (${l.maxMs.toFixed(1)} ms` +
          (knot ? `; Knot without updates ${knot.maxMs.toFixed(1)} ms)` : ")"),
      );
      if (orig) {
        out.push(
          `- ${l.server}: more queries per second than the original: ${verdict(l.qps > orig.qps)} ` +
            `(${Math.round(l.qps).toLocaleString("en-US")} against ${
              Math.round(orig.qps).toLocaleString("en-US")
            })`,
        );
      }
    }
  }
  return out;
}

function report(builds: BuildResult[], loads: LoadResult[], o: ScaleOptions): string {
  const lines = [
    "## Scale: time to first answer and peak RSS",
    "",
    "From the first `/master/state` request (event stream: the SUBSCRIBE request) to the first answer for a " +
    "task name; peak RSS (VmHWM) then; state: the `/master/state` document, or the SUBSCRIBED record. " +
    `Generated clusters (agents = tasks / 20, seed ${o.seed}); mesos-dns with the start task's flags` +
    (o.original ? ", the Go original (refreshSeconds 1) in the same run." : "."),
    "",
    "| tasks | state | server | first answer | peak RSS |",
    "| ----: | ----: | ------ | -----------: | -------: |",
  ];
  for (const b of builds) {
    lines.push(
      `| ${b.tasks.toLocaleString("en-US")} | ${b.stateMB.toFixed(0)} MB | ${b.server} | ${
        b.seconds.toFixed(2)
      } s | ${b.rssMB.toFixed(0)} MB |`,
    );
  }
  if (loads.length > 0) {
    lines.push(
      "",
      `### Under load at ${Math.max(...o.sizes).toLocaleString("en-US")} tasks while updates land`,
      "",
      `dnsperf, ${o.clients} clients, ${o.loadSeconds} s; the master alternates every second between the state ` +
        "and one with 1% of the tasks killed (on the event stream: those tasks killed, then listed again, as " +
        "events); the pollers reload every " + `${o.refreshSeconds} s` +
        (o.knot
          ? "; Knot serves the same names from a zone file, without updates (the machine's reference)."
          : "."),
      "",
      "| server | q/s | max latency | p99 | lost |",
      "| ------ | --: | ----------: | --: | ---: |",
    );
    for (const l of loads) {
      lines.push(
        `| ${l.server} | ${Math.round(l.qps).toLocaleString("en-US")} | ${l.maxMs.toFixed(1)} ms | ${
          l.p99Ms.toFixed(2)
        } ms | ${l.lost} |`,
      );
    }
  }
  const targets = scaleTargetLines(builds, loads, loads.length > 0 ? Math.max(...o.sizes) : 0);
  if (targets.length > 0) lines.push("", "Targets (issue 11):", ...targets);
  return lines.join("\n") + "\n";
}
