/**
 * Process metrics (owns: the standard Prometheus `process_*` families of this process: resident
 * memory, CPU time, start time, open and allowed file descriptors) and the JavaScript heap of its
 * main thread. Read when scraped; the descriptor families only where libc can be called
 * (`process_fds.ts`: Linux with `--allow-ffi`).
 */
import process from "node:process";
import type { MetricsRegistry } from "./registry.ts";
import { maxFds, openFds } from "./process_fds.ts";
import { libcCallable } from "../dns/libc.ts";

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
  if (libcCallable()) {
    reg.gauge("process_open_fds", "Number of open file descriptors.", openFds);
    reg.gauge("process_max_fds", "Maximum number of open file descriptors (the soft limit).", maxFds);
  }
  reg.gauge(
    "mesos_dns_heap_used_bytes",
    "Bytes of the main thread's JavaScript heap in use.",
    () => Deno.memoryUsage().heapUsed,
  );
}
