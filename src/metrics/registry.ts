/**
 * The metrics registry (owns: the list of metric families and their rendering in the
 * Prometheus text exposition format 0.0.4, with `# HELP` and `# TYPE` lines). A family
 * reads its values when `/metrics` is scraped, from whatever plain counters its owner
 * keeps (a stats object, shared counter slots): nothing is pushed into the registry on
 * the DNS path.
 *
 * Adding a metric: `registry.counter(name, help, () => stats.things)` for one value, or
 * `registry.add({ name, help, type, samples })` for labelled values and histograms.
 */

export type MetricType = "counter" | "gauge" | "histogram";

/** One sample: a value with its labels (none for a single-value family). */
export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
  /** Appended to the family name (`_bucket`, `_sum`, `_count` for histograms). */
  suffix?: string;
}

/** A metric family: one `# HELP`/`# TYPE` block. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  /** The samples at scrape time. */
  samples(): Iterable<Sample>;
}

/** A histogram's state: cumulative or not, `counts[i]` is the number of observations in bucket i. */
export interface HistogramValues {
  /** Upper bounds in seconds (or the family's unit), ascending, without +Inf. */
  bounds: readonly number[];
  /** Observations per bucket (not cumulative); `counts[bounds.length]` is the +Inf bucket. */
  counts: ArrayLike<number>;
  sum: number;
  labels?: Readonly<Record<string, string>>;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A label value escaped as the text format wants (backslash, quote, newline). */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A HELP text escaped (backslash, newline). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`, integers without exponent). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
  return String(v);
}

function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  if (!labels) return "";
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
}

/** The samples of one histogram series (`_bucket` cumulative with `le`, `_sum`, `_count`). */
export function histogramSamples(h: HistogramValues): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= h.bounds.length; i++) {
    cumulative += h.counts[i] ?? 0;
    const le = i < h.bounds.length ? formatValue(h.bounds[i]) : "+Inf";
    out.push({ suffix: "_bucket", labels: { ...h.labels, le }, value: cumulative });
  }
  out.push({ suffix: "_sum", labels: h.labels, value: h.sum });
  out.push({ suffix: "_count", labels: h.labels, value: cumulative });
  return out;
}

/** The metric families of one process, rendered on request. */
export class MetricsRegistry {
  readonly #families = new Map<string, MetricFamily>();

  /** Adds a family; a name used twice is a programming error. */
  add(family: MetricFamily): void {
    if (!NAME_RE.test(family.name)) throw new Error(`invalid metric name ${JSON.stringify(family.name)}`);
    if (this.#families.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.#families.set(family.name, family);
  }

  /** A counter with one value, read from `read` at scrape time. */
  counter(name: string, help: string, read: () => number): void {
    this.add({ name, help, type: "counter", samples: () => [{ value: read() }] });
  }

  /** A gauge with one value, read from `read` at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.add({ name, help, type: "gauge", samples: () => [{ value: read() }] });
  }

  /** Whether a family of that name is registered. */
  has(name: string): boolean {
    return this.#families.has(name);
  }

  /**
   * The text exposition of every family, in registration order. A family whose
   * `samples` throws is left out (and named in a comment), so one broken source never
   * hides the others.
   */
  render(): string {
    const parts: string[] = [];
    for (const f of this.#families.values()) {
      let lines: string[];
      try {
        lines = [];
        for (const s of f.samples()) {
          lines.push(`${f.name}${s.suffix ?? ""}${labelText(s.labels)} ${formatValue(s.value)}\n`);
        }
      } catch (e) {
        parts.push(
          `# ${f.name}: not available (${escapeHelp(e instanceof Error ? e.message : String(e))})\n`,
        );
        continue;
      }
      parts.push(`# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`, ...lines);
    }
    return parts.join("");
  }
}
