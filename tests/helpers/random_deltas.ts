/**
 * Random cluster changes for the record store and zone tests (owns: changing a state in
 * place the way a running cluster changes, and the `StateDelta` a state source would hand
 * over for it).
 */
import type { StateDelta } from "../../src/mesos/state_delta.ts";
import type { MesosFramework, MesosSlave, MesosState, MesosTask } from "../../src/mesos/state_types.ts";
import type { Rng } from "../../scripts/sim/cluster.ts";

export function copy<T>(x: T): T {
  return structuredClone(x);
}

/**
 * A copy of `state` that deltas can follow: frameworks get ids, tasks their framework's id,
 * and later copies of a task id listed twice go (a delta cannot change them one by one).
 */
export function deltaReady(state0: MesosState): MesosState {
  const state = copy(state0);
  const ids = new Set<string>();
  (state.frameworks ?? []).forEach((f, i) => {
    f.id ??= `fw-${i}`;
    f.tasks = (f.tasks ?? []).filter((t) => !ids.has(String(t.id)) && ids.add(String(t.id)));
    for (const t of f.tasks ?? []) t.framework_id ??= f.id;
  });
  return state;
}

/**
 * One random change to `state` (changed in place), as the delta a state source would hand
 * over: tasks killed, launched, moved to another state; agents removed, re-added, given a new
 * address; frameworks renamed or removed.
 */
export function randomChange(state: MesosState, rng: Rng, serial: number): StateDelta {
  const frameworks = (state.frameworks ??= []);
  const slaves = (state.slaves ??= []);
  const allTasks = frameworks.flatMap((f) => (f.tasks ?? []).map((t) => ({ f, t })));
  const r = rng.next();
  if (r < 0.3 && allTasks.length > 0) {
    // A task leaves TASK_RUNNING (still listed) or is forgotten.
    const { f, t } = allTasks[rng.int(0, allTasks.length - 1)];
    if (rng.chance(0.5)) {
      t.state = "TASK_KILLED";
      return { tasks: [copy({ ...t, framework_id: t.framework_id ?? f.id })] };
    }
    f.tasks = (f.tasks ?? []).filter((x) => x !== t);
    return { removedTasks: [String(t.id)] };
  }
  if (r < 0.6 && allTasks.length > 0 && slaves.length > 0) {
    // A task launched: a copy of another under a new id, maybe on another agent.
    const { f, t } = allTasks[rng.int(0, allTasks.length - 1)];
    const agent = slaves[rng.int(0, slaves.length - 1)];
    const task: MesosTask = copy({
      ...t,
      id: `${t.id}-n${serial}`,
      framework_id: f.id,
      state: "TASK_RUNNING",
    });
    if (rng.chance(0.5)) task.slave_id = agent.id;
    if (rng.chance(0.3)) task.name = `${t.name ?? "task"}-v${serial % 3}`;
    (f.tasks ??= []).push(task);
    return { tasks: [copy(task)] };
  }
  if (r < 0.7 && slaves.length > 0) {
    // An agent gets a new address.
    const s = slaves[rng.int(0, slaves.length - 1)];
    s.pid = `slave(1)@10.99.${serial % 250}.${rng.int(1, 250)}:5051`;
    return { agents: [copy(s)] };
  }
  if (r < 0.78 && slaves.length > 0) {
    // An agent removed (its tasks stay listed, without records).
    const i = rng.int(0, slaves.length - 1);
    const [s] = slaves.splice(i, 1);
    return { removedAgents: [String(s.id)] };
  }
  if (r < 0.84) {
    // An agent registers (a new id on an existing address, or a new one).
    const s: MesosSlave = {
      id: `agent-new-${serial}`,
      hostname: `h${serial}`,
      pid: `slave(1)@10.98.0.${serial % 250}:5051`,
    };
    slaves.push(s);
    return { agents: [copy(s)] };
  }
  if (r < 0.94 && frameworks.length > 0) {
    // A framework renamed (its tasks' names change) or moved.
    const f = frameworks[rng.int(0, frameworks.length - 1)];
    if (rng.chance(0.5)) f.name = `${f.name ?? "fw"}-r${serial % 2}`;
    else f.pid = `scheduler@10.97.0.${serial % 250}:${rng.int(1000, 9000)}`;
    const { tasks: _tasks, ...rest } = f;
    return { frameworks: [copy(rest as MesosFramework)] };
  }
  if (frameworks.length > 1) {
    const i = rng.int(0, frameworks.length - 1);
    const [f] = frameworks.splice(i, 1);
    return { removedFrameworks: [String(f.id)] };
  }
  return {};
}
