/**
 * The simulated cluster's data (owns: generating a realistic Mesos master state document
 * from a seed, and changing it the way a running cluster changes: tasks launched, killed,
 * moved to another agent). No I/O here; master_server.ts serves what this holds.
 *
 * Generated documents use the real master `/master/state` shape (Mesos 1.x field names, as
 * in the fixtures under tests/fixtures): Marathon-like app names and ids (`app.<uuid>`,
 * group apps `web.prod` / `prod_web.<uuid>`), `resources.ports` ranges, agent pids
 * `slave(1)@10.x.y.z:5051`, Docker bridge tasks with `Docker.NetworkSettings.IPAddress` labels,
 * overlay and IPv6 `container_status.network_infos`, DiscoveryInfo with named ports, and about
 * 10% of tasks that are not running. Everything is deterministic for a given seed.
 * Agent and framework hosts are IP literals only, so nothing consuming the state resolves
 * names; those addresses are data and are never contacted.
 *
 * Every change is also told to `onEvent` listeners as the operator API events a master
 * would send for it (operator_events.ts), so the simulated masters can stream them.
 */
import { isTerminal } from "../../src/mesos/operator_api.ts";
import type {
  MesosFramework,
  MesosSlave,
  MesosState,
  MesosTask,
  MesosTaskStatus,
} from "../../src/mesos/state_types.ts";
import {
  agentAdded,
  agentRemoved,
  frameworkAdded,
  frameworkRemoved,
  launchEvents,
  taskAdded,
  taskUpdated,
} from "./operator_events.ts";

/** Sizes and seed of a generated cluster. */
export interface GenerateOptions {
  frameworks: number;
  agents: number;
  /** All tasks, running or not (about 10% are not running). */
  tasks: number;
  seed: number;
}

/** How a launched task is networked; decides where its IPs show up in the state. */
export type NetworkMode = "host" | "bridge" | "overlay" | "ipv6" | "legacy";

/** What `launchTask` may be told; everything has a default. */
export interface LaunchOptions {
  /** Framework name or id (default: the first framework named like Marathon, else the first). */
  framework?: string;
  /** Task name, e.g. `web-frontend` or `payments.api` (default: one from the app pool). */
  name?: string;
  /** Agent id (default: one picked by the cluster's generator). */
  agent?: string;
  network?: NetworkMode;
  /** Number of host ports (default 1). */
  ports?: number;
  /** Add a DiscoveryInfo with named ports (default false). */
  discovery?: boolean;
  /** Initial state (default TASK_RUNNING). */
  state?: string;
}

/** One task as listed by `SimCluster.tasks()`. */
export interface TaskSummary {
  id: string;
  name: string;
  state: string;
  frameworkId: string;
  frameworkName: string;
  agentId: string;
  /** True if it is in `completed_tasks` rather than `tasks`. */
  completed: boolean;
}

/** A framework as it appears in the full document (`completed_tasks` is not in the shared type). */
type DocFramework = MesosFramework & { completed_tasks?: MesosTask[] | null; [key: string]: unknown };
type DocTask = MesosTask & { [key: string]: unknown };

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** A small seeded PRNG (mulberry32); the same seed always gives the same sequence. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[this.int(0, 15)];
    return s;
  }

  /** A time-based-looking UUID (the form Marathon puts in task ids). */
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-11e${this.hex(1)}-${this.pick(["8", "9", "a", "b"])}${
      this.hex(3)
    }-${this.hex(12)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Name pools

/** Marathon app ids, as paths (a nested id gives the task name `leaf.group`). */
const MARATHON_APPS: readonly string[][] = [
  ["web-frontend"],
  ["payments.api"],
  ["user-service"],
  ["auth"],
  ["cache-redis"],
  ["search.indexer"],
  ["nginx"],
  ["api-gateway"],
  ["metrics-collector"],
  ["log-shipper"],
  ["inventory"],
  ["checkout"],
  ["orders-db"],
  ["billing.worker"],
  ["notifications"],
  ["image-resizer"],
  ["prod", "web"],
  ["prod", "payments", "api"],
  ["staging", "web"],
  ["tools", "grafana"],
  ["tools", "prometheus"],
  ["Session_Store"],
];

interface FrameworkKind {
  name: string;
  /** Builds a task name and id for instance `n`. */
  task(rng: Rng, n: number): { name: string; id: string };
}

function marathonTask(rng: Rng): { name: string; id: string } {
  const path = rng.pick(MARATHON_APPS);
  return { name: [...path].reverse().join("."), id: `${path.join("_")}.${rng.uuid()}` };
}

const FRAMEWORK_KINDS: readonly FrameworkKind[] = [
  { name: "marathon", task: (rng) => marathonTask(rng) },
  {
    name: "metronome",
    task: (rng) => {
      const job = rng.pick(["backup-db", "report.nightly", "cleanup"]);
      const id = `${job.replaceAll(".", "_")}_20240${rng.int(1, 9)}${rng.int(10, 28)}0${rng.int(1000, 9999)}${
        rng.hex(5)
      }.${rng.uuid()}`;
      return { name: job, id };
    },
  },
  {
    name: "kafka",
    task: (rng, n) => ({ name: `kafka-${n}-broker`, id: `kafka-${n}-broker__${rng.uuid()}` }),
  },
  {
    name: "jenkins",
    task: (rng, n) => ({ name: `jenkins-agent-${n}`, id: `jenkins-agent-${n}.${rng.uuid()}` }),
  },
  {
    name: "cassandra",
    task: (rng, n) => ({ name: `node-${n}-server`, id: `node-${n}-server__${rng.uuid()}` }),
  },
  {
    name: "chronos-2.5.1",
    task: (rng) => {
      const job = rng.pick(["etl-hourly", "send-mail"]);
      return { name: `ChronosTask:${job}`, id: `ct:${1_700_000_000_000 + rng.int(0, 9_999_999)}:0:${job}:` };
    },
  },
  {
    name: "hdfs",
    task: (rng, n) => {
      const role = rng.pick(["journal", "name", "data"]);
      return { name: `${role}-${n}-node`, id: `${role}-${n}-node__${rng.uuid()}` };
    },
  },
  {
    name: "spark-dispatcher",
    task: (rng, n) => ({ name: `driver-2024010${rng.int(1, 9)}-${1000 + n}`, id: `driver-${rng.uuid()}` }),
  },
  { name: "marathon-user", task: (rng) => marathonTask(rng) },
  {
    name: "elastic",
    task: (rng, n) => ({ name: `master-${n}-node`, id: `master-${n}-node__${rng.uuid()}` }),
  },
];

const DOCKER_IMAGES = ["nginx:1.25", "redis:7", "python:3.12-slim", "openjdk:17", "busybox:1.36"];
const NON_RUNNING_STATES = [
  "TASK_STAGING",
  "TASK_STARTING",
  "TASK_KILLING",
  "TASK_KILLED",
  "TASK_FAILED",
  "TASK_FINISHED",
  "TASK_LOST",
];
const PORT_NAMES = ["http", "https", "grpc", "metrics", "admin"];

// ---------------------------------------------------------------------------------------------
// Helpers on documents

/** The IP of an agent pid such as `slave(1)@10.0.1.12:5051` (IPv6 unbracketed), or "". */
export function pidHost(pid: string | undefined): string {
  if (!pid) return "";
  const at = pid.lastIndexOf("@");
  const hp = at >= 0 ? pid.slice(at + 1) : pid;
  if (hp.startsWith("[")) return hp.slice(1, hp.indexOf("]"));
  const c = hp.lastIndexOf(":");
  return c >= 0 ? hp.slice(0, c) : hp;
}

/** Expands a `resources.ports` string (`[31000-31001, 31005-31005]`) to its port numbers. */
export function expandPorts(ports: string | undefined): number[] {
  if (!ports) return [];
  const m = /\[([^\]]*)\]/.exec(ports);
  if (!m) return [];
  const out: number[] = [];
  for (const item of m[1].split(",")) {
    if (item.trim() === "") continue;
    const [lo, hi] = item.trim().split("-").map((s) => Number(s.trim()));
    if (!Number.isInteger(lo)) continue;
    const top = Number.isInteger(hi) ? hi : lo;
    for (let p = lo; p <= top && out.length < 1000; p++) out.push(p);
  }
  return out;
}

/** Formats ports as Mesos does: contiguous runs become `lo-hi` ranges. */
export function formatPorts(ports: readonly number[]): string {
  const sorted = [...ports].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(`${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return `[${ranges.join(", ")}]`;
}

function round5(x: number): number {
  return Math.round(x * 100000) / 100000;
}

function maxTimestamp(doc: MesosState): number {
  let max = 0;
  const visit = (tasks: MesosTask[] | null | undefined) => {
    for (const t of tasks ?? []) {
      for (const s of t.statuses ?? []) {
        if (typeof s.timestamp === "number" && s.timestamp > max) max = s.timestamp;
      }
    }
  };
  for (const key of ["frameworks", "completed_frameworks"]) {
    const fws = (doc as Record<string, unknown>)[key];
    if (!Array.isArray(fws)) continue;
    for (const fw of fws as DocFramework[]) {
      visit(fw.tasks);
      visit(fw.completed_tasks);
    }
  }
  return max;
}

// ---------------------------------------------------------------------------------------------
// The cluster

/**
 * A mutable Mesos cluster: one full leader-view state document plus the operations that
 * change it. `document()` is the live object (master_server.ts serialises it per request).
 */
export class SimCluster {
  readonly #doc: MesosState;
  readonly #rng: Rng;
  #clock: number;
  /** Next free host port per agent id. */
  readonly #nextPort = new Map<string, number>();
  #overlayNext = 2;
  #bridgeNext = 2;
  #version = 0;
  #listeners: Array<(events: Record<string, unknown>[]) => void> = [];
  #agentNext = 0;

  private constructor(doc: MesosState, seed: number) {
    this.#doc = doc;
    this.#rng = new Rng(seed * 7919 + 17);
    this.#clock = Math.max(maxTimestamp(doc), 1_600_000_000);
    for (const fw of this.#frameworks()) {
      for (const t of [...(fw.tasks ?? []), ...(fw.completed_tasks ?? [])]) {
        const agent = t.slave_id ?? "";
        const top = Math.max(...expandPorts(t.resources?.ports), 31000);
        if (top + 1 > (this.#nextPort.get(agent) ?? 0)) this.#nextPort.set(agent, top + 1);
      }
    }
  }

  /** A generated cluster (deterministic per `opts.seed`). */
  static generate(opts: GenerateOptions): SimCluster {
    return new SimCluster(generateDocument(opts), opts.seed);
  }

  /** A cluster holding an existing state document (e.g. a fixture); the object is copied. */
  static fromDocument(doc: MesosState, seed = 1): SimCluster {
    return new SimCluster(structuredClone(doc), seed);
  }

  /** Calls `fn` with the operator API events of every change; returns an unsubscribe function. */
  onEvent(fn: (events: Record<string, unknown>[]) => void): () => void {
    this.#listeners.push(fn);
    return () => {
      this.#listeners = this.#listeners.filter((f) => f !== fn);
    };
  }

  #emit(events: Record<string, unknown>[]): void {
    for (const fn of this.#listeners) fn(events);
  }

  /** The live document (do not modify it directly; use the operations). */
  document(): MesosState {
    return this.#doc;
  }

  /** Increases on every change, so callers can tell whether anything happened. */
  get version(): number {
    return this.#version;
  }

  /** The agents (`slaves`) of the document. */
  agents(): MesosSlave[] {
    return Array.isArray(this.#doc.slaves) ? this.#doc.slaves : [];
  }

  /** Every task of the running frameworks, in `tasks` and in `completed_tasks`. */
  tasks(): TaskSummary[] {
    const out: TaskSummary[] = [];
    for (const fw of this.#frameworks()) {
      for (const [list, completed] of [[fw.tasks, false], [fw.completed_tasks, true]] as const) {
        for (const t of list ?? []) {
          out.push({
            id: t.id ?? "",
            name: t.name ?? "",
            state: t.state ?? "",
            frameworkId: fw.id ?? "",
            frameworkName: fw.name ?? "",
            agentId: t.slave_id ?? "",
            completed,
          });
        }
      }
    }
    return out;
  }

  /** The tasks in state TASK_RUNNING under `frameworks[].tasks` (the ones that get records). */
  runningTasks(): TaskSummary[] {
    return this.tasks().filter((t) => !t.completed && t.state === "TASK_RUNNING");
  }

  /**
   * Kills a task as Mesos reports it: a TASK_KILLED status is appended and the task moves
   * from `frameworks[].tasks` to that framework's `completed_tasks`. Returns false if no
   * live task has this id.
   */
  killTask(id: string): boolean {
    for (const fw of this.#frameworks()) {
      const tasks = fw.tasks ?? [];
      const i = tasks.findIndex((t) => t.id === id);
      if (i < 0) continue;
      const [task] = tasks.splice(i, 1);
      const last = task.statuses?.at(-1);
      task.state = "TASK_KILLED";
      task.statuses = [...(task.statuses ?? []), {
        state: "TASK_KILLED",
        timestamp: this.#tick(),
        ...(last?.container_status ? { container_status: structuredClone(last.container_status) } : {}),
      }];
      if (!Array.isArray(fw.completed_tasks)) fw.completed_tasks = [];
      fw.completed_tasks.push(task);
      this.#version++;
      this.#emit([taskUpdated(task, task.statuses.at(-1)!)]);
      return true;
    }
    return false;
  }

  /**
   * Launches a new task (by default a running one-port Marathon app on a picked agent) and
   * returns its id. Throws if the framework or agent does not exist.
   */
  launchTask(opts: LaunchOptions = {}): string {
    const fws = this.#frameworks();
    const fw = opts.framework === undefined
      ? (fws.find((f) => (f.name ?? "").startsWith("marathon")) ?? fws[0])
      : fws.find((f) => f.id === opts.framework || f.name === opts.framework);
    if (!fw) throw new Error(`no framework ${opts.framework ?? "(none in the state)"}`);
    const agents = this.agents();
    const agent = opts.agent === undefined
      ? agents[this.#rng.int(0, agents.length - 1)]
      : agents.find((a) => a.id === opts.agent);
    if (!agent) throw new Error(`no agent ${opts.agent ?? "(none in the state)"}`);
    const named = opts.name === undefined ? marathonTask(this.#rng) : {
      name: opts.name,
      id: `${opts.name.replaceAll("/", "_")}.${this.#rng.uuid()}`,
    };
    const task = this.#buildTask({
      rng: this.#rng,
      fw,
      agent,
      name: named.name,
      id: named.id,
      network: opts.network ?? "host",
      portCount: opts.ports ?? 1,
      discovery: opts.discovery ?? false,
      state: opts.state ?? "TASK_RUNNING",
      time: this.#tick(),
    });
    if (isTerminal(task.state)) {
      if (!Array.isArray(fw.completed_tasks)) fw.completed_tasks = [];
      fw.completed_tasks.push(task);
    } else {
      if (!Array.isArray(fw.tasks)) fw.tasks = [];
      fw.tasks.push(task);
    }
    this.#version++;
    this.#emit(launchEvents(task));
    return task.id!;
  }

  /**
   * Moves a live task to another agent (`agentId`, or the next agent in the list): its
   * `slave_id` changes, it gets fresh host ports there (DiscoveryInfo ports follow), and a
   * new TASK_RUNNING status whose network addresses equal to the old agent's IP become the
   * new agent's IP. The id stays the same. Returns the new agent id.
   */
  moveTask(id: string, agentId?: string): string {
    const task = this.#liveTask(id);
    if (!task) throw new Error(`no live task ${id}`);
    const agents = this.agents();
    const from = agents.find((a) => a.id === task.slave_id);
    let to: MesosSlave | undefined;
    if (agentId !== undefined) {
      to = agents.find((a) => a.id === agentId);
      if (!to) throw new Error(`no agent ${agentId}`);
    } else {
      const others = agents.filter((a) => a.id !== task.slave_id);
      if (others.length === 0) throw new Error("no other agent to move the task to");
      const i = from ? agents.indexOf(from) : -1;
      to = agents.slice(i + 1).find((a) => a.id !== task.slave_id) ?? others[0];
    }
    const oldIP = pidHost(from?.pid);
    const newIP = pidHost(to.pid);
    const oldPorts = expandPorts(task.resources?.ports);
    const newPorts = this.#allocPorts(to.id ?? "", oldPorts.length);
    const portMap = new Map(oldPorts.map((p, i) => [p, newPorts[i]]));
    task.slave_id = to.id;
    if (task.resources && oldPorts.length > 0) task.resources.ports = formatPorts(newPorts);
    for (const p of task.discovery?.ports?.ports ?? []) {
      if (p.number !== undefined && portMap.has(p.number)) p.number = portMap.get(p.number);
    }
    const last = [...(task.statuses ?? [])].reverse().find((s) => s.state === "TASK_RUNNING") ??
      task.statuses?.at(-1);
    const status: MesosTaskStatus = last ? structuredClone(last) : {};
    status.state = "TASK_RUNNING";
    status.timestamp = this.#tick();
    for (const ni of status.container_status?.network_infos ?? []) {
      if (ni.ip_address === oldIP && oldIP) ni.ip_address = newIP;
      for (const a of ni.ip_addresses ?? []) if (a.ip_address === oldIP && oldIP) a.ip_address = newIP;
    }
    task.state = "TASK_RUNNING";
    task.statuses = [...(task.statuses ?? []), status];
    this.#version++;
    this.#emit([taskAdded(task)]);
    return to.id ?? "";
  }

  /** Adds an agent (a new IP in the cluster's agent range); returns its id. */
  addAgent(): string {
    const agents = this.agents();
    const base = agents[0]?.id?.replace(/-S\d+$/, "") ?? "sim";
    const n = agents.length + 1000 + this.#agentNext++;
    const ip = `10.250.${(n >> 8) & 255}.${n & 255}`;
    const agent = {
      id: `${base}-S${n}`,
      pid: `slave(1)@${ip}:5051`,
      hostname: ip,
      port: 5051,
      active: true,
      version: "1.7.2",
    } as MesosSlave;
    if (!Array.isArray(this.#doc.slaves)) this.#doc.slaves = [];
    this.#doc.slaves.push(agent);
    this.#version++;
    this.#emit([agentAdded(agent as MesosSlave & Record<string, unknown>)]);
    return agent.id!;
  }

  /**
   * Removes an agent as a master does when it is gone: its live tasks become TASK_GONE
   * (completed), then the agent leaves the state. Returns false for an unknown agent.
   */
  removeAgent(id: string): boolean {
    const agents = this.agents();
    const i = agents.findIndex((a) => a.id === id);
    if (i < 0) return false;
    const events: Record<string, unknown>[] = [];
    for (const fw of this.#frameworks()) {
      const keep: MesosTask[] = [];
      for (const t of fw.tasks ?? []) {
        if (t.slave_id !== id) {
          keep.push(t);
          continue;
        }
        t.state = "TASK_GONE";
        const status: MesosTaskStatus = { state: "TASK_GONE", timestamp: this.#tick() };
        t.statuses = [...(t.statuses ?? []), status];
        if (!Array.isArray(fw.completed_tasks)) fw.completed_tasks = [];
        fw.completed_tasks.push(t);
        events.push(taskUpdated(t, status));
      }
      fw.tasks = keep;
    }
    agents.splice(i, 1);
    this.#version++;
    events.push(agentRemoved(id));
    this.#emit(events);
    return true;
  }

  /** Adds a framework without tasks; returns its id. */
  addFramework(name: string): string {
    const fws = this.#frameworks();
    const base = fws[0]?.id?.replace(/-\d+$/, "") ?? "sim";
    const id = `${base}-${String(fws.length + 100).padStart(4, "0")}`;
    const ip = pidHost(this.agents()[0]?.pid) || "10.250.0.1";
    const fw: DocFramework = {
      id,
      name,
      hostname: ip,
      user: "root",
      active: true,
      connected: true,
      tasks: [],
      completed_tasks: [],
    };
    if (!Array.isArray(this.#doc.frameworks)) this.#doc.frameworks = [];
    this.#doc.frameworks.push(fw);
    this.#version++;
    this.#emit([frameworkAdded(fw)]);
    return id;
  }

  /**
   * Removes a framework (torn down): it moves to `completed_frameworks` and its tasks go with
   * it. Returns false for an unknown framework (id or name).
   */
  removeFramework(idOrName: string): boolean {
    const fws = this.#frameworks();
    const i = fws.findIndex((f) => f.id === idOrName || f.name === idOrName);
    if (i < 0) return false;
    const [fw] = fws.splice(i, 1);
    const doc = this.#doc as Record<string, unknown>;
    if (!Array.isArray(doc.completed_frameworks)) doc.completed_frameworks = [];
    (doc.completed_frameworks as unknown[]).push(fw);
    this.#version++;
    this.#emit([frameworkRemoved(fw)]);
    return true;
  }

  #liveTask(id: string): DocTask | undefined {
    for (const fw of this.#frameworks()) {
      const t = (fw.tasks ?? []).find((t) => t.id === id);
      if (t) return t as DocTask;
    }
    return undefined;
  }

  #frameworks(): DocFramework[] {
    return Array.isArray(this.#doc.frameworks) ? this.#doc.frameworks as DocFramework[] : [];
  }

  #tick(): number {
    this.#clock = round5(this.#clock + 1);
    return this.#clock;
  }

  #allocPorts(agentId: string, count: number): number[] {
    let next = this.#nextPort.get(agentId) ?? 31000;
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(next++);
    this.#nextPort.set(agentId, next + 1);
    return ports;
  }

  #buildTask(p: BuildTaskParams): DocTask {
    const ports = this.#allocPorts(p.agent.id ?? "", p.portCount);
    return buildTask(p, ports, () => this.#overlayNext++, () => this.#bridgeNext++);
  }
}

interface BuildTaskParams {
  rng: Rng;
  fw: MesosFramework;
  agent: MesosSlave;
  name: string;
  id: string;
  network: NetworkMode;
  portCount: number;
  discovery: boolean;
  state: string;
  time: number;
}

/** Builds one task object in the master's JSON shape. */
function buildTask(
  p: BuildTaskParams,
  ports: number[],
  nextOverlay: () => number,
  nextBridge: () => number,
): DocTask {
  const { rng, fw, agent, network } = p;
  const agentIP = pidHost(agent.pid);
  const task: DocTask = {
    id: p.id,
    name: p.name,
    framework_id: fw.id,
    executor_id: "",
    slave_id: agent.id,
    state: p.state,
    resources: {
      cpus: rng.pick([0.1, 0.25, 0.5, 1, 2]),
      mem: rng.pick([32, 64, 128, 256, 512, 1024]),
      disk: rng.pick([0, 0, 100]),
      gpus: 0,
      ...(ports.length > 0 ? { ports: formatPorts(ports) } : {}),
    } as MesosTask["resources"],
  };
  let containerStatus: MesosTaskStatus["container_status"] | undefined;
  let labels: MesosTaskStatus["labels"] | undefined;
  let containerPorts: number[] = ports;
  const image = rng.pick(DOCKER_IMAGES);
  switch (network) {
    case "host":
      task.container = { type: "MESOS" };
      containerStatus = { network_infos: [{ ip_addresses: [{ ip_address: agentIP }] }] };
      break;
    case "legacy":
      // Mesos 0.2x: no container status, or the single-address form plus the old Mesos label.
      if (rng.chance(0.5)) {
        const n = nextOverlay();
        const ip = `10.200.${(n >> 8) & 255}.${n & 255}`;
        labels = [{ key: "MesosContainerizer.NetworkSettings.IPAddress", value: ip }];
        containerStatus = { network_infos: [{ ip_address: ip }] };
      }
      break;
    case "bridge": {
      const n = nextBridge();
      const ip = `172.17.${(n >> 8) & 255}.${n & 255}`;
      containerPorts = ports.map((_, i) => (i === 0 ? 80 : 8080 + i));
      task.container = {
        type: "DOCKER",
        docker: {
          image,
          network: "BRIDGE",
          privileged: false,
          force_pull_image: false,
          port_mappings: ports.map((hp, i) => ({
            host_port: hp,
            container_port: containerPorts[i],
            protocol: "tcp",
          })),
        },
      };
      labels = [{ key: "Docker.NetworkSettings.IPAddress", value: ip }];
      containerStatus = { network_infos: [{ ip_addresses: [{ ip_address: ip }] }] };
      break;
    }
    case "overlay":
    case "ipv6": {
      const n = nextOverlay();
      const ip4 = `9.0.${(n >> 8) & 255}.${n & 255}`;
      const docker = rng.chance(0.5);
      task.container = docker
        ? {
          type: "DOCKER",
          docker: { image, network: "USER", privileged: false },
          network_infos: [{ name: "dcos" }],
        }
        : {
          type: "MESOS",
          mesos: { image: { type: "DOCKER", docker: { name: image } } },
          network_infos: [{ name: "dcos" }],
        };
      const addrs: Array<{ protocol?: string; ip_address: string }> = [{ protocol: "IPv4", ip_address: ip4 }];
      if (network === "ipv6") {
        addrs.push({
          protocol: "IPv6",
          ip_address: `fd01:b::${(n >> 8).toString(16)}:${(n & 255).toString(16)}`,
        });
      }
      containerStatus = {
        container_id: { value: rng.uuid() },
        network_infos: [{ name: network === "ipv6" ? "dcos6" : "dcos", ip_addresses: addrs, labels: [] }],
      } as unknown as MesosTaskStatus["container_status"];
      if (docker) labels = [{ key: "Docker.NetworkSettings.IPAddress", value: ip4 }];
      break;
    }
  }
  if (p.discovery) {
    task.discovery = {
      visibility: "FRAMEWORK",
      name: p.name,
      ports: {
        ports: containerPorts.map((num, i) => ({
          number: network === "bridge" || network === "overlay" || network === "ipv6" ? num : ports[i],
          name: PORT_NAMES[i % PORT_NAMES.length],
          protocol: i === 2 ? "udp" : "tcp",
        })),
      },
    };
  }
  // Statuses: how the task got to its state, oldest first.
  const path = statusPath(p.state);
  const statuses: MesosTaskStatus[] = [];
  let t = p.time - path.length + 1;
  for (const state of path) {
    const s: MesosTaskStatus & Record<string, unknown> = { state, timestamp: round5(t) };
    if (state !== "TASK_STAGING") {
      if (labels) s.labels = structuredClone(labels);
      if (containerStatus) s.container_status = structuredClone(containerStatus);
    }
    if (state === "TASK_RUNNING" && rng.chance(0.3)) s.healthy = true;
    statuses.push(s);
    t += 1;
  }
  task.statuses = statuses;
  if (rng.chance(0.2)) task.labels = [{ key: "HAPROXY_GROUP", value: "external" }];
  return task;
}

/** The statuses a task has been through to reach `state`. */
function statusPath(state: string): string[] {
  switch (state) {
    case "TASK_STAGING":
      return [];
    case "TASK_STARTING":
      return ["TASK_STARTING"];
    case "TASK_RUNNING":
      return ["TASK_STARTING", "TASK_RUNNING"];
    case "TASK_FAILED":
      return ["TASK_STARTING", "TASK_FAILED"];
    default:
      return ["TASK_STARTING", "TASK_RUNNING", state];
  }
}

// ---------------------------------------------------------------------------------------------
// Generation

/** Builds a complete leader-view state document for the given sizes and seed. */
export function generateDocument(opts: GenerateOptions): MesosState {
  const rng = new Rng(opts.seed);
  const clusterId = rng.uuid();
  const base = 1_700_000_000 + rng.int(0, 10_000_000);
  const second = rng.int(0, 63);

  const agents: MesosSlave[] = [];
  const nextPort = new Map<string, number>();
  for (let i = 0; i < Math.max(0, opts.agents); i++) {
    const ip = `10.${second}.${1 + Math.floor(i / 250)}.${(i % 250) + 2}`;
    const id = `${clusterId}-S${i}`;
    nextPort.set(id, 31000 + rng.int(0, 40));
    agents.push({
      id,
      pid: `slave(1)@${ip}:5051`,
      hostname: ip,
      port: 5051,
      registered_time: round5(base + rng.next() * 100),
      resources: { cpus: 8, mem: 30720, disk: 102400, gpus: 0, ports: "[31000-32000]" },
      attributes: rng.chance(0.3) ? { rack: `r${rng.int(1, 4)}` } : {},
      active: true,
      version: "1.7.2",
    } as MesosSlave);
  }

  const frameworks: DocFramework[] = [];
  for (let i = 0; i < Math.max(0, opts.frameworks); i++) {
    const kind = FRAMEWORK_KINDS[i % FRAMEWORK_KINDS.length];
    const round = Math.floor(i / FRAMEWORK_KINDS.length);
    const name = round === 0 ? kind.name : `${kind.name}-${round + 1}`;
    const hostIP = agents.length > 0 && i > 0
      ? pidHost(agents[rng.int(0, agents.length - 1)].pid)
      : `10.${second}.0.${2 + (i % 3)}`;
    const withPid = i === 0 || rng.chance(0.7);
    frameworks.push({
      id: `${clusterId}-${String(i).padStart(4, "0")}`,
      name,
      ...(withPid ? { pid: `scheduler-${rng.uuid()}@${hostIP}:${rng.int(10000, 45000)}` } : {}),
      hostname: hostIP,
      user: "root",
      role: "*",
      active: true,
      connected: true,
      checkpoint: true,
      failover_timeout: 604800,
      registered_time: round5(base + 200 + rng.next() * 100),
      unregistered_time: 0,
      capabilities: ["PARTITION_AWARE"],
      webui_url: withPid ? `http://${hostIP}:8080` : "",
      tasks: [],
      completed_tasks: [],
      offers: [],
      executors: [],
    });
  }

  const total = Math.max(0, opts.tasks);
  if (frameworks.length > 0 && agents.length > 0 && total > 0) {
    // Exactly round(10%) of the tasks are not running.
    const notRunning = new Set<number>();
    const want = Math.round(total * 0.1);
    while (notRunning.size < want) notRunning.add(rng.int(0, total - 1));
    let overlay = 2;
    let bridge = 2;
    const perFramework = new Map<DocFramework, number>();
    let time = base + 1000;
    for (let i = 0; i < total; i++) {
      // Marathon (framework 0) runs most tasks.
      const fw = frameworks.length === 1 || rng.chance(0.6)
        ? frameworks[0]
        : frameworks[rng.int(1, frameworks.length - 1)];
      const kindIndex = frameworks.indexOf(fw) % FRAMEWORK_KINDS.length;
      const n = perFramework.get(fw) ?? 0;
      perFramework.set(fw, n + 1);
      const named = FRAMEWORK_KINDS[kindIndex].task(rng, n);
      const agent = agents[rng.int(0, agents.length - 1)];
      const r = rng.next();
      const network: NetworkMode = r < 0.42
        ? "host"
        : r < 0.67
        ? "bridge"
        : r < 0.82
        ? "overlay"
        : r < 0.92
        ? "ipv6"
        : "legacy";
      const portCount = rng.pick([0, 1, 1, 1, 2, 2, 3]);
      const state = notRunning.has(i) ? rng.pick(NON_RUNNING_STATES) : "TASK_RUNNING";
      const first = nextPort.get(agent.id!)!;
      const ports: number[] = [];
      // Mostly contiguous ports; sometimes a gap, giving two ranges.
      for (let k = 0; k < portCount; k++) ports.push(first + k + (k > 0 && rng.chance(0.3) ? 3 : 0));
      nextPort.set(agent.id!, (ports.at(-1) ?? first) + rng.int(1, 5));
      time += rng.next() * 30;
      const task = buildTask(
        {
          rng,
          fw,
          agent,
          name: named.name,
          id: named.id,
          network,
          portCount,
          discovery: portCount > 0 && rng.chance(0.35),
          state,
          time: round5(time),
        },
        ports,
        () => overlay++,
        () => bridge++,
      );
      (isTerminal(state) ? fw.completed_tasks! : fw.tasks!).push(task);
    }
  }

  return {
    version: "1.7.2",
    git_sha: rng.hex(40),
    git_tag: "1.7.2",
    build_date: "2019-02-13 10:43:07",
    build_time: 1550054587,
    build_user: "root",
    start_time: round5(base - 500),
    elected_time: round5(base - 490),
    id: rng.uuid(),
    pid: "",
    hostname: "",
    activated_slaves: agents.length,
    deactivated_slaves: 0,
    unreachable_slaves: 0,
    cluster: "sim-cluster",
    leader: "",
    log_dir: "/var/log/mesos",
    flags: { port: "5050", quorum: "2", work_dir: "/var/lib/mesos/master", zk_session_timeout: "10secs" },
    slaves: agents,
    recovered_slaves: [],
    frameworks,
    completed_frameworks: [],
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}
