/**
 * Process metrics (owns: the standard Prometheus `process_*` families of this process: resident
 * memory, CPU time, start time) and the JavaScript heap of its main thread. Read when scraped.
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
  reg.gauge(
    "mesos_dns_heap_used_bytes",
    "Bytes of the main thread's JavaScript heap in use.",
    () => Deno.memoryUsage().heapUsed,
  );
}
