/**
 * The bench's report (owns: turning measured points into the markdown tables — one row
 * per server and load, the ours/reference ratios, and the issue's targets met or
 * missed). Pure: strings in, strings out.
 */

/** One measured run of one server. */
export interface Point {
  /** `knot`, or `mesos-dns` with the engine in brackets. */
  server: string;
  reference: boolean;
  clients: number;
  /** The fixed rate (queries/s) for the latency run, or undefined for an unlimited run. */
  rate?: number;
  qps: number;
  avgMs: number;
  p99Ms: number;
  /** The 99.9th percentile latency, ms (combined runs: the median of the runs'). */
  p999Ms?: number;
  sent: number;
  lost: number;
  cpuMicrosPerQuery: number;
  rssMB: number;
  peakRssMB: number;
  rcodes: Record<string, number>;
  /** For a point combined from repeated runs: each run's p99, ms, in run order. */
  p99RunsMs?: number[];
  /** The same for p99.9. */
  p999RunsMs?: number[];
}

/**
 * The tail at the fixed rate: each server's p99.9 (median of the runs, each run's in
 * brackets), and whether mesos-dns's is no higher than the reference's (issue #13).
 */
export function tailLines(points: readonly Point[]): string[] {
  const rated = points.filter((p) => p.rate && p.p999Ms !== undefined);
  if (rated.length === 0) return [];
  const ref = rated.find((p) => p.reference);
  const lines = rated.map((p) =>
    `- ${p.server}: p99.9 ${p.p999Ms!.toFixed(3)} ms (${
      (p.p999RunsMs ?? []).map((v) => v.toFixed(3)).join(", ")
    }) at ${p.rate} q/s`
  );
  for (const p of rated.filter((p) => !p.reference)) {
    if (!ref) continue;
    const ok = p.p999Ms! <= ref.p999Ms!;
    lines.push(
      `- target (issue #13) ${p.server} p99.9 no higher than ${ref.server}'s: ${ok ? "met" : "NOT met"}`,
    );
  }
  return lines;
}

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * One point from repeated runs of the same load against the same server: queries/s and
 * average latency averaged, the p99 the median of the runs' (one unlucky stall of the
 * machine moves a single run's p99 by a millisecond), counts summed, CPU per query over
 * all runs together, RSS after the last run and the highest peak.
 */
export function combineRuns(runs: readonly Point[]): Point {
  if (runs.length === 0) throw new Error("no runs to combine");
  const last = runs[runs.length - 1];
  const completed = runs.reduce((n, p) => n + (p.sent - p.lost), 0);
  const cpu = runs.reduce((n, p) => n + p.cpuMicrosPerQuery * Math.max(1, p.sent - p.lost), 0);
  const rcodes: Record<string, number> = {};
  for (const p of runs) for (const [k, v] of Object.entries(p.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
  const mean = (pick: (p: Point) => number) => runs.reduce((n, p) => n + pick(p), 0) / runs.length;
  return {
    ...last,
    qps: mean((p) => p.qps),
    avgMs: mean((p) => p.avgMs),
    p99Ms: median(runs.map((p) => p.p99Ms)),
    p999Ms: median(runs.map((p) => p.p999Ms ?? NaN)),
    sent: runs.reduce((n, p) => n + p.sent, 0),
    lost: runs.reduce((n, p) => n + p.lost, 0),
    cpuMicrosPerQuery: cpu / Math.max(1, completed),
    peakRssMB: Math.max(...runs.map((p) => p.peakRssMB)),
    rcodes,
    p99RunsMs: runs.map((p) => p.p99Ms),
    p999RunsMs: runs.map((p) => p.p999Ms ?? NaN),
  };
}

/** The issue's targets. */
export interface Targets {
  /** Least acceptable ours/reference qps ratio at every client count. */
  minQpsRatio: number;
  /** Most acceptable p99 at the fixed rate, ms. */
  maxP99Ms: number;
  /** Most acceptable peak RSS, MB. */
  maxRssMB: number;
}

export const ISSUE_TARGETS: Targets = { minQpsRatio: 0.7, maxP99Ms: 1, maxRssMB: 200 };

const f = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** "4 clients", or "20000 q/s, 1 client" for the fixed-rate run. */
export function loadLabel(p: Pick<Point, "clients" | "rate">): string {
  const c = `${p.clients} client${p.clients === 1 ? "" : "s"}`;
  return p.rate ? `${p.rate} q/s, ${c}` : c;
}

/** The main table: one row per server and load. */
export function resultsTable(points: readonly Point[]): string {
  const rows = [
    "| server | load | queries/s | avg latency ms | p99 latency ms | lost | server CPU µs/query | RSS MB (peak) |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const p of points) {
    rows.push(
      `| ${p.server} | ${loadLabel(p)} | ${f(p.qps, 0)} | ${f(p.avgMs, 3)} | ${
        f(p.p99Ms, 3)
      } | ${p.lost} | ` +
        `${f(p.cpuMicrosPerQuery, 1)} | ${f(p.rssMB, 1)} (${f(p.peakRssMB, 1)}) |`,
    );
  }
  return rows.join("\n");
}

/** The reference point with the same load as `p`. */
function referenceFor(points: readonly Point[], p: Point): Point | undefined {
  return points.find((r) => r.reference && r.clients === p.clients && r.rate === p.rate);
}

/** Ratios ours/reference for every non-reference point that has a reference counterpart. */
export function ratioTable(points: readonly Point[]): string {
  const rows = [
    "| server | load | queries/s ours/ref | avg latency ours/ref | p99 ours/ref | CPU per query ours/ref | RSS ours/ref |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const p of points) {
    if (p.reference) continue;
    const r = referenceFor(points, p);
    if (!r) continue;
    rows.push(
      `| ${p.server} | ${loadLabel(p)} | ${f(p.qps / r.qps, 2)} | ${f(p.avgMs / r.avgMs, 2)} | ` +
        `${f(p.p99Ms / r.p99Ms, 2)} | ${f(p.cpuMicrosPerQuery / r.cpuMicrosPerQuery, 2)} | ${
          f(p.rssMB / r.rssMB, 2)
        } |`,
    );
  }
  return rows.join("\n");
}

/** One line per target per server under test: what was measured and whether it is met. */
export function targetLines(points: readonly Point[], t: Targets = ISSUE_TARGETS): string[] {
  const out: string[] = [];
  const servers = [...new Set(points.filter((p) => !p.reference).map((p) => p.server))];
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  for (const s of servers) {
    const mine = points.filter((p) => p.server === s);
    const ratios = mine.filter((p) => !p.rate).map((p) => {
      const r = referenceFor(points, p);
      return { clients: p.clients, ratio: r ? p.qps / r.qps : NaN };
    });
    const worst = Math.min(...ratios.map((r) => r.ratio));
    out.push(
      `- ${s}: queries/s ≥ ${t.minQpsRatio * 100}% of the reference at every client count: ${
        mark(worst >= t.minQpsRatio)
      } ` +
        `(${ratios.map((r) => `${r.clients}: ${f(r.ratio * 100, 0)}%`).join(", ")})`,
    );
    const lost = mine.reduce((n, p) => n + p.lost, 0);
    out.push(
      `- ${s}: no lost queries: ${mark(lost === 0)} (${lost} lost of ${
        mine.reduce((n, p) => n + p.sent, 0)
      })`,
    );
    for (const p of mine.filter((p) => p.rate)) {
      const r = referenceFor(points, p);
      const floor = r && r.p99Ms >= t.maxP99Ms
        ? `; the reference measures ${
          f(r.p99Ms, 3)
        } ms in the same run, so this machine's floor is above the target`
        : r
        ? `; reference ${f(r.p99Ms, 3)} ms`
        : "";
      out.push(
        `- ${s}: p99 latency at ${p.rate} q/s under ${t.maxP99Ms} ms: ${mark(p.p99Ms < t.maxP99Ms)} ` +
          `(${f(p.p99Ms, 3)} ms at ${f(p.qps, 0)} q/s achieved${floor})`,
      );
    }
    for (const p of mine.filter((p) => p.p99RunsMs && p.p99RunsMs.length > 1)) {
      out.push(`  (p99 of each run at ${p.rate} q/s: ${p.p99RunsMs!.map((v) => f(v, 3)).join(", ")} ms)`);
    }
    const peak = Math.max(...mine.map((p) => p.peakRssMB));
    out.push(`- ${s}: RSS under ${t.maxRssMB} MB: ${mark(peak < t.maxRssMB)} (peak ${f(peak, 1)} MB)`);
  }
  return out;
}

/** Response code shares of each server's runs, to show both served the same answers. */
export function rcodeLines(points: readonly Point[]): string[] {
  const by = new Map<string, Record<string, number>>();
  for (const p of points) {
    const acc = by.get(p.server) ?? {};
    for (const [k, v] of Object.entries(p.rcodes)) acc[k] = (acc[k] ?? 0) + v;
    by.set(p.server, acc);
  }
  return [...by].map(([server, codes]) => {
    const total = Object.values(codes).reduce((a, b) => a + b, 0);
    const parts = Object.entries(codes).sort().map(([k, v]) => `${k} ${f((100 * v) / total, 1)}%`);
    return `- ${server}: ${parts.join(", ")}`;
  });
}
