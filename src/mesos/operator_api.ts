/**
 * Operator API shapes → `/master/state` shapes (owns: reading the v1 operator API's JSON —
 * ids as `{"value": ...}`, `agent_info`, `framework_info`, `Labels` as `{"labels": [...]}`,
 * `resources` as a list of named scalars and ranges — into the shapes of `state_types.ts`,
 * so that the naming rules in `src/records/` see the same data whichever way it came; and
 * turning stream events into `StateDelta`s). Pure; no I/O.
 *
 * What the operator API does not carry: a framework's scheduler `pid` (so, from the stream,
 * frameworks get their A records from `hostname` and no `_framework._tcp` SRV record).
 */
import type { StateDelta } from "./state_delta.ts";
import type {
  MesosDiscovery,
  MesosFramework,
  MesosLabel,
  MesosNetworkInfo,
  MesosSlave,
  MesosTask,
  MesosTaskStatus,
} from "./state_types.ts";
import { slimTask } from "../records/task_slim.ts";
import { arrayOf, object, scanJsonSteps } from "./json_scan.ts";
import { runAll } from "../work_slices.ts";

// ---------------------------------------------------------------------------------------------
// Operator API shapes (the fields read; everything optional, unknown fields ignored)

export interface OpId {
  value?: string;
}

export interface OpLabels {
  labels?: MesosLabel[] | null;
}

export interface OpRange {
  begin?: number;
  end?: number;
}

export interface OpResource {
  name?: string;
  type?: string;
  scalar?: { value?: number };
  ranges?: { range?: OpRange[] | null } | null;
}

export interface OpTaskStatus {
  task_id?: OpId;
  agent_id?: OpId;
  state?: string;
  timestamp?: number;
  labels?: OpLabels | null;
  healthy?: boolean;
  container_status?: {
    network_infos?: Array<MesosNetworkInfo & { labels?: unknown }> | null;
  } | null;
}

export interface OpTask {
  name?: string;
  task_id?: OpId;
  framework_id?: OpId;
  agent_id?: OpId;
  state?: string;
  resources?: OpResource[] | null;
  statuses?: OpTaskStatus[] | null;
  discovery?: {
    visibility?: string;
    name?: string;
    ports?: { ports?: Array<{ number?: number; name?: string; protocol?: string }> | null } | null;
  } | null;
}

export interface OpAgent {
  agent_info?: { id?: OpId; hostname?: string; port?: number };
  pid?: string;
}

export interface OpFramework {
  framework_info?: { id?: OpId; name?: string; hostname?: string };
}

/**
 * A `get_state` as `readEvent` reads it: its tasks are converted as they are read
 * (`convertTask`), so a snapshot of a large cluster never holds them in both forms.
 */
export interface OpGetState {
  get_tasks?: {
    tasks?: MesosTask[] | null;
    unreachable_tasks?: MesosTask[] | null;
  } | null;
  get_frameworks?: { frameworks?: OpFramework[] | null } | null;
  get_agents?: { agents?: OpAgent[] | null } | null;
}

/** One stream event as `readEvent` reads it (`type` plus the field named after it; tasks converted). */
export interface OpEvent {
  type?: string;
  subscribed?: { get_state?: OpGetState; heartbeat_interval_seconds?: number };
  /** A GET_STATE answer (not an event: read the same way). */
  get_state?: OpGetState;
  task_added?: { task?: MesosTask };
  task_updated?: { framework_id?: OpId; status?: OpTaskStatus; state?: string };
  agent_added?: { agent?: OpAgent };
  agent_removed?: { agent_id?: OpId };
  framework_added?: { framework?: OpFramework };
  framework_updated?: { framework?: OpFramework };
  framework_removed?: { framework_info?: { id?: OpId } };
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Reading a record

const opId = object({ value: "any" });
const opLabels = object({ labels: arrayOf({ key: "any", value: "any" }) });
const opStatus = object({
  task_id: opId,
  agent_id: opId,
  state: "any",
  timestamp: "any",
  labels: opLabels,
  healthy: "any",
  container_status: object({
    network_infos: arrayOf({
      ip_address: "any",
      ip_addresses: arrayOf({ ip_address: "any", protocol: "any" }),
    }),
  }),
});
const opTask = object({
  name: "any",
  task_id: opId,
  framework_id: opId,
  agent_id: opId,
  state: "any",
  resources: arrayOf({ name: "any", ranges: object({ range: arrayOf({ begin: "any", end: "any" }) }) }),
  statuses: { items: opStatus },
  discovery: object({
    visibility: "any",
    name: "any",
    ports: object({ ports: arrayOf({ number: "any", name: "any", protocol: "any" }) }),
  }),
}, (t) => convertTask(t as OpTask));
// Read in steps (`readEventSteps`): a SUBSCRIBED snapshot lets other work run while it is read.
const opTasks = { items: opTask, steps: true };
const opAgent = object({ agent_info: object({ id: opId, hostname: "any", port: "any" }), pid: "any" });
const opFramework = object({ framework_info: object({ id: opId, name: "any", hostname: "any" }) });

const getState = object({
  get_tasks: object({ tasks: opTasks, unreachable_tasks: opTasks }),
  get_frameworks: object({ frameworks: { items: opFramework } }),
  get_agents: object({ agents: { items: opAgent, steps: true } }),
});

/** The fields of a stream event that are read (`OpEvent`); the rest of a record is not kept. */
export const OP_EVENT_SCHEMA = object({
  type: "any",
  subscribed: object({ heartbeat_interval_seconds: "any", get_state: getState }),
  get_state: getState,
  task_added: object({ task: opTask }),
  task_updated: object({ framework_id: opId, status: opStatus, state: "any" }),
  agent_added: object({ agent: opAgent }),
  agent_removed: object({ agent_id: opId }),
  framework_added: object({ framework: opFramework }),
  framework_updated: object({ framework: opFramework }),
  framework_removed: object({ framework_info: object({ id: opId }) }),
});

/**
 * One RecordIO record of the stream (UTF-8 JSON) with the fields that are read, its tasks
 * converted (`convertTask`): a SUBSCRIBED snapshot of a large cluster is hundreds of
 * megabytes, mostly fields no record comes from. Throws `SyntaxError` when it is not JSON.
 */
export function readEvent(record: Uint8Array): OpEvent {
  return runAll(readEventSteps(record));
}

/** `readEvent` in steps (`runSliced`): a snapshot's tasks and agents are read a few hundred at a time. */
export function readEventSteps(record: Uint8Array): Generator<void, OpEvent> {
  return scanJsonSteps(record, OP_EVENT_SCHEMA) as Generator<void, OpEvent>;
}

// ---------------------------------------------------------------------------------------------
// Conversions

function id(v: OpId | undefined | null): string | undefined {
  return typeof v?.value === "string" ? v.value : undefined;
}

function labels(v: OpLabels | null | undefined): MesosLabel[] | undefined {
  if (!v || !Array.isArray(v.labels)) return undefined;
  return v.labels.map((l) => ({ key: l?.key, value: l?.value }));
}

/**
 * The `/master/state` form of the `ports` resources: every `ports` range of the list, sorted,
 * overlapping and adjacent ranges merged, as `[31000-31001, 31005-31005]`; undefined without
 * any (as Mesos omits the key).
 */
export function portsString(resources: OpResource[] | null | undefined): string | undefined {
  if (!Array.isArray(resources)) return undefined;
  const ranges: Array<[number, number]> = [];
  let any = false;
  for (const r of resources) {
    if (r?.name !== "ports") continue;
    any = true;
    for (const x of r.ranges?.range ?? []) {
      if (typeof x?.begin !== "number" || typeof x?.end !== "number") continue;
      ranges.push([Math.min(x.begin, x.end), Math.max(x.begin, x.end)]);
    }
  }
  if (!any) return undefined;
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return `[${merged.map(([lo, hi]) => `${lo}-${hi}`).join(", ")}]`;
}

export function convertStatus(s: OpTaskStatus): MesosTaskStatus {
  const out: MesosTaskStatus = {};
  if (typeof s.state === "string") out.state = s.state;
  if (typeof s.timestamp === "number") out.timestamp = s.timestamp;
  if (typeof s.healthy === "boolean") out.healthy = s.healthy;
  const l = labels(s.labels);
  if (l) out.labels = l;
  const nis = s.container_status?.network_infos;
  if (Array.isArray(nis)) {
    out.container_status = {
      network_infos: nis.map((ni) => {
        const n: MesosNetworkInfo = {};
        if (Array.isArray(ni?.ip_addresses)) {
          n.ip_addresses = ni.ip_addresses.map((a) => ({ ip_address: a?.ip_address, protocol: a?.protocol }));
        }
        if (typeof ni?.ip_address === "string") n.ip_address = ni.ip_address;
        return n;
      }),
    };
  } else if (s.container_status) {
    out.container_status = {};
  }
  return out;
}

function convertDiscovery(d: OpTask["discovery"]): MesosDiscovery | undefined {
  if (!d) return undefined;
  const out: MesosDiscovery = {};
  if (typeof d.visibility === "string") out.visibility = d.visibility;
  if (typeof d.name === "string") out.name = d.name;
  if (d.ports) {
    out.ports = {
      ports: Array.isArray(d.ports.ports)
        ? d.ports.ports.map((p) => ({ number: p?.number, name: p?.name, protocol: p?.protocol }))
        : undefined,
    };
  }
  return out;
}

/** A task as `/master/state` lists it under `frameworks[].tasks`, slim (`slimTask`). */
export function convertTask(t: OpTask): MesosTask {
  const out: MesosTask = {
    id: id(t.task_id),
    name: t.name,
    framework_id: id(t.framework_id),
    slave_id: id(t.agent_id),
    state: t.state,
  };
  const ports = portsString(t.resources);
  out.resources = ports === undefined ? {} : { ports };
  out.statuses = Array.isArray(t.statuses) ? t.statuses.map(convertStatus) : [];
  const d = convertDiscovery(t.discovery);
  if (d) out.discovery = d;
  return slimTask(out);
}

/** An agent as `/master/state` lists it under `slaves`. */
export function convertAgent(a: OpAgent): MesosSlave {
  const info = a.agent_info ?? {};
  return { id: id(info.id), hostname: info.hostname, pid: a.pid };
}

/** A framework as `/master/state` lists it (no `pid`: the operator API does not carry it). */
export function convertFramework(f: OpFramework): MesosFramework {
  const info = f.framework_info ?? {};
  return { id: id(info.id), name: info.name, hostname: info.hostname };
}

/** Task states after which Mesos moves a task to `completed_tasks` (no records, ever again). */
const TERMINAL = new Set([
  "TASK_FINISHED",
  "TASK_FAILED",
  "TASK_KILLED",
  "TASK_LOST",
  "TASK_ERROR",
  "TASK_DROPPED",
  "TASK_GONE",
  "TASK_GONE_BY_OPERATOR",
]);

/** True for states after which Mesos moves a task to `completed_tasks`. */
export function isTerminal(state: string | undefined): boolean {
  return state !== undefined && TERMINAL.has(state);
}

/**
 * The whole cluster from a `get_state` (of SUBSCRIBED, or a GET_STATE answer) as one delta
 * that upserts everything: agents, frameworks, and the live tasks (`tasks`, and the
 * `unreachable_tasks` that may come back; terminal ones are left out, as `/master/state`
 * keeps them apart in `completed_tasks`).
 */
export function snapshotDelta(s: OpGetState): Required<Pick<StateDelta, "tasks" | "agents" | "frameworks">> {
  const tasks: MesosTask[] = [];
  for (const list of [s.get_tasks?.tasks, s.get_tasks?.unreachable_tasks]) {
    for (const t of list ?? []) {
      if (t && typeof t === "object" && !isTerminal(t.state)) tasks.push(t);
    }
  }
  return {
    agents: (s.get_agents?.agents ?? []).filter((a) => a).map(convertAgent),
    frameworks: (s.get_frameworks?.frameworks ?? []).filter((f) => f).map(convertFramework),
    tasks,
  };
}

/** What `eventDelta` needs to know of the current model: the task an update is about. */
export type TaskLookup = (taskId: string) => MesosTask | undefined;

/**
 * The change one event makes, or null for events that change no record (HEARTBEAT, offers,
 * unknown types, an update for a task never seen). `SUBSCRIBED` is not an event here (see
 * `snapshotDelta`). A task that reaches a terminal state is removed (`removedTasks`).
 */
export function eventDelta(ev: OpEvent, lookup: TaskLookup): StateDelta | null {
  switch (ev.type) {
    case "TASK_ADDED": {
      const task = ev.task_added?.task;
      if (!task || typeof task !== "object" || !task.id) return null;
      return isTerminal(task.state) ? { removedTasks: [task.id] } : { tasks: [task] };
    }
    case "TASK_UPDATED": {
      const u = ev.task_updated;
      const taskId = id(u?.status?.task_id);
      if (!u || !taskId) return null;
      const prev = lookup(taskId);
      const state = u.state ?? u.status?.state;
      if (isTerminal(state)) return prev ? { removedTasks: [taskId] } : null;
      if (!prev) return null;
      const status = u.status ? convertStatus(u.status) : undefined;
      const agent = id(u.status?.agent_id);
      // The slim statuses with the new one after them pick the same statuses as the whole history.
      const task: MesosTask = {
        ...prev,
        state,
        statuses: status ? [...(prev.statuses ?? []), status] : prev.statuses,
      };
      if (agent) task.slave_id = agent;
      return { tasks: [slimTask(task)] };
    }
    case "AGENT_ADDED": {
      const a = ev.agent_added?.agent;
      return a ? { agents: [convertAgent(a)] } : null;
    }
    case "AGENT_REMOVED": {
      const agent = id(ev.agent_removed?.agent_id);
      return agent ? { removedAgents: [agent] } : null;
    }
    case "FRAMEWORK_ADDED":
    case "FRAMEWORK_UPDATED": {
      const f = ev.type === "FRAMEWORK_ADDED"
        ? ev.framework_added?.framework
        : ev.framework_updated?.framework;
      return f ? { frameworks: [convertFramework(f)] } : null;
    }
    case "FRAMEWORK_REMOVED": {
      const fw = id(ev.framework_removed?.framework_info?.id);
      return fw ? { removedFrameworks: [fw] } : null;
    }
    default:
      return null;
  }
}
