/**
 * Process readings from /proc for the bench (owns: CPU time and memory of a process by
 * pid; Linux only). CPU is utime + stime of the whole process (all threads), memory is
 * VmRSS (now) and VmHWM (peak), as the kernel reports them. The files are read through
 * `cat`: Deno allows reading /proc/<pid>/ only with --allow-all, and the bench keeps
 * to narrower permissions.
 */

/** CPU time and memory of one process at one moment. */
export interface ProcSample {
  /** utime + stime of all threads, in microseconds. */
  cpuMicros: number;
  /** Resident set size now, in bytes. */
  rss: number;
  /** Peak resident set size so far, in bytes. */
  hwm: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on Linux). */
export function clockTicksPerSecond(): number {
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
      .outputSync();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(n) && n > 0) return n;
  } catch { /* no getconf: use the Linux value */ }
  return 100;
}

/**
 * Parses utime + stime (clock ticks) from the text of /proc/<pid>/stat. The command
 * name (field 2) may contain spaces and parentheses, so fields are counted after the
 * last `)`.
 */
export function parseStatTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable stat: ${stat}`);
  return utime + stime;
}

/** Reads a `Key:   123 kB` line of /proc/<pid>/status, in bytes (NaN if absent). */
export function parseStatusKb(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Samples CPU time and memory of `pid` (throws if the process is gone). */
export async function sampleProcess(pid: number, ticksPerSecond: number): Promise<ProcSample> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`, `/proc/${pid}/status`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`cannot read /proc/${pid}: ${new TextDecoder().decode(out.stderr)}`);
  const nl = text.indexOf("\n");
  const ticks = parseStatTicks(text.slice(0, nl));
  const status = text.slice(nl + 1);
  return {
    cpuMicros: (ticks * 1e6) / ticksPerSecond,
    rss: parseStatusKb(status, "VmRSS"),
    hwm: parseStatusKb(status, "VmHWM"),
  };
}
