/**
 * The simulator's operator API shapes (owns: turning the simulated cluster's `/master/state`
 * objects into the v1 operator API's JSON — `GET_STATE`, `SUBSCRIBED`, `TASK_ADDED`,
 * `TASK_UPDATED`, `AGENT_*`, `FRAMEWORK_*` events — as a Mesos 1.x master sends them: ids as
 * `{"value"}`, `agent_info` / `framework_info`, labels as `{"labels": [...]}`, resources as a
 * list with `ranges`, and no scheduler pid). Pure; master_server.ts frames them in RecordIO.
 */
import type {
  MesosFramework,
  MesosSlave,
  MesosState,
  MesosTask,
  MesosTaskStatus,
} from "../../src/mesos/state_types.ts";
import { expandPorts, pidHost } from "./cluster.ts";

type Json = Record<string, unknown>;

const v = (value: string | undefined) => ({ value: value ?? "" });

function labels(l: MesosTaskStatus["labels"]): Json | undefined {
  return Array.isArray(l) ? { labels: l.map((x) => ({ key: x.key, value: x.value })) } : undefined;
}

/** `[31000-31001, 31005-31005]` → a `ports` resource with one range per run. */
function portsResource(ports: string | undefined): Json | undefined {
  const list = expandPorts(ports);
  if (list.length === 0) return undefined;
  const range: Array<{ begin: number; end: number }> = [];
  for (const p of list) {
    const last = range.at(-1);
    if (last && p === last.end + 1) last.end = p;
    else range.push({ begin: p, end: p });
  }
  return { name: "ports", type: "RANGES", ranges: { range } };
}

export function opStatus(s: MesosTaskStatus, task: MesosTask): Json {
  const out: Json = {
    task_id: v(task.id),
    state: s.state,
    source: "SOURCE_EXECUTOR",
    agent_id: v(task.slave_id),
    timestamp: s.timestamp,
  };
  const l = labels(s.labels);
  if (l) out.labels = l;
  const cs = s.container_status as (Json & { network_infos?: Json[] }) | null | undefined;
  if (cs) {
    out.container_status = {
      ...(cs.container_id ? { container_id: cs.container_id } : {}),
      ...(Array.isArray(cs.network_infos)
        ? {
          network_infos: cs.network_infos.map((ni) => ({
            ...ni,
            labels: Array.isArray(ni.labels) ? { labels: ni.labels } : (ni.labels ?? {}),
          })),
        }
        : {}),
    };
  }
  if ((s as Json).healthy !== undefined) out.healthy = (s as Json).healthy;
  return out;
}

/** A task as the operator API lists it; `withStatuses` false for TASK_ADDED of a new task. */
export function opTask(t: MesosTask & Json, withStatuses = true): Json {
  const res = (t.resources ?? {}) as Json;
  const resources: Json[] = [];
  for (const name of ["cpus", "mem", "disk"]) {
    if (typeof res[name] === "number") resources.push({ name, type: "SCALAR", scalar: { value: res[name] } });
  }
  const ports = portsResource(t.resources?.ports);
  if (ports) resources.push(ports);
  const out: Json = {
    name: t.name,
    task_id: v(t.id),
    framework_id: v(t.framework_id),
    agent_id: v(t.slave_id),
    state: withStatuses ? t.state : "TASK_STAGING",
    resources,
  };
  if (withStatuses) out.statuses = (t.statuses ?? []).map((s) => opStatus(s, t));
  const l = labels(t.labels);
  if (l) out.labels = l;
  if (t.discovery) out.discovery = t.discovery;
  if (t.container) out.container = t.container;
  return out;
}

export function opAgent(a: MesosSlave & Json): Json {
  const port = Number(/:(\d+)$/.exec(a.pid ?? "")?.[1] ?? 5051);
  return {
    agent_info: { hostname: a.hostname ?? pidHost(a.pid), port, id: v(a.id) },
    active: true,
    version: a.version ?? "1.7.2",
    pid: a.pid,
  };
}

export function opFramework(f: MesosFramework & Json): Json {
  return {
    framework_info: {
      user: f.user ?? "root",
      name: f.name,
      id: v(f.id),
      hostname: f.hostname,
      ...(typeof f.webui_url === "string" && f.webui_url ? { webui_url: f.webui_url } : {}),
    },
    active: f.active ?? true,
    connected: f.connected ?? true,
    recovered: false,
  };
}

/** `get_state` of a leader's full document. */
export function opGetState(doc: MesosState): Json {
  const tasks: Json[] = [];
  const completed: Json[] = [];
  const frameworks: Json[] = [];
  for (const fw of (doc.frameworks ?? []) as Array<MesosFramework & Json>) {
    frameworks.push(opFramework(fw));
    // A task belongs to the framework it is listed under (a hand-written document may leave
    // out or misspell its framework_id; a master never does).
    const own = (t: MesosTask) => ({ ...t, framework_id: fw.id ?? t.framework_id }) as MesosTask & Json;
    for (const t of fw.tasks ?? []) tasks.push(opTask(own(t)));
    for (const t of (fw.completed_tasks ?? []) as MesosTask[]) completed.push(opTask(own(t)));
  }
  return {
    get_tasks: { tasks, completed_tasks: completed },
    get_executors: {},
    get_frameworks: { frameworks },
    get_agents: { agents: ((doc.slaves ?? []) as Array<MesosSlave & Json>).map(opAgent) },
  };
}

export function subscribedEvent(doc: MesosState, heartbeatSeconds: number): Json {
  return {
    type: "SUBSCRIBED",
    subscribed: { get_state: opGetState(doc), heartbeat_interval_seconds: heartbeatSeconds },
  };
}

/** The events a task launch sends: TASK_ADDED (staging), then one TASK_UPDATED per status. */
export function launchEvents(t: MesosTask & Json): Json[] {
  const out: Json[] = [{ type: "TASK_ADDED", task_added: { task: opTask(t, false) } }];
  for (const s of t.statuses ?? []) out.push(taskUpdated(t, s));
  return out;
}

export function taskUpdated(t: MesosTask, s: MesosTaskStatus): Json {
  return {
    type: "TASK_UPDATED",
    task_updated: { framework_id: v(t.framework_id), status: opStatus(s, t), state: s.state },
  };
}

/** A task that changed wholesale (moved to another agent): the master lists it anew. */
export function taskAdded(t: MesosTask & Json): Json {
  return { type: "TASK_ADDED", task_added: { task: opTask(t) } };
}

export function agentAdded(a: MesosSlave & Json): Json {
  return { type: "AGENT_ADDED", agent_added: { agent: opAgent(a) } };
}

export function agentRemoved(id: string): Json {
  return { type: "AGENT_REMOVED", agent_removed: { agent_id: v(id) } };
}

export function frameworkAdded(f: MesosFramework & Json): Json {
  return { type: "FRAMEWORK_ADDED", framework_added: { framework: opFramework(f) } };
}

export function frameworkUpdated(f: MesosFramework & Json): Json {
  return { type: "FRAMEWORK_UPDATED", framework_updated: { framework: opFramework(f) } };
}

export function frameworkRemoved(f: MesosFramework & Json): Json {
  return { type: "FRAMEWORK_REMOVED", framework_removed: { framework_info: opFramework(f).framework_info } };
}
