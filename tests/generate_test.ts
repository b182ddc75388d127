// The record generator and its parts: IP literals, pids, port ranges, IP sources
// (SPEC §4.4, §5, §6, §8.6, §10).
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { MesosFramework, MesosSlave, MesosState, MesosTask } from "../src/mesos/state_types.ts";
import {
  type GenerateInput,
  generateRecords,
  type GeneratorOptions,
  hostsToResolve,
  nameServerIPs,
} from "../src/records/generate.ts";
import { isIP, parseIP } from "../src/net/ip.ts";
import { joinHostPort, splitHostPort, splitHostPortLoose } from "../src/net/host_port.ts";
import { parsePid } from "../src/records/pid.ts";
import { parsePortRanges } from "../src/records/ports.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { chosenStatus, taskIPs } from "../src/records/task_ips.ts";

// ---------------------------------------------------------------------------------------------
// helpers

const OPTS: GeneratorOptions = {
  domain: "mesos",
  enforceRFC952: false,
  ipSources: ["netinfo", "mesos", "host"],
  soaMname: "ns1.mesos.",
};

function gen(
  state: MesosState,
  over: Partial<Omit<GenerateInput, "options">> & { options?: Partial<GeneratorOptions> } = {},
): RecordSet {
  return generateRecords({
    state,
    masters: over.masters ?? [],
    options: { ...OPTS, ...over.options },
    nameServerIPs: over.nameServerIPs ?? [],
    resolved: over.resolved ?? new Map(),
  });
}

type Table = Record<string, string[]>;

/** A record map as a plain object with sorted values (for whole-map comparisons). */
function table(m: ReadonlyMap<string, readonly string[]>): Table {
  const out: Table = {};
  for (const k of [...m.keys()].sort()) out[k] = [...m.get(k)!].sort();
  return out;
}

function sortTable(t: Table): Table {
  const out: Table = {};
  for (const k of Object.keys(t).sort()) out[k] = [...t[k]].sort();
  return out;
}

function vals(m: ReadonlyMap<string, readonly string[]>, name: string): string[] {
  return [...(m.get(name) ?? [])].sort();
}

const SLAVE_0: MesosSlave = {
  id: "20140803-125133-3041283216-5050-2410-0",
  hostname: "a0.example",
  pid: "slave(1)@1.2.3.11:5051",
};
const SLAVE_1: MesosSlave = {
  id: "20140827-000744-3041283216-5050-2116-1",
  hostname: "a1.example",
  pid: "slave(1)@1.2.3.12:5051",
};

function running(
  name: string,
  id: string,
  slave: MesosSlave,
  extra: Partial<MesosTask> = {},
): MesosTask {
  return {
    id,
    name,
    slave_id: slave.id,
    state: "TASK_RUNNING",
    statuses: [{ state: "TASK_RUNNING", timestamp: 1 }],
    ...extra,
  };
}

function state(frameworks: MesosFramework[], slaves: MesosSlave[] = [SLAVE_0, SLAVE_1]): MesosState {
  return { leader: "master@1.2.3.4:5050", frameworks, slaves };
}

// ---------------------------------------------------------------------------------------------
// IP literals

Deno.test("ip: IPv4, IPv6 canonical form, IPv4-mapped as dotted A", () => {
  assert.deepEqual(parseIP("10.0.0.1"), { kind: "A", text: "10.0.0.1" });
  assert.deepEqual(parseIP("255.255.255.255"), { kind: "A", text: "255.255.255.255" });
  assert.deepEqual(parseIP("2001:0DB8:0000:0000:0000:0000:0000:0001"), { kind: "AAAA", text: "2001:db8::1" });
  assert.deepEqual(parseIP("::1"), { kind: "AAAA", text: "::1" });
  assert.deepEqual(parseIP("::"), { kind: "AAAA", text: "::" });
  assert.deepEqual(parseIP("fd01:b::1:8000:2"), { kind: "AAAA", text: "fd01:b::1:8000:2" });
  assert.deepEqual(parseIP("1:0:0:2:0:0:0:3"), { kind: "AAAA", text: "1:0:0:2::3" }); // longest run
  assert.deepEqual(parseIP("1:0:0:2:0:0:3:4"), { kind: "AAAA", text: "1::2:0:0:3:4" }); // first on ties
  assert.deepEqual(parseIP("1:0:2:3:4:5:6:7"), { kind: "AAAA", text: "1:0:2:3:4:5:6:7" }); // single 0 kept
  assert.deepEqual(parseIP("fe80::1"), { kind: "AAAA", text: "fe80::1" });
  assert.deepEqual(parseIP("::ffff:1.2.3.4"), { kind: "A", text: "1.2.3.4" });
  assert.deepEqual(parseIP("::FFFF:0102:0304"), { kind: "A", text: "1.2.3.4" });
  assert.deepEqual(parseIP("64:ff9b::1.2.3.4"), { kind: "AAAA", text: "64:ff9b::102:304" });
  assert.deepEqual(parseIP("1::"), { kind: "AAAA", text: "1::" });
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.4 ",
      "a.b.c.d",
      "localhost",
      "[::1]",
      "fe80::1%eth0",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":::",
      "12345::1",
      "1:2:3:4:5:6:7::8",
      "1.2.3.4:80",
      "::1.2.3",
    ]
  ) {
    assert.equal(parseIP(bad), null, bad);
    assert.equal(isIP(bad), false, bad);
  }
});

// ---------------------------------------------------------------------------------------------
// pids and host:port

Deno.test("pid: id@host:port with IPv4, IPv6 and names; rejects malformed", () => {
  assert.deepEqual(parsePid("slave(1)@10.0.0.11:5051"), { id: "slave(1)", host: "10.0.0.11", port: "5051" });
  assert.deepEqual(parsePid("scheduler(1)@[2001:db8::1]:25501"), {
    id: "scheduler(1)",
    host: "2001:db8::1",
    port: "25501",
  });
  assert.deepEqual(parsePid(' "master@m1.example:5050" '), {
    id: "master",
    host: "m1.example",
    port: "5050",
  });
  assert.deepEqual(parsePid("@1.2.3.4:1"), { id: "", host: "1.2.3.4", port: "1" });
  for (
    const bad of [null, undefined, 5, "", "a@b@c:1", "nohost", "a@1.2.3.4", "a@2001:db8::1:5050", "a@h:x"]
  ) {
    assert.equal(parsePid(bad), null, String(bad));
  }
});

Deno.test("host:port: strict (Go net.SplitHostPort) and lenient (masters/leader) splitters", () => {
  assert.deepEqual(splitHostPort("1.2.3.4:5050"), { host: "1.2.3.4", port: "5050" });
  assert.deepEqual(splitHostPort("[::1]:5050"), { host: "::1", port: "5050" });
  assert.deepEqual(splitHostPort("host:"), { host: "host", port: "" });
  assert.equal(splitHostPort("::1:5050"), null);
  assert.equal(splitHostPort("[::1]5050"), null);
  assert.equal(splitHostPort("[::1]"), null);
  assert.equal(splitHostPort("a]:1"), null);
  assert.equal(splitHostPort(""), null);
  assert.deepEqual(splitHostPortLoose("2001:db8::1:5050"), { host: "2001", port: "db8::1:5050" });
  assert.deepEqual(splitHostPortLoose("[2001:db8::1]:5050"), { host: "2001:db8::1", port: "5050" });
  assert.equal(splitHostPortLoose(""), null);
  assert.equal(splitHostPortLoose("justahost"), null);
  assert.equal(joinHostPort("::1", "53"), "[::1]:53");
  assert.equal(joinHostPort("1.2.3.4", "53"), "1.2.3.4:53");
});

// ---------------------------------------------------------------------------------------------
// resources.ports

Deno.test("ports: ranges expanded inclusively, in order", () => {
  assert.deepEqual(parsePortRanges("[31111-31111, 31115-31117]"), [31111, 31115, 31116, 31117]);
  assert.deepEqual(parsePortRanges("[31000-31001, 31005-31005]"), [31000, 31001, 31005]);
  assert.deepEqual(parsePortRanges("[31737-31738]"), [31737, 31738]);
  assert.deepEqual(parsePortRanges(""), []);
  assert.deepEqual(parsePortRanges("[]"), []);
  assert.deepEqual(parsePortRanges(undefined), []);
  assert.deepEqual(parsePortRanges(null), []);
  assert.deepEqual(parsePortRanges(31000), []);
  assert.deepEqual(parsePortRanges("[5-3]"), []); // empty range
  assert.deepEqual(parsePortRanges("[1-2, 2-3]"), [1, 2, 2, 3]);
});

Deno.test("ports: single port, bad items skipped and reported, no brackets", () => {
  const bad: string[] = [];
  const onBad = (s: string) => bad.push(s);
  assert.deepEqual(parsePortRanges("[80, 443-444]", onBad), [80, 443, 444]); // §10.6
  assert.deepEqual(parsePortRanges("[x-1, 5-6, 7-y, , 70000-70001, 8]", onBad), [5, 6, 8]);
  assert.deepEqual(bad, ["x-1", "7-y", "", "70000-70001"]);
  assert.deepEqual(parsePortRanges("100-101"), [100, 101]);
  assert.deepEqual(parsePortRanges("[1-2] [3-4]"), [1, 2]);
  assert.deepEqual(parsePortRanges("[1-2-3]"), [1, 2]);
});

// ---------------------------------------------------------------------------------------------
// IP sources

const STATUSES: MesosTask["statuses"] = [
  {
    state: "TASK_RUNNING",
    timestamp: 10,
    labels: [{ key: "Docker.NetworkSettings.IPAddress", value: "10.9.9.9" }],
  },
  {
    state: "TASK_RUNNING",
    timestamp: 20,
    labels: [
      { key: "Docker.NetworkSettings.IPAddress", value: "172.17.0.2" },
      { key: "MesosContainerizer.NetworkSettings.IPAddress", value: "10.3.0.3" },
      { key: "MesosContainerizer.NetworkSettings.IPAddress", value: "not-an-ip" },
      { key: "MesosContainerizer.NetworkSettings.IPAddress", value: "10.3.0.4" },
    ],
    container_status: {
      network_infos: [
        { ip_addresses: [{ ip_address: "10.1.0.1" }, { ip_address: "fd00::1" }], ip_address: "10.1.0.99" },
        { ip_address: "10.1.0.2" },
        { ip_addresses: [] },
        { ip_addresses: [{ ip_address: "" }] },
      ],
    },
  },
  {
    state: "TASK_STARTING",
    timestamp: 30,
    labels: [{ key: "Docker.NetworkSettings.IPAddress", value: "1.1.1.1" }],
  },
];
const HOST = [parseIP("1.2.3.11")!];
const texts = (ips: { text: string }[]) => ips.map((i) => i.text);

Deno.test("IP sources: each source reads the latest RUNNING status", () => {
  const t: MesosTask = { statuses: STATUSES };
  assert.deepEqual(texts(taskIPs(t, ["netinfo"], HOST)), ["10.1.0.1", "fd00::1", "10.1.0.2"]);
  assert.deepEqual(texts(taskIPs(t, ["mesos"], HOST)), ["10.3.0.3", "10.3.0.4"]);
  assert.deepEqual(texts(taskIPs(t, ["docker"], HOST)), ["172.17.0.2"]);
  assert.deepEqual(texts(taskIPs(t, ["host"], HOST)), ["1.2.3.11"]);
});

Deno.test("IP sources: first source with an IP wins, no merging; fallback in order", () => {
  const t: MesosTask = { statuses: STATUSES };
  assert.deepEqual(texts(taskIPs(t, ["docker", "netinfo"], HOST)), ["172.17.0.2"]);
  assert.deepEqual(texts(taskIPs(t, ["host", "netinfo"], HOST)), ["1.2.3.11"]);
  const bare: MesosTask = { statuses: [{ state: "TASK_RUNNING", timestamp: 1 }] };
  assert.deepEqual(texts(taskIPs(bare, ["netinfo", "mesos", "docker", "host"], HOST)), ["1.2.3.11"]);
  assert.deepEqual(texts(taskIPs(bare, ["netinfo", "mesos"], HOST)), []);
  assert.deepEqual(texts(taskIPs(bare, ["rkt", "host"], HOST)), ["1.2.3.11"]); // unknown source ignored
  // Only invalid values in a source → it yields nothing, the next one is used.
  const junk: MesosTask = {
    statuses: [{ state: "TASK_RUNNING", labels: [{ key: "Docker.NetworkSettings.IPAddress", value: "x" }] }],
  };
  assert.deepEqual(texts(taskIPs(junk, ["docker", "host"], HOST)), ["1.2.3.11"]);
  assert.deepEqual(texts(taskIPs(junk, ["docker", "host"], [])), []);
});

Deno.test("IP sources: chosen status = greatest timestamp among RUNNING, first on ties", () => {
  assert.equal(chosenStatus(STATUSES)?.timestamp, 20);
  const a = { state: "TASK_RUNNING", timestamp: 5, labels: [{ key: "k", value: "a" }] };
  const b = { state: "TASK_RUNNING", timestamp: 5, labels: [{ key: "k", value: "b" }] };
  assert.equal(chosenStatus([a, b]), a);
  assert.equal(chosenStatus([{ state: "TASK_STAGING", timestamp: 9 }]), undefined);
  assert.equal(chosenStatus(null), undefined);
  const noTs = { state: "TASK_RUNNING" };
  assert.equal(chosenStatus([noTs]), noTs);
  // Older RUNNING statuses are ignored even if the newest has no IPs.
  const t: MesosTask = {
    statuses: [
      {
        state: "TASK_RUNNING",
        timestamp: 1,
        labels: [{ key: "Docker.NetworkSettings.IPAddress", value: "9.9.9.9" }],
      },
      { state: "TASK_RUNNING", timestamp: 2 },
    ],
  };
  assert.deepEqual(texts(taskIPs(t, ["docker"], HOST)), []);
});

Deno.test("IP sources: 0.25-style netinfo ip_address is used when ip_addresses is absent", () => {
  const t: MesosTask = {
    statuses: [{
      state: "TASK_RUNNING",
      timestamp: 1,
      container_status: { network_infos: [{ ip_address: "33.33.33.1" }] },
    }],
  };
  assert.deepEqual(texts(taskIPs(t, ["netinfo"], [])), ["33.33.33.1"]);
});

// ---------------------------------------------------------------------------------------------
// master / leader records (§6.9)

function masters(leader: string, list: string[], resolved = new Map<string, string[]>()) {
  const rs = gen({ leader, frameworks: [], slaves: [] }, {
    masters: list,
    resolved,
    options: { domain: "foo.com" },
  });
  return { a: table(rs.a), aaaa: table(rs.aaaa), srv: table(rs.srv) };
}

const LEADER_SRV_7: Table = {
  "_leader._tcp.foo.com.": ["leader.foo.com.:7"],
  "_leader._udp.foo.com.": ["leader.foo.com.:7"],
};

Deno.test("masters: SPEC §6.9 examples (leader 0.0.0.6:7)", () => {
  // masters [] → master0 = .6
  let r = masters("5@0.0.0.6:7", []);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6"],
    "master0.foo.com.": ["0.0.0.6"],
  });
  assert.deepEqual(r.aaaa, {});
  assert.deepEqual(
    r.srv,
    sortTable({
      ...LEADER_SRV_7,
      "_master._tcp.foo.com.": ["master.foo.com.:7"],
      "_master._udp.foo.com.": ["master.foo.com.:7"],
    }),
  );

  // ["0.0.0.8:9"] → master0 = .8, master1 = .6
  r = masters("5@0.0.0.6:7", ["0.0.0.8:9"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6", "0.0.0.8"],
    "master0.foo.com.": ["0.0.0.8"],
    "master1.foo.com.": ["0.0.0.6"],
  });
  assert.deepEqual(r.srv["_master._tcp.foo.com."], ["master.foo.com.:7", "master.foo.com.:9"]);

  // ["0.0.0.8:9","0.0.0.6:7","0.0.0.7:0"] → master0 = .8, master1 = .6, master2 = .7
  r = masters("5@0.0.0.6:7", ["0.0.0.8:9", "0.0.0.6:7", "0.0.0.7:0"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6", "0.0.0.7", "0.0.0.8"],
    "master0.foo.com.": ["0.0.0.8"],
    "master1.foo.com.": ["0.0.0.6"],
    "master2.foo.com.": ["0.0.0.7"],
  });
  assert.deepEqual(r.srv["_master._udp.foo.com."], [
    "master.foo.com.:0",
    "master.foo.com.:7",
    "master.foo.com.:9",
  ]);
});

Deno.test("masters: the original's other TestMasterRecord cases", () => {
  for (const bad of ["", "@", "1@", "@2", "3@4"]) {
    const r = masters(bad, []);
    assert.deepEqual([r.a, r.aaaa, r.srv], [{}, {}, {}], bad);
  }
  let r = masters("5@[2001:db8::1]:7", []);
  assert.deepEqual(r.a, {});
  assert.deepEqual(r.aaaa, {
    "leader.foo.com.": ["2001:db8::1"],
    "master.foo.com.": ["2001:db8::1"],
    "master0.foo.com.": ["2001:db8::1"],
  });
  // single master: leader and fallback
  r = masters("5@0.0.0.6:7", ["0.0.0.6:7"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6"],
    "master0.foo.com.": ["0.0.0.6"],
  });
  // duplicate fallback masters, leader not in list
  r = masters("5@0.0.0.6:7", ["0.0.0.8:9", "0.0.0.8:9"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6", "0.0.0.8"],
    "master0.foo.com.": ["0.0.0.8"],
    "master1.foo.com.": ["0.0.0.6"],
  });
  // leader listed at the end; and listed twice
  for (const list of [["0.0.0.8:9", "0.0.0.6:7"], ["0.0.0.8:9", "0.0.0.6:7", "0.0.0.6:7"]]) {
    r = masters("5@0.0.0.6:7", list);
    assert.deepEqual(r.a, {
      "leader.foo.com.": ["0.0.0.6"],
      "master.foo.com.": ["0.0.0.6", "0.0.0.8"],
      "master0.foo.com.": ["0.0.0.8"],
      "master1.foo.com.": ["0.0.0.6"],
    });
  }
  // IPv6 master in the list
  r = masters("5@0.0.0.6:7", ["0.0.0.8:9", "0.0.0.6:7", "[2001:db8::1]:0"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6", "0.0.0.8"],
    "master0.foo.com.": ["0.0.0.8"],
    "master1.foo.com.": ["0.0.0.6"],
  });
  assert.deepEqual(r.aaaa, { "master.foo.com.": ["2001:db8::1"], "master2.foo.com.": ["2001:db8::1"] });
  for (const name of ["_leader._tcp.foo.com.", "_leader._udp.foo.com."]) {
    assert.deepEqual(r.srv[name], LEADER_SRV_7[name]);
  }
});

Deno.test("masters: the empty 'leader unknown' entry is skipped; same IP other port gets no index", () => {
  const r = masters("m@0.0.0.6:7", ["", "0.0.0.6:8", "0.0.0.9:7"]);
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["0.0.0.6"],
    "master.foo.com.": ["0.0.0.6", "0.0.0.9"],
    "master0.foo.com.": ["0.0.0.9"],
    "master1.foo.com.": ["0.0.0.6"],
  });
  assert.deepEqual(r.srv["_master._tcp.foo.com."], ["master.foo.com.:7", "master.foo.com.:8"]);
});

Deno.test("masters: host names are resolved by the caller, or skipped (never a crash)", () => {
  const resolved = new Map([["m1.example", ["10.0.0.1", "2001:db8::a"]], ["m2.example", []]]);
  let r = masters(
    "master@m1.example:5050",
    ["m1.example:5050", "m2.example:5050", "10.0.0.3:5050"],
    resolved,
  );
  assert.deepEqual(r.a, {
    "leader.foo.com.": ["10.0.0.1"],
    "master.foo.com.": ["10.0.0.1", "10.0.0.3"],
    "master0.foo.com.": ["10.0.0.1"],
    "master1.foo.com.": ["10.0.0.3"],
  });
  assert.deepEqual(r.aaaa, {
    "leader.foo.com.": ["2001:db8::a"],
    "master.foo.com.": ["2001:db8::a"],
    "master0.foo.com.": ["2001:db8::a"],
  });
  // Unresolvable leader: no leader records, the list still numbered.
  r = masters("master@gone.example:5050", ["10.0.0.3:5050", "gone.example:5050"], resolved);
  assert.deepEqual(r.a, { "master.foo.com.": ["10.0.0.3"], "master0.foo.com.": ["10.0.0.3"] });
  assert.equal(r.srv["_leader._tcp.foo.com."], undefined);
  assert.deepEqual(r.srv["_master._tcp.foo.com."], ["master.foo.com.:5050"]);
  assert.deepEqual(
    hostsToResolve({ leader: "master@gone.example:5050" }, ["10.0.0.3:5050", "m1.example:5050", ""]),
    ["gone.example", "m1.example"],
  );
});

// ---------------------------------------------------------------------------------------------
// name server (§6.8)

Deno.test("name server: listener rules and the SOAMname record", () => {
  const ifaces = [
    "127.0.0.1",
    "::1",
    "10.0.0.5",
    "fe80::1%eth0",
    "2001:DB8::5",
    "::ffff:127.0.0.2",
    "10.0.0.5",
  ];
  assert.deepEqual(nameServerIPs("0.0.0.0", ifaces), ["10.0.0.5", "fe80::1", "2001:db8::5"]);
  assert.deepEqual(nameServerIPs("127.0.0.1", ifaces), ["127.0.0.1"]);
  assert.deepEqual(nameServerIPs("2001:db8::1", ifaces), ["2001:db8::1"]);
  assert.deepEqual(nameServerIPs("not-an-ip", ifaces), []);
  const rs = gen({ leader: "foo@0.1.2.3:45" }, {
    nameServerIPs: ["4.5.6.7", "2001:db8::1"],
    options: { soaMname: "jdef123.mesos." },
  });
  assert.deepEqual(vals(rs.a, "jdef123.mesos."), ["4.5.6.7"]);
  assert.deepEqual(vals(rs.aaaa, "jdef123.mesos."), ["2001:db8::1"]);
});

// ---------------------------------------------------------------------------------------------
// tasks

Deno.test("tasks: SPEC §6.4 liquor-store example (RFC952)", () => {
  const task = running("liquor-store", "liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5", SLAVE_0, {
    resources: { ports: "[31354-31355]" },
    discovery: {
      name: "liquor.store",
      ports: {
        ports: [{ number: 80, name: "http", protocol: "tcp" }, {
          number: 443,
          name: "https",
          protocol: "tcp",
        }],
      },
    },
  });
  const rs = gen(state([{ name: "marathon", tasks: [task] }]), { options: { enforceRFC952: true } });
  const c = "liquor-store-4dfjd-0.marathon.mesos.";
  const cs = "liquor-store-4dfjd-0.marathon.slave.mesos.";
  assert.deepEqual(vals(rs.srv, "_liquor-store._tcp.marathon.mesos."), [`${c}:443`, `${c}:80`]);
  assert.deepEqual(vals(rs.srv, "_http._liquor-store._tcp.marathon.mesos."), [`${c}:80`]);
  assert.deepEqual(vals(rs.srv, "_https._liquor-store._tcp.marathon.mesos."), [`${c}:443`]);
  assert.deepEqual(vals(rs.srv, "_liquor-store._tcp.marathon.slave.mesos."), [`${cs}:31354`, `${cs}:31355`]);
  assert.deepEqual(vals(rs.srv, "_liquor-store._udp.marathon.slave.mesos."), [`${cs}:31354`, `${cs}:31355`]);
  assert.equal(rs.srv.get("_liquor-store._udp.marathon.mesos."), undefined);
  // Legacy pass: the DiscoveryInfo name verbatim (§5.4).
  assert.deepEqual(vals(rs.a, "liquor.store.marathon.mesos."), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.a, "liquor.store-4dfjd-0.marathon.mesos."), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.srv, "_liquor.store._tcp.marathon.mesos."), [
    "liquor.store-4dfjd-0.marathon.mesos.:443",
    "liquor.store-4dfjd-0.marathon.mesos.:80",
  ]);
  assert.deepEqual(vals(rs.a, "liquor-store.marathon.mesos."), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.a, c), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.a, "liquor-store.marathon.slave.mesos."), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.a, cs), ["1.2.3.11"]);
});

Deno.test("tasks: complete record set of one task without DiscoveryInfo, enumerate order", () => {
  const task = running("nginx", "nginx.1e3d5f9a-1234", SLAVE_0, { resources: { ports: "[7564-7564]" } });
  const rs = gen(state([{ name: "marathon", tasks: [task] }], [SLAVE_0]));
  const t = rs.frameworks![0].tasks[0];
  assert.deepEqual(t, {
    name: "nginx",
    id: "nginx.1e3d5f9a-1234",
    records: [
      { name: "nginx.marathon.mesos.", host: "1.2.3.11", rtype: "A" },
      { name: "nginx-xif5u-0.marathon.mesos.", host: "1.2.3.11", rtype: "A" },
      { name: "nginx.marathon.slave.mesos.", host: "1.2.3.11", rtype: "A" },
      { name: "nginx-xif5u-0.marathon.slave.mesos.", host: "1.2.3.11", rtype: "A" },
      {
        name: "_nginx._tcp.marathon.slave.mesos.",
        host: "nginx-xif5u-0.marathon.slave.mesos.:7564",
        rtype: "SRV",
      },
      {
        name: "_nginx._udp.marathon.slave.mesos.",
        host: "nginx-xif5u-0.marathon.slave.mesos.:7564",
        rtype: "SRV",
      },
      { name: "_nginx._tcp.marathon.mesos.", host: "nginx-xif5u-0.marathon.slave.mesos.:7564", rtype: "SRV" },
      { name: "_nginx._udp.marathon.mesos.", host: "nginx-xif5u-0.marathon.slave.mesos.:7564", rtype: "SRV" },
    ],
  });
});

Deno.test("tasks: DiscoveryInfo protocols and named ports", () => {
  const task = running("svc", "svc.1", SLAVE_0, {
    discovery: {
      name: "My Svc",
      ports: {
        ports: [
          { number: 53, name: "DNS", protocol: "" }, // no protocol → tcp and udp
          { number: 9000, protocol: "SCTP" },
          { number: 8080, name: "$$$", protocol: "tcp" }, // name mangles to "" → no named SRV
          { name: "zero" }, // missing number → 0 (Go zero value)
        ],
      },
    },
  });
  const rs = gen(state([{ name: "fw", tasks: [task] }], [SLAVE_0]));
  const names = [...rs.srv.keys()].filter((n) => n.endsWith(".fw.mesos.")).sort();
  assert.deepEqual(names, [
    "_My Svc._sctp.fw.mesos.",
    "_My Svc._tcp.fw.mesos.",
    "_My Svc._udp.fw.mesos.",
    "_dns._My Svc._tcp.fw.mesos.",
    "_dns._My Svc._udp.fw.mesos.",
    "_dns._mysvc._tcp.fw.mesos.",
    "_dns._mysvc._udp.fw.mesos.",
    "_mysvc._sctp.fw.mesos.",
    "_mysvc._tcp.fw.mesos.",
    "_mysvc._udp.fw.mesos.",
    "_zero._My Svc._tcp.fw.mesos.",
    "_zero._My Svc._udp.fw.mesos.",
    "_zero._mysvc._tcp.fw.mesos.",
    "_zero._mysvc._udp.fw.mesos.",
  ]);
  const canon = "mysvc-hdna6-0.fw.mesos."; // hash of "svc.1" computed independently
  assert.deepEqual(vals(rs.a, canon), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.srv, "_mysvc._tcp.fw.mesos."), [`${canon}:0`, `${canon}:53`, `${canon}:8080`]);
  assert.deepEqual(vals(rs.srv, "_mysvc._sctp.fw.mesos."), [`${canon}:9000`]);
  assert.deepEqual(vals(rs.srv, "_dns._mysvc._udp.fw.mesos."), [`${canon}:53`]);
  // Legacy names keep upper case and spaces (unreachable by DNS, visible over HTTP).
  assert.deepEqual(vals(rs.a, "My Svc.fw.mesos."), ["1.2.3.11"]);
  // No resource ports → no .slave SRVs.
  assert.equal([...rs.srv.keys()].some((n) => n.includes(".slave.")), false);
});

Deno.test("tasks: DiscoveryInfo double generation dedupes identical names; records listed once", () => {
  const task = running("web", "web.1", SLAVE_0, {
    resources: { ports: "[1-1]" },
    discovery: { name: "web", ports: { ports: [{ number: 80, protocol: "tcp" }] } },
  });
  const rs = gen(state([{ name: "m", tasks: [task] }], [SLAVE_0]));
  const recs = rs.frameworks![0].tasks[0].records!;
  const keys = recs.map((r) => `${r.rtype} ${r.name} ${r.host}`);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(recs.length, 7); // 4 A, 2 slave SRV, 1 DI SRV
  assert.equal(rs.srv.get("_web._tcp.m.mesos.")!.length, 1);
  assert.equal(rs.srv.get("_web._udp.m.mesos."), undefined);
});

Deno.test("tasks: not RUNNING or on an unknown agent give nothing", () => {
  const tasks: MesosTask[] = [
    running("a", "a.1", SLAVE_0, { state: "TASK_STAGING" }),
    running("b", "b.1", SLAVE_0, { state: "TASK_KILLED" }),
    running("c", "c.1", { id: "no-such-agent" }),
    running("d", "d.1", SLAVE_0, { state: "TASK_UNREACHABLE" }),
    { id: "e.1", name: "e", state: "TASK_RUNNING" }, // no slave_id
  ];
  const rs = gen(state([{ name: "m", tasks }], [SLAVE_0]));
  assert.deepEqual(
    [...rs.a.keys(), ...rs.aaaa.keys(), ...rs.srv.keys()].filter((n) => n.endsWith(".m.mesos.")),
    [],
  );
  assert.deepEqual(rs.frameworks, [{ tasks: [], name: "m" }]);
});

Deno.test("frameworks: with and without tasks; enumerate null when there are none", () => {
  const rs = gen(state([
    { name: "metronome", pid: "scheduler-1@10.0.0.5:15201", hostname: "10.0.0.5" },
    { name: "marathon", pid: "scheduler-2@10.0.0.5:15101", tasks: [running("x", "x.1", SLAVE_1)] },
    { name: "nopid", hostname: "10.0.0.6" },
    { name: "empty-host", hostname: "" },
    { name: "Name.With..Dots", hostname: "10.0.0.7" },
  ]));
  assert.deepEqual(vals(rs.a, "metronome.mesos."), ["10.0.0.5"]);
  assert.deepEqual(vals(rs.srv, "_framework._tcp.metronome.mesos."), ["metronome.mesos.:15201"]);
  assert.deepEqual(vals(rs.srv, "_framework._tcp.marathon.mesos."), ["marathon.mesos.:15101"]);
  assert.deepEqual(vals(rs.a, "nopid.mesos."), ["10.0.0.6"]);
  assert.equal(rs.srv.get("_framework._tcp.nopid.mesos."), undefined);
  assert.equal(rs.a.get("empty-host.mesos."), undefined);
  assert.deepEqual(vals(rs.a, "name.with.dots.mesos."), ["10.0.0.7"]);
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.length]), [
    ["metronome", 0],
    ["marathon", 1],
    ["nopid", 0],
    ["empty-host", 0],
    ["Name.With..Dots", 0],
  ]);
  assert.equal(gen(state([])).frameworks, null);
  assert.equal(gen({ leader: "m@1.2.3.4:5050" }).frameworks, null);
});

Deno.test("frameworks: name that fragments to empty gives `.D.` names (original quirk)", () => {
  const rs = gen(state([{ name: "...", pid: "s@10.0.0.1:1", tasks: [running("t", "t.1", SLAVE_0)] }]));
  assert.deepEqual(vals(rs.a, ".mesos."), ["10.0.0.1"]);
  assert.deepEqual(vals(rs.srv, "_framework._tcp..mesos."), [".mesos.:1"]);
  assert.deepEqual(vals(rs.a, "t..mesos."), ["1.2.3.11"]);
});

Deno.test("tasks: without ports there are no SRVs, A records still exist", () => {
  for (const ports of [undefined, "", "[]"]) {
    const t = running("noports", "noports.1", SLAVE_0, ports === undefined ? {} : { resources: { ports } });
    const rs = gen(state([{ name: "m", tasks: [t] }], [SLAVE_0]));
    assert.deepEqual([...rs.srv.keys()].filter((n) => n.includes("noports")), []);
    assert.deepEqual(vals(rs.a, "noports.m.mesos."), ["1.2.3.11"]);
  }
});

Deno.test("tasks: duplicate names form load-balancing sets; a task adding nothing new lists null", () => {
  const tasks = [
    running("web", "web.1", SLAVE_0, { resources: { ports: "[100-100]" } }),
    running("web", "web.2", SLAVE_1, { resources: { ports: "[200-200]" } }),
    running("web", "web.3", SLAVE_1, { resources: { ports: "[200-200]" } }),
  ];
  const rs = gen(state([{ name: "m", tasks }]));
  assert.deepEqual(vals(rs.a, "web.m.mesos."), ["1.2.3.11", "1.2.3.12"]);
  assert.deepEqual(vals(rs.a, "web.m.slave.mesos."), ["1.2.3.11", "1.2.3.12"]);
  assert.equal(rs.srv.get("_web._tcp.m.mesos.")!.length, 3);
  const et = rs.frameworks![0].tasks;
  assert.equal(et.length, 3);
  // The third task's plain names were already there; only its canonical names are new.
  assert.ok(et[2].records!.every((r) => r.name.includes("web-") || r.host.includes("web-")));
  assert.ok(et[2].records!.every((r) => !(r.rtype === "A" && r.name === "web.m.mesos.")));
  // Same task id twice on the same agent → second adds nothing: records null.
  const twice = gen(
    state([{ name: "m", tasks: [running("w", "w.1", SLAVE_0), running("w", "w.1", SLAVE_0)] }]),
  );
  assert.equal(twice.frameworks![0].tasks[1].records, null);
});

Deno.test("tasks: slave tail and empty slave id", () => {
  const sUpper: MesosSlave = { id: "20140803-194712-3041283216-5050-2116-S3", pid: "slave(1)@10.0.0.3:5051" };
  const sEmpty: MesosSlave = { id: "", pid: "slave(1)@10.0.0.4:5051" };
  const rs = gen(state([{
    name: "m",
    tasks: [running("a", "test", sUpper), { id: "test", name: "b", state: "TASK_RUNNING", slave_id: "" }],
  }], [sUpper, sEmpty]));
  assert.deepEqual(vals(rs.a, "a-iffe9-s3.m.mesos."), ["10.0.0.3"]);
  assert.deepEqual(vals(rs.a, "b-iffe9-.m.mesos."), ["10.0.0.4"]);
});

Deno.test("IPv6: agents, tasks, frameworks and leader get AAAA; IPv4-mapped goes to A", () => {
  const s6: MesosSlave = { id: "x-3", pid: "slave(1)@[2001:db8::1]:5051" };
  const sMapped: MesosSlave = { id: "x-4", pid: "slave(1)@[::ffff:10.0.0.4]:5051" };
  const t6 = running("toy", "toy.1", s6, {
    resources: { ports: "[31354-31354]" },
    statuses: [{
      state: "TASK_RUNNING",
      timestamp: 1,
      container_status: { network_infos: [{ ip_addresses: [{ ip_address: "FD01:B:0::1:8000:2" }] }] },
    }],
  });
  const tHost = running("hosty", "hosty.1", s6);
  const tMapped = running("mapped", "mapped.1", sMapped);
  const rs = gen({
    leader: "master@[2001:db8::10]:5050",
    frameworks: [{ name: "v6", pid: "scheduler(1)@[2001:db8::20]:25501", tasks: [t6, tHost, tMapped] }],
    slaves: [s6, sMapped],
  }, { masters: ["[2001:db8::10]:5050", "[2001:db8::11]:5050"] });
  assert.deepEqual(vals(rs.aaaa, "v6.mesos."), ["2001:db8::20"]);
  assert.deepEqual(vals(rs.srv, "_framework._tcp.v6.mesos."), ["v6.mesos.:25501"]);
  assert.deepEqual(vals(rs.aaaa, "slave.mesos."), ["2001:db8::1"]);
  assert.deepEqual(vals(rs.a, "slave.mesos."), ["10.0.0.4"]);
  assert.deepEqual(vals(rs.aaaa, "toy.v6.mesos."), ["fd01:b::1:8000:2"]);
  assert.deepEqual(vals(rs.aaaa, "toy.v6.slave.mesos."), ["2001:db8::1"]);
  assert.deepEqual(vals(rs.aaaa, "hosty.v6.mesos."), ["2001:db8::1"]);
  assert.equal(rs.a.get("hosty.v6.mesos."), undefined);
  assert.deepEqual(vals(rs.a, "mapped.v6.mesos."), ["10.0.0.4"]);
  assert.deepEqual(vals(rs.aaaa, "leader.mesos."), ["2001:db8::10"]);
  assert.deepEqual(vals(rs.aaaa, "master.mesos."), ["2001:db8::10", "2001:db8::11"]);
  assert.deepEqual(vals(rs.aaaa, "master0.mesos."), ["2001:db8::10"]);
  assert.deepEqual(vals(rs.aaaa, "master1.mesos."), ["2001:db8::11"]);
  assert.deepEqual(vals(rs.aaaa, "toy-qretr-3.v6.mesos."), ["fd01:b::1:8000:2"]);
  assert.deepEqual(vals(rs.srv, "_toy._tcp.v6.mesos."), ["toy-qretr-3.v6.slave.mesos.:31354"]);
});

Deno.test("RFC952: task and framework names starting with digits, long names, refill", () => {
  const t = running("123-web.front_end", "web.1", SLAVE_0, { resources: { ports: "[10-10]" } });
  const long = running("a".repeat(30), "long.1", SLAVE_0);
  const rs = gen(state([{ name: "2nd.Framework-2.0", tasks: [t, long] }]), {
    options: { enforceRFC952: true },
  });
  // "2nd" → "nd", "Framework-2" → "framework-2", "0" → "" (dropped)
  assert.deepEqual(vals(rs.a, "web-front-end.nd.framework-2.mesos."), ["1.2.3.11"]);
  assert.deepEqual(vals(rs.a, `${"a".repeat(24)}.nd.framework-2.mesos.`), ["1.2.3.11"]);
  const srvName = "_web-front-end._tcp.nd.framework-2.mesos.";
  assert.equal(rs.srv.get(srvName)!.length, 1);
  assert.deepEqual(rs.srv.get(srvName), ["web-front-end-e844k-0.nd.framework-2.slave.mesos.:10"]);
  assert.deepEqual(vals(rs.a, `${"a".repeat(24)}-xfsn7-0.nd.framework-2.mesos.`), ["1.2.3.11"]);
});

Deno.test("agents: unresolved pid host → bogus A under .slave names only; resolved host names used", () => {
  const sName: MesosSlave = { id: "n-1", pid: "slave(1)@Agent_1.Example.COM:5051" };
  const sGood: MesosSlave = { id: "n-2", pid: "slave(1)@agent2.example:5052" };
  const frameworks = [{ name: "m", tasks: [running("a", "a.1", sName), running("b", "b.1", sGood)] }];
  const st = state(frameworks, [sName, sGood]);
  assert.deepEqual(hostsToResolve(st, []), ["Agent_1.Example.COM", "agent2.example"]);
  const rs = gen(st, { resolved: new Map([["agent2.example", ["10.0.0.2", "10.0.0.2", "2001:db8::2"]]]) });
  assert.deepEqual(vals(rs.a, "slave.mesos."), ["10.0.0.2"]);
  assert.deepEqual(vals(rs.aaaa, "slave.mesos."), ["2001:db8::2"]);
  assert.deepEqual(vals(rs.srv, "_slave._tcp.mesos."), ["slave.mesos.:5052"]);
  // The bogus value is frag(pid host).
  assert.deepEqual(vals(rs.a, "a.m.slave.mesos."), ["agent-1.example.com"]);
  assert.equal(rs.a.get("a.m.mesos."), undefined); // host source yields no IP
  assert.deepEqual(vals(rs.a, "b.m.mesos."), ["10.0.0.2"]);
  assert.deepEqual(vals(rs.aaaa, "b.m.mesos."), ["2001:db8::2"]);
});

Deno.test("odd input never throws: bad pids, nulls, wrong types", () => {
  const weird = {
    leader: 42,
    frameworks: [
      null,
      { name: "badpid", pid: "no-at-sign", hostname: "10.0.0.9", tasks: [null, { state: "TASK_RUNNING" }] },
      { name: "nullpid", pid: null, hostname: "10.0.0.8" },
      { name: 7, tasks: "nope" },
      {
        name: "m",
        tasks: [
          {
            id: 5,
            name: null,
            state: "TASK_RUNNING",
            slave_id: "s-1",
            resources: { ports: "[a-b, 1]" },
            statuses: "x",
            discovery: {
              name: "d",
              ports: { ports: [null, { number: 1.5 }, { number: "80" }, { number: 70000 }, { number: -1 }] },
            },
          },
        ],
      },
    ],
    slaves: [null, { id: "s-0" }, { id: "s-1", pid: "slave(1)@10.0.0.1:5051" }, { id: "s-2", pid: null }],
  } as unknown as MesosState;
  const rs = gen(weird, { masters: ["", "x", "1.2.3.4"] });
  assert.deepEqual(vals(rs.a, "slave.mesos."), ["10.0.0.1"]);
  assert.deepEqual(vals(rs.a, "badpid.mesos."), ["10.0.0.9"]); // unusable pid → hostname, no SRV
  assert.equal(rs.srv.get("_framework._tcp.badpid.mesos."), undefined);
  assert.deepEqual(vals(rs.a, "nullpid.mesos."), ["10.0.0.8"]);
  assert.equal(rs.a.get("leader.mesos."), undefined);
  assert.deepEqual(vals(rs.a, "d.m.mesos."), ["10.0.0.1"]);
  assert.deepEqual(vals(rs.srv, "_d._tcp.m.slave.mesos.").length, 1); // port item "1"
  assert.equal(rs.srv.get("_d._tcp.m.mesos."), undefined); // no usable discovery port
  assert.deepEqual(rs.frameworks!.map((f) => f.name), ["", "badpid", "nullpid", "", "m"]);
  assert.doesNotThrow(() => gen({} as MesosState));
  assert.doesNotThrow(() => gen(null as unknown as MesosState));
  assert.deepEqual(hostsToResolve(weird, ["", "h.example:1"]), ["h.example"]);
});

Deno.test("10,000 tasks on 200 agents: every task enumerated, shared names hold every instance", () => {
  const slaves: MesosSlave[] = [];
  for (let i = 0; i < 200; i++) {
    slaves.push({ id: `agent-S${i}`, pid: `slave(1)@10.1.${i >> 8}.${i & 255}:5051` });
  }
  const tasks: MesosTask[] = [];
  for (let i = 0; i < 10_000; i++) {
    tasks.push(running(`app-${i % 500}`, `app-${i % 500}.${i}`, slaves[i % 200], {
      resources: { ports: `[${20000 + (i % 1000)}-${20001 + (i % 1000)}]` },
    }));
  }
  const rs = gen(state([{ name: "marathon", pid: "s@10.0.0.1:1", tasks }], slaves));
  assert.equal(rs.frameworks![0].tasks.length, 10_000);
  assert.equal(rs.a.get("app-0.marathon.mesos.")!.length, 2); // tasks 0, 500, … run on agents 0 and 100
});

Deno.test("logging: one line per kind of problem per generate call", async () => {
  const lines: string[] = [];
  await configure({
    reset: true,
    sinks: { buf: (r: LogRecord) => lines.push(r.message.map(String).join("")) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      { category: ["mesos-dns"], lowestLevel: "debug", sinks: ["buf"] },
    ],
  });
  try {
    const bad = (i: number): MesosTask =>
      running(`t${i}`, `t.${i}`, SLAVE_0, { resources: { ports: "[x-1, y]" } });
    gen(
      state([{ name: "m", tasks: [bad(1), bad(2), bad(3)] }], [SLAVE_0, { id: "a" }, { id: "b", pid: "?" }]),
    );
    assert.equal(lines.filter((l) => l.includes("resources.ports")).length, 1);
    assert.equal(lines.filter((l) => l.includes("no usable pid")).length, 1);
    gen(state([{ name: "m", tasks: [bad(1)] }], [SLAVE_0]));
    assert.equal(lines.filter((l) => l.includes("resources.ports")).length, 2);
  } finally {
    await reset();
  }
});
