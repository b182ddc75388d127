/**
 * Changes to the cluster between two moments (owns: the shape in which a state source
 * hands the record store what changed). Both state sources speak it: the poller hands over
 * whole states, the operator-API stream a snapshot and then deltas built from its events.
 * Everything is in `/master/state` shapes (`state_types.ts`), so naming rules live in one
 * place (`src/records/`).
 */
import type { MesosFramework, MesosSlave, MesosTask } from "./state_types.ts";

/** What changed since the last snapshot or delta. Ids are the Mesos id strings. */
export interface StateDelta {
  /**
   * Tasks added or changed: whole task objects as `/master/state` has them (latest `state`,
   * `statuses` with the newest last, `framework_id` and `slave_id` set). A task that left
   * `TASK_RUNNING` is listed here with its new state; the store drops its records.
   */
  tasks?: MesosTask[];
  /** Tasks the master forgot (e.g. their framework was removed). */
  removedTasks?: string[];
  /** Agents added or changed (`id`, `hostname`, `pid`). */
  agents?: MesosSlave[];
  /** Agents removed from the cluster. */
  removedAgents?: string[];
  /** Frameworks added or changed, without their `tasks` (tasks come in `tasks`). */
  frameworks?: MesosFramework[];
  /** Frameworks removed; their tasks go with them. */
  removedFrameworks?: string[];
}

/** True when the delta changes nothing. */
export function isEmptyDelta(d: StateDelta): boolean {
  return !(d.tasks?.length || d.removedTasks?.length || d.agents?.length || d.removedAgents?.length ||
    d.frameworks?.length || d.removedFrameworks?.length);
}
