/**
 * Naming conformance (issue #4): small hand-written states, one per rule of SPEC §5–6 — each row of
 * the SRV rules table, IPv6 everywhere, RFC 952 and RFC 1123 label edge cases, duplicate task names,
 * tasks without ports, frameworks without tasks, non-running tasks, tasks on unknown agents, agents
 * known by host name or not resolvable, every `IPSources` order — each with the exact A, AAAA and
 * SRV tables derived by hand from SPEC (task hashes computed once with an independent SHA-1 +
 * z-base-32 script and written as literals).
 *
 * Every state is checked twice: through `generateRecords`, and through the live service (the
 * simulator serves the document, the app fetches it and serves DNS and HTTP on 127.0.0.1). Over
 * DNS (TCP) every expected name is asked for A, AAAA and SRV: the answer set must be exact, a type
 * the name lacks answers NODATA (NOERROR, no answers, the zone SOA in authority), SRV answers carry
 * one A and one AAAA of each in-domain target that has them, and the listed absent names answer
 * NXDOMAIN with the SOA. `/v1/axfr` must equal the whole table and `/v1/enumerate` must list exactly
 * the task part of it (the rest being framework, agent, master and name-server records).
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { startApp } from "../src/app.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import type { MesosSlave, MesosState, MesosTask, MesosTaskStatus } from "../src/mesos/state_types.ts";
import { generateRecords, nameServerIPs } from "../src/records/generate.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { type Answer, type Packet, queryTcp } from "./helpers/dns_client.ts";
import { at, merge, sortedTable, type Table, type Tables } from "./helpers/fixture_tables.ts";
import { waitFor } from "./helpers/wait.ts";

// ---------------------------------------------------------------------------------------------
// building blocks of the states

const DOCKER = "Docker.NetworkSettings.IPAddress";
const MESOS = "MesosContainerizer.NetworkSettings.IPAddress";
const DEFAULT_SOURCES = ["netinfo", "mesos", "host"];

const AG0: MesosSlave = { id: "c0ffee-S0", hostname: "a0", pid: "slave(1)@10.1.0.10:5051" };
const AG1: MesosSlave = { id: "c0ffee-S1", hostname: "a1", pid: "slave(1)@10.1.0.11:5051" };
const AG6: MesosSlave = { id: "c0ffee-S6", hostname: "a6", pid: "slave(1)@[fd00:a::6]:5051" };
const AG7: MesosSlave = { id: "c0ffee-S7", hostname: "a7", pid: "slave(1)@agent7.example:5051" };
const AG8: MesosSlave = { id: "c0ffee-S8", hostname: "a8", pid: "slave(1)@Agent_8.Example.COM:5052" };

/** Interface addresses the name-server record sees with listener 0.0.0.0. */
const INTERFACES = ["127.0.0.1", "::1", "10.9.8.7", "fe80::1%eth0", "2001:db8::53"];

/** A RUNNING task with one RUNNING status and nothing else unless `extra` says so. */
function task(name: string, id: string, agent: MesosSlave, extra: Partial<MesosTask> = {}): MesosTask {
  return {
    id,
    name,
    slave_id: agent.id,
    framework_id: "fw",
    state: "TASK_RUNNING",
    statuses: [{ state: "TASK_RUNNING", timestamp: 1 }],
    ...extra,
  };
}

/** A RUNNING status whose one network info lists `ips`. */
function netinfo(...ips: string[]): MesosTaskStatus {
  return {
    state: "TASK_RUNNING",
    timestamp: 5,
    container_status: { network_infos: [{ ip_addresses: ips.map((ip_address) => ({ ip_address })) }] },
  };
}

const NONE: Tables = { a: {}, aaaa: {}, srv: {} };

/** `name` → ips, split into A and AAAA by the presence of a colon. */
function addrs(name: string, ...ips: string[]): Tables {
  const v4 = ips.filter((ip) => !ip.includes(":"));
  const v6 = ips.filter((ip) => ip.includes(":"));
  return { a: v4.length ? { [name]: v4 } : {}, aaaa: v6.length ? { [name]: v6 } : {}, srv: {} };
}

/** Where the masters are: the leader the state names (first in the masters list). */
interface MasterEnv {
  leaderIP: string;
  leaderPort: number;
}

/** SPEC §6.9 for a masters list holding only the leader, plus the `_master` SRV addition. */
function leaderOnly(env: MasterEnv): Tables {
  return merge(
    addrs("leader.mesos.", env.leaderIP),
    addrs("master.mesos.", env.leaderIP),
    addrs("master0.mesos.", env.leaderIP),
    {
      a: {},
      aaaa: {},
      srv: {
        "_leader._tcp.mesos.": [`leader.mesos.:${env.leaderPort}`],
        "_leader._udp.mesos.": [`leader.mesos.:${env.leaderPort}`],
        "_master._tcp.mesos.": [`master.mesos.:${env.leaderPort}`],
        "_master._udp.mesos.": [`master.mesos.:${env.leaderPort}`],
      },
    },
  );
}

interface Case {
  title: string;
  /** The state without `leader` (the runs set it). */
  doc: MesosState;
  ipSources?: string[];
  rfc952?: boolean;
  /** Masters after the leader in the masters list. */
  extraMasters?: string[];
  /** Listener 0.0.0.0 (name server = INTERFACES) instead of 127.0.0.1. */
  anyListener?: boolean;
  /** Host name → addresses; other names resolve to nothing. */
  hosts?: Record<string, string[]>;
  /** The leader of the generator run (default 10.0.0.1:5050; the live run uses the simulator's). */
  genLeader?: string;
  /** Live run through a master on [::1] (the leader is IPv6). */
  ipv6Leader?: boolean;
  /** Framework, agent records. */
  base: Tables;
  /** What the tasks add. */
  tasks: Tables;
  /** Master and leader records (default `leaderOnly`). */
  masters?: (env: MasterEnv) => Tables;
  /** Raw framework names and the raw names of their tasks that got records (null: no frameworks). */
  listed: Array<[string, string[]]> | null;
  /** Names that must not exist at all. */
  absent: string[];
}

function nameServer(c: Case): Tables {
  return c.anyListener
    ? addrs("ns1.mesos.", "10.9.8.7", "fe80::1", "2001:db8::53")
    : addrs("ns1.mesos.", "127.0.0.1");
}

function expected(c: Case, env: MasterEnv): Tables {
  return merge(c.base, c.tasks, (c.masters ?? leaderOnly)(env), nameServer(c));
}

function splitLeader(hostport: string): MasterEnv {
  const colon = hostport.lastIndexOf(":");
  return {
    leaderIP: hostport.slice(0, colon).replace(/^\[|\]$/g, ""),
    leaderPort: Number(hostport.slice(colon + 1)),
  };
}

function triples(t: Tables): string[] {
  const out: string[] = [];
  for (const [kind, type] of [["a", "A"], ["aaaa", "AAAA"], ["srv", "SRV"]] as const) {
    for (const [name, values] of Object.entries(t[kind])) {
      for (const v of values) out.push(`${type} ${name} ${v}`);
    }
  }
  return [...new Set(out)].sort();
}

function table(m: ReadonlyMap<string, readonly string[]>): Table {
  const out: Table = {};
  for (const k of [...m.keys()].sort()) out[k] = [...m.get(k)!].sort();
  return out;
}

// ---------------------------------------------------------------------------------------------
// the cases

const MARATHON = { name: "marathon", pid: "scheduler-1@10.2.0.1:8080" };
const MARATHON_BASE = (...agents: string[]): Tables => ({
  a: { "marathon.mesos.": ["10.2.0.1"], "slave.mesos.": agents },
  aaaa: {},
  srv: {
    "_framework._tcp.marathon.mesos.": ["marathon.mesos.:8080"],
    "_slave._tcp.mesos.": ["slave.mesos.:5051"],
  },
});

// SRV rules row 1 and the task-selection rules. Hashes: web.1 e844k, web.2 izm16, worker.1 pej77,
// web.3 sft9q, staging.1 npb1z, lost.1 ey3i3.
const W1 = "web-e844k-s0";
const W2 = "web-izm16-s1";
const WK = "worker-pej77-s0";
const webSrv = [
  ...at(`${W1}.marathon.slave.mesos.`, 31000, 31001),
  ...at(`${W2}.marathon.slave.mesos.`, 31002),
];

const rowOne: Case = {
  title:
    "SRV row 1 (resource ports, no DiscoveryInfo), duplicate names, no ports, task states, unknown agents",
  doc: {
    frameworks: [
      {
        ...MARATHON,
        tasks: [
          task("web", "web.1", AG0, { resources: { ports: "[31000-31001]" } }),
          task("web", "web.2", AG1, { resources: { ports: "[31002-31002]" } }),
          task("worker", "worker.1", AG0),
          task("staging", "staging.1", AG0, {
            state: "TASK_STAGING",
            statuses: [{ state: "TASK_STAGING", timestamp: 1 }],
          }),
          task("web", "web.3", AG1, { state: "TASK_KILLED", resources: { ports: "[31999-31999]" } }),
          task("lost", "lost.1", { id: "c0ffee-S9" }, { resources: { ports: "[31998-31998]" } }),
          task("unreachable", "unreachable.1", AG0, { state: "TASK_UNREACHABLE" }),
        ],
      },
      { name: "metronome", pid: "scheduler-2@10.2.0.2:9090", tasks: [] },
      { name: "idle", hostname: "10.2.0.3" },
    ],
    slaves: [AG0, AG1],
  },
  base: merge(MARATHON_BASE("10.1.0.10", "10.1.0.11"), {
    a: { "metronome.mesos.": ["10.2.0.2"], "idle.mesos.": ["10.2.0.3"] },
    aaaa: {},
    srv: { "_framework._tcp.metronome.mesos.": ["metronome.mesos.:9090"] },
  }),
  tasks: {
    a: {
      "web.marathon.mesos.": ["10.1.0.10", "10.1.0.11"],
      [`${W1}.marathon.mesos.`]: ["10.1.0.10"],
      [`${W2}.marathon.mesos.`]: ["10.1.0.11"],
      "web.marathon.slave.mesos.": ["10.1.0.10", "10.1.0.11"],
      [`${W1}.marathon.slave.mesos.`]: ["10.1.0.10"],
      [`${W2}.marathon.slave.mesos.`]: ["10.1.0.11"],
      "worker.marathon.mesos.": ["10.1.0.10"],
      [`${WK}.marathon.mesos.`]: ["10.1.0.10"],
      "worker.marathon.slave.mesos.": ["10.1.0.10"],
      [`${WK}.marathon.slave.mesos.`]: ["10.1.0.10"],
    },
    aaaa: {},
    srv: {
      "_web._tcp.marathon.mesos.": webSrv,
      "_web._udp.marathon.mesos.": webSrv,
      "_web._tcp.marathon.slave.mesos.": webSrv,
      "_web._udp.marathon.slave.mesos.": webSrv,
    },
  },
  listed: [["marathon", ["web", "web", "worker"]], ["metronome", []], ["idle", []]],
  absent: [
    "staging.marathon.mesos.",
    "staging-npb1z-s0.marathon.mesos.",
    "_staging._tcp.marathon.mesos.",
    "web-sft9q-s1.marathon.mesos.",
    "lost.marathon.mesos.",
    "lost.marathon.slave.mesos.",
    "lost-ey3i3-s9.marathon.mesos.",
    "unreachable.marathon.mesos.",
    "_worker._tcp.marathon.mesos.",
    "_worker._udp.marathon.slave.mesos.",
    "_framework._tcp.idle.mesos.",
    "web.metronome.mesos.",
    "master1.mesos.",
    "_slave._udp.mesos.",
    "nothing.mesos.",
  ],
};

// SRV rules rows 2–4: DiscoveryInfo. api.1 → 793n9 (container IP wins), legacy.1 → 19twr (host wins).
const API = "api-793n9-s0";
const LG = "My.Svc-19twr-s1";
const SG = "my-svc-19twr-s1";

const discovery: Case = {
  title: "SRV rows 2–4 (DiscoveryInfo ports and names, protocols, container vs agent targets, legacy names)",
  doc: {
    frameworks: [{
      ...MARATHON,
      tasks: [
        task("api", "api.1", AG0, {
          resources: { ports: "[31100-31101]" },
          statuses: [netinfo("172.16.0.5")],
          discovery: {
            visibility: "FRAMEWORK",
            name: "api",
            ports: {
              ports: [
                { number: 80, name: "http", protocol: "tcp" },
                { number: 53, name: "dns", protocol: "udp" },
                { number: 9000 },
                { number: 8443, name: "Admin Port", protocol: "TCP" },
              ],
            },
          },
        }),
        task("legacy-app", "legacy.1", AG1, {
          resources: { ports: "[31200-31200]" },
          discovery: { name: "My.Svc", ports: { ports: [{ number: 7000, name: "web", protocol: "tcp" }] } },
        }),
      ],
    }],
    slaves: [AG0, AG1],
  },
  base: MARATHON_BASE("10.1.0.10", "10.1.0.11"),
  tasks: {
    a: {
      "api.marathon.mesos.": ["172.16.0.5"],
      [`${API}.marathon.mesos.`]: ["172.16.0.5"],
      "api.marathon.slave.mesos.": ["10.1.0.10"],
      [`${API}.marathon.slave.mesos.`]: ["10.1.0.10"],
      "My.Svc.marathon.mesos.": ["10.1.0.11"],
      [`${LG}.marathon.mesos.`]: ["10.1.0.11"],
      "My.Svc.marathon.slave.mesos.": ["10.1.0.11"],
      [`${LG}.marathon.slave.mesos.`]: ["10.1.0.11"],
      "my-svc.marathon.mesos.": ["10.1.0.11"],
      [`${SG}.marathon.mesos.`]: ["10.1.0.11"],
      "my-svc.marathon.slave.mesos.": ["10.1.0.11"],
      [`${SG}.marathon.slave.mesos.`]: ["10.1.0.11"],
    },
    aaaa: {},
    srv: {
      "_api._tcp.marathon.slave.mesos.": at(`${API}.marathon.slave.mesos.`, 31100, 31101),
      "_api._udp.marathon.slave.mesos.": at(`${API}.marathon.slave.mesos.`, 31100, 31101),
      "_api._tcp.marathon.mesos.": at(`${API}.marathon.mesos.`, 80, 9000, 8443),
      "_api._udp.marathon.mesos.": at(`${API}.marathon.mesos.`, 53, 9000),
      "_http._api._tcp.marathon.mesos.": at(`${API}.marathon.mesos.`, 80),
      "_dns._api._udp.marathon.mesos.": at(`${API}.marathon.mesos.`, 53),
      "_adminport._api._tcp.marathon.mesos.": at(`${API}.marathon.mesos.`, 8443),
      "_My.Svc._tcp.marathon.slave.mesos.": at(`${LG}.marathon.slave.mesos.`, 31200),
      "_My.Svc._udp.marathon.slave.mesos.": at(`${LG}.marathon.slave.mesos.`, 31200),
      "_My.Svc._tcp.marathon.mesos.": at(`${LG}.marathon.mesos.`, 7000),
      "_web._My.Svc._tcp.marathon.mesos.": at(`${LG}.marathon.mesos.`, 7000),
      "_my-svc._tcp.marathon.slave.mesos.": at(`${SG}.marathon.slave.mesos.`, 31200),
      "_my-svc._udp.marathon.slave.mesos.": at(`${SG}.marathon.slave.mesos.`, 31200),
      "_my-svc._tcp.marathon.mesos.": at(`${SG}.marathon.mesos.`, 7000),
      "_web._my-svc._tcp.marathon.mesos.": at(`${SG}.marathon.mesos.`, 7000),
    },
  },
  listed: [["marathon", ["api", "legacy-app"]]],
  absent: [
    "_http._api._udp.marathon.mesos.",
    "_dns._api._tcp.marathon.mesos.",
    "_api._sctp.marathon.mesos.",
    "_my-svc._udp.marathon.mesos.",
    "legacy-app.marathon.mesos.",
    "_legacy-app._tcp.marathon.mesos.",
    "_admin port._api._tcp.marathon.mesos.",
  ],
};

// IPv6. six.1 obkix, dual.1 hmikp, hosty.1 7dxs7, named.1 fpbk3, mapped.1 p4z8j.
const SIX = "six-obkix-s6";
const DUAL = "dual-hmikp-s0";
const HOSTY = "hosty-7dxs7-s6";
const NAMED = "named-fpbk3-s7";
const MAPPED = "mapped-p4z8j-s0";
const sixSrv = at(`${SIX}.v6.slave.mesos.`, 32000);
const namedSrv = at(`${NAMED}.v6.slave.mesos.`, 32100);

const ipv6: Case = {
  title: "IPv6: task, agent (literal and by name), framework and master addresses; dual-stack targets",
  doc: {
    frameworks: [{
      name: "v6",
      pid: "scheduler(1)@[fd00:b::1]:8080",
      tasks: [
        task("six", "six.1", AG6, {
          resources: { ports: "[32000-32000]" },
          statuses: [netinfo("FD00:C:0::1")],
        }),
        task("dual", "dual.1", AG0, {
          statuses: [netinfo("10.3.0.1", "fd00:c::2")],
          discovery: { name: "dual", ports: { ports: [{ number: 443, name: "https", protocol: "tcp" }] } },
        }),
        task("hosty", "hosty.1", AG6),
        task("named", "named.1", AG7, { resources: { ports: "[32100-32100]" } }),
        task("mapped", "mapped.1", AG0, { statuses: [netinfo("::ffff:10.3.0.9")] }),
      ],
    }],
    slaves: [AG0, AG6, AG7],
  },
  hosts: { "agent7.example": ["10.1.0.17", "fd00:a::17"] },
  extraMasters: ["[fd00:d::2]:5050"],
  masters: (env) =>
    merge(leaderOnly(env), addrs("master.mesos.", "fd00:d::2"), addrs("master1.mesos.", "fd00:d::2"), {
      a: {},
      aaaa: {},
      srv: { "_master._tcp.mesos.": ["master.mesos.:5050"], "_master._udp.mesos.": ["master.mesos.:5050"] },
    }),
  base: {
    a: { "slave.mesos.": ["10.1.0.10", "10.1.0.17"] },
    aaaa: { "v6.mesos.": ["fd00:b::1"], "slave.mesos.": ["fd00:a::6", "fd00:a::17"] },
    srv: { "_framework._tcp.v6.mesos.": ["v6.mesos.:8080"], "_slave._tcp.mesos.": ["slave.mesos.:5051"] },
  },
  tasks: {
    a: {
      "dual.v6.mesos.": ["10.3.0.1"],
      [`${DUAL}.v6.mesos.`]: ["10.3.0.1"],
      "dual.v6.slave.mesos.": ["10.1.0.10"],
      [`${DUAL}.v6.slave.mesos.`]: ["10.1.0.10"],
      "named.v6.mesos.": ["10.1.0.17"],
      [`${NAMED}.v6.mesos.`]: ["10.1.0.17"],
      "named.v6.slave.mesos.": ["10.1.0.17"],
      [`${NAMED}.v6.slave.mesos.`]: ["10.1.0.17"],
      "mapped.v6.mesos.": ["10.3.0.9"],
      [`${MAPPED}.v6.mesos.`]: ["10.3.0.9"],
      "mapped.v6.slave.mesos.": ["10.1.0.10"],
      [`${MAPPED}.v6.slave.mesos.`]: ["10.1.0.10"],
    },
    aaaa: {
      "six.v6.mesos.": ["fd00:c::1"],
      [`${SIX}.v6.mesos.`]: ["fd00:c::1"],
      "six.v6.slave.mesos.": ["fd00:a::6"],
      [`${SIX}.v6.slave.mesos.`]: ["fd00:a::6"],
      "dual.v6.mesos.": ["fd00:c::2"],
      [`${DUAL}.v6.mesos.`]: ["fd00:c::2"],
      "hosty.v6.mesos.": ["fd00:a::6"],
      [`${HOSTY}.v6.mesos.`]: ["fd00:a::6"],
      "hosty.v6.slave.mesos.": ["fd00:a::6"],
      [`${HOSTY}.v6.slave.mesos.`]: ["fd00:a::6"],
      "named.v6.mesos.": ["fd00:a::17"],
      [`${NAMED}.v6.mesos.`]: ["fd00:a::17"],
      "named.v6.slave.mesos.": ["fd00:a::17"],
      [`${NAMED}.v6.slave.mesos.`]: ["fd00:a::17"],
    },
    srv: {
      "_six._tcp.v6.mesos.": sixSrv,
      "_six._udp.v6.mesos.": sixSrv,
      "_six._tcp.v6.slave.mesos.": sixSrv,
      "_six._udp.v6.slave.mesos.": sixSrv,
      "_dual._tcp.v6.mesos.": at(`${DUAL}.v6.mesos.`, 443),
      "_https._dual._tcp.v6.mesos.": at(`${DUAL}.v6.mesos.`, 443),
      "_named._tcp.v6.mesos.": namedSrv,
      "_named._udp.v6.mesos.": namedSrv,
      "_named._tcp.v6.slave.mesos.": namedSrv,
      "_named._udp.v6.slave.mesos.": namedSrv,
    },
  },
  listed: [["v6", ["six", "dual", "hosty", "named", "mapped"]]],
  absent: ["_dual._udp.v6.mesos.", "master2.mesos.", "_six._tcp.mesos.", "dual.v6.slave.mesos.v6.mesos."],
};

// The leader itself on IPv6. lone.1 → 3j8xk.
const LONE = "lone-3j8xk-s6";
const loneSrv = at(`${LONE}.solo.slave.mesos.`, 32200);

const ipv6Leader: Case = {
  title: "IPv6 leader: leader, master, masterN AAAA and the leader SRVs",
  doc: {
    frameworks: [{
      name: "solo",
      pid: "scheduler(1)@[fd00:b::2]:8081",
      tasks: [task("lone", "lone.1", AG6, { resources: { ports: "[32200-32200]" } })],
    }],
    slaves: [AG6],
  },
  genLeader: "[fd00:d::1]:5050",
  ipv6Leader: true,
  base: {
    a: {},
    aaaa: { "solo.mesos.": ["fd00:b::2"], "slave.mesos.": ["fd00:a::6"] },
    srv: { "_framework._tcp.solo.mesos.": ["solo.mesos.:8081"], "_slave._tcp.mesos.": ["slave.mesos.:5051"] },
  },
  tasks: {
    a: {},
    aaaa: {
      "lone.solo.mesos.": ["fd00:a::6"],
      [`${LONE}.solo.mesos.`]: ["fd00:a::6"],
      "lone.solo.slave.mesos.": ["fd00:a::6"],
      [`${LONE}.solo.slave.mesos.`]: ["fd00:a::6"],
    },
    srv: {
      "_lone._tcp.solo.mesos.": loneSrv,
      "_lone._udp.solo.mesos.": loneSrv,
      "_lone._tcp.solo.slave.mesos.": loneSrv,
      "_lone._udp.solo.slave.mesos.": loneSrv,
    },
  },
  listed: [["solo", ["lone"]]],
  absent: ["master1.mesos."],
};

// IPSources: every order over the same two tasks. multi.1 → 6f39g, bare.1 → i6357.
// `multi`'s newest RUNNING status (ts 20) has a Docker label 172.17.0.2, a Mesos label 10.4.0.2
// and netinfo 10.5.0.2; an older RUNNING status (ts 10) and a newer KILLING one (ts 30) have other
// Docker labels that must never be used. `bare` has no container IPs.
const MULTI = "multi-6f39g-s0";
const BARE = "bare-i6357-s1";
const ipSourcesDoc: MesosState = {
  frameworks: [{
    ...MARATHON,
    tasks: [
      task("multi", "multi.1", AG0, {
        resources: { ports: "[31500-31500]" },
        statuses: [
          { state: "TASK_RUNNING", timestamp: 10, labels: [{ key: DOCKER, value: "172.17.0.9" }] },
          {
            state: "TASK_RUNNING",
            timestamp: 20,
            labels: [{ key: DOCKER, value: "172.17.0.2" }, { key: MESOS, value: "10.4.0.2" }],
            container_status: { network_infos: [{ ip_addresses: [{ ip_address: "10.5.0.2" }] }] },
          },
          { state: "TASK_KILLING", timestamp: 30, labels: [{ key: DOCKER, value: "172.17.0.30" }] },
        ],
        discovery: { name: "multi", ports: { ports: [{ number: 8080, protocol: "tcp" }] } },
      }),
      task("bare", "bare.1", AG1, {
        discovery: { name: "bare", ports: { ports: [{ number: 8081, protocol: "tcp" }] } },
      }),
    ],
  }],
  slaves: [AG0, AG1],
};

function ipSourcesCase(order: string[], multiIP: string, bareIP: string | null): Case {
  const bare: Table = bareIP
    ? { "bare.marathon.mesos.": [bareIP], [`${BARE}.marathon.mesos.`]: [bareIP] }
    : {};
  return {
    title: `IPSources ${JSON.stringify(order)}: multi → ${multiIP}, bare → ${bareIP ?? "no task IP"}`,
    doc: ipSourcesDoc,
    ipSources: order,
    base: MARATHON_BASE("10.1.0.10", "10.1.0.11"),
    tasks: {
      a: {
        "multi.marathon.mesos.": [multiIP],
        [`${MULTI}.marathon.mesos.`]: [multiIP],
        "multi.marathon.slave.mesos.": ["10.1.0.10"],
        [`${MULTI}.marathon.slave.mesos.`]: ["10.1.0.10"],
        ...bare,
        "bare.marathon.slave.mesos.": ["10.1.0.11"],
        [`${BARE}.marathon.slave.mesos.`]: ["10.1.0.11"],
      },
      aaaa: {},
      srv: {
        "_multi._tcp.marathon.slave.mesos.": at(`${MULTI}.marathon.slave.mesos.`, 31500),
        "_multi._udp.marathon.slave.mesos.": at(`${MULTI}.marathon.slave.mesos.`, 31500),
        "_multi._tcp.marathon.mesos.": at(`${MULTI}.marathon.mesos.`, 8080),
        // SRV rules row 2 with no task IP: the target does not resolve.
        "_bare._tcp.marathon.mesos.": at(`${BARE}.marathon.mesos.`, 8081),
      },
    },
    listed: [["marathon", ["multi", "bare"]]],
    absent: [
      ...(bareIP ? [] : ["bare.marathon.mesos.", `${BARE}.marathon.mesos.`]),
      "_multi._udp.marathon.mesos.",
      "_bare._tcp.marathon.slave.mesos.",
    ],
  };
}

const ipSourceCases = [
  ipSourcesCase(["docker", "host"], "172.17.0.2", "10.1.0.11"),
  ipSourcesCase(["mesos", "netinfo"], "10.4.0.2", null),
  ipSourcesCase(["netinfo", "docker", "mesos", "host"], "10.5.0.2", "10.1.0.11"),
  ipSourcesCase(["host", "docker"], "10.1.0.10", "10.1.0.11"),
  ipSourcesCase(["netinfo"], "10.5.0.2", null),
];

// RFC 952. Framework `2nd.Framework_v2..prod` → nd.framework-v2.prod. Hashes: t1 hw4uo, t2 fjp7y,
// t3 epcg1, t4 i8x5n, t5 z7k6q, t6 7rijp, t7 x9hmm.
const F952 = "nd.framework-v2.prod.mesos.";
const FS952 = "nd.framework-v2.prod.slave.mesos.";

function fourA(T: string, C: string, F: string, FS: string, ip: string): Table {
  return { [`${T}.${F}`]: [ip], [`${C}.${F}`]: [ip], [`${T}.${FS}`]: [ip], [`${C}.${FS}`]: [ip] };
}

const rfc952: Case = {
  title: "RFC 952 labels (EnforceRFC952): leading digits, 24-character cut and refill, empty labels",
  rfc952: true,
  doc: {
    frameworks: [{
      name: "2nd.Framework_v2..prod",
      pid: "scheduler-1@10.2.0.1:8080",
      tasks: [
        task("123-web.front_end", "t1", AG0, { resources: { ports: "[1000-1000]" } }),
        task("a-very-long-task-name-that-exceeds-limits", "t2", AG0),
        task("abcdefghijklmnopqrstuvw-----xyz", "t3", AG0),
        task("12345", "t4", AG0, { resources: { ports: "[2000-2000]" } }),
        task("Ünïcödé Task", "t5", AG0),
        task("-leading-and-trailing-", "t6", AG0),
        task("svc", "t7", AG0, {
          discovery: {
            name: "9lives.svc",
            ports: { ports: [{ number: 80, name: "4http", protocol: "tcp" }] },
          },
        }),
      ],
    }],
    slaves: [AG0],
  },
  base: {
    a: { [F952]: ["10.2.0.1"], "slave.mesos.": ["10.1.0.10"] },
    aaaa: {},
    srv: { [`_framework._tcp.${F952}`]: [`${F952}:8080`], "_slave._tcp.mesos.": ["slave.mesos.:5051"] },
  },
  tasks: {
    a: {
      ...fourA("web-front-end", "web-front-end-hw4uo-s0", F952, FS952, "10.1.0.10"),
      ...fourA("a-very-long-task-name-th", "a-very-long-task-name-th-fjp7y-s0", F952, FS952, "10.1.0.10"),
      ...fourA("abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx-epcg1-s0", F952, FS952, "10.1.0.10"),
      ...fourA("", "-i8x5n-s0", F952, FS952, "10.1.0.10"),
      ...fourA("ncdtask", "ncdtask-z7k6q-s0", F952, FS952, "10.1.0.10"),
      ...fourA("leading-and-trailing", "leading-and-trailing-7rijp-s0", F952, FS952, "10.1.0.10"),
      ...fourA("9lives.svc", "9lives.svc-x9hmm-s0", F952, FS952, "10.1.0.10"),
      ...fourA("lives-svc", "lives-svc-x9hmm-s0", F952, FS952, "10.1.0.10"),
    },
    aaaa: {},
    srv: {
      [`_web-front-end._tcp.${F952}`]: at(`web-front-end-hw4uo-s0.${FS952}`, 1000),
      [`_web-front-end._udp.${F952}`]: at(`web-front-end-hw4uo-s0.${FS952}`, 1000),
      [`_web-front-end._tcp.${FS952}`]: at(`web-front-end-hw4uo-s0.${FS952}`, 1000),
      [`_web-front-end._udp.${FS952}`]: at(`web-front-end-hw4uo-s0.${FS952}`, 1000),
      [`_._tcp.${F952}`]: at(`-i8x5n-s0.${FS952}`, 2000),
      [`_._udp.${F952}`]: at(`-i8x5n-s0.${FS952}`, 2000),
      [`_._tcp.${FS952}`]: at(`-i8x5n-s0.${FS952}`, 2000),
      [`_._udp.${FS952}`]: at(`-i8x5n-s0.${FS952}`, 2000),
      [`_9lives.svc._tcp.${F952}`]: at(`9lives.svc-x9hmm-s0.${F952}`, 80),
      [`_http._9lives.svc._tcp.${F952}`]: at(`9lives.svc-x9hmm-s0.${F952}`, 80),
      [`_lives-svc._tcp.${F952}`]: at(`lives-svc-x9hmm-s0.${F952}`, 80),
      [`_http._lives-svc._tcp.${F952}`]: at(`lives-svc-x9hmm-s0.${F952}`, 80),
    },
  },
  listed: [["2nd.Framework_v2..prod", [
    "123-web.front_end",
    "a-very-long-task-name-that-exceeds-limits",
    "abcdefghijklmnopqrstuvw-----xyz",
    "12345",
    "Ünïcödé Task",
    "-leading-and-trailing-",
    "svc",
  ]]],
  absent: [
    `123-web-front-end.${F952}`,
    "web-front-end.2nd.framework-v2.prod.mesos.",
    `_lives-svc._udp.${F952}`,
    `_4http._lives-svc._tcp.${F952}`,
    `_svc._tcp.${F952}`,
    `abcdefghijklmnopqrstuvw.${F952}`,
  ],
};

// RFC 1123 (the default). Framework `Team.Alpha_Apps` → team.alpha-apps. Hashes: r1 ki368,
// r2 wwy1p, r3 ikrug, r4 xaurn.
const F1123 = "team.alpha-apps.mesos.";
const FS1123 = "team.alpha-apps.slave.mesos.";
const LONG = "a".repeat(62) + "b";

const rfc1123: Case = {
  title: "RFC 1123 labels: dots, 63-character cut and refill, hyphens, empty labels, framework dots kept",
  doc: {
    frameworks: [{
      name: "Team.Alpha_Apps",
      pid: "scheduler-1@10.2.0.4:8080",
      tasks: [
        task("api.v2.backend", "r1", AG1, { resources: { ports: "[3000-3000]" } }),
        task("a".repeat(62) + "--bcd", "r2", AG1),
        task("$$$", "r3", AG1, { resources: { ports: "[3001-3001]" } }),
        task("--4edge--", "r4", AG1),
      ],
    }],
    slaves: [AG1],
  },
  base: {
    a: { [F1123]: ["10.2.0.4"], "slave.mesos.": ["10.1.0.11"] },
    aaaa: {},
    srv: { [`_framework._tcp.${F1123}`]: [`${F1123}:8080`], "_slave._tcp.mesos.": ["slave.mesos.:5051"] },
  },
  tasks: {
    a: {
      ...fourA("api-v2-backend", "api-v2-backend-ki368-s1", F1123, FS1123, "10.1.0.11"),
      // The canonical label has 69 characters (the original makes it too): stored, not askable.
      ...fourA(LONG, `${LONG}-wwy1p-s1`, F1123, FS1123, "10.1.0.11"),
      ...fourA("", "-ikrug-s1", F1123, FS1123, "10.1.0.11"),
      ...fourA("4edge", "4edge-xaurn-s1", F1123, FS1123, "10.1.0.11"),
    },
    aaaa: {},
    srv: {
      [`_api-v2-backend._tcp.${F1123}`]: at(`api-v2-backend-ki368-s1.${FS1123}`, 3000),
      [`_api-v2-backend._udp.${F1123}`]: at(`api-v2-backend-ki368-s1.${FS1123}`, 3000),
      [`_api-v2-backend._tcp.${FS1123}`]: at(`api-v2-backend-ki368-s1.${FS1123}`, 3000),
      [`_api-v2-backend._udp.${FS1123}`]: at(`api-v2-backend-ki368-s1.${FS1123}`, 3000),
      [`_._tcp.${F1123}`]: at(`-ikrug-s1.${FS1123}`, 3001),
      [`_._udp.${F1123}`]: at(`-ikrug-s1.${FS1123}`, 3001),
      [`_._tcp.${FS1123}`]: at(`-ikrug-s1.${FS1123}`, 3001),
      [`_._udp.${FS1123}`]: at(`-ikrug-s1.${FS1123}`, 3001),
    },
  },
  listed: [["Team.Alpha_Apps", ["api.v2.backend", "a".repeat(62) + "--bcd", "$$$", "--4edge--"]]],
  absent: [
    `api.v2.backend.${F1123}`,
    "api-v2-backend.team.alpha_apps.mesos.",
    "api-v2-backend.team-alpha-apps.mesos.",
    `edge.${F1123}`,
    `${"a".repeat(62)}.${F1123}`,
  ],
};

// Agents by host name, an agent whose name does not resolve (its bogus A value, SPEC §6.10), a
// framework known by host name, and the name server on 0.0.0.0. ghost.1 → 4fwor, seen.1 → jqdpa.
const GHOST = "ghost-4fwor-s8";
const SEEN = "seen-jqdpa-s7";
const ghostSrv = at(`${GHOST}.marathon.slave.mesos.`, 33000);

const hostNames: Case = {
  title: "host names: agents and frameworks resolved or not; name server on 0.0.0.0",
  doc: {
    frameworks: [
      {
        ...MARATHON,
        tasks: [
          task("ghost", "ghost.1", AG8, { resources: { ports: "[33000-33000]" } }),
          task("seen", "seen.1", AG7),
        ],
      },
      { name: "hosted", hostname: "sched.example" },
      { name: "gone", hostname: "nowhere.example" },
    ],
    slaves: [AG7, AG8],
  },
  hosts: { "agent7.example": ["10.1.0.17", "fd00:a::17"], "sched.example": ["10.2.0.9", "fd00:b::9"] },
  anyListener: true,
  base: {
    a: { "marathon.mesos.": ["10.2.0.1"], "hosted.mesos.": ["10.2.0.9"], "slave.mesos.": ["10.1.0.17"] },
    aaaa: { "hosted.mesos.": ["fd00:b::9"], "slave.mesos.": ["fd00:a::17"] },
    srv: {
      "_framework._tcp.marathon.mesos.": ["marathon.mesos.:8080"],
      // The unresolved agent (pid port 5052) adds nothing here.
      "_slave._tcp.mesos.": ["slave.mesos.:5051"],
    },
  },
  tasks: {
    a: {
      "ghost.marathon.slave.mesos.": ["agent-8.example.com"],
      [`${GHOST}.marathon.slave.mesos.`]: ["agent-8.example.com"],
      ...fourA("seen", SEEN, "marathon.mesos.", "marathon.slave.mesos.", "10.1.0.17"),
    },
    aaaa: fourA("seen", SEEN, "marathon.mesos.", "marathon.slave.mesos.", "fd00:a::17"),
    srv: {
      "_ghost._tcp.marathon.mesos.": ghostSrv,
      "_ghost._udp.marathon.mesos.": ghostSrv,
      "_ghost._tcp.marathon.slave.mesos.": ghostSrv,
      "_ghost._udp.marathon.slave.mesos.": ghostSrv,
    },
  },
  listed: [["marathon", ["ghost", "seen"]], ["hosted", []], ["gone", []]],
  absent: [
    "ghost.marathon.mesos.",
    `${GHOST}.marathon.mesos.`,
    "gone.mesos.",
    "_framework._tcp.hosted.mesos.",
  ],
};

const noFrameworks: Case = {
  title: "a state without frameworks: agents, masters and the name server only",
  doc: { slaves: [AG0] },
  base: {
    a: { "slave.mesos.": ["10.1.0.10"] },
    aaaa: {},
    srv: { "_slave._tcp.mesos.": ["slave.mesos.:5051"] },
  },
  tasks: NONE,
  listed: null,
  absent: ["marathon.mesos.", "_framework._tcp.marathon.mesos."],
};

const CASES: Case[] = [
  rowOne,
  discovery,
  ipv6,
  ipv6Leader,
  ...ipSourceCases,
  rfc952,
  rfc1123,
  hostNames,
  noFrameworks,
];

// ---------------------------------------------------------------------------------------------
// the generator run

function generate(c: Case): RecordSet {
  const leader = c.genLeader ?? "10.0.0.1:5050";
  return generateRecords({
    state: { ...c.doc, leader: `master@${leader}` },
    masters: [leader, ...(c.extraMasters ?? [])],
    options: {
      domain: "mesos",
      enforceRFC952: c.rfc952 ?? false,
      ipSources: c.ipSources ?? DEFAULT_SOURCES,
      soaMname: "ns1.mesos.",
    },
    nameServerIPs: c.anyListener ? nameServerIPs("0.0.0.0", INTERFACES) : nameServerIPs("127.0.0.1", []),
    resolved: new Map(Object.entries(c.hosts ?? {})),
  });
}

function enumerated(frameworks: RecordSet["frameworks"]): string[] {
  const out = new Set<string>();
  for (const f of frameworks ?? []) {
    for (const t of f.tasks) for (const r of t.records ?? []) out.add(`${r.rtype} ${r.name} ${r.host}`);
  }
  return [...out].sort();
}

for (const c of CASES) {
  Deno.test(`generator: ${c.title}`, () => {
    const rs = generate(c);
    const want = expected(c, splitLeader(c.genLeader ?? "10.0.0.1:5050"));
    assert.deepEqual(table(rs.a), sortedTable(want.a), "A records");
    assert.deepEqual(table(rs.aaaa), sortedTable(want.aaaa), "AAAA records");
    assert.deepEqual(table(rs.srv), sortedTable(want.srv), "SRV records");
    assert.deepEqual(enumerated(rs.frameworks), triples(c.tasks), "enumerate = the task records");
    assert.deepEqual(rs.frameworks?.map((f) => [f.name, f.tasks.map((t) => t.name)]) ?? null, c.listed);
  });
}

// ---------------------------------------------------------------------------------------------
// the live run

/** Whether a name can be asked over DNS at all (and is asked as stored: lower case). */
function askable(name: string): boolean {
  const labels = name.slice(0, -1).split(".");
  return /^[a-z0-9._-]+\.$/.test(name) && labels.every((l) => l.length > 0 && l.length <= 63) &&
    name.length <= 254 && name.endsWith(".mesos.");
}

const IP_TEXT = /^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+)$/;

function rdata(a: Answer): string {
  if (a.type === "SRV") {
    const d = a.data as { target: string; port: number };
    return `${d.target}.:${d.port}`;
  }
  return String((a as { data: unknown }).data);
}

/** NODATA / NXDOMAIN: no answers, exactly the zone SOA (owner = apex) in authority. */
function assertNegative(msg: Packet & { rcode: string }, rcode: string, what: string): void {
  assert.equal(msg.rcode, rcode, what);
  assert.deepEqual(msg.answers ?? [], [], what);
  const auth = msg.authorities ?? [];
  assert.equal(auth.length, 1, what);
  assert.equal(auth[0].type, "SOA", what);
  assert.equal(auth[0].name, "mesos", what);
  const soa = (auth[0] as { data: { mname: string; rname: string } }).data;
  assert.deepEqual([soa.mname, soa.rname], ["ns1.mesos", "root.ns1.mesos"], what);
}

/** Asks every askable expected name for A, AAAA and SRV, the absent names, and the apex. */
async function checkDns(port: number, want: Tables, absent: string[]): Promise<number> {
  const names = new Set([...Object.keys(want.a), ...Object.keys(want.aaaa), ...Object.keys(want.srv)]);
  const ipsOf = (kind: "a" | "aaaa", name: string) => (want[kind][name] ?? []).filter((v) => IP_TEXT.test(v));
  let asked = 0;
  for (const name of names) {
    // Names whose only address is the bogus non-IP value of §6.10 are checked in their own test.
    const bogusOnly = (want.a[name] ?? []).length > 0 && ipsOf("a", name).length === 0 && !want.aaaa[name] &&
      !want.srv[name];
    if (!askable(name) || bogusOnly) continue;
    for (const [type, kind] of [["A", "a"], ["AAAA", "aaaa"], ["SRV", "srv"]] as const) {
      const what = `${type} ${name}`;
      const values = kind === "srv" ? want.srv[name] ?? [] : ipsOf(kind, name);
      const { msg, h } = await queryTcp(port, name, type);
      asked++;
      assert.ok(h.aa, what);
      if (values.length === 0) {
        assertNegative(msg, "NOERROR", what);
        continue;
      }
      assert.equal(msg.rcode, "NOERROR", what);
      assert.deepEqual((msg.authorities ?? []).length, 0, what);
      const answers = msg.answers ?? [];
      assert.ok(answers.every((a) => a.type === type && a.name === name.slice(0, -1)), what);
      assert.deepEqual(answers.map(rdata).sort(), [...values].sort(), what);
      if (type !== "SRV") continue;
      for (const a of answers) {
        const d = (a as { data: { priority: number; weight: number } }).data;
        assert.deepEqual([d.priority, d.weight], [0, 1], what);
      }
      // One A and one AAAA of each in-domain target that has them (SPEC §7.3): the SRV rules table's
      // "target resolves to" column, seen over DNS.
      const extra = msg.additionals ?? [];
      let count = 0;
      for (const target of new Set(values.map((v) => v.slice(0, v.lastIndexOf(":"))))) {
        for (const [t, k] of [["A", "a"], ["AAAA", "aaaa"]] as const) {
          const have = extra.filter((x) => x.type === t && x.name === target.slice(0, -1)).map(rdata);
          const can = ipsOf(k, target);
          assert.equal(have.length, can.length > 0 ? 1 : 0, `${what}: ${t} of ${target}`);
          if (have.length) assert.ok(can.includes(have[0]), `${what}: ${t} of ${target} = ${have[0]}`);
          count += have.length;
        }
      }
      assert.equal(extra.length, count, `${what}: additional section`);
    }
  }
  for (const name of absent) {
    for (const type of ["A", "AAAA", "SRV"]) {
      const { msg } = await queryTcp(port, name, type);
      assertNegative(msg, "NXDOMAIN", `${type} ${name}`);
      asked++;
    }
  }
  // The zone's own SOA and NS (answered at the apex, SPEC §0).
  const soa = await queryTcp(port, "mesos.", "SOA");
  assert.deepEqual(soa.msg.answers?.map((a) => [a.name, a.type]), [["mesos", "SOA"]]);
  const ns = await queryTcp(port, "mesos.", "NS");
  assert.deepEqual(ns.msg.answers?.map((a) => [a.name, a.type, rdata(a)]), [["mesos", "NS", "ns1.mesos"]]);
  return asked;
}

interface Enumerate {
  frameworks:
    | {
      name: string;
      tasks: { name: string; records: { name: string; host: string; rtype: string }[] | null }[];
    }[]
    | null;
}

interface Axfr {
  Records: { As: Table; AAAAs: Table; SRVs: Table };
}

interface Live {
  dnsPort: number;
  httpPort: number;
  env: MasterEnv;
}

/** Serves the case's document from the simulator and runs the service against it. */
async function withLive(c: Case, fn: (live: Live) => Promise<void>): Promise<void> {
  const cleanups: Array<() => Promise<void>> = [];
  try {
    let masters: string[];
    let env: MasterEnv;
    if (c.ipv6Leader) {
      // A master on [::1] whose state names itself as leader: a stand-in that relays the
      // simulator's document, so the leader address is IPv6 and nothing leaves the machine.
      let simUrl = "";
      const relay = Deno.serve({ hostname: "::1", port: 0, onListen: () => {} }, async (req) => {
        const res = await fetch(simUrl + new URL(req.url).pathname);
        return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
      });
      cleanups.unshift(() => relay.shutdown());
      env = { leaderIP: "::1", leaderPort: relay.addr.port };
      const sim = await startSimulator({ document: { ...c.doc, leader: `master@[::1]:${env.leaderPort}` } });
      cleanups.unshift(() => sim.close());
      simUrl = sim.url(0, "");
      masters = [`[::1]:${env.leaderPort}`];
    } else {
      const sim = await startSimulator({
        document: { ...c.doc, leader: "master@127.0.0.1:1" },
        rewriteLeader: true,
      });
      cleanups.unshift(() => sim.close());
      env = splitLeader(sim.masters[0]);
      masters = [sim.masters[0]];
    }
    const outcome = await parseCommandLine([
      `--masters=${[...masters, ...(c.extraMasters ?? [])].join(",")}`,
      `--listener=${c.anyListener ? "0.0.0.0" : "127.0.0.1"}`,
      "--port=0",
      "--httplistener=127.0.0.1",
      "--httpport=0",
      "--externalon=false",
      `--ipsources=${(c.ipSources ?? DEFAULT_SOURCES).join(",")}`,
      `--enforcerfc952=${c.rfc952 ?? false}`,
      // The tables are what /master/state gives (with the frameworks' scheduler pids, which
      // the operator API does not carry); event_stream_test.ts compares the two sources.
      "--state-source=poll",
    ]);
    assert.equal(outcome.kind, "run");
    if (outcome.kind !== "run") return;
    const hosts = c.hosts ?? {};
    const app = await startApp(outcome.config, {
      resolveHosts: (names) => Promise.resolve(new Map(names.map((n) => [n, hosts[n] ?? []]))),
      interfaceIPs: () => INTERFACES,
    });
    cleanups.unshift(() => app.close());
    await waitFor(() => app.holder.current() !== undefined, { message: "state never loaded" });
    await fn({ dnsPort: app.dns!.port, httpPort: app.http!.port, env });
  } finally {
    for (const close of cleanups) await close();
  }
}

function ipv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

for (const c of CASES) {
  Deno.test({
    name: `live DNS and HTTP: ${c.title}`,
    ignore: c.ipv6Leader === true && !ipv6Loopback(),
    fn: () =>
      withLive(c, async ({ dnsPort, httpPort, env }) => {
        const want = expected(c, env);
        const axfr = await (await fetch(`http://127.0.0.1:${httpPort}/v1/axfr`)).json() as Axfr;
        assert.deepEqual(sortedTable(axfr.Records.As), sortedTable(want.a), "axfr As");
        assert.deepEqual(sortedTable(axfr.Records.AAAAs), sortedTable(want.aaaa), "axfr AAAAs");
        assert.deepEqual(sortedTable(axfr.Records.SRVs), sortedTable(want.srv), "axfr SRVs");
        const en = await (await fetch(`http://127.0.0.1:${httpPort}/v1/enumerate`)).json() as Enumerate;
        assert.deepEqual(en.frameworks?.map((f) => [f.name, f.tasks.map((t) => t.name)]) ?? null, c.listed);
        // enumerate ∪ framework/agent/master/name-server records = axfr.
        const listed = enumerated(en.frameworks as RecordSet["frameworks"]);
        assert.deepEqual(listed, triples(c.tasks), "enumerate = the task records");
        const rest = triples(merge(c.base, (c.masters ?? leaderOnly)(env), nameServer(c)));
        assert.deepEqual(
          [...new Set([...listed, ...rest])].sort(),
          triples(want),
          "enumerate ∪ the rest = axfr",
        );
        const asked = await checkDns(dnsPort, want, c.absent);
        assert.ok(asked >= 3 * c.absent.length + 12, `asked ${asked}`);
      }),
  });
}

// ---------------------------------------------------------------------------------------------
// Where DNS must follow the store exactly: unreachable upper-case names, NODATA for invalid-only names.

Deno.test({
  name: "live DNS: names stored with upper case stay unreachable (SPEC §5.4)",
  fn: () =>
    withLive(discovery, async ({ dnsPort }) => {
      // Stored as `My.Svc.marathon.mesos.`; queries are lower-cased, so the original never finds it.
      for (
        const name of [
          "my.svc.marathon.mesos.",
          "_my.svc._tcp.marathon.mesos.",
          "_web._my.svc._tcp.marathon.mesos.",
        ]
      ) {
        for (const type of ["A", "SRV"]) {
          assertNegative((await queryTcp(dnsPort, name, type)).msg, "NXDOMAIN", `${type} ${name}`);
        }
      }
    }),
});

Deno.test({
  name: "live DNS: a name whose only A value is the bogus agent name answers NODATA (SPEC §7.3, §6.10)",
  fn: () =>
    withLive(hostNames, async ({ dnsPort }) => {
      for (const name of ["ghost.marathon.slave.mesos.", `${GHOST}.marathon.slave.mesos.`]) {
        assertNegative((await queryTcp(dnsPort, name, "A")).msg, "NOERROR", `A ${name}`);
      }
    }),
});
