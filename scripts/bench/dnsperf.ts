/**
 * Driving dnsperf (owns: running `/usr/bin/dnsperf` for a fixed time with a client
 * count and an optional rate cap, and reading its results: the summary, and the
 * per-query latencies that `-v` prints, from which the 99th percentile is computed).
 *
 * p99: dnsperf 2.10 prints no percentiles, so every run uses `-v`, which writes one line
 * per answered query (`> NOERROR name TYPE 0.000123`, the latency in seconds). The lines
 * go straight to a file (not through the bench process, which would compete for CPU);
 * afterwards the latencies are sorted and the nearest-rank 99th percentile is taken:
 * the smallest latency that at least 99% of answered queries did not exceed.
 */

export interface DnsperfOptions {
  port: number;
  queryFile: string;
  seconds: number;
  clients: number;
  /** Threads (at most `clients`; default min(clients, 2)). */
  threads?: number;
  /** Cap on queries per second (`-Q`); unlimited when absent. */
  maxQps?: number;
  /** Where dnsperf's stdout (summary and per-query lines) is written. */
  outFile: string;
}

export interface DnsperfSummary {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  runSeconds: number;
  avgLatencyMs: number;
  /** Response code → count. */
  rcodes: Record<string, number>;
}

export interface DnsperfResult extends DnsperfSummary {
  p99LatencyMs: number;
  /** The slowest answered query's latency. */
  maxLatencyMs: number;
  /** The 99.9th percentile (nearest rank), like p99. */
  p999LatencyMs: number;
  /** How many per-query latencies the percentile was computed from. */
  samples: number;
  /** The command line, for the report. */
  command: string;
}

function field(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}:\\s+([0-9.]+)`, "m").exec(text);
  if (!m) throw new Error(`dnsperf output has no "${label}" line`);
  return Number(m[1]);
}

/** Reads dnsperf's end-of-run statistics. */
export function parseDnsperfSummary(text: string): DnsperfSummary {
  const rcodes: Record<string, number> = {};
  const codes = /^\s*Response codes:\s+(.*)$/m.exec(text)?.[1] ?? "";
  for (const m of codes.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]] = Number(m[2]);
  return {
    sent: field(text, "Queries sent"),
    completed: field(text, "Queries completed"),
    lost: field(text, "Queries lost"),
    qps: field(text, "Queries per second"),
    runSeconds: field(text, "Run time \\(s\\)"),
    avgLatencyMs: field(text, "Average Latency \\(s\\)") * 1000,
    rcodes,
  };
}

/** The latencies (seconds) of the `-v` per-query lines (`> RCODE name TYPE latency`). */
export function parseVerboseLatencies(text: string): Float64Array {
  const out: number[] = [];
  for (let start = 0; start < text.length;) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (text.startsWith("> ", start)) {
      const v = Number(text.slice(text.lastIndexOf(" ", end - 1) + 1, end));
      if (Number.isFinite(v)) out.push(v);
    }
    start = end + 1;
  }
  return Float64Array.from(out);
}

/** Nearest-rank percentile `p` (0–100) of `values` (sorted in place); NaN when empty. */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  values.sort();
  const rank = Math.max(1, Math.ceil((p / 100) * values.length));
  return values[rank - 1];
}

/** Runs dnsperf against 127.0.0.1:port and returns its results (throws if it fails). */
export async function runDnsperf(o: DnsperfOptions): Promise<DnsperfResult> {
  const threads = Math.max(1, Math.min(o.clients, o.threads ?? 2));
  const args = [
    "-s",
    "127.0.0.1",
    "-p",
    String(o.port),
    "-d",
    o.queryFile,
    "-l",
    String(o.seconds),
    "-c",
    String(o.clients),
    "-T",
    String(threads),
    ...(o.maxQps ? ["-Q", String(o.maxQps)] : []),
    "-v",
  ];
  // `sh` only redirects stdout into the file; dnsperf replaces it (exec).
  const out = await new Deno.Command("sh", {
    args: ["-c", 'out="$1"; shift; exec dnsperf "$@" > "$out"', "sh", o.outFile, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const text = await Deno.readTextFile(o.outFile);
  if (!out.success) throw new Error(`dnsperf failed (exit ${out.code}): ${stderr}\n${text.slice(-2000)}`);
  const summary = parseDnsperfSummary(text);
  const latencies = parseVerboseLatencies(text);
  await Deno.remove(o.outFile);
  return {
    ...summary,
    p99LatencyMs: percentile(latencies, 99) * 1000,
    // `percentile` sorted them.
    maxLatencyMs: latencies.length > 0 ? latencies[latencies.length - 1] * 1000 : NaN,
    p999LatencyMs: percentile(latencies, 99.9) * 1000,
    samples: latencies.length,
    command: `dnsperf ${args.join(" ")}`,
  };
}
