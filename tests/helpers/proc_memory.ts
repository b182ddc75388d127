/**
 * A process's memory as the kernel reports it (owns: reading VmRSS and VmHWM, the peak
 * RSS, from /proc/<pid>/status). Linux only.
 */

/** VmRSS and VmHWM of process `pid`, in bytes (NaN where the kernel does not report one). */
export function procMemory(pid: number): { rss: number; hwm: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}
