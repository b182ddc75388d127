/**
 * The record store (owns: the records of the cluster kept up to date one change at a
 * time). Every framework, agent and task, and the masters together, contribute a list of
 * (type, name, value) records, derived by the rules of generate.ts (SPEC §5–6); the store
 * keeps each contribution (a task's as what it was derived from, to derive it again when
 * needed: a list per task would cost tens of MB at 100,000 tasks) and how many
 * contributions hold each record, so that a change removes exactly its old records and adds
 * its new ones (a name several tasks share keeps the values of the others). Pure: host
 * names are resolved by the caller.
 *
 * Entry points (the state sources call them; see `StateDelta`):
 * - `snapshot(state, masters, resolved)`: a whole state (a poll, or the operator stream's
 *   SUBSCRIBED). Built from scratch by the same derivations as `generateRecords`; the
 *   result says which names differ from the previous records.
 * - `delta(d, resolved)`: tasks, agents and frameworks added, changed or removed. A task's
 *   records depend on its framework's name and its agent's addresses, so an agent or
 *   framework change derives its tasks again.
 * Both return `{ records, changes }` for `SnapshotHolder.publish` (undefined: nothing
 * changed). Host names the store would need resolved: `hostsToResolve` (whole states) and
 * `deltaHostsToResolve`.
 *
 * Published record sets never change afterwards (the `xfr` diff between serials relies on
 * it): each name's value list is copied when it changes, and the maps are a base shared
 * by many record sets plus a small layer of the names changed since (merged into a new
 * base when it grows); a framework's tasks sit in chunks that a published set holds as they
 * are (`TaskLog`). So one change costs in proportion to the names it touches, not to the
 * cluster.
 */
import type { StateDelta } from "../mesos/state_delta.ts";
import type { MesosFramework, MesosSlave, MesosState, MesosTask } from "../mesos/state_types.ts";
import { parsePid } from "./pid.ts";
import {
  agentRecords,
  Derivation,
  type Emit,
  frameworkHostPort,
  frameworkLabel,
  frameworkRecords,
  type GeneratorOptions,
  getsRecords,
  masterAndNameServerRecords,
  type SlaveAddrs,
  taskRecords,
} from "./generate.ts";
import { parseIP } from "../net/ip.ts";
import type {
  EnumFramework,
  EnumFrameworkLazy,
  EnumRecord,
  EnumTask,
  RecordSet,
  RRType,
} from "./record_set.ts";
import { RecordSetBuilder } from "./record_set.ts";
import { TaskLog } from "./task_log.ts";
import { jsonEqual } from "./json_equal.ts";
import { runAll } from "../work_slices.ts";

/** How many tasks, agents and names a step of `snapshotSteps` takes (each a few milliseconds). */
const STEP_TASKS = 256;
const STEP_AGENTS = 1024;
const STEP_NAMES = 16384;

/** Value lists this long are checked for a value through a set (`RecordStore.#holds`). */
const LONG_LIST = 32;

/** A value list removed in a layer (the name has no records of that type any more). */
const GONE: readonly string[] = Object.freeze([]);

/** A layered map: `top` entries (GONE: deleted) over `base`. Never changed once made. */
export class LayeredMap implements ReadonlyMap<string, readonly string[]> {
  constructor(
    readonly base: ReadonlyMap<string, readonly string[]>,
    readonly top: ReadonlyMap<string, readonly string[]>,
    readonly size: number,
  ) {}

  get(key: string): readonly string[] | undefined {
    const t = this.top.get(key);
    if (t === undefined) return this.base.get(key);
    return t === GONE ? undefined : t;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  *entries(): MapIterator<[string, readonly string[]]> {
    for (const e of this.base) if (!this.top.has(e[0])) yield e;
    for (const e of this.top) if (e[1] !== GONE) yield e;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<readonly string[]> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, readonly string[]]> {
    return this.entries();
  }

  forEach(
    fn: (value: readonly string[], key: string, map: ReadonlyMap<string, readonly string[]>) => void,
  ): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

/** One record type's names in the store: a base, the published layer, and this change's layer. */
class TypeTable {
  /** Never changed once published. */
  base: ReadonlyMap<string, readonly string[]> = new Map();
  /** The layer of the last published set (not changed either). */
  published: Map<string, readonly string[]> = new Map();
  /** The layer being written (a copy of `published`), or undefined between changes. */
  next: Map<string, readonly string[]> | undefined;
  size = 0;
  /** Value lists made during this change (may be changed in place until published). */
  readonly fresh = new Set<readonly string[]>();

  get(name: string): readonly string[] | undefined {
    const layer = this.next ?? this.published;
    const t = layer.get(name);
    if (t === undefined) return this.base.get(name);
    return t === GONE ? undefined : t;
  }

  /** The values of `name` in the last published set. */
  getPublished(name: string): readonly string[] | undefined {
    const t = this.published.get(name);
    if (t === undefined) return this.base.get(name);
    return t === GONE ? undefined : t;
  }

  set(name: string, values: readonly string[] | undefined): void {
    this.next ??= new Map(this.published);
    const had = this.get(name) !== undefined;
    if (values === undefined || values.length === 0) {
      if (had) this.size--;
      if (this.base.has(name)) this.next.set(name, GONE);
      else this.next.delete(name);
    } else {
      if (!had) this.size++;
      this.next.set(name, values);
    }
  }

  /** The published map: the base and the layer; a large layer is merged into a new base. */
  publish(): ReadonlyMap<string, readonly string[]> {
    if (this.next) {
      this.published = this.next;
      this.next = undefined;
    }
    this.fresh.clear();
    if (this.published.size > 1024 + (this.size >> 3)) {
      this.base = new Map(new LayeredMap(this.base, this.published, this.size));
      this.published = new Map();
    }
    if (this.published.size === 0) return this.base;
    return new LayeredMap(this.base, this.published, this.size);
  }

  /** Starts over from a whole new map (a snapshot). */
  reset(base: Map<string, readonly string[]>): void {
    this.base = base;
    this.published = new Map();
    this.next = undefined;
    this.size = base.size;
    this.fresh.clear();
  }
}

/**
 * A task as the store keeps it: what its records are derived from. Never changed once its
 * records are derived (published `/v1/enumerate` views hold it): replaced instead. Its
 * records are not kept: they are derived again from the entry when needed (`recordsOf`),
 * which gives the same records, as the entry keeps what they were derived with.
 */
interface TaskEntry {
  readonly task: MesosTask;
  readonly frameworkId: string;
  readonly agentId: string;
  /** Its framework's label and its agent's addresses when its records were derived (both undefined: it has none). */
  readonly label: string | undefined;
  readonly addrs: SlaveAddrs | undefined;
}

/** A task's records (type, name, value triples, flat; empty when it has none), derived by `d`. */
function recordsOf(d: Derivation, t: TaskEntry): string[] {
  const list: string[] = [];
  if (t.addrs === undefined || t.label === undefined) return list;
  taskRecords(d, t.task, t.label, t.addrs, (type, name, value) => {
    list.push(type, name, value);
    return true;
  });
  return list;
}

interface FrameworkEntry {
  framework: MesosFramework;
  label: string;
  records: string[];
  /**
   * Its tasks the store holds, by key, in arrival order. A published view holds a frozen
   * view of them (`TaskLog.view`): a publish and the change after it cost a chunk, not a
   * copy of every task.
   */
  tasks: TaskLog<TaskEntry>;
  /** Its part of `/v1/enumerate` as last published (undefined: changed since). */
  view?: FrameworkView;
}

/** A framework and its tasks' records, as `/v1/enumerate` reads them (never changed once published). */
interface FrameworkView {
  name: string;
  tasks: { values(): Iterable<TaskEntry> };
}

interface AgentEntry {
  agent: MesosSlave;
  /** Undefined when the agent has no usable pid (its tasks get no records). */
  addrs: SlaveAddrs | undefined;
  records: string[];
  tasks: Set<string>;
}

/** What a snapshot or delta hands to `SnapshotHolder.publish`. */
export interface StoreUpdate {
  records: RecordSet;
  /** The names (stored FQDNs) whose records changed; undefined: no previous records to compare. */
  changes: { names: ReadonlySet<string> } | undefined;
  /** A whole state applied as its delta: how many tasks, agents and frameworks differed. */
  asDelta?: number;
}

export interface RecordStoreOptions {
  options: GeneratorOptions;
  /** IPs of the name server (SPEC §6.8), read at each whole state. */
  nameServerIPs: readonly string[] | (() => readonly string[]);
}

/** What a whole state's records are derived with besides the state itself. */
interface WholeInputs {
  leader: string;
  masters: readonly string[];
  nameServerIPs: readonly string[];
  resolved: ReadonlyMap<string, readonly string[]>;
}

/** A whole state as a delta (`RecordStore.#deltaTo`). */
interface WholePlan {
  delta: StateDelta;
  /** Per framework, in state order: its task ids and tasks (as the store keeps them) in state order. */
  tasksInOrder: [string, string[], MesosTask[]][];
}

function sameList(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Whether the masters' and name server's records of `x` and `y` are the same. */
function sameMasters(x: WholeInputs, y: WholeInputs): boolean {
  return x.leader === y.leader && sameList(x.masters, y.masters) &&
    sameList(x.nameServerIPs, y.nameServerIPs);
}

/** Whether two host resolutions are the same (a whole state is applied as a delta only then). */
function sameResolved(
  x: ReadonlyMap<string, readonly string[]>,
  y: ReadonlyMap<string, readonly string[]>,
): boolean {
  if (x.size !== y.size) return false;
  for (const [host, ips] of x) {
    const other = y.get(host);
    if (other === undefined || !sameList(ips, other)) return false;
  }
  return true;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function arr<T>(v: T[] | null | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Host names a delta would need resolved: pid hosts of its agents and frameworks (or a
 * framework's `hostname` without a usable pid) that are not IP literals.
 */
export function deltaHostsToResolve(d: StateDelta): string[] {
  const out = new Set<string>();
  const note = (host: string) => {
    if (host !== "" && parseIP(host) === null) out.add(host);
  };
  for (const f of d.frameworks ?? []) if (f && typeof f === "object") note(frameworkHostPort(f).host);
  for (const s of d.agents ?? []) {
    const pid = s && typeof s === "object" ? parsePid(s.pid) : null;
    if (pid) note(pid.host);
  }
  return [...out];
}

/** The cluster's records, kept current by whole states and deltas. */
export class RecordStore {
  readonly #opts: RecordStoreOptions;
  readonly #types: Record<RRType, TypeTable> = {
    A: new TypeTable(),
    AAAA: new TypeTable(),
    SRV: new TypeTable(),
  };
  /** Copies of a record beyond the first, keyed `type name value` (only records held more than once). */
  #extra = new Map<string, number>();
  /** Whether a published record set reads `#extra` (`/v1/enumerate`): copied before it changes. */
  #extraShared = false;
  #frameworks = new Map<string, FrameworkEntry>();
  #agents = new Map<string, AgentEntry>();
  #tasks = new Map<string, TaskEntry>();
  /** Task ids listed more than once in the last whole state → the keys of the other copies. */
  #dups = new Map<string, string[]>();
  #masterRecords: string[] = [];
  #resolved = new Map<string, readonly string[]>();
  #hasRecords = false;
  /** What the last whole state's records were derived with besides the state itself. */
  #inputs: WholeInputs | undefined;
  /** Names touched by the change being applied. */
  #touched = new Set<string>();
  /** How many records the tables hold. */
  #count = 0;
  /** The values of long value lists, for `#add`'s check (made when first needed, kept with the list). */
  readonly #valueSets = new WeakMap<readonly string[], Set<string>>();
  /**
   * Values removed from long lists during the change being applied, still in the list until
   * the change is done (`#compact`): one pass per list, not one per value (a change that
   * kills hundreds of an app's thousands of tasks). Not in the list's value set meanwhile.
   */
  #pending = new Map<string[], Set<string>>();
  /** The record lists removed or added by the change being applied. */
  #lists: (readonly string[])[] = [];
  /** Derives the records of tasks being removed again (`recordsOf`; made for each change). */
  #quietDerivation: Derivation | undefined;

  constructor(opts: RecordStoreOptions) {
    this.#opts = opts;
  }

  /** How many tasks have records (RUNNING on a known agent). */
  get taskCount(): number {
    let n = 0;
    for (const t of this.#tasks.values()) if (t.addrs !== undefined) n++;
    return n;
  }

  /**
   * Replaces everything with a whole state (SPEC §6, the same records as
   * `generateRecords`). `resolved` maps the state's non-IP hosts (`hostsToResolve`). When the
   * store holds a state and the hosts resolve as they did, the state is applied as its delta
   * (`asDelta`; the leader's and masters' records included): a poll, a resubscription or a
   * new leader's state costs what changed, with the records, changes and `/v1/enumerate` of
   * a whole build.
   */
  snapshot(
    state: MesosState,
    masters: readonly string[],
    resolved: ReadonlyMap<string, readonly string[]>,
  ): StoreUpdate {
    return runAll(this.snapshotSteps(state, masters, resolved));
  }

  /**
   * `snapshot` in steps of a few hundred tasks (`runSliced`: a large state, built while TCP and
   * HTTP go on). Nothing else may use the store until it is done (the state sources' updates
   * run one after another).
   */
  *snapshotSteps(
    state: MesosState,
    masters: readonly string[],
    resolved: ReadonlyMap<string, readonly string[]>,
  ): Generator<void, StoreUpdate> {
    const ns = this.#opts.nameServerIPs;
    const inputs: WholeInputs = {
      leader: str(state?.leader),
      masters: [...masters],
      nameServerIPs: [...(typeof ns === "function" ? ns() : ns)],
      resolved: new Map(resolved),
    };
    // A state like the one the store holds (a poll, a resubscription, a new leader's) changes
    // only what differs.
    if (this.#hasRecords && this.#inputs && sameResolved(this.#inputs.resolved, inputs.resolved)) {
      const plan = yield* this.#deltaTo(state);
      if (plan !== undefined) {
        const mastersChanged = !sameMasters(this.#inputs, inputs);
        this.#inputs = inputs;
        return this.#applyWhole(plan, mastersChanged ? inputs : undefined);
      }
    }
    this.#inputs = inputs;
    const previous = this.#hasRecords
      ? { a: this.#types.A.publish(), aaaa: this.#types.AAAA.publish(), srv: this.#types.SRV.publish() }
      : undefined;
    this.#resolved = new Map(resolved);
    const d = new Derivation(this.#opts.options, this.#resolved);
    const b = new RecordSetBuilder(this.#opts.options.domain);
    const extra = new Map<string, number>();
    /** Lists each record in `list` and stores it; copies beyond the first are counted. */
    const collect = (list: string[]): Emit => (type, name, value) => {
      list.push(type, name, value);
      if (b.add(type, name, value)) return true;
      const key = `${type} ${name} ${value}`;
      extra.set(key, (extra.get(key) ?? 0) + 1);
      return false;
    };
    this.#frameworks = new Map();
    this.#agents = new Map();
    this.#tasks = new Map();
    this.#dups = new Map();
    const frameworks = arr(state?.frameworks);
    const ids = frameworks.map((f, i) => str(f?.id) || `#${i}`);
    frameworks.forEach((f, i) => {
      if (!f || typeof f !== "object") return;
      const old = this.#frameworks.get(ids[i]);
      const records = old?.records ?? [];
      frameworkRecords(d, f, collect(records));
      this.#frameworks.set(ids[i], {
        framework: { id: f.id, name: f.name, pid: f.pid, hostname: f.hostname },
        label: frameworkLabel(d, f),
        records,
        tasks: old?.tasks ?? new TaskLog(),
      });
    });
    let step = 0;
    for (const s of arr(state?.slaves)) {
      if (++step % STEP_AGENTS === 0) yield;
      if (!s || typeof s !== "object") continue;
      const id = str(s.id);
      // A later agent with the same id replaces an earlier one for its tasks.
      const old = this.#agents.get(id);
      const records = old?.records ?? [];
      const addrs = agentRecords(d, s, collect(records));
      this.#agents.set(id, {
        agent: { id: s.id, hostname: s.hostname, pid: s.pid },
        addrs: addrs ?? old?.addrs,
        records,
        tasks: new Set(),
      });
    }
    this.#masterRecords = [];
    masterAndNameServerRecords(d, inputs.leader, masters, inputs.nameServerIPs, collect(this.#masterRecords));
    // `/v1/enumerate` is worked out when asked for, from the contributions (no object per
    // record held meanwhile): per framework in state order, its tasks that got records.
    const views: FrameworkView[] = [];
    /** Stores a task's record; copies beyond the first are counted (its records are not listed: see `TaskEntry`). */
    const collectTask: Emit = (type, name, value) => {
      if (b.add(type, name, value)) return true;
      const key = `${type} ${name} ${value}`;
      extra.set(key, (extra.get(key) ?? 0) + 1);
      return false;
    };
    for (let i = 0; i < frameworks.length; i++) {
      const f = frameworks[i];
      const tasks: TaskEntry[] = [];
      const view: FrameworkView = { name: f && typeof f === "object" ? str(f.name) : "", tasks };
      views.push(view);
      if (!f || typeof f !== "object") continue;
      for (const task of arr(f.tasks)) {
        if (++step % STEP_TASKS === 0) yield;
        if (!task || typeof task !== "object") continue;
        // Kept as given: the state sources hand over slim tasks (`slimTask`), never changed afterwards.
        const kept = task.framework_id === undefined ? { ...task, framework_id: f.id } : task;
        // A task id listed twice (a broken state) keeps both copies, under a second key.
        const id = str(task.id);
        let key = id;
        if (this.#tasks.has(id)) {
          const dups = this.#dups.get(id) ?? [];
          key = `${id}\u0000${dups.length + 1}`;
          dups.push(key);
          this.#dups.set(id, dups);
        }
        tasks.push(this.#putTask(d, kept, ids[i], key, collectTask));
      }
    }
    this.#extra = extra;
    // The record set's `/v1/enumerate` reads `extra` as it is now.
    this.#extraShared = true;
    const rs = publishedSet(
      { domain: this.#opts.options.domain, a: b.a, aaaa: b.aaaa, srv: b.srv, count: b.count },
      { before: this.#beforeTasks(), frameworks: views, extra, options: this.#opts.options },
    );
    this.#types.A.reset(b.a);
    this.#types.AAAA.reset(b.aaaa);
    this.#types.SRV.reset(b.srv);
    this.#count = b.count;
    this.#hasRecords = true;
    if (!previous) return { records: rs, changes: undefined };
    const names = new Set<string>();
    yield* diffNames(previous.a, rs.a, names);
    yield* diffNames(previous.aaaa, rs.aaaa, names);
    yield* diffNames(previous.srv, rs.srv, names);
    yield;
    if (names.size > 0) addSrvDependents(names, rs.srv);
    return { records: rs, changes: { names } };
  }

  /**
   * The delta that turns what the store holds into `state`, and each framework's task ids in
   * state order; undefined when only a whole build gives its records (a framework, agent or
   * task without a string id or listed twice, a task listed under another framework, the
   * frameworks in another order).
   */
  *#deltaTo(state: MesosState): Generator<void, WholePlan | undefined> {
    if (this.#dups.size > 0) return undefined;
    const delta = {
      tasks: [] as MesosTask[],
      removedTasks: [] as string[],
      agents: [] as MesosSlave[],
      removedAgents: [] as string[],
      frameworks: [] as MesosFramework[],
      removedFrameworks: [] as string[],
    };
    const frameworks = arr(state?.frameworks);
    const fwIds = new Set<string>();
    for (const f of frameworks) {
      if (!f || typeof f !== "object" || typeof f.id !== "string" || f.id === "" || fwIds.has(f.id)) {
        return undefined;
      }
      fwIds.add(f.id);
      const old = this.#frameworks.get(f.id)?.framework;
      if (!old || old.name !== f.name || old.pid !== f.pid || old.hostname !== f.hostname) {
        delta.frameworks.push({ id: f.id, name: f.name, pid: f.pid, hostname: f.hostname });
      }
    }
    // Frameworks keep their place and new ones come last: the state's order must be that one.
    const order = [...this.#frameworks.keys()].filter((id) => fwIds.has(id));
    for (const f of delta.frameworks) if (!this.#frameworks.has(f.id!)) order.push(f.id!);
    let i = 0;
    for (const id of fwIds) if (order[i++] !== id) return undefined;
    for (const id of this.#frameworks.keys()) if (!fwIds.has(id)) delta.removedFrameworks.push(id);

    const agentIds = new Set<string>();
    let step = 0;
    for (const s of arr(state?.slaves)) {
      if (++step % STEP_AGENTS === 0) yield;
      if (!s || typeof s !== "object" || typeof s.id !== "string" || agentIds.has(s.id)) return undefined;
      agentIds.add(s.id);
      const old = this.#agents.get(s.id)?.agent;
      if (!old || old.hostname !== s.hostname || old.pid !== s.pid) delta.agents.push(s);
    }
    for (const id of this.#agents.keys()) if (!agentIds.has(id)) delta.removedAgents.push(id);

    const taskIds = new Set<string>();
    const tasksInOrder: WholePlan["tasksInOrder"] = [];
    for (const f of frameworks) {
      const ids: string[] = [];
      const tasks: MesosTask[] = [];
      tasksInOrder.push([f.id!, ids, tasks]);
      for (const task of arr(f.tasks)) {
        if (++step % STEP_TASKS === 0) yield;
        if (!task || typeof task !== "object" || typeof task.id !== "string" || taskIds.has(task.id)) {
          return undefined;
        }
        if (task.framework_id !== undefined && task.framework_id !== f.id) return undefined;
        taskIds.add(task.id);
        ids.push(task.id);
        // Kept as a whole state's is (`snapshotSteps`).
        const kept = task.framework_id === undefined ? { ...task, framework_id: f.id } : task;
        tasks.push(kept);
        const old = this.#tasks.get(task.id);
        if (!old || old.frameworkId !== f.id || !jsonEqual(old.task, kept)) delta.tasks.push(kept);
      }
    }
    for (const id of this.#tasks.keys()) if (!taskIds.has(id)) delta.removedTasks.push(id);
    return { delta, tasksInOrder };
  }

  /**
   * A whole state applied as its delta (`#deltaTo`): the records, changed names and
   * `/v1/enumerate` of a whole build, at the cost of what changed.
   */
  #applyWhole(plan: WholePlan, masters: WholeInputs | undefined): StoreUpdate {
    const update = this.delta(plan.delta, undefined, masters);
    // Each framework's tasks as a whole build lists them (`/v1/enumerate`): in state order (a
    // delta puts new and changed tasks last), each entry with the state's task object (equal
    // to the one it was derived from): the previous objects can go (a stream's model holds
    // the new ones).
    for (const [fid, ids, tasks] of plan.tasksInOrder) {
      const fw = this.#frameworks.get(fid)!;
      const log = new TaskLog<TaskEntry>();
      for (let i = 0; i < ids.length; i++) {
        let entry = this.#tasks.get(ids[i])!;
        if (entry.task !== tasks[i]) this.#tasks.set(ids[i], entry = { ...entry, task: tasks[i] });
        log.set(ids[i], entry);
      }
      fw.tasks = log;
      fw.view = undefined;
    }
    const d = plan.delta;
    const asDelta = d.tasks!.length + d.removedTasks!.length + d.agents!.length + d.removedAgents!.length +
      d.frameworks!.length + d.removedFrameworks!.length;
    return { records: this.#published(), changes: update?.changes ?? { names: new Set() }, asDelta };
  }

  /** Stores a task and derives its records into `emit`. */
  #putTask(d: Derivation, task: MesosTask, frameworkId: string, id: string, emit: Emit): TaskEntry {
    const agentId = str(task.slave_id);
    const agent = this.#agents.get(agentId);
    const fw = this.#frameworks.get(frameworkId);
    let entry: TaskEntry = { task, frameworkId, agentId, label: undefined, addrs: undefined };
    if (getsRecords(d, task) && agent?.addrs && fw) {
      entry = { task, frameworkId, agentId, label: fw.label, addrs: agent.addrs };
      taskRecords(d, task, fw.label, agent.addrs, emit);
    }
    this.#tasks.set(id, entry);
    agent?.tasks.add(id);
    if (fw) this.#tasksOf(fw).set(id, entry);
    return entry;
  }

  /** A derivation for `recordsOf` during the change being applied. */
  get #quiet(): Derivation {
    return this.#quietDerivation ??= new Derivation(this.#opts.options, this.#resolved, true);
  }

  /** The tasks of `fw`, to be changed: its published view is out of date then. */
  #tasksOf(fw: FrameworkEntry): TaskLog<TaskEntry> {
    fw.view = undefined;
    return fw.tasks;
  }

  /**
   * Applies a delta (see `StateDelta`). `resolved` adds host resolutions for the delta's
   * new hosts (`deltaHostsToResolve`). Undefined when the records did not change.
   */
  delta(
    delta: StateDelta,
    resolved?: ReadonlyMap<string, readonly string[]>,
    /** New leader, masters or name-server addresses (a whole state applied as its delta). */
    masters?: Omit<WholeInputs, "resolved">,
  ): StoreUpdate | undefined {
    if (!this.#hasRecords) throw new Error("RecordStore.delta before the first snapshot");
    if (resolved) { for (const [k, v] of resolved) this.#resolved.set(k, v); }
    const d = new Derivation(this.#opts.options, this.#resolved);
    this.#quietDerivation = undefined;
    this.#touched = new Set();
    this.#lists = [];
    const rederive = new Set<string>();

    if (masters) {
      const list: string[] = [];
      masterAndNameServerRecords(
        d,
        masters.leader,
        masters.masters,
        masters.nameServerIPs,
        this.#adder(list),
      );
      this.#remove(this.#masterRecords);
      this.#masterRecords = list;
    }

    for (const id of delta.removedFrameworks ?? []) {
      const fw = this.#frameworks.get(id);
      if (!fw) continue;
      this.#remove(fw.records);
      for (const tid of [...fw.tasks.keys()]) this.#dropTask(tid);
      this.#frameworks.delete(id);
    }
    for (const f of delta.frameworks ?? []) {
      if (!f || typeof f !== "object") continue;
      const id = str(f.id);
      const old = this.#frameworks.get(id);
      const records: string[] = [];
      frameworkRecords(d, f, this.#adder(records));
      if (old) this.#remove(old.records);
      const label = frameworkLabel(d, f);
      const entry: FrameworkEntry = {
        framework: { id: f.id, name: f.name, pid: f.pid, hostname: f.hostname },
        label,
        records,
        tasks: old?.tasks ?? new TaskLog(),
      };
      this.#frameworks.set(id, entry);
      if (old && old.label !== label) { for (const tid of entry.tasks.keys()) rederive.add(tid); }
      // Tasks that came before their framework get their records now.
      if (!old) {
        for (const [tid, t] of this.#tasks) {
          if (t.frameworkId === id) entry.tasks.set(tid, t), rederive.add(tid);
        }
      }
    }
    for (const id of delta.removedAgents ?? []) {
      const agent = this.#agents.get(id);
      if (!agent) continue;
      this.#remove(agent.records);
      this.#agents.delete(id);
      for (const tid of agent.tasks) rederive.add(tid);
    }
    for (const s of delta.agents ?? []) {
      if (!s || typeof s !== "object") continue;
      const id = str(s.id);
      const old = this.#agents.get(id);
      const records: string[] = [];
      const addrs = agentRecords(d, s, this.#adder(records));
      if (old) this.#remove(old.records);
      const tasks = old?.tasks ?? new Set<string>();
      this.#agents.set(id, { agent: { id: s.id, hostname: s.hostname, pid: s.pid }, addrs, records, tasks });
      if (!old || !sameAddrs(old.addrs, addrs)) {
        for (const tid of tasks) rederive.add(tid);
        if (!old) {
          for (const [tid, t] of this.#tasks) if (t.agentId === id) tasks.add(tid), rederive.add(tid);
        }
      }
    }
    for (const id of delta.removedTasks ?? []) {
      this.#dropTask(id);
      rederive.delete(id);
    }
    for (const t of delta.tasks ?? []) {
      if (!t || typeof t !== "object") continue;
      const id = str(t.id);
      const old = this.#tasks.get(id);
      const fid = str(t.framework_id) || old?.frameworkId || "";
      if (old) this.#dropTask(id);
      rederive.delete(id);
      this.#putTask(d, t, fid, id, this.#adder([]));
    }
    for (const id of rederive) {
      const old = this.#tasks.get(id);
      if (!old) continue;
      this.#remove(recordsOf(this.#quiet, old));
      // A new entry: published views hold the old one, never changed.
      this.#putTask(d, old.task, old.frameworkId, id, this.#adder([]));
    }
    this.#compact();
    const names = this.#touched;
    this.#touched = new Set();
    // Names whose values were removed and added again are not changed.
    const changed = new Set<string>();
    for (const name of names) {
      for (const table of Object.values(this.#types)) {
        if (!sameValues(table.getPublished(name), table.get(name))) {
          changed.add(name);
          break;
        }
      }
    }
    // SRV answers carry their targets' addresses: a target's change changes them too (a
    // task's, agent's or master's SRV records and their targets are derived together).
    const lists = this.#lists;
    this.#lists = [];
    if (changed.size > 0) {
      addSrvDependents(
        changed,
        function* () {
          for (const list of lists) {
            for (let i = 0; i < list.length; i += 3) {
              if (list[i] === "SRV") yield [list[i + 1], [list[i + 2]]] as const;
            }
          }
        }(),
      );
    }
    if (changed.size === 0) {
      for (const t of Object.values(this.#types)) t.publish();
      return undefined;
    }
    return { records: this.#published(), changes: { names: changed } };
  }

  /** Removes a task (every copy of it) and its records. */
  #dropTask(id: string): void {
    for (const key of this.#dups.get(id) ?? []) this.#dropKey(key);
    this.#dups.delete(id);
    this.#dropKey(id);
  }

  #dropKey(id: string): void {
    const t = this.#tasks.get(id);
    if (!t) return;
    this.#remove(recordsOf(this.#quiet, t));
    this.#tasks.delete(id);
    this.#agents.get(t.agentId)?.tasks.delete(id);
    const fw = this.#frameworks.get(t.frameworkId);
    if (fw) this.#tasksOf(fw).delete(id);
  }

  /** An emitter that applies each record to the tables and lists it in `list`. */
  #adder(list: string[]): Emit {
    this.#lists.push(list);
    return (type, name, value) => {
      list.push(type, name, value);
      this.#add(type, name, value);
      return true;
    };
  }

  /** Whether `list` holds `value`: a scan for short lists, a set for long ones (an app's thousands of instances). */
  #holds(list: readonly string[], value: string): boolean {
    if (list.length < LONG_LIST) return list.includes(value);
    let values = this.#valueSets.get(list);
    if (values === undefined) this.#valueSets.set(list, values = new Set(list));
    return values.has(value);
  }

  #add(type: RRType, name: string, value: string): void {
    const table = this.#types[type];
    const cur = table.get(name);
    const pending = cur === undefined ? undefined : this.#pending.get(cur as string[]);
    if (pending?.delete(value)) {
      // Removed earlier in this change and still in place: kept where it was.
      this.#valueSets.get(cur!)!.add(value);
      this.#touched.add(name);
      this.#count++;
      return;
    }
    if (cur !== undefined && this.#holds(cur, value)) {
      const key = `${type} ${name} ${value}`;
      this.#extraToChange().set(key, (this.#extra.get(key) ?? 0) + 1);
      return;
    }
    this.#touched.add(name);
    this.#count++;
    if (cur !== undefined && table.fresh.has(cur)) {
      (cur as string[]).push(value);
      this.#valueSets.get(cur)?.add(value);
      return;
    }
    const next = cur === undefined ? [value] : [...cur, value];
    table.fresh.add(next);
    table.set(name, next);
    if (cur !== undefined) this.#moveValueSet(cur, next)?.add(value);
  }

  /**
   * Hands the value set of `from` (a published list) to `to`, its copy being changed: only the
   * current list of a name is ever asked (`#holds`), so the set moves instead of being copied.
   */
  #moveValueSet(from: readonly string[], to: readonly string[]): Set<string> | undefined {
    const values = this.#valueSets.get(from);
    if (values === undefined) return undefined;
    this.#valueSets.delete(from);
    this.#valueSets.set(to, values);
    return values;
  }

  /**
   * Removes `value` from the long list `cur` of `name`: taken out of its value set at once and
   * out of the list (a copy of a published one) when the change is done (`#compact`).
   */
  #removeLong(table: TypeTable, name: string, cur: readonly string[], value: string): void {
    if (!this.#holds(cur, value)) return;
    let list = cur as string[];
    if (!table.fresh.has(cur)) {
      list = [...cur];
      this.#moveValueSet(cur, list);
      table.fresh.add(list);
      table.set(name, list);
    }
    const values = this.#valueSets.get(list)!;
    values.delete(value);
    this.#touched.add(name);
    this.#count--;
    if (values.size === 0) {
      this.#pending.delete(list);
      table.set(name, undefined);
      return;
    }
    let pending = this.#pending.get(list);
    if (pending === undefined) this.#pending.set(list, pending = new Set());
    pending.add(value);
  }

  /** Takes the values removed during the change out of their lists (see `#pending`). */
  #compact(): void {
    for (const [list, gone] of this.#pending) {
      let w = 0;
      for (let r = 0; r < list.length; r++) if (!gone.has(list[r])) list[w++] = list[r];
      list.length = w;
    }
    this.#pending = new Map();
  }

  /** `#extra`, to be changed: copied first if a published record set reads it. */
  #extraToChange(): Map<string, number> {
    if (this.#extraShared) {
      this.#extra = new Map(this.#extra);
      this.#extraShared = false;
    }
    return this.#extra;
  }

  /** Removes one copy of each record of a contribution. */
  #remove(list: readonly string[]): void {
    this.#lists.push(list);
    for (let i = 0; i < list.length; i += 3) {
      const type = list[i] as RRType;
      const name = list[i + 1];
      const value = list[i + 2];
      const key = `${type} ${name} ${value}`;
      const more = this.#extra.get(key);
      if (more !== undefined) {
        if (more > 1) this.#extraToChange().set(key, more - 1);
        else this.#extraToChange().delete(key);
        continue;
      }
      const table = this.#types[type];
      const cur = table.get(name);
      if (cur === undefined) continue;
      if (cur.length >= LONG_LIST) {
        this.#removeLong(table, name, cur, value);
        continue;
      }
      const at = cur.indexOf(value);
      if (at < 0) continue;
      this.#touched.add(name);
      this.#count--;
      if (cur.length === 1) {
        table.set(name, undefined);
        continue;
      }
      if (table.fresh.has(cur)) {
        (cur as string[]).splice(at, 1);
        this.#valueSets.get(cur)?.delete(value);
        continue;
      }
      const next = [...cur.slice(0, at), ...cur.slice(at + 1)];
      table.fresh.add(next);
      table.set(name, next);
      this.#moveValueSet(cur, next)?.delete(value);
    }
  }

  /** The record lists of everything derived before the tasks (frameworks, agents, masters). */
  #beforeTasks(): (readonly string[])[] {
    return [
      ...[...this.#frameworks.values()].map((f) => f.records),
      ...[...this.#agents.values()].map((s) => s.records),
      this.#masterRecords,
    ];
  }

  /** The record set as it is now (never changed afterwards). */
  #published(): RecordSet {
    const a = this.#types.A.publish();
    const aaaa = this.#types.AAAA.publish();
    const srv = this.#types.SRV.publish();
    const contributions = {
      before: this.#beforeTasks(),
      frameworks: [...this.#frameworks.values()].map((f) =>
        f.view ??= { name: str(f.framework.name), tasks: f.tasks.view() }
      ),
    };
    // The record set's `/v1/enumerate` reads `extra` as it is now.
    this.#extraShared = true;
    return publishedSet(
      { domain: this.#opts.options.domain, a, aaaa, srv, count: this.#count },
      { ...contributions, extra: this.#extra, options: this.#opts.options },
    );
  }
}

/**
 * A record set as the store publishes it: the tables, and `/v1/enumerate` from the
 * contributions as they are now. Made here, so that its closures hold these alone (closures
 * made in `snapshot` would hold its builder and derivation, and their caches, as long as
 * the set is in use).
 */
function publishedSet(
  t: {
    domain: string;
    a: ReadonlyMap<string, readonly string[]>;
    aaaa: ReadonlyMap<string, readonly string[]>;
    srv: ReadonlyMap<string, readonly string[]>;
    count: number;
  },
  c: {
    before: readonly (readonly string[])[];
    frameworks: readonly FrameworkView[];
    extra: ReadonlyMap<string, number>;
    options: GeneratorOptions;
  },
): RecordSet {
  const derivation = () => new Derivation(c.options, new Map(), true);
  const enumerated = lazyEnumeration(() => enumerate(c.before, c.frameworks, c.extra, derivation()));
  return {
    domain: t.domain,
    a: t.a,
    aaaa: t.aaaa,
    srv: t.srv,
    get frameworks() {
      return enumerated();
    },
    enumerateLazily: () => enumerateLazily(c.before, c.frameworks, c.extra, derivation()),
    recordCount: t.count,
  };
}

/** Whether two value lists hold the same values (in any order; a list has no repeats). */
function sameValues(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  if (x.length <= 16) return x.every((v) => y.includes(v));
  const set = new Set(y);
  return x.every((v) => set.has(v));
}

/** Whether two agents' addresses give their tasks the same records. */
function sameAddrs(x: SlaveAddrs | undefined, y: SlaveAddrs | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return x.fallback === y.fallback && x.ips.length === y.ips.length &&
    x.ips.every((ip, i) => ip.text === y.ips[i].text);
}

/**
 * A record set's `/v1/enumerate` view, worked out when first asked for and kept while it is
 * in use: the garbage collector may take it afterwards (at 100,000 tasks it is a million
 * records), and it is worked out again if asked for then.
 */
function lazyEnumeration(make: () => EnumFramework[] | null): () => EnumFramework[] | null {
  let kept: WeakRef<EnumFramework[]> | null | undefined;
  return () => {
    if (kept === null) return null;
    const have = kept?.deref();
    if (have !== undefined) return have;
    const made = make();
    kept = made === null ? null : new WeakRef(made);
    return made;
  };
}

/**
 * `/v1/enumerate` (SPEC §8.6) from contributions: per framework and task, the records the
 * task added that nothing before it (the framework, agent and master records, earlier
 * tasks) had. `d` derives the tasks' records again (`recordsOf`). `extra` names the records
 * held more than once (see `RecordStore`): only those can have come before, so only those
 * are remembered on the way.
 */
function enumerate(
  before: readonly (readonly string[])[],
  frameworks: readonly FrameworkView[],
  extra: ReadonlyMap<string, number>,
  d: Derivation,
): EnumFramework[] | null {
  // In order, each framework's tasks read whole before the next's (see `enumerateLazily`).
  return enumerateLazily(before, frameworks, extra, d)?.map((f) => ({ tasks: [...f.tasks], name: f.name })) ??
    null;
}

/** A set of (type, name, value) records, by type, name and value (no key string per record). */
class RecordIndex {
  readonly #byType = new Map<string, Map<string, Set<string>>>();

  add(type: string, name: string, value: string): void {
    let names = this.#byType.get(type);
    if (names === undefined) this.#byType.set(type, names = new Map());
    let values = names.get(name);
    if (values === undefined) names.set(name, values = new Set());
    values.add(value);
  }

  has(type: string, name: string, value: string): boolean {
    return this.#byType.get(type)?.get(name)?.has(value) === true;
  }
}

/**
 * `enumerate`, each task's records made when the task is read: the frameworks' tasks must be
 * read in order, each once (the records `before` and earlier tasks listed decide what a task
 * lists).
 */
function enumerateLazily(
  before: readonly (readonly string[])[],
  frameworks: readonly FrameworkView[],
  extra: ReadonlyMap<string, number>,
  d: Derivation,
): EnumFrameworkLazy[] | null {
  if (frameworks.length === 0) return null;
  // The records held more than once, and those listed so far, by type, name and value: a key
  // string per record, hashed, would leave about 90 MB of garbage behind at 100,000 tasks.
  const held = new RecordIndex();
  for (const key of extra.keys()) {
    const a = key.indexOf(" ");
    const b = key.indexOf(" ", a + 1);
    held.add(key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1));
  }
  const seen = new RecordIndex();
  for (const list of before) {
    for (let i = 0; i < list.length; i += 3) {
      if (held.has(list[i], list[i + 1], list[i + 2])) seen.add(list[i], list[i + 1], list[i + 2]);
    }
  }
  function* tasksOf(f: FrameworkView): Generator<EnumTask> {
    for (const t of f.tasks.values()) {
      const list = recordsOf(d, t);
      if (list.length === 0) continue;
      let records: EnumRecord[] | null = null;
      for (let i = 0; i < list.length; i += 3) {
        if (held.has(list[i], list[i + 1], list[i + 2])) {
          if (seen.has(list[i], list[i + 1], list[i + 2])) continue;
          seen.add(list[i], list[i + 1], list[i + 2]);
        }
        (records ??= []).push({
          name: list[i + 1],
          host: list[i + 2],
          rtype: list[i] as RRType,
        });
      }
      yield { name: str(t.task.name), id: str(t.task.id), records };
    }
  }
  return frameworks.map((f) => ({ name: f.name, tasks: { [Symbol.iterator]: () => tasksOf(f) } }));
}

/**
 * Adds to `changed` the SRV names (of `srv`: name and values) with a value whose target is
 * in `changed`: their answers carry the target's addresses as additional records.
 */
function addSrvDependents(
  changed: Set<string>,
  srv: Iterable<readonly [string, readonly string[]]>,
): void {
  const more: string[] = [];
  for (const [name, values] of srv) {
    if (changed.has(name)) continue;
    for (const v of values) {
      const colon = v.lastIndexOf(":");
      if (colon > 0 && changed.has(v.slice(0, colon))) {
        more.push(name);
        break;
      }
    }
  }
  for (const name of more) changed.add(name);
}

/** Adds to `out` every name whose values differ between `before` and `after` (in steps). */
function* diffNames(
  before: ReadonlyMap<string, readonly string[]>,
  after: ReadonlyMap<string, readonly string[]>,
  out: Set<string>,
): Generator<void> {
  let step = 0;
  for (const [name, values] of after) {
    if (++step % STEP_NAMES === 0) yield;
    const old = before.get(name);
    if (old === values) continue;
    if (old === undefined || old.length !== values.length) {
      out.add(name);
      continue;
    }
    for (let i = 0; i < values.length; i++) {
      if (old[i] !== values[i]) {
        out.add(name);
        break;
      }
    }
  }
  for (const name of before.keys()) {
    if (++step % STEP_NAMES === 0) yield;
    if (!after.has(name)) out.add(name);
  }
}
