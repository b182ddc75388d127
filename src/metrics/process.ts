/**
 * Process metrics (owns: the standard Prometheus `process_*` families of this process: resident
 * and virtual memory, CPU time, start time, open and allowed file descriptors) and the
 * JavaScript heap of its main thread. Read when scraped; the virtual memory and descriptor
 * families only where `/proc/self` can be read (Linux, `--allow-read`).
 */
import process from "node:process";
import type { MetricsRegistry } from "./registry.ts";

/** Registers the process families in `reg`. */
export function processMetrics(reg: MetricsRegistry): void {
  const started = (performance.timeOrigin) / 1000;
  reg.gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes (every thread, shared DNS answers included).",
    () => Deno.memoryUsage().rss,
  );
  reg.counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  reg.gauge(
    "process_start_time_seconds",
    "Start time of the process, in seconds since the Unix epoch.",
    () => started,
  );
  if (procReadable()) {
    reg.gauge(
      "process_virtual_memory_bytes",
      "Virtual memory size in bytes (address space reserved, most of it never used).",
      () => statusKb("VmSize") * 1024,
    );
    reg.gauge("process_open_fds", "Number of open file descriptors.", openFds);
    reg.gauge("process_max_fds", "Maximum number of open file descriptors (the soft limit).", maxFds);
  }
  reg.gauge(
    "mesos_dns_heap_used_bytes",
    "Bytes of the main thread's JavaScript heap in use.",
    () => Deno.memoryUsage().heapUsed,
  );
}

/** Whether this process's `/proc/self` files can be read. */
function procReadable(): boolean {
  try {
    Deno.readTextFileSync("/proc/self/limits");
    return true;
  } catch {
    return false;
  }
}

/** A `/proc/self/status` field in kB (e.g. `VmSize`), or NaN. */
function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) : NaN;
}

/** The entries of `/proc/self/fd`, less the one the listing itself opens. */
function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n - 1;
}

/** The soft limit of `Max open files` in `/proc/self/limits` (`unlimited`: +Inf). */
function maxFds(): number {
  const m = /^Max open files\s+(\S+)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
  if (!m) return NaN;
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}
