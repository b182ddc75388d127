/**
 * The record generator (owns: turning one Mesos state into a complete RecordSet, SPEC §6:
 * framework, agent, name-server, master/leader and task records, in that order, plus the
 * per-task "newly added" lists behind `/v1/enumerate`, §8.6). Pure: host names are looked
 * up by the caller (`hostsToResolve` says which) and passed in as `resolved`.
 */
import type { MesosFramework, MesosState, MesosTask } from "../mesos/state_types.ts";
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

/** An agent's addresses: its IPs, or the non-IP fallback string of §5.5 when it has none. */
interface SlaveAddrs {
  ips: ParsedIP[];
  fallback: string;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function arr<T>(v: T[] | null | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/** Where a framework's scheduler is: the pid's host and port, else `hostname` without a port. */
function frameworkHostPort(f: MesosFramework): { host: string; port: string; badPid: boolean } {
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

/** One generate call: the builder, the options, the agent table and once-per-kind logging. */
class Generation {
  readonly b: RecordSetBuilder;
  readonly tail: string;
  readonly spec: LabelFn;
  readonly slaves = new Map<string, SlaveAddrs>();
  readonly #warned = new Set<string>();
  readonly #ipCache = new Map<string, ParsedIP[]>();

  constructor(readonly input: GenerateInput) {
    const o = input.options;
    this.b = new RecordSetBuilder(o.domain);
    this.tail = `.${o.domain}.`;
    this.spec = labelFunction(o.enforceRFC952);
  }

  /** Logs `msg` at most once per `kind` in this generate call. */
  warnOnce(kind: string, msg: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    log.warn`${msg}`;
  }

  /** Stores a record; empty values are never stored (as in the original). */
  add(type: RRType, name: string, value: string): boolean {
    return value !== "" && this.b.add(type, name, value);
  }

  /** Stores a task record and lists it under the task when it is new. */
  addTask(task: EnumTask, type: RRType, name: string, value: string): void {
    if (!this.add(type, name, value)) return;
    const rec = { name, host: value, rtype: type };
    if (task.records) task.records.push(rec);
    else task.records = [rec];
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
      for (const raw of this.input.resolved.get(host) ?? []) {
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

/** §6.6: `F.D.` → framework host IPs, `_framework._tcp.F.D.` → `F.D.:<pid port>`. */
function frameworkRecords(g: Generation, frameworks: MesosFramework[]): void {
  for (const f of frameworks) {
    if (!f || typeof f !== "object") continue;
    const { host, port, badPid } = frameworkHostPort(f);
    if (badPid) {
      g.warnOnce(
        "framework-pid",
        `framework ${JSON.stringify(f.name)} has an unusable pid; using its hostname`,
      );
    }
    const ips = g.ipsOf(host);
    if (ips.length === 0) continue;
    const a = frag(str(f.name), g.spec) + g.tail;
    for (const ip of ips) g.add(ip.kind, a, ip.text);
    if (port !== "") g.add("SRV", "_framework._tcp." + a, `${a}:${port}`);
  }
}

/** §6.7: `slave.D.` and `_slave._tcp.D.`; fills the agent table used by the tasks. */
function slaveRecords(g: Generation, state: MesosState): void {
  const a = "slave" + g.tail;
  const srv = "_slave._tcp" + g.tail;
  for (const s of arr(state.slaves)) {
    if (!s || typeof s !== "object") continue;
    const pid = parsePid(s.pid);
    if (!pid) {
      g.warnOnce(
        "slave-pid",
        `agent ${JSON.stringify(s.id)} has no usable pid; it and its tasks are skipped`,
      );
      continue;
    }
    const ips = g.ipsOf(pid.host);
    for (const ip of ips) g.add(ip.kind, a, ip.text);
    if (ips.length > 0) g.add("SRV", srv, `${a}:${pid.port}`);
    const fallback = ips.length === 0 ? frag(pid.host, g.spec) : "";
    g.slaves.set(str(s.id), { ips, fallback });
  }
}

/** §6.8: the `SOAMname` record. */
function nameServerRecords(g: Generation): void {
  const name = g.input.options.soaMname;
  for (const raw of g.input.nameServerIPs) {
    const ip = parseIP(raw);
    if (ip) g.add(ip.kind, name, ip.text);
    else g.warnOnce("ns-ip", `name-server address ${JSON.stringify(raw)} is not an IP; skipped`);
  }
}

/**
 * §6.9: `leader.D.`, `master.D.`, `masterN.D.`, `_leader._{tcp,udp}.D.`, plus the addition
 * `_master._{tcp,udp}.D.` → `master.D.:<port>` for each distinct master port.
 */
function masterRecords(g: Generation, leader: string): void {
  const leaderAddr = leaderAddress(leader);
  if (leaderAddr === null) return;
  const lhp = splitHostPortLoose(leaderAddr);
  if (!lhp) return;
  const D = g.tail;
  const all = "master" + D;
  const masterPorts: string[] = [];
  const notePort = (p: string) => {
    if (isNumericPort(p) && !masterPorts.includes(p)) masterPorts.push(p);
  };

  const leaderIPs = g.ipsOf(lhp.host);
  if (leaderIPs.length === 0) {
    g.warnOnce("leader-host", `leader host ${JSON.stringify(lhp.host)} has no IP; no leader records`);
  } else {
    for (const ip of leaderIPs) {
      g.add(ip.kind, "leader" + D, ip.text);
      g.add(ip.kind, all, ip.text);
    }
    const target = `leader${D}:${lhp.port}`;
    g.add("SRV", "_leader._tcp" + D, target);
    g.add("SRV", "_leader._udp" + D, target);
    notePort(lhp.port);
  }

  let leaderIndexed = false;
  let idx = 0;
  for (const m of g.input.masters) {
    const hp = splitHostPortLoose(m);
    if (!hp) continue; // e.g. the empty "leader unknown" entry
    const ips = g.ipsOf(hp.host);
    if (ips.length === 0) {
      g.warnOnce("master-host", `master ${JSON.stringify(m)} has no IP; skipped`);
      continue;
    }
    notePort(hp.port);
    if (m !== leaderAddr) {
      let added = false;
      for (const ip of ips) if (g.add(ip.kind, all, ip.text)) added = true;
      if (!added) continue; // same address as an earlier master
    } else if (leaderIndexed) {
      continue;
    }
    const name = `master${idx}${D}`;
    for (const ip of ips) g.add(ip.kind, name, ip.text);
    idx++;
    if (m === leaderAddr) leaderIndexed = true;
  }
  if (!leaderIndexed && leaderIPs.length > 0) {
    const name = `master${idx}${D}`;
    for (const ip of leaderIPs) g.add(ip.kind, name, ip.text);
  }

  for (const p of masterPorts) {
    const target = `${all}:${p}`;
    g.add("SRV", "_master._tcp" + D, target);
    g.add("SRV", "_master._udp" + D, target);
  }
}

/** What both passes of one task share (§5.3, §5.4). */
interface TaskContext {
  enumTask: EnumTask;
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
function taskPass(g: Generation, c: TaskContext, T: string): void {
  const tail = g.tail;
  const t = c.enumTask;
  const arec = `${T}.${c.fname}`;
  const canonical = `${T}-${c.hash}-${c.slaveTail}.${c.fname}`;

  for (const ip of c.ips) {
    g.addTask(t, ip.kind, arec + tail, ip.text);
    g.addTask(t, ip.kind, canonical + tail, ip.text);
  }
  const slaveA = `${arec}.slave${tail}`;
  const slaveC = `${canonical}.slave${tail}`;
  if (c.slave.ips.length > 0) {
    for (const ip of c.slave.ips) {
      g.addTask(t, ip.kind, slaveA, ip.text);
      g.addTask(t, ip.kind, slaveC, ip.text);
    }
  } else {
    // Bogus non-IP A value kept for compatibility (§6.10); empty values are never stored.
    g.addTask(t, "A", slaveA, c.slave.fallback);
    g.addTask(t, "A", slaveC, c.slave.fallback);
  }

  // §6.3: resource ports → `C.F.slave.D.:P`.
  const tcpSlave = `_${T}._tcp.${c.fname}.slave${tail}`;
  const udpSlave = `_${T}._udp.${c.fname}.slave${tail}`;
  const tcp = `_${T}._tcp.${c.fname}${tail}`;
  const udp = `_${T}._udp.${c.fname}${tail}`;
  for (const p of c.ports) {
    const target = `${slaveC}:${p}`;
    g.addTask(t, "SRV", tcpSlave, target);
    g.addTask(t, "SRV", udpSlave, target);
    if (!c.discovery) {
      g.addTask(t, "SRV", tcp, target);
      g.addTask(t, "SRV", udp, target);
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
      g.warnOnce(
        "discovery-port",
        `task ${JSON.stringify(c.task.id)} has a discovery port that is not a port number; skipped`,
      );
      continue;
    }
    const target = `${canonical}${tail}:${num}`;
    const proto = g.spec(str(dp.protocol));
    const names = proto === ""
      ? [`_${T}._tcp.${c.fname}`, `_${T}._udp.${c.fname}`]
      : [`_${T}._${proto}.${c.fname}`];
    for (const n of names) g.addTask(t, "SRV", n + tail, target);
    const portName = g.spec(str(dp.name));
    if (portName !== "") {
      for (const n of names) g.addTask(t, "SRV", `_${portName}.${n}${tail}`, target);
    }
  }
}

/** §6.1–6.5 for every RUNNING task on a known agent; builds the enumerate tree. */
function taskRecords(g: Generation, frameworks: MesosFramework[]): EnumFramework[] {
  const out: EnumFramework[] = [];
  const sources = g.input.options.ipSources;
  const onBadPort = (item: string) =>
    g.warnOnce("port-range", `resources.ports item ${JSON.stringify(item)} is not a port range; skipped`);
  for (const f of frameworks) {
    const ef: EnumFramework = { tasks: [], name: f && typeof f === "object" ? str(f.name) : "" };
    out.push(ef);
    if (!f || typeof f !== "object") continue;
    let fname: string | undefined;
    for (const task of arr(f.tasks)) {
      if (!task || typeof task !== "object" || task.state !== "TASK_RUNNING") continue;
      if (!servesTask(task, g.input.options.healthAware === true)) continue;
      const slaveID = str(task.slave_id);
      const slave = g.slaves.get(slaveID);
      if (!slave) continue;
      fname ??= frag(str(f.name), g.spec);
      const enumTask: EnumTask = { name: str(task.name), id: str(task.id), records: null };
      ef.tasks.push(enumTask);
      const discoveryName = str(task.discovery?.name);
      const c: TaskContext = {
        enumTask,
        fname,
        hash: taskHash(str(task.id)),
        slaveTail: slaveIDTail(slaveID),
        ips: taskIPs(task, sources, slave.ips),
        slave,
        ports: parsePortRanges(task.resources?.ports, onBadPort),
        discovery: discoveryName !== "",
        task,
      };
      if (c.discovery) {
        taskPass(g, c, discoveryName); // legacy pass: the name verbatim
        taskPass(g, c, g.spec(discoveryName));
      } else {
        taskPass(g, c, g.spec(str(task.name)));
      }
    }
  }
  return out;
}

/**
 * Builds the complete record set for one state (SPEC §6). Never throws on odd input:
 * unusable items are skipped with one log line per kind of problem.
 */
export function generateRecords(input: GenerateInput): RecordSet {
  const g = new Generation(input);
  const state = input.state ?? {};
  const frameworks = arr(state.frameworks);
  frameworkRecords(g, frameworks);
  slaveRecords(g, state);
  nameServerRecords(g);
  masterRecords(g, str(state.leader));
  const enumerated = taskRecords(g, frameworks);
  return g.b.build(enumerated.length > 0 ? enumerated : null);
}
