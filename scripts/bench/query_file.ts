/**
 * The bench's query file (owns: choosing the names to ask from a `/v1/enumerate`
 * document and writing them in dnsperf's `name TYPE` line format, with the issue's mix:
 * 60% task A, 25% task SRV, 5% task AAAA, 10% names that do not exist). Pure and
 * deterministic for a seed.
 */

/** The parts of a `/v1/enumerate` document the bench reads. */
export interface EnumerateDoc {
  frameworks:
    | Array<{
      name: string;
      tasks:
        | Array<
          { name: string; id: string; records: Array<{ name: string; host: string; rtype: string }> | null }
        >
        | null;
    }>
    | null;
}

/** Shares of each kind of query, in percent (they should add up to 100). */
export interface QueryMix {
  a: number;
  srv: number;
  aaaa: number;
  nxdomain: number;
}

export const ISSUE_MIX: QueryMix = { a: 60, srv: 25, aaaa: 5, nxdomain: 10 };

/** What went into a query file. */
export interface QueryFile {
  /** `name TYPE` lines, shuffled. */
  lines: string[];
  /** Distinct task names available per record type. */
  names: { a: number; srv: number; aaaa: number };
  /** Lines per kind. */
  counts: QueryMix;
  /** True when no task has AAAA records, so the AAAA queries ask task A names (NODATA). */
  aaaaFallback: boolean;
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Distinct record names of task records, per type, in document order. Names that are not
 * plain lower-case DNS names are left out: the legacy DiscoveryInfo names keep upper case
 * and other characters (SPEC §5.4) and are unreachable over DNS by design, so asking for
 * them would measure NXDOMAIN against a reference that does answer them.
 */
export function taskNames(doc: EnumerateDoc): { a: string[]; aaaa: string[]; srv: string[] } {
  const sets = { a: new Set<string>(), aaaa: new Set<string>(), srv: new Set<string>() };
  for (const fw of doc.frameworks ?? []) {
    for (const task of fw.tasks ?? []) {
      for (const r of task.records ?? []) {
        if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.$/.test(r.name)) continue;
        if (r.rtype === "A") sets.a.add(r.name);
        else if (r.rtype === "AAAA") sets.aaaa.add(r.name);
        else if (r.rtype === "SRV") sets.srv.add(r.name);
      }
    }
  }
  return { a: [...sets.a], aaaa: [...sets.aaaa], srv: [...sets.srv] };
}

/**
 * Builds `total` query lines with `mix`: task A names, task SRV names, task AAAA names
 * (task A names if there are none) and non-existent names made by putting an extra
 * `nx<k>-` label in front of a task A name. Names are drawn uniformly from each pool.
 */
export function buildQueryFile(
  doc: EnumerateDoc,
  opts: { total: number; seed: number; mix?: QueryMix },
): QueryFile {
  const mix = opts.mix ?? ISSUE_MIX;
  const names = taskNames(doc);
  if (names.a.length === 0) throw new Error("the cluster has no task A records to query");
  if (names.srv.length === 0) throw new Error("the cluster has no task SRV records to query");
  const aaaaPool = names.aaaa.length > 0 ? names.aaaa : names.a;
  const rand = rng(opts.seed);
  const pick = (xs: readonly string[]) => xs[Math.floor(rand() * xs.length)];
  const sum = mix.a + mix.srv + mix.aaaa + mix.nxdomain;
  const counts: QueryMix = {
    srv: Math.round((opts.total * mix.srv) / sum),
    aaaa: Math.round((opts.total * mix.aaaa) / sum),
    nxdomain: Math.round((opts.total * mix.nxdomain) / sum),
    a: 0,
  };
  counts.a = opts.total - counts.srv - counts.aaaa - counts.nxdomain;
  const lines: string[] = [];
  for (let i = 0; i < counts.a; i++) lines.push(`${pick(names.a)} A`);
  for (let i = 0; i < counts.srv; i++) lines.push(`${pick(names.srv)} SRV`);
  for (let i = 0; i < counts.aaaa; i++) lines.push(`${pick(aaaaPool)} AAAA`);
  const existing = new Set([...names.a, ...names.aaaa, ...names.srv]);
  for (let i = 0; i < counts.nxdomain; i++) {
    let name: string;
    do name = `nx${Math.floor(rand() * 1000)}-${pick(names.a)}`; while (existing.has(name));
    lines.push(`${name} A`);
  }
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  return {
    lines,
    names: { a: names.a.length, srv: names.srv.length, aaaa: names.aaaa.length },
    counts,
    aaaaFallback: names.aaaa.length === 0,
  };
}
