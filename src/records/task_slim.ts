/**
 * The slim copy of a task (owns: which of a task's fields and statuses its records are
 * derived from, SPEC §6.2 and `HealthAware`). A state source hands its tasks over slim, so
 * that the record store can keep them as they are: a task of a large state is a few small
 * objects, not its whole parsed document.
 */
import type { MesosTask, MesosTaskStatus } from "../mesos/state_types.ts";
import { chosenStatus } from "./task_ips.ts";
import { latestStatus } from "./task_health.ts";

/**
 * `t` with only what its records read: its ids, name, state, resource ports and discovery
 * info, and two statuses at most: the one the IP sources read (`chosenStatus`), with what
 * they read, and the latest (`HealthAware`), in that order (each picks its own again).
 */
export function slimTask(t: MesosTask): MesosTask {
  const chosen = chosenStatus(t.statuses);
  const latest = latestStatus(t);
  // Arrays and objects made whole (literals, no spread): no spare room kept per task.
  let running: MesosTaskStatus[] = [];
  if (chosen) {
    const kept: MesosTaskStatus = {
      state: chosen.state,
      timestamp: chosen.timestamp,
      labels: chosen.labels,
      container_status: chosen.container_status
        ? { network_infos: chosen.container_status.network_infos }
        : chosen.container_status,
    };
    if (chosen === latest && latest.healthy !== undefined) kept.healthy = latest.healthy;
    running = latest && latest !== chosen
      ? [kept, { state: latest.state, timestamp: latest.timestamp, healthy: latest.healthy }]
      : [kept];
  } else if (latest) {
    running = [{ state: latest.state, timestamp: latest.timestamp, healthy: latest.healthy }];
  }
  return {
    id: t.id,
    name: t.name,
    framework_id: t.framework_id,
    slave_id: t.slave_id,
    state: t.state,
    resources: t.resources ? { ports: t.resources.ports } : t.resources,
    statuses: running,
    discovery: t.discovery,
  };
}
