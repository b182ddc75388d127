/**
 * The bench's `update` scenario (owns: update latency, from a task launched on the simulated
 * master to the first DNS answer that has it, over many launches while dnsperf keeps the
 * server under query load; ours at the default refreshSeconds (the event stream), and the Go
 * original at `refreshSeconds: 1` when `--original` names its binary, in the same run).
 *
 * Launches are spread out (one every `intervalMs`), and every launched name not answered yet
 * is asked for every `probeMs`, so a slow server does not slow the launches down and the
 * latency is measured to within `probeMs`. Each launch gets a name of its own (`upd-<n>`).
 */
import { Buffer } from "node:buffer";
import { dnsPacket } from "../../src/dns/packet.ts";
import type { Simulator } from "../sim/master_server.ts";
import { runDnsperf } from "./dnsperf.ts";
import { freeDnsPort } from "./ports.ts";

export interface UpdateTarget {
  label: string;
  port: number;
}

export interface UpdateOptions {
  sim: Simulator;
  /** Framework (id) the tasks are launched in, and its DNS label. */
  framework: { id: string; label: string };
  domain: string;
  launches: number;
  /** Pause between two launches. */
  intervalMs: number;
  /** Pause between two rounds of questions about the names not answered yet. */
  probeMs: number;
  /** A launch not answered within this is counted as missed. */
  timeoutMs: number;
  /** dnsperf load during the launches (queries per second; 0: none). */
  loadQps: number;
  queryFile: string;
  dnsperfOut: string;
  /** Prefix of the task names (one per target, so two targets never see each other's). */
  prefix: string;
  progress?: (line: string) => void;
}

export interface UpdateResult {
  label: string;
  launches: number;
  answered: number;
  /** Latencies in ms of the answered launches, sorted. */
  latencies: number[];
  loadQps: number;
  /** Queries dnsperf got answered per second during the launches. */
  achievedQps: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Measures one server: launches while dnsperf runs, and when each name first answers. */
export async function measureUpdates(target: UpdateTarget, o: UpdateOptions): Promise<UpdateResult> {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: freeDnsPort() });
  const pending = new Map<number, { name: string; at: number }>(); // query id → launch
  const byName = new Map<string, { at: number; id: number }>();
  const latencies: number[] = [];
  let nextId = 1;
  let receiving = true;
  const receiver = (async () => {
    while (receiving) {
      let data: Uint8Array;
      try {
        [data] = await sock.receive();
      } catch {
        break;
      }
      const now = performance.now();
      // deno-lint-ignore no-explicit-any
      let msg: any;
      try {
        msg = dnsPacket.decode(Buffer.from(data));
      } catch {
        continue;
      }
      const p = pending.get(msg.id);
      if (!p) continue;
      pending.delete(msg.id);
      const launch = byName.get(p.name);
      // deno-lint-ignore no-explicit-any
      if (!launch || !(msg.answers ?? []).some((r: any) => r.type === "A")) continue;
      byName.delete(p.name);
      latencies.push(now - launch.at);
    }
  })();
  const ask = (name: string) => {
    const id = nextId = (nextId % 0xffff) + 1;
    pending.set(id, { name, at: performance.now() });
    const q = dnsPacket.encode({
      type: "query",
      id,
      flags: 0,
      // deno-lint-ignore no-explicit-any
      questions: [{ name, type: "A" as any, class: "IN" }],
    });
    sock.send(new Uint8Array(q), { transport: "udp", hostname: "127.0.0.1", port: target.port }).catch(
      () => {},
    );
  };
  const loadSeconds = (o.launches * o.intervalMs + o.timeoutMs) / 1000 + 1;
  const load = o.loadQps > 0
    ? runDnsperf({
      port: target.port,
      queryFile: o.queryFile,
      seconds: loadSeconds,
      clients: 4,
      maxQps: o.loadQps,
      outFile: o.dnsperfOut,
    })
    : null;
  // Let the load reach its rate first.
  await new Promise((r) => setTimeout(r, 500));
  const prober = setInterval(() => {
    const now = performance.now();
    for (const [name, l] of byName) if (now - l.at < o.timeoutMs) ask(name);
    if (pending.size > 5000) pending.clear();
  }, o.probeMs);
  try {
    for (let i = 0; i < o.launches; i++) {
      const name = `${o.prefix}-${i}`;
      const fqdn = `${name}.${o.framework.label}.${o.domain}.`;
      o.sim.launchTask({ name, framework: o.framework.id, network: "host" });
      const at = performance.now();
      byName.set(fqdn, { at, id: i });
      ask(fqdn);
      if ((i + 1) % 50 === 0) o.progress?.(`${target.label}: ${i + 1}/${o.launches} launched`);
      await new Promise((r) => setTimeout(r, o.intervalMs));
    }
    const deadline = performance.now() + o.timeoutMs;
    while (byName.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearInterval(prober);
    receiving = false;
    sock.close();
    await receiver;
  }
  const result = load ? await load : null;
  latencies.sort((a, b) => a - b);
  return {
    label: target.label,
    launches: o.launches,
    answered: latencies.length,
    latencies,
    loadQps: o.loadQps,
    achievedQps: result ? result.completed / Math.max(result.runSeconds, 0.001) : 0,
  };
}

/** The scenario's report section (markdown). */
export function updateReport(
  results: readonly UpdateResult[],
  o: { tasks: number; intervalMs: number; probeMs: number },
): string {
  const f = (ms: number) => Number.isFinite(ms) ? (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)) : "–";
  const lines = [
    `### Update latency (task launched on the master → first DNS answer with it)`,
    "",
    `${o.tasks} tasks in the cluster; one launch every ${o.intervalMs} ms; each unanswered name asked every ` +
    `${o.probeMs} ms (latency resolution); dnsperf load on the server meanwhile.`,
    "",
    "| server | launches | answered | p50 ms | p90 ms | p99 ms | max ms | load q/s (achieved) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.label} | ${r.launches} | ${r.answered} | ${f(percentileOf(r.latencies, 50))} | ${
        f(percentileOf(r.latencies, 90))
      } | ${f(percentileOf(r.latencies, 99))} | ${f(r.latencies.at(-1) ?? NaN)} | ${r.loadQps} (${
        Math.round(r.achievedQps)
      }) |`,
    );
  }
  const ours = results.find((r) => r.label.startsWith("mesos-dns"));
  if (ours) {
    const p99 = percentileOf(ours.latencies, 99);
    const missed = ours.launches - ours.answered;
    lines.push(
      "",
      `Target (issue 11): p99 under 250 ms at the default refreshSeconds over ≥ 200 launches: ${
        p99 < 250 && missed === 0 && ours.launches >= 200 ? "met" : "NOT met"
      } (p99 ${f(p99)} ms, ${missed} missed, ${ours.launches} launches).`,
    );
  }
  return lines.join("\n");
}

export interface UpdateScenarioOptions {
  root: string;
  tasks: number;
  agents: number;
  frameworks: number;
  seed: number;
  launches: number;
  intervalMs: number;
  probeMs: number;
  loadQps: number;
  /** The Go original's binary, measured at `refreshSeconds: 1`; none: ours only. */
  original?: string;
  denoFlags: readonly string[];
  progress: (line: string) => void;
}

/** Runs the scenario: ours at the default refreshSeconds, then the original; returns the report section. */
export async function runUpdateScenario(o: UpdateScenarioOptions): Promise<string> {
  const { startSimulator } = await import("../sim/master_server.ts");
  const { startMesosDns } = await import("./mesos_dns.ts");
  const { startOriginal } = await import("./update_original.ts");
  const { buildQueryFile } = await import("./query_file.ts");
  const tmp = await Deno.makeTempDir({ prefix: "mesos-dns-bench-update-" });
  let shm: string | undefined;
  try {
    shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "mesos-dns-bench-update-" });
  } catch { /* no tmpfs */ }
  o.progress(`update: generating a cluster of ${o.tasks} tasks on ${o.agents} agents`);
  const sim = await startSimulator({
    generate: { tasks: o.tasks, agents: o.agents, frameworks: o.frameworks, seed: o.seed },
    masters: 1,
    port: 0,
  });
  const results: UpdateResult[] = [];
  const notes: string[] = [];
  try {
    const fw = sim.state().frameworks![0];
    const common = {
      sim,
      framework: { id: fw.id!, label: fw.name!.toLowerCase() },
      domain: "mesos",
      launches: o.launches,
      intervalMs: o.intervalMs,
      probeMs: o.probeMs,
      loadQps: o.loadQps,
      queryFile: `${tmp}/queries.txt`,
      dnsperfOut: `${shm ?? tmp}/dnsperf-update.out`,
      progress: o.progress,
    };
    o.progress("update: starting mesos-dns (default refreshSeconds: 60, default stateSource: auto)");
    const ours = await startMesosDns({
      root: o.root,
      masters: sim.masters,
      dnsPort: freeDnsPort(),
      httpPort: freeDnsPort(),
      refreshSeconds: 60,
      extraDenoFlags: o.denoFlags,
    });
    try {
      const enumerate = await ours.getJson("/v1/enumerate");
      // deno-lint-ignore no-explicit-any
      const qf = buildQueryFile(enumerate as any, { total: 20_000, seed: o.seed });
      await Deno.writeTextFile(common.queryFile, qf.lines.join("\n") + "\n");
      results.push(
        await measureUpdates({ label: "mesos-dns (event stream, refreshSeconds 60)", port: ours.port }, {
          ...common,
          prefix: "upd",
          timeoutMs: 5_000,
        }),
      );
    } finally {
      await ours.stop();
    }
    if (o.original) {
      o.progress(`update: starting the original ${o.original} (refreshSeconds: 1)`);
      const orig = await startOriginal({
        path: o.original,
        masters: sim.masters,
        dnsPort: freeDnsPort(),
        httpPort: freeDnsPort(),
        refreshSeconds: 1,
        dir: tmp,
      });
      try {
        results.push(
          await measureUpdates({ label: "Go original (refreshSeconds 1)", port: orig.port }, {
            ...common,
            prefix: "orig",
            timeoutMs: 10_000,
          }),
        );
      } finally {
        await orig.stop();
      }
    } else {
      notes.push("the Go original was not measured (give its binary with --original PATH)");
    }
  } finally {
    await sim.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (shm) await Deno.remove(shm, { recursive: true }).catch(() => {});
  }
  const report = updateReport(results, { tasks: o.tasks, intervalMs: o.intervalMs, probeMs: o.probeMs });
  return notes.length ? `${report}\n\n${notes.map((n) => `- ${n}`).join("\n")}` : report;
}
