/**
 * The `forward` bench scenario (owns: measuring names outside the domain, forwarded to
 * one Knot upstream). Knot serves a test zone with a wildcard; mesos-dns and (with
 * `--original PATH`) the Go original forward to it; dnsperf asks each, and Knot directly
 * as the reference, two query files in turn: 1,000 names asked again and again (the
 * forward cache's case) and names never asked before (every query goes upstream).
 */
import { type KnotServer, startKnot } from "./knot.ts";
import { runDnsperf } from "./dnsperf.ts";
import { type MesosDnsServer, startMesosDns } from "./mesos_dns.ts";
import { type OriginalServer, startOriginal } from "./original.ts";
import { freeDnsPort } from "./ports.ts";
import { clockTicksPerSecond, sampleProcess } from "./proc.ts";

export interface ForwardScenarioOptions {
  root: string;
  /** Masters of the running simulator (both mesos-dns and the original load a state). */
  masters: readonly string[];
  tmp: string;
  /** Where dnsperf writes its per-query lines. */
  outFile: string;
  duration: number;
  clients: number;
  /** The built Go original, or undefined to leave it out. */
  original?: string;
  denoFlags: readonly string[];
  /** Names in the "every name new" file (enough for the fastest server's whole run). */
  uniqueNames: number;
  progress(line: string): void;
}

/** One measured point of the scenario. */
export interface ForwardPoint {
  file: "repeated" | "unique";
  server: string;
  qps: number;
  avgMs: number;
  p99Ms: number;
  lost: number;
  cpuMicrosPerQuery: number;
  rcodes: Record<string, number>;
}

export const FORWARD_ZONE = "fwd.test";

/** The upstream's zone: every name below the apex has an A record (a wildcard, TTL 300). */
export function forwardZoneFile(serial: number): string {
  const z = `${FORWARD_ZONE}.`;
  return [
    "$TTL 300",
    `${z} 300 IN SOA ns.${z} root.${z} ${serial} 60 600 86400 300`,
    `${z} 300 IN NS ns.${z}`,
    `ns.${z} 300 IN A 127.0.0.1`,
    `*.${z} 300 IN A 192.0.2.1`,
    "",
  ].join("\n");
}

/** The servers of the forwarding scenarios: a Knot upstream, mesos-dns and the original forwarding to it. */
export interface ForwardSetup {
  knot: KnotServer;
  ours: MesosDnsServer;
  original: OriginalServer | undefined;
  repeatedFile: string;
  uniqueFile: string;
  stop(): Promise<void>;
}

/** Writes the zone and query files and starts Knot, mesos-dns and (with a path) the original. */
export async function startForwardSetup(o: ForwardScenarioOptions): Promise<ForwardSetup> {
  const dir = `${o.tmp}/forward`;
  await Deno.mkdir(dir, { recursive: true });
  const serial = 1;
  const zoneFile = `${dir}/${FORWARD_ZONE}.zone`;
  await Deno.writeTextFile(zoneFile, forwardZoneFile(serial));
  const repeatedFile = `${dir}/repeated.txt`;
  await Deno.writeTextFile(
    repeatedFile,
    Array.from({ length: 1000 }, (_, i) => `r${i}.${FORWARD_ZONE} A`).join("\n") + "\n",
  );
  const uniqueFile = `${dir}/unique.txt`;
  {
    const f = await Deno.open(uniqueFile, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    for (let start = 0; start < o.uniqueNames; start += 100_000) {
      const n = Math.min(100_000, o.uniqueNames - start);
      const chunk = Array.from({ length: n }, (_, i) => `u${start + i}.${FORWARD_ZONE} A\n`).join("");
      const bytes = enc.encode(chunk);
      for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
    }
    f.close();
  }
  let knot: KnotServer | undefined;
  let ours: MesosDnsServer | undefined;
  let original: OriginalServer | undefined;
  const stop = async () => {
    await ours?.stop();
    await original?.stop();
    await knot?.stop();
  };
  try {
    knot = await startKnot({
      dir: `${dir}/knot`,
      port: freeDnsPort(),
      domain: FORWARD_ZONE,
      zoneFile,
      user: await currentUserGroup(),
      serial,
    });
    const upstream = `127.0.0.1:${knot.port}`;
    o.progress(
      `forward: Knot upstream on ${upstream}; starting mesos-dns${o.original ? " and the original" : ""}`,
    );
    ours = await startMesosDns({
      root: o.root,
      masters: o.masters,
      dnsPort: freeDnsPort(),
      httpPort: freeDnsPort(),
      refreshSeconds: 600,
      extraDenoFlags: o.denoFlags,
      resolvers: [upstream],
    });
    if (o.original) {
      original = await startOriginal({
        path: o.original,
        dir: `${dir}/original`,
        masters: o.masters,
        dnsPort: freeDnsPort(),
        httpPort: freeDnsPort(),
        resolvers: [upstream],
      });
    }
    return { knot, ours, original, repeatedFile, uniqueFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs the scenario on `s` and returns its points (Knot, mesos-dns, the original, per file). */
export async function runForwardScenario(
  s: ForwardSetup,
  o: ForwardScenarioOptions,
): Promise<ForwardPoint[]> {
  const targets = [
    { label: "knot (answering directly)", port: s.knot.port, pid: s.knot.pid },
    { label: "mesos-dns", port: s.ours.port, pid: s.ours.pid },
    ...(s.original ? [{ label: "original (Go)", port: s.original.port, pid: s.original.pid }] : []),
  ];
  const ticks = clockTicksPerSecond();
  const points: ForwardPoint[] = [];
  for (const [file, queryFile] of [["repeated", s.repeatedFile], ["unique", s.uniqueFile]] as const) {
    for (const t of targets) {
      const before = await sampleProcess(t.pid, ticks);
      const r = await runDnsperf({
        port: t.port,
        queryFile,
        seconds: o.duration,
        clients: o.clients,
        outFile: o.outFile,
      });
      const after = await sampleProcess(t.pid, ticks);
      const p: ForwardPoint = {
        file,
        server: t.label,
        qps: r.qps,
        avgMs: r.avgLatencyMs,
        p99Ms: r.p99LatencyMs,
        lost: r.lost,
        cpuMicrosPerQuery: (after.cpuMicros - before.cpuMicros) / Math.max(1, r.completed),
        rcodes: r.rcodes,
      };
      o.progress(
        `forward ${file}, ${t.label}: ${p.qps.toFixed(0)} q/s, p99 ${p.p99Ms.toFixed(3)} ms, lost ${p.lost}`,
      );
      points.push(p);
    }
  }
  return points;
}

async function currentUserGroup(): Promise<string> {
  const run = async (args: string[]) =>
    new TextDecoder().decode((await new Deno.Command("id", { args, stdout: "piped" }).output()).stdout)
      .trim();
  return `${await run(["-un"])}:${await run(["-gn"])}`;
}

/** The scenario's report section. */
export function forwardReport(
  points: readonly ForwardPoint[],
  o: { duration: number; clients: number },
): string[] {
  const ref = (file: string) => points.find((p) => p.file === file && p.server.startsWith("original"));
  const lines = [
    "## forward: names outside the domain, forwarded to a Knot upstream",
    "",
    `dnsperf -c ${o.clients} for ${o.duration} s per point over UDP; "repeated": 1,000 names asked again and ` +
    `again; "unique": every name asked once (a wildcard zone on the upstream). Knot is the upstream of both ` +
    `mesos-dns and the original, and is also asked directly (its own ceiling on this machine).`,
    "",
    "| names | server | q/s | × original | avg ms | p99 ms | lost | CPU µs/query | rcodes |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const p of points) {
    const r = ref(p.file);
    lines.push(
      `| ${p.file} | ${p.server} | ${Math.round(p.qps).toLocaleString("en-US")} | ${
        r ? (p.qps / r.qps).toFixed(2) : "–"
      } | ${p.avgMs.toFixed(3)} | ${p.p99Ms.toFixed(3)} | ${p.lost} | ${p.cpuMicrosPerQuery.toFixed(1)} | ${
        Object.entries(p.rcodes).map(([k, v]) => `${k} ${v}`).join(", ")
      } |`,
    );
  }
  const ours = (file: string) => points.find((p) => p.file === file && p.server === "mesos-dns");
  const target = (file: string, want: number) => {
    const a = ours(file);
    const b = ref(file);
    if (!a || !b) return `- ${file}: no original in this run (--original PATH)`;
    const x = a.qps / b.qps;
    return `- ${file}: mesos-dns ${x.toFixed(2)}× the original (target ≥ ${want}×): ${
      x >= want ? "met" : "NOT met"
    }`;
  };
  lines.push("", "Targets (issue #13):", target("repeated", 5), target("unique", 1.5));
  return lines;
}
