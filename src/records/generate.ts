/**
 * The record generator (owns: turning one Mesos state into a complete RecordSet, SPEC §6:
 * framework, agent, name-server, master/leader and task records, in that order, plus the
 * per-task "newly added" lists behind `/v1/enumerate`, §8.6). Pure: host names are looked
 * up by the caller (`hostsToResolve` says which) and passed in as `resolved`.
 */
import type { MesosFramework, MesosSlave, MesosState, MesosTask } from "../mesos/state_types.ts";
import { logger } from "../log.ts";
import { isLoopback, type ParsedIP, parseIP } from "../net/ip.ts";
import { frag, type LabelFn, labelFunction } from "./labels.ts";
import { isNumericPort, splitHostPortLoose } from "../net/host_port.ts";
import { parsePid } from "./pid.ts";
import { parsePortRanges } from "./ports.ts";
import type { EnumFramework, EnumTask, RecordSet, RRType } from "./record_set.ts";
import { RecordSetBuilder } from "./record_set.ts";
import { taskHash } from "./task_hash.ts";
import { taskIPs } from "./task_ips.ts";
import { servesTask } from "./task_health.ts";

const log = logger("records");

export interface GeneratorOptions {
  /** Lower-case, no trailing dot. */
  domain: string;
  enforceRFC952: boolean;
  /** e.g. `["netinfo", "mesos", "host"]`. */
  ipSources: readonly string[];
  /** Normalised, e.g. `ns1.mesos.`. */
  soaMname: string;
  /** `HealthAware`: tasks whose latest status says `healthy: false` get no records (default false). */
  healthAware?: boolean;
}

export interface GenerateInput {
  state: MesosState;
  /** SPEC §3 masters list: [leader or "", ...others] as host:port. */
  masters: readonly string[];
  options: GeneratorOptions;
  /** IPs of the name server (SPEC §6.8), computed by the caller from Listener + interfaces. */
  nameServerIPs: readonly string[];
  /** Host name → IPs, for every non-IP host that hostsToResolve() listed (resolved by the caller). */
  resolved: ReadonlyMap<string, readonly string[]>;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function arr<T>(v: T[] | null | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/** Where a framework's scheduler is: the pid's host and port, else `hostname` without a port. */
export function frameworkHostPort(f: MesosFramework): { host: string; port: string; badPid: boolean } {
  if (f.pid !== undefined && f.pid !== null) {
    const pid = parsePid(f.pid);
    if (pid) return { host: pid.host, port: pid.port, badPid: false };
    return { host: str(f.hostname), port: "", badPid: true };
  }
  return { host: str(f.hostname), port: "", badPid: false };
}

/** The leader's `host:port` (text after the first `@`), or null when there is no `@`. */
function leaderAddress(leader: string): string | null {
  const parts = leader.split("@");
  return parts.length < 2 ? null : parts[1];
}

/** Lower-cased last `-`-separated piece of an agent id (§5.3 `S`). */
function slaveIDTail(slaveID: string): string {
  return slaveID.slice(slaveID.lastIndexOf("-") + 1).toLowerCase();
}

/**
 * Every non-IP host in the state and masters list that the generator would need resolved:
 * agent pid hosts, framework pid hosts (or `hostname` when there is no usable pid), and the
 * leader's and masters' hosts. Distinct, in first-seen order; empty hosts are left out.
 */
export function hostsToResolve(state: MesosState, masters: readonly string[]): string[] {
  const out = new Set<string>();
  const note = (host: string) => {
    if (host !== "" && !out.has(host) && parseIP(host) === null) out.add(host);
  };
  for (const f of arr(state?.frameworks)) {
    if (f && typeof f === "object") note(frameworkHostPort(f).host);
  }
  for (const s of arr(state?.slaves)) {
    const pid = s && typeof s === "object" ? parsePid(s.pid) : null;
    if (pid) note(pid.host);
  }
  const leader = leaderAddress(str(state?.leader));
  if (leader !== null) {
    const hp = splitHostPortLoose(leader);
    if (hp) note(hp.host);
  }
  for (const m of masters) {
    const hp = splitHostPortLoose(m);
    if (hp) note(hp.host);
  }
  return [...out];
}

/**
 * The name server's addresses (SPEC §6.8): listener `0.0.0.0` → every non-loopback
 * interface IP (IPv6 link-local included, zones stripped); otherwise the listener itself
 * if it is an IP literal, else nothing (logged). Canonical text, distinct.
 */
export function nameServerIPs(listener: string, interfaceIPs: readonly string[]): string[] {
  if (listener === "0.0.0.0") {
    const out = new Set<string>();
    for (const raw of interfaceIPs) {
      const pct = raw.indexOf("%");
      const ip = parseIP(pct >= 0 ? raw.slice(0, pct) : raw);
      if (ip && !isLoopback(ip)) out.add(ip.text);
    }
    return [...out];
  }
  const ip = parseIP(listener);
  if (!ip) {
    log.warn`listener ${listener} is not an IP address; no name-server record is generated`;
    return [];
  }
  return [ip.text];
}

/**
 * Where a derivation puts a record: returns whether the (type, name, value) was new where
 * it was stored (the full build uses that for `/v1/enumerate`; the store counts copies).
 */
export type Emit = (type: RRType, name: string, value: string) => boolean;

/** An agent's addresses: its IPs, or the non-IP fallback string of §5.5 when it has none. */
export interface SlaveAddrs {
  ips: ParsedIP[];
  fallback: string;
}

/**
 * The names all tasks of one app share (label `T` in framework `F`): made once per
 * derivation, so that the many tasks of an app hand the same strings to the record maps
 * (hashed once), not a fresh copy each.
 */
interface AppNames {
  /** `T.F.D.` */
  a: string;
  /** `T.F.slave.D.` */
  slaveA: string;
  /** `_T._tcp.F.slave.D.`, `_T._udp.F.slave.D.`, `_T._tcp.F.D.`, `_T._udp.F.D.` */
  tcpSlave: string;
  udpSlave: string;
  tcp: string;
  udp: string;
}

/**
 * How many task names and apps a derivation remembers (then it starts over): apps with many
 * instances share their names' strings, while a cluster whose tasks are nearly all named apart
 * (`kafka-<n>-broker`) does not keep a copy of every name for the derivation's life.
 */
const CACHED_NAMES = 4096;

/** What every derivation needs: the options, host resolution and once-per-kind logging. */
export class Derivation {
  readonly tail: string;
  readonly #spec: LabelFn;
  readonly #warned = new Set<string>();
  readonly #ipCache = new Map<string, ParsedIP[]>();
  readonly #labels = new Map<string, string>();
  /** Per framework label, per task label: the app's names. */
  readonly #apps = new Map<string, Map<string, AppNames>>();
  #appCount = 0;

  constructor(
    readonly options: GeneratorOptions,
    /** Host name → IPs, for non-IP hosts (see `hostsToResolve`). */
    readonly resolved: ReadonlyMap<string, readonly string[]>,
    /** Logs nothing (`warnOnce`): records derived again, whose problems were logged the first time. */
    readonly quiet = false,
  ) {
    this.tail = `.${options.domain}.`;
    this.#spec = labelFunction(options.enforceRFC952);
  }

  /** The label of `name` (§5.1, `EnforceRFC952`), worked out once per name (see `CACHED_NAMES`). */
  readonly spec: LabelFn = (name) => {
    let label = this.#labels.get(name);
    if (label === undefined) {
      label = this.#spec(name);
      if (this.#labels.size >= CACHED_NAMES) this.#labels.clear();
      this.#labels.set(name, label);
    }
    return label;
  };

  /** The names the tasks labelled `T` of the framework labelled `fname` share (see `CACHED_NAMES`). */
  appNames(T: string, fname: string): AppNames {
    let apps = this.#apps.get(fname);
    if (apps === undefined) this.#apps.set(fname, apps = new Map());
    let names = apps.get(T);
    if (names === undefined) {
      if (++this.#appCount > CACHED_NAMES) {
        this.#apps.clear();
        this.#apps.set(fname, apps = new Map());
        this.#appCount = 1;
      }
      const tail = this.tail;
      names = {
        a: `${T}.${fname}${tail}`,
        slaveA: `${T}.${fname}.slave${tail}`,
        tcpSlave: `_${T}._tcp.${fname}.slave${tail}`,
        udpSlave: `_${T}._udp.${fname}.slave${tail}`,
        tcp: `_${T}._tcp.${fname}${tail}`,
        udp: `_${T}._udp.${fname}${tail}`,
      };
      apps.set(T, names);
    }
    return names;
  }

  /** Logs `msg` at most once per `kind` in this derivation's life. */
  warnOnce(kind: string, msg: string): void {
    if (this.quiet || this.#warned.has(kind)) return;
    this.#warned.add(kind);
    log.warn`${msg}`;
  }

  /** A host's IPs: itself if it is an IP literal, else what the caller resolved. */
  ipsOf(host: string): ParsedIP[] {
    const cached = this.#ipCache.get(host);
    if (cached) return cached;
    let ips: ParsedIP[] = [];
    const lit = parseIP(host);
    if (lit) {
      ips = [lit];
    } else if (host !== "") {
      const seen = new Set<string>();
      for (const raw of this.resolved.get(host) ?? []) {
        const ip = typeof raw === "string" ? parseIP(raw) : null;
        if (ip && !seen.has(ip.text)) {
          seen.add(ip.text);
          ips.push(ip);
        }
      }
    }
    this.#ipCache.set(host, ips);
    return ips;
  }
}

/** Stores non-empty values only (as in the original). */
function put(emit: Emit, type: RRType, name: string, value: string): boolean {
  return value !== "" && emit(type, name, value);
}

/** §6.6 for one framework: `F.D.` → its host IPs, `_framework._tcp.F.D.` → `F.D.:<pid port>`. */
export function frameworkRecords(d: Derivation, f: MesosFramework, emit: Emit): void {
  if (!f || typeof f !== "object") return;
  const { host, port, badPid } = frameworkHostPort(f);
  if (badPid) {
    d.warnOnce(
      "framework-pid",
      `framework ${JSON.stringify(f.name)} has an unusable pid; using its hostname`,
    );
  }
  const ips = d.ipsOf(host);
  if (ips.length === 0) return;
  const a = frag(str(f.name), d.spec) + d.tail;
  for (const ip of ips) put(emit, ip.kind, a, ip.text);
  if (port !== "") put(emit, "SRV", "_framework._tcp." + a, `${a}:${port}`);
}

/** The label of a framework's name in task names (§5.2 `F`). */
export function frameworkLabel(d: Derivation, f: MesosFramework): string {
  return frag(str(f?.name), d.spec);
}

/**
 * §6.7 for one agent: `slave.D.` and `_slave._tcp.D.`. Returns its addresses for its
 * tasks, or undefined when it has no usable pid (it and its tasks get no records).
 */
export function agentRecords(d: Derivation, s: MesosSlave, emit: Emit): SlaveAddrs | undefined {
  if (!s || typeof s !== "object") return undefined;
  const pid = parsePid(s.pid);
  if (!pid) {
    d.warnOnce(
      "slave-pid",
      `agent ${JSON.stringify(s.id)} has no usable pid; it and its tasks are skipped`,
    );
    return undefined;
  }
  const a = "slave" + d.tail;
  const ips = d.ipsOf(pid.host);
  for (const ip of ips) put(emit, ip.kind, a, ip.text);
  if (ips.length > 0) put(emit, "SRV", "_slave._tcp" + d.tail, `${a}:${pid.port}`);
  const fallback = ips.length === 0 ? frag(pid.host, d.spec) : "";
  return { ips, fallback };
}

/** §6.8: the `SOAMname` record. */
function nameServerRecords(d: Derivation, nameServerIPs: readonly string[], emit: Emit): void {
  const name = d.options.soaMname;
  for (const raw of nameServerIPs) {
    const ip = parseIP(raw);
    if (ip) put(emit, ip.kind, name, ip.text);
    else d.warnOnce("ns-ip", `name-server address ${JSON.stringify(raw)} is not an IP; skipped`);
  }
}

/**
 * §6.8 and §6.9: the name server's and the masters' records (one contribution: they change
 * only with a whole state or masters list).
 */
export function masterAndNameServerRecords(
  d: Derivation,
  leader: string,
  masters: readonly string[],
  nameServerIPs: readonly string[],
  emit: Emit,
): void {
  nameServerRecords(d, nameServerIPs, emit);
  // `masterN` numbering skips masters whose addresses add nothing new: seen here.
  const seen = new Set<string>();
  masterRecords(d, leader, masters, (type, name, value) => {
    const key = `${type} ${name} ${value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    emit(type, name, value);
    return true;
  });
}

/**
 * §6.9: `leader.D.`, `master.D.`, `masterN.D.`, `_leader._{tcp,udp}.D.`, plus the addition
 * `_master._{tcp,udp}.D.` → `master.D.:<port>` for each distinct master port.
 */
function masterRecords(d: Derivation, leader: string, masters: readonly string[], emit: Emit): void {
  const leaderAddr = leaderAddress(leader);
  if (leaderAddr === null) return;
  const lhp = splitHostPortLoose(leaderAddr);
  if (!lhp) return;
  const D = d.tail;
  const all = "master" + D;
  const masterPorts: string[] = [];
  const notePort = (p: string) => {
    if (isNumericPort(p) && !masterPorts.includes(p)) masterPorts.push(p);
  };

  const leaderIPs = d.ipsOf(lhp.host);
  if (leaderIPs.length === 0) {
    d.warnOnce("leader-host", `leader host ${JSON.stringify(lhp.host)} has no IP; no leader records`);
  } else {
    for (const ip of leaderIPs) {
      put(emit, ip.kind, "leader" + D, ip.text);
      put(emit, ip.kind, all, ip.text);
    }
    const target = `leader${D}:${lhp.port}`;
    put(emit, "SRV", "_leader._tcp" + D, target);
    put(emit, "SRV", "_leader._udp" + D, target);
    notePort(lhp.port);
  }

  let leaderIndexed = false;
  let idx = 0;
  for (const m of masters) {
    const hp = splitHostPortLoose(m);
    if (!hp) continue; // e.g. the empty "leader unknown" entry
    const ips = d.ipsOf(hp.host);
    if (ips.length === 0) {
      d.warnOnce("master-host", `master ${JSON.stringify(m)} has no IP; skipped`);
      continue;
    }
    notePort(hp.port);
    if (m !== leaderAddr) {
      let added = false;
      for (const ip of ips) if (put(emit, ip.kind, all, ip.text)) added = true;
      if (!added) continue; // same address as an earlier master
    } else if (leaderIndexed) {
      continue;
    }
    const name = `master${idx}${D}`;
    for (const ip of ips) put(emit, ip.kind, name, ip.text);
    idx++;
    if (m === leaderAddr) leaderIndexed = true;
  }
  if (!leaderIndexed && leaderIPs.length > 0) {
    const name = `master${idx}${D}`;
    for (const ip of leaderIPs) put(emit, ip.kind, name, ip.text);
  }

  for (const p of masterPorts) {
    const target = `${all}:${p}`;
    put(emit, "SRV", "_master._tcp" + D, target);
    put(emit, "SRV", "_master._udp" + D, target);
  }
}

/** What both passes of one task share (§5.3, §5.4). */
interface TaskContext {
  emit: Emit;
  fname: string;
  hash: string;
  slaveTail: string;
  ips: ParsedIP[];
  slave: SlaveAddrs;
  ports: number[];
  discovery: boolean;
  task: MesosTask;
}

/** §6.2–6.4 for one task label `T` (called twice with DiscoveryInfo). */
function taskPass(d: Derivation, c: TaskContext, T: string): void {
  const tail = d.tail;
  const emit = c.emit;
  const app = d.appNames(T, c.fname);
  const canonical = `${T}-${c.hash}-${c.slaveTail}.${c.fname}`;

  if (c.ips.length > 0) {
    const canonicalName = canonical + tail;
    for (const ip of c.ips) {
      put(emit, ip.kind, app.a, ip.text);
      put(emit, ip.kind, canonicalName, ip.text);
    }
  }
  const slaveC = `${canonical}.slave${tail}`;
  if (c.slave.ips.length > 0) {
    for (const ip of c.slave.ips) {
      put(emit, ip.kind, app.slaveA, ip.text);
      put(emit, ip.kind, slaveC, ip.text);
    }
  } else {
    // Bogus non-IP A value kept for compatibility (§6.10); empty values are never stored.
    put(emit, "A", app.slaveA, c.slave.fallback);
    put(emit, "A", slaveC, c.slave.fallback);
  }

  // §6.3: resource ports → `C.F.slave.D.:P`.
  if (c.ports.length > 0) {
    for (const p of c.ports) {
      const target = `${slaveC}:${p}`;
      put(emit, "SRV", app.tcpSlave, target);
      put(emit, "SRV", app.udpSlave, target);
      if (!c.discovery) {
        put(emit, "SRV", app.tcp, target);
        put(emit, "SRV", app.udp, target);
      }
    }
  }
  if (!c.discovery) return;

  // §6.4: DiscoveryInfo ports → `C.F.D.:N`.
  const dports = c.task.discovery?.ports?.ports;
  if (!Array.isArray(dports)) return;
  for (const dp of dports) {
    if (!dp || typeof dp !== "object") continue;
    const num = dp.number === undefined || dp.number === null ? 0 : dp.number;
    if (typeof num !== "number" || !Number.isInteger(num) || num < 0 || num > 65535) {
      d.warnOnce(
        "discovery-port",
        `task ${JSON.stringify(c.task.id)} has a discovery port that is not a port number; skipped`,
      );
      continue;
    }
    const target = `${canonical}${tail}:${num}`;
    const proto = d.spec(str(dp.protocol));
    const names = proto === ""
      ? [`_${T}._tcp.${c.fname}`, `_${T}._udp.${c.fname}`]
      : [`_${T}._${proto}.${c.fname}`];
    for (const n of names) put(emit, "SRV", n + tail, target);
    const portName = d.spec(str(dp.name));
    if (portName !== "") {
      for (const n of names) put(emit, "SRV", `_${portName}.${n}${tail}`, target);
    }
  }
}

/**
 * Whether a task gets records at all: an object in state TASK_RUNNING (and, with
 * `HealthAware`, not reported unhealthy).
 */
export function getsRecords(d: Derivation, task: MesosTask): boolean {
  return !!task && typeof task === "object" && task.state === "TASK_RUNNING" &&
    servesTask(task, d.options.healthAware === true);
}

/**
 * §6.1–6.5 for one RUNNING task on a known agent: `fname` is its framework's label
 * (`frameworkLabel`), `slave` its agent's addresses (`agentRecords`).
 */
export function taskRecords(
  d: Derivation,
  task: MesosTask,
  fname: string,
  slave: SlaveAddrs,
  emit: Emit,
): void {
  const discoveryName = str(task.discovery?.name);
  const c: TaskContext = {
    emit,
    fname,
    hash: taskHash(str(task.id)),
    slaveTail: slaveIDTail(str(task.slave_id)),
    ips: taskIPs(task, d.options.ipSources, slave.ips),
    slave,
    ports: parsePortRanges(
      task.resources?.ports,
      (item) =>
        d.warnOnce("port-range", `resources.ports item ${JSON.stringify(item)} is not a port range; skipped`),
    ),
    discovery: discoveryName !== "",
    task,
  };
  if (c.discovery) {
    taskPass(d, c, discoveryName); // legacy pass: the name verbatim
    const label = d.spec(discoveryName);
    // The same label gives the same records again.
    if (label !== discoveryName) taskPass(d, c, label);
  } else {
    taskPass(d, c, d.spec(str(task.name)));
  }
}

/**
 * Builds the complete record set for one state (SPEC §6). Never throws on odd input:
 * unusable items are skipped with one log line per kind of problem. The same derivations
 * as the record store's (`RecordStore.snapshot`), in the state's order.
 */
export function generateRecords(input: GenerateInput): RecordSet {
  const d = new Derivation(input.options, input.resolved);
  const b = new RecordSetBuilder(input.options.domain);
  const emit: Emit = (type, name, value) => b.add(type, name, value);
  const state = input.state ?? {};
  const frameworks = arr(state.frameworks);
  for (const f of frameworks) frameworkRecords(d, f, emit);
  const slaves = new Map<string, SlaveAddrs>();
  for (const s of arr(state.slaves)) {
    const addrs = agentRecords(d, s, emit);
    if (addrs) slaves.set(str(s.id), addrs);
  }
  masterAndNameServerRecords(d, str(state.leader), input.masters, input.nameServerIPs, emit);
  const out: EnumFramework[] = [];
  for (const f of frameworks) {
    const ef: EnumFramework = { tasks: [], name: f && typeof f === "object" ? str(f.name) : "" };
    out.push(ef);
    if (!f || typeof f !== "object") continue;
    let fname: string | undefined;
    for (const task of arr(f.tasks)) {
      if (!getsRecords(d, task)) continue;
      const slave = slaves.get(str(task.slave_id));
      if (!slave) continue;
      fname ??= frameworkLabel(d, f);
      const enumTask: EnumTask = { name: str(task.name), id: str(task.id), records: null };
      ef.tasks.push(enumTask);
      taskRecords(d, task, fname, slave, (type, name, value) => {
        if (!b.add(type, name, value)) return false;
        const rec = { name, host: value, rtype: type };
        if (enumTask.records) enumTask.records.push(rec);
        else enumTask.records = [rec];
        return true;
      });
    }
  }
  return b.build(out.length > 0 ? out : null);
}
