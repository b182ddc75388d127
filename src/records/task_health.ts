/**
 * Health-aware record generation (owns: the one predicate deciding whether a task's health
 * check result keeps it out of DNS, `HealthAware`, the original's issue #310). A task is
 * left out only when its latest status says `healthy: false`; tasks without health checks
 * (no `healthy` field) and tasks whose check passes are served as before.
 */
import type { MesosTask, MesosTaskStatus } from "../mesos/state_types.ts";

/**
 * The task's latest status: the one with the greatest timestamp, the last listed on ties
 * (Mesos lists statuses oldest first; the operator API stream appends each update).
 */
export function latestStatus(task: MesosTask): MesosTaskStatus | undefined {
  const statuses = task.statuses;
  if (!Array.isArray(statuses)) return undefined;
  let best: MesosTaskStatus | undefined;
  let bestTs = -Infinity;
  for (const s of statuses) {
    if (!s || typeof s !== "object") continue;
    const ts = typeof s.timestamp === "number" ? s.timestamp : 0;
    if (ts >= bestTs) {
      best = s;
      bestTs = ts;
    }
  }
  return best;
}

/** True when the task's latest status reports a failing health check (`healthy: false`). */
export function isReportedUnhealthy(task: MesosTask): boolean {
  return latestStatus(task)?.healthy === false;
}

/**
 * Whether a running task gets records: always without `HealthAware`; with it, unless its
 * latest status says `healthy: false`.
 */
export function servesTask(task: MesosTask, healthAware: boolean): boolean {
  return !healthAware || !isReportedUnhealthy(task);
}
