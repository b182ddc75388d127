/**
 * `deno task bench` (owns: the benchmark run from start to end). Starts the Mesos master
 * simulator with a generated cluster, mesos-dns (one process per UDP engine, started as
 * an operator would) and Knot (Debian) as the reference authoritative server serving the
 * same records from a zone file written from `/v1/axfr`; drives each with dnsperf on the
 * same query file, for a fixed time per client count and, `--rate-runs` times, at a fixed
 * rate; prints a markdown report on stdout (progress goes to stderr).
 *
 *   deno task bench [--tasks 10000] [--duration 10] [--clients 1,4,16] [--rate 20000] [--rate-runs 3]
 *                   [--engines portable,ffi] [--warmup 2] [--refresh 600] [--queries 100000]
 *                   [--agents N] [--frameworks 5] [--seed 1] [--compare 200]
 *                   [--deno-flags=--allow-ffi]
 *                   [--scenarios qps,scale] [--original PATH] [--scale-tasks 10000,50000,100000]
 *                   [--scale-load 10] [--scale-clients 4] [--scale-refresh 1]
 *                   [--forward-duration 8] [--forward-clients 4] [--unique-names 2000000]
 *                   [--burst-rounds 20] [--burst-size 500]
 *                   [--launches 200] [--update-tasks 1000] [--update-interval 50] [--update-load 10000]
 *
 * Scenarios (default: all): `qps` (below, this file) and `scale` (scripts/bench/scale.ts:
 * time to first answer and peak RSS at each `--scale-tasks` size, then `--scale-load`
 * seconds of dnsperf while updates land at the largest; with `--original`, the Go
 * original in the same run), `forward` (names outside the domain forwarded to a Knot
 * upstream, 1,000 names asked again and again, then names never asked before; with
 * `--original`, the Go original forwarding to the same Knot; scripts/bench/forward.ts)
 * and `burst` (one client's burst, then another client's query; plain, EDNS and
 * malformed bursts; scripts/bench/burst.ts), and `update`
 * (scripts/bench/update.ts: update latency, task launched on the master → first DNS answer
 * with it, under dnsperf load; ours at the default refreshSeconds, the original at 1).
 *
 * `--engines` lists values for mesos-dns's `--DNSUDPEngine` flag; each is run in turn,
 * and one that does not start (e.g. a build without the flag) is skipped with a note.
 * Without `--engines`, mesos-dns runs without the flag (its default engine). mesos-dns
 * gets the `start` task's `deno run` flags; `--deno-flags` adds some (space-separated),
 * e.g. a permission the start task does not grant yet; the report says so.
 * All servers run side by side, but only one is under load at a time: each load point
 * is run against every server in turn (Knot first), so the servers compared at one load
 * see the same background load of the machine. mesos-dns reloads the state every
 * `--refresh` seconds (default 600, so that no reload falls inside a measurement).
 */
import { parseArgs } from "node:util";
import { startSimulator } from "./sim/master_server.ts";
import { compareServers } from "./bench/dns_probe.ts";
import { runDnsperf } from "./bench/dnsperf.ts";
import { type AxfrDoc, currentUser, type KnotServer, startKnot, zoneFileFromAxfr } from "./bench/knot.ts";
import { type MesosDnsServer, StartFailed, startMesosDns } from "./bench/mesos_dns.ts";
import { freeDnsPort } from "./bench/ports.ts";
import { clockTicksPerSecond, sampleProcess } from "./bench/proc.ts";
import { buildQueryFile, type EnumerateDoc } from "./bench/query_file.ts";
import { runScale } from "./bench/scale.ts";
import { burstReport, runBurstScenario } from "./bench/burst.ts";
import { forwardReport, runForwardScenario, startForwardSetup } from "./bench/forward.ts";
import { runUpdateScenario } from "./bench/update.ts";
import {
  combineRuns,
  type Point,
  ratioTable,
  rcodeLines,
  resultsTable,
  tailLines,
  targetLines,
} from "./bench/report.ts";

const USAGE = "usage: bench.ts [--scenarios qps,scale] [--original PATH] [--tasks N] [--duration S] " +
  "[--clients 1,4,16] [--rate Q] [--engines a,b] [--warmup S] [--refresh S] [--queries N] [--agents N] " +
  "[--frameworks N] [--seed N] [--compare N] [--deno-flags FLAGS] [--rate-runs N] " +
  "[--scale-tasks 10000,50000,100000] [--scale-load S] [--scale-clients N] [--scale-refresh S] " +
  "[--forward-duration S] [--forward-clients N] [--unique-names N] [--burst-rounds N] [--burst-size N] " +
  "[--launches N] [--update-tasks N] [--update-interval MS] [--update-load Q]";

interface BenchOptions {
  tasks: number;
  agents: number;
  frameworks: number;
  seed: number;
  duration: number;
  clients: number[];
  rate: number;
  /** How many times the fixed-rate point is run per server (its p99 is their median). */
  rateRuns: number;
  engines: Array<string | undefined>;
  warmup: number;
  refresh: number;
  queries: number;
  compare: number;
  denoFlags: string[];
  /** Which scenarios run (`SCENARIOS`), in their order there. */
  scenarios: string[];
  /** The built Go original, for the scenarios that compare with it. */
  original?: string;
  scaleTasks: number[];
  scaleLoad: number;
  scaleClients: number;
  scaleRefresh: number;
  forwardDuration: number;
  forwardClients: number;
  uniqueNames: number;
  burstRounds: number;
  burstSize: number;
  launches: number;
  updateTasks: number;
  updateIntervalMs: number;
  updateLoad: number;
}

/** The scenarios, each in its own module under scripts/bench/ (`qps` is this file's). */
const SCENARIOS = ["qps", "scale", "forward", "burst", "update"];

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parseOptions(argv: string[]): BenchOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        tasks: { type: "string", default: "10000" },
        agents: { type: "string" },
        frameworks: { type: "string", default: "5" },
        seed: { type: "string", default: "1" },
        duration: { type: "string", default: "10" },
        clients: { type: "string", default: "1,4,16" },
        rate: { type: "string", default: "20000" },
        "rate-runs": { type: "string", default: "3" },
        engines: { type: "string", default: "" },
        warmup: { type: "string", default: "2" },
        refresh: { type: "string", default: "600" },
        queries: { type: "string", default: "100000" },
        compare: { type: "string", default: "200" },
        "deno-flags": { type: "string", default: "" },
        scenarios: { type: "string", default: SCENARIOS.join(",") },
        original: { type: "string" },
        "scale-tasks": { type: "string", default: "10000,50000,100000" },
        "scale-load": { type: "string", default: "10" },
        "scale-clients": { type: "string", default: "4" },
        "scale-refresh": { type: "string", default: "1" },
        "forward-duration": { type: "string", default: "8" },
        "forward-clients": { type: "string", default: "4" },
        "unique-names": { type: "string", default: "2000000" },
        "burst-rounds": { type: "string", default: "20" },
        "burst-size": { type: "string", default: "500" },
        launches: { type: "string", default: "200" },
        "update-tasks": { type: "string", default: "1000" },
        "update-interval": { type: "string", default: "50" },
        "update-load": { type: "string", default: "10000" },
      },
    }).values;
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number ≥ ${min}, got ${raw}`);
    return n;
  };
  const int = (name: string, raw: string, min: number) => {
    const n = num(name, raw, min);
    if (!Number.isInteger(n)) fail(`--${name} must be an integer, got ${raw}`);
    return n;
  };
  const tasks = int("tasks", v.tasks, 1);
  const clients = v.clients.split(",").map((c) => int("clients", c.trim(), 1));
  const engines = v.engines.split(",").map((e) => e.trim()).filter((e) => e);
  const scenarios = v.scenarios.split(",").map((e) => e.trim()).filter((e) => e);
  for (const sc of scenarios) {
    if (!SCENARIOS.includes(sc)) fail(`unknown scenario ${sc} (known: ${SCENARIOS})`);
  }
  return {
    tasks,
    agents: v.agents !== undefined ? int("agents", v.agents, 1) : Math.max(3, Math.round(tasks / 50)),
    frameworks: int("frameworks", v.frameworks, 1),
    seed: int("seed", v.seed, 0),
    duration: num("duration", v.duration, 0.1),
    clients,
    rate: int("rate", v.rate, 1),
    rateRuns: int("rate-runs", v["rate-runs"], 1),
    engines: engines.length > 0 ? engines : [undefined],
    warmup: num("warmup", v.warmup, 0),
    refresh: int("refresh", v.refresh, 1),
    queries: int("queries", v.queries, 100),
    compare: int("compare", v.compare, 0),
    denoFlags: v["deno-flags"].split(/\s+/).filter((f) => f),
    scenarios,
    original: v.original,
    scaleTasks: v["scale-tasks"].split(",").map((t) => int("scale-tasks", t.trim(), 1)),
    scaleLoad: num("scale-load", v["scale-load"], 0),
    scaleClients: int("scale-clients", v["scale-clients"], 1),
    scaleRefresh: int("scale-refresh", v["scale-refresh"], 1),
    forwardDuration: num("forward-duration", v["forward-duration"], 0.1),
    forwardClients: int("forward-clients", v["forward-clients"], 1),
    uniqueNames: int("unique-names", v["unique-names"], 1000),
    burstRounds: int("burst-rounds", v["burst-rounds"], 1),
    burstSize: int("burst-size", v["burst-size"], 1),
    launches: int("launches", v.launches, 1),
    updateTasks: int("update-tasks", v["update-tasks"], 1),
    updateIntervalMs: int("update-interval", v["update-interval"], 1),
    updateLoad: int("update-load", v["update-load"], 0),
  };
}

function progress(line: string): void {
  console.error(`bench: ${line}`);
}

async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return (dec.decode(out.stdout) + dec.decode(out.stderr)).split("\n").find((l) => /version/i.test(l))
      ?.trim() ??
      "unknown";
  } catch {
    return "not installed";
  }
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/** A server under test: where it listens and which process to read from /proc. */
interface Target {
  label: string;
  reference: boolean;
  port: number;
  pid: number;
}

/**
 * Where dnsperf writes its per-query lines: a tmpfs (`/dev/shm`) when there is one. On a
 * disk-backed directory the page cache writeback now and then stalls dnsperf's receiving
 * thread for milliseconds, which shows up as latency of whichever server is measured.
 */
async function dnsperfOutputDir(fallback: string): Promise<{ dir: string; remove: boolean }> {
  try {
    return { dir: await Deno.makeTempDir({ dir: "/dev/shm", prefix: "mesos-dns-bench-" }), remove: true };
  } catch {
    return { dir: fallback, remove: false };
  }
}

/**
 * Warms every target up, then runs each load (one unlimited run per client count, then
 * the fixed-rate run `rateRuns` times) against every target in turn, so that the servers
 * compared at one load are measured minutes apart at most, under the same background
 * load of the machine. The fixed-rate runs are combined into one point per target
 * (`combineRuns`). Returns the points grouped by target, in `targets` order.
 */
async function measure(
  targets: readonly Target[],
  o: BenchOptions,
  queryFile: string,
  tmp: string,
): Promise<Point[]> {
  const ticks = clockTicksPerSecond();
  const out = await dnsperfOutputDir(tmp);
  const outFile = `${out.dir}/dnsperf.out`;
  try {
    if (o.warmup > 0) {
      for (const t of targets) {
        progress(`${t.label}: warm-up ${o.warmup} s`);
        await runDnsperf({
          port: t.port,
          queryFile,
          seconds: o.warmup,
          clients: Math.max(...o.clients),
          outFile,
        });
      }
    }
    const loads: Array<{ clients: number; rate?: number }> = [
      ...o.clients.map((clients) => ({ clients })),
      ...Array.from({ length: o.rateRuns }, () => ({ clients: o.clients[0], rate: o.rate })),
    ];
    const points: Point[] = [];
    for (const load of loads) {
      for (const t of targets) {
        const before = await sampleProcess(t.pid, ticks);
        const r = await runDnsperf({
          port: t.port,
          queryFile,
          seconds: o.duration,
          clients: load.clients,
          maxQps: load.rate,
          outFile,
        });
        const after = await sampleProcess(t.pid, ticks);
        const p: Point = {
          server: t.label,
          reference: t.reference,
          clients: load.clients,
          rate: load.rate,
          qps: r.qps,
          avgMs: r.avgLatencyMs,
          p99Ms: r.p99LatencyMs,
          p999Ms: r.p999LatencyMs,
          sent: r.sent,
          lost: r.lost,
          cpuMicrosPerQuery: (after.cpuMicros - before.cpuMicros) / Math.max(1, r.completed),
          rssMB: after.rss / 1048576,
          peakRssMB: after.hwm / 1048576,
          rcodes: r.rcodes,
        };
        progress(
          `${t.label}, ${load.rate ? `${load.rate} q/s` : "unlimited"}, ${load.clients} clients: ` +
            `${p.qps.toFixed(0)} q/s, p99 ${p.p99Ms.toFixed(3)} ms, lost ${p.lost}, ` +
            `${p.cpuMicrosPerQuery.toFixed(1)} µs CPU/query`,
        );
        points.push(p);
      }
    }
    return targets.flatMap((t) => {
      const mine = points.filter((p) => p.server === t.label);
      const rated = mine.filter((p) => p.rate);
      return [...mine.filter((p) => !p.rate), ...(rated.length > 0 ? [combineRuns(rated)] : [])];
    });
  } finally {
    if (out.remove) await Deno.remove(out.dir, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  if (o.scenarios.includes("qps")) await runQps(o, root);
  if (o.scenarios.includes("scale")) {
    const tmp = await Deno.makeTempDir({ prefix: "mesos-dns-bench-", dir: tmpDir() });
    try {
      console.log(
        await runScale({
          root,
          sizes: o.scaleTasks,
          original: o.original,
          loadSeconds: o.scaleLoad,
          clients: o.scaleClients,
          knot: true,
          refreshSeconds: o.scaleRefresh,
          seed: o.seed,
          tmp,
          progress,
        }),
      );
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  if (o.scenarios.includes("forward") || o.scenarios.includes("burst")) {
    const tmp = await Deno.makeTempDir({ prefix: "mesos-dns-bench-", dir: tmpDir() });
    // A small cluster: mesos-dns and the original need a state to serve; the names asked are outside it.
    const sim = await startSimulator({
      generate: { tasks: 50, agents: 3, frameworks: 2, seed: o.seed },
      masters: 1,
    });
    try {
      console.log((await forwardAndBurst(o, root, sim.masters, tmp)).join("\n"));
    } finally {
      await sim.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  if (o.scenarios.includes("update")) {
    const report = await runUpdateScenario({
      root,
      tasks: o.updateTasks,
      agents: Math.max(3, Math.round(o.updateTasks / 50)),
      frameworks: o.frameworks,
      seed: o.seed,
      launches: o.launches,
      intervalMs: o.updateIntervalMs,
      probeMs: 5,
      loadQps: o.updateLoad,
      original: o.original,
      denoFlags: o.denoFlags,
      progress,
    });
    console.log(`${report}\n`);
  }
}

/**
 * The `forward` and `burst` scenarios: one Knot upstream, mesos-dns and (with
 * `--original`) the Go original forwarding to it, measured in turn; their report sections.
 */
async function forwardAndBurst(
  o: BenchOptions,
  root: string,
  masters: readonly string[],
  tmp: string,
): Promise<string[]> {
  const opts = {
    root,
    masters,
    tmp,
    outFile: `${tmp}/forward.out`,
    duration: o.forwardDuration,
    clients: o.forwardClients,
    original: o.original,
    denoFlags: o.denoFlags,
    uniqueNames: o.uniqueNames,
    progress,
  };
  const setup = await startForwardSetup(opts);
  const lines: string[] = [];
  try {
    if (o.scenarios.includes("forward")) {
      lines.push("", ...forwardReport(await runForwardScenario(setup, opts), opts));
    }
    if (o.scenarios.includes("burst")) {
      const targets = [
        { label: "mesos-dns", port: setup.ours.port, name: "leader.mesos." },
        ...(setup.original
          ? [{ label: "original (Go)", port: setup.original.port, name: "leader.mesos." }]
          : []),
        { label: "knot", port: setup.knot.port, name: "probe.fwd.test." },
      ];
      const points = await runBurstScenario(targets, { rounds: o.burstRounds, size: o.burstSize, progress });
      lines.push("", ...burstReport(points, o.burstSize));
    }
  } finally {
    await setup.stop();
  }
  return lines;
}

/** `/dev/shm` where it exists (dnsperf output on a disk stalls dnsperf itself). */
function tmpDir(): string | undefined {
  try {
    return Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
}

/** The `qps` scenario: queries per second and latency against Knot (the report above). */
async function runQps(o: BenchOptions, root: string): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "mesos-dns-bench-" });
  const notes: string[] = [];
  if (o.denoFlags.length > 0) {
    notes.push(`mesos-dns ran with \`${o.denoFlags.join(" ")}\` added to the start task's deno flags`);
  }
  const points: Point[] = [];
  const engineLabel = (e: string | undefined) => `mesos-dns (${e ?? "default engine"})`;
  let knot: KnotServer | undefined;
  const ours: Array<{ label: string; server: MesosDnsServer }> = [];
  let queryFile = "";
  let facts: string[] = [];

  progress(`generating a cluster of ${o.tasks} tasks on ${o.agents} agents`);
  const sim = await startSimulator({
    generate: { tasks: o.tasks, agents: o.agents, frameworks: o.frameworks, seed: o.seed },
    masters: 1,
    port: 0,
  });
  try {
    for (const engine of o.engines) {
      const label = engineLabel(engine);
      progress(`starting ${label}`);
      let server: MesosDnsServer;
      try {
        server = await startMesosDns({
          root,
          masters: sim.masters,
          dnsPort: freeDnsPort(),
          httpPort: freeDnsPort(),
          refreshSeconds: o.refresh,
          engine,
          extraDenoFlags: o.denoFlags,
        });
      } catch (e) {
        if (!(e instanceof StartFailed)) throw e;
        notes.push(`${label} skipped: ${e.message}`);
        progress(`${label} did not start; skipped`);
        continue;
      }
      ours.push({ label, server });
      const idle = await sampleProcess(server.pid, clockTicksPerSecond());
      notes.push(
        `${label}: RSS ${(idle.rss / 1048576).toFixed(1)} MB with the cluster loaded, before any query.`,
      );
      if (!knot) {
        // First server up: write the query file and the zone, start the reference.
        const axfr = await server.getJson("/v1/axfr") as AxfrDoc;
        const enumerate = await server.getJson("/v1/enumerate") as EnumerateDoc;
        const qf = buildQueryFile(enumerate, { total: o.queries, seed: o.seed });
        queryFile = `${tmp}/queries.txt`;
        await Deno.writeTextFile(queryFile, qf.lines.join("\n") + "\n");
        const zone = zoneFileFromAxfr(axfr);
        const zonePath = `${tmp}/${axfr.Domain}.zone`;
        await Deno.writeTextFile(zonePath, zone.text);
        progress(`zone: ${zone.records} records; starting knotd`);
        knot = await startKnot({
          dir: `${tmp}/knot`,
          port: freeDnsPort(),
          domain: axfr.Domain,
          zoneFile: zonePath,
          user: await currentUser(),
          serial: axfr.Serial,
        });
        const running = sim.cluster.runningTasks().length;
        facts = [
          `cluster: ${o.tasks} tasks generated (${running} running, the rest finished or staging), ` +
          `${o.agents} agents, ${o.frameworks} frameworks, seed ${o.seed}`,
          `zone: ${zone.records} records (A, AAAA, SRV, apex SOA and NS) from /v1/axfr serial ${axfr.Serial}` +
          (zone.skipped ? `; ${zone.skipped} out-of-zone records left out` : ""),
          `query file: ${qf.lines.length} lines, ${qf.counts.a} task A, ${qf.counts.srv} task SRV, ${qf.counts.aaaa} ` +
          `task AAAA${qf.aaaaFallback ? " (no task has AAAA records: NODATA queries on A names)" : ""}, ` +
          `${qf.counts.nxdomain} non-existent names; drawn from ${qf.names.a} A, ${qf.names.srv} SRV and ` +
          `${qf.names.aaaa} AAAA task names`,
        ];
        if (o.compare > 0) {
          const sample = qf.lines.slice(0, o.compare);
          const diffs = await compareServers(server.port, knot.port, sample);
          notes.push(
            diffs.length === 0
              ? `answers compared on ${sample.length} query lines (UDP, EDNS 4096): mesos-dns and Knot agree on rcode and data`
              : `answers differ on ${diffs.length} of ${sample.length} compared lines, e.g. ${
                diffs.slice(0, 3).join("; ")
              }`,
          );
        }
      }
    }
    if (!knot) throw new Error(`no mesos-dns engine started:\n${notes.join("\n")}`);
    const targets: Target[] = [
      { label: "knot", reference: true, port: knot.port, pid: knot.pid },
      ...ours.map(({ label, server }) => ({ label, reference: false, port: server.port, pid: server.pid })),
    ];
    points.push(...await measure(targets, o, queryFile, tmp));
  } finally {
    for (const { server } of ours) await server.stop();
    await knot?.stop();
    await sim.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }

  const report = [
    "# mesos-dns bench",
    "",
    `command: \`deno task bench ${Deno.args.join(" ")}\``.replace(/ `$/, "`"),
    `machine: ${navigator.hardwareConcurrency} CPUs (${cpuModel()}), ${new Date().toISOString()}`,
    `reference: ${await versionOf("knotd", ["--version"])}, default worker threads; load: ${await versionOf(
      "dnsperf",
      ["-h"],
    )}`,
    ...facts,
    `each point: dnsperf for ${o.duration} s over UDP (-c clients, -T min(clients, 2), default 100 queries ` +
    `outstanding); the fixed-rate point adds -Q ${o.rate} and is run ${o.rateRuns} time(s) per server; ` +
    `${o.warmup} s warm-up per server first; each load is run against every server in turn before the next load`,
    "p99: nearest rank over every answered query's latency from dnsperf -v (written to /dev/shm when it exists); " +
    "at the fixed rate, the median of the runs' p99 (each run's in the targets below); server CPU per query: " +
    "utime+stime from /proc/<pid>/stat over the run ÷ queries answered; RSS: VmRSS after the run (VmHWM, the peak, " +
    "in brackets) from /proc/<pid>/status",
    "",
    resultsTable(points),
    "",
    ratioTable(points),
    "",
    "Targets (issue #6):",
    ...targetLines(points),
    "",
    "Response codes:",
    ...rcodeLines(points),
    "",
    "Tail at the fixed rate:",
    ...tailLines(points),
    ...(notes.length ? ["", "Notes:", ...notes.map((n) => `- ${n}`)] : []),
    "",
  ];
  console.log(report.join("\n"));
}

if (import.meta.main) await main();
