/**
 * The cluster as the event stream has told it so far (owns: agents, frameworks and live tasks
 * keyed by id, applying `StateDelta`s to them, and the `/master/state` document they amount
 * to). Pure; no I/O. A fresh snapshot replaces everything, so nothing survives a gap.
 */
import type { StateDelta } from "./state_delta.ts";
import type { MesosFramework, MesosSlave, MesosState, MesosTask } from "./state_types.ts";

export class ClusterModel {
  readonly #agents = new Map<string, MesosSlave>();
  readonly #frameworks = new Map<string, MesosFramework>();
  readonly #tasks = new Map<string, MesosTask>();
  /** Scheduler pids by framework id (from `/master/state-summary`: the events do not carry them). */
  readonly #pids = new Map<string, string>();

  /** Forgets everything (before a fresh snapshot). */
  clear(): void {
    this.#agents.clear();
    this.#frameworks.clear();
    this.#tasks.clear();
    this.#pids.clear();
  }

  /**
   * Sets the frameworks' scheduler pids (a framework missing from `pids`, or mapped to
   * undefined, has none: an HTTP scheduler). Returns the known frameworks whose pid changed,
   * as they are now (for a delta).
   */
  setPids(pids: ReadonlyMap<string, string | undefined>): MesosFramework[] {
    const changed: MesosFramework[] = [];
    for (const [id, f] of this.#frameworks) {
      const next = pids.get(id);
      if (next === this.#pids.get(id)) continue;
      if (next === undefined) this.#pids.delete(id);
      else this.#pids.set(id, next);
      changed.push({ ...f, pid: next });
    }
    return changed;
  }

  task(taskId: string): MesosTask | undefined {
    return this.#tasks.get(taskId);
  }

  get sizes(): { agents: number; frameworks: number; tasks: number } {
    return { agents: this.#agents.size, frameworks: this.#frameworks.size, tasks: this.#tasks.size };
  }

  /**
   * Applies a delta. A removed agent takes its tasks with it, and a removed framework its
   * tasks (the master no longer lists them); those task ids are added to the delta's
   * `removedTasks`, so that a consumer of the delta sees them go too.
   */
  apply(d: StateDelta): void {
    for (const a of d.agents ?? []) if (a.id !== undefined) this.#agents.set(a.id, a);
    for (const f of d.frameworks ?? []) {
      if (f.id === undefined) continue;
      this.#frameworks.set(f.id, { id: f.id, name: f.name, hostname: f.hostname });
      if (f.pid !== undefined) this.#pids.set(f.id, f.pid);
    }
    for (const t of d.tasks ?? []) if (t.id !== undefined) this.#tasks.set(t.id, t);
    const gone: string[] = [];
    for (const id of d.removedTasks ?? []) if (this.#tasks.delete(id)) gone.push(id);
    const agents = new Set(d.removedAgents ?? []);
    const frameworks = new Set(d.removedFrameworks ?? []);
    for (const id of agents) this.#agents.delete(id);
    for (const id of frameworks) {
      this.#frameworks.delete(id);
      this.#pids.delete(id);
    }
    if (agents.size > 0 || frameworks.size > 0) {
      for (const [id, t] of this.#tasks) {
        if (agents.has(t.slave_id ?? "") || frameworks.has(t.framework_id ?? "")) {
          this.#tasks.delete(id);
          gone.push(id);
        }
      }
    }
    if (gone.length > (d.removedTasks?.length ?? 0)) {
      d.removedTasks = [...new Set([...(d.removedTasks ?? []), ...gone])];
    }
  }

  /**
   * The `/master/state` document of the model, with `leader` set: frameworks with their tasks
   * (a task whose framework is unknown is left out, as the master lists tasks under their
   * framework), and the agents. The task objects are the model's own (not copied).
   */
  toState(leader: string): MesosState {
    const byFramework = new Map<string, MesosTask[]>();
    for (const t of this.#tasks.values()) {
      const fw = t.framework_id ?? "";
      let list = byFramework.get(fw);
      if (!list) byFramework.set(fw, list = []);
      list.push(t);
    }
    const frameworks: MesosFramework[] = [];
    for (const f of this.#frameworks.values()) {
      const pid = this.#pids.get(f.id ?? "");
      frameworks.push({
        ...f,
        ...(pid !== undefined ? { pid } : {}),
        tasks: byFramework.get(f.id ?? "") ?? [],
      });
    }
    return { leader, frameworks, slaves: [...this.#agents.values()] };
  }
}
