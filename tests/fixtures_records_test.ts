// Every real Mesos state in tests/fixtures through the generator, held to the complete
// hand-derived tables of tests/helpers/fixture_tables.ts (SPEC §5–6), plus enumerate details and the
// original's own TestInsertState expectations.
import assert from "node:assert/strict";
import type { MesosState } from "../src/mesos/state_types.ts";
import { generateRecords, hostsToResolve } from "../src/records/generate.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import {
  at,
  documentLeader,
  FIXTURE_FILES,
  type FixtureEnv,
  fixtureExpectation,
  fixtureTables,
  sortedTable,
  type Table,
  type Tables,
} from "./helpers/fixture_tables.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const NS_IP = "198.51.100.53";
const S11 = "1.2.3.11";
const S12 = "1.2.3.12";

function load(name: string): MesosState {
  return JSON.parse(Deno.readTextFileSync(`${FIXTURES}/${name}`));
}

/** Defaults: domain mesos, RFC1123, IPSources netinfo,mesos,host, masters = [leader host:port]. */
function run(
  name: string,
  hosts: Record<string, string[]> = {},
): { state: MesosState; rs: RecordSet; env: FixtureEnv } {
  const state = load(name);
  const leader = String(state.leader ?? "").split("@")[1] ?? "";
  const rs = generateRecords({
    state,
    masters: [leader],
    options: {
      domain: "mesos",
      enforceRFC952: false,
      ipSources: ["netinfo", "mesos", "host"],
      soaMname: "ns1.mesos.",
    },
    nameServerIPs: [NS_IP],
    resolved: new Map(Object.entries(hosts)),
  });
  const l = documentLeader(state.leader);
  return { state, rs, env: { leaderIP: l.ip, leaderPort: l.port, nsIP: NS_IP, hosts } };
}

function table(m: ReadonlyMap<string, readonly string[]>): Table {
  const out: Table = {};
  for (const k of [...m.keys()].sort()) out[k] = [...m.get(k)!].sort();
  return out;
}

function assertTables(rs: RecordSet, want: Tables): void {
  assert.deepEqual(table(rs.a), sortedTable(want.a), "A records");
  assert.deepEqual(table(rs.aaaa), sortedTable(want.aaaa), "AAAA records");
  assert.deepEqual(table(rs.srv), sortedTable(want.srv), "SRV records");
}

/** Every (type, name, value) the enumerate tree lists, as sorted `type name value` strings. */
function enumerated(rs: RecordSet): string[] {
  const out = new Set<string>();
  for (const f of rs.frameworks ?? []) {
    for (const t of f.tasks) for (const r of t.records ?? []) out.add(`${r.rtype} ${r.name} ${r.host}`);
  }
  return [...out].sort();
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

// ---------------------------------------------------------------------------------------------

Deno.test("fixtures: the list of documents is complete", () => {
  const names = [...Deno.readDirSync(FIXTURES)].filter((e) => e.isFile && e.name.endsWith(".json")).map((e) =>
    e.name
  ).sort();
  assert.deepEqual(names, [...FIXTURE_FILES]);
});

for (const file of FIXTURE_FILES) {
  Deno.test(`fixture ${file}: complete hand-derived record set; enumerate lists exactly the task records`, () => {
    const { state, rs, env } = run(file);
    assertTables(rs, fixtureTables(file, env));
    assert.deepEqual(enumerated(rs), triples(fixtureExpectation(file, env).tasks));
    assert.ok(rs.frameworks && rs.frameworks.length === (state.frameworks ?? []).length, file);
    // Every stored name is fully qualified; every SRV value is `name.:port`.
    for (const m of [rs.a, rs.aaaa, rs.srv]) {
      for (const k of m.keys()) assert.ok(k.endsWith("."), `${file}: ${k}`);
    }
    for (const vs of rs.srv.values()) for (const v of vs) assert.match(v, /\.:\d+$/, file);
  });
}

Deno.test("fixture dcos-net-l4lb-poller-1.8.0: enumerate tree in generation order", () => {
  const { rs } = run("dcos-net-l4lb-poller-1.8.0.json");
  assert.deepEqual(rs.frameworks, [
    { tasks: [], name: "metronome" },
    {
      tasks: [{
        name: "test",
        id: "test.92ed0e79-ed3c-11e8-841d-4a2ca8720df6",
        records: [
          { name: "test.marathon.mesos.", host: "9.0.2.2", rtype: "A" },
          { name: "test-tn7xg-s1.marathon.mesos.", host: "9.0.2.2", rtype: "A" },
          { name: "test.marathon.slave.mesos.", host: "10.0.0.40", rtype: "A" },
          { name: "test-tn7xg-s1.marathon.slave.mesos.", host: "10.0.0.40", rtype: "A" },
          {
            name: "_test._tcp.marathon.slave.mesos.",
            host: "test-tn7xg-s1.marathon.slave.mesos.:12564",
            rtype: "SRV",
          },
          {
            name: "_test._udp.marathon.slave.mesos.",
            host: "test-tn7xg-s1.marathon.slave.mesos.:12564",
            rtype: "SRV",
          },
          { name: "_test._tcp.marathon.mesos.", host: "test-tn7xg-s1.marathon.mesos.:12564", rtype: "SRV" },
        ],
      }],
      name: "marathon",
    },
  ]);
});

Deno.test("fixture dcos-net-l4lb-overlay-1.0.1: enumerate tree in generation order", () => {
  const { rs } = run("dcos-net-l4lb-overlay-1.0.1.json");
  assert.deepEqual(rs.frameworks, [
    { tasks: [], name: "metronome" },
    {
      tasks: [{
        name: "http-1",
        id: "http-1.57d78934-81b7-11e6-a58a-36c411325d20",
        records: [
          { name: "http-1.marathon.mesos.", host: "9.0.1.130", rtype: "A" },
          { name: "http-1-sd7ng-s0.marathon.mesos.", host: "9.0.1.130", rtype: "A" },
          { name: "http-1.marathon.slave.mesos.", host: "10.0.1.248", rtype: "A" },
          { name: "http-1-sd7ng-s0.marathon.slave.mesos.", host: "10.0.1.248", rtype: "A" },
          { name: "_http-1._tcp.marathon.mesos.", host: "http-1-sd7ng-s0.marathon.mesos.:80", rtype: "SRV" },
          {
            name: "_http._http-1._tcp.marathon.mesos.",
            host: "http-1-sd7ng-s0.marathon.mesos.:80",
            rtype: "SRV",
          },
        ],
      }],
      name: "marathon",
    },
  ]);
});

Deno.test("fixture mesos-cli-master-state-0.19.0: mesos.vm to resolve; resolved → framework A, no SRV", () => {
  const { state, rs } = run("mesos-cli-master-state-0.19.0.json");
  assert.deepEqual(hostsToResolve(state, ["10.141.141.10:5050"]), ["mesos.vm"]);
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.map((t) => [t.name, t.records!.length])]), [
    ["marathon-0.6.0-SNAPSHOT", [
      ["app-15.41fef02d-fcba-11e3-8b67-b6f6cc110ef2", 8],
      ["app-215.3e6a099c-fcba-11e3-8b67-b6f6cc110ef2", 8],
    ]],
  ]);
  const resolved = run("mesos-cli-master-state-0.19.0.json", { "mesos.vm": ["10.141.141.10"] });
  const want = fixtureTables("mesos-cli-master-state-0.19.0.json", resolved.env);
  assert.deepEqual(want.a["marathon-0.6.0-snapshot.mesos."], ["10.141.141.10"]);
  assertTables(resolved.rs, want);
});

Deno.test("fixture mesos-dns-fake: enumerate shape; localhost resolved → the pid-less framework gets A/AAAA", () => {
  const { state, rs } = run("mesos-dns-fake.json");
  assert.deepEqual(hostsToResolve(state, ["1.2.3.4:5050"]), ["localhost"]);
  // SPEC §7.3 example.
  assert.deepEqual(rs.srv.get("_car-store._udp.marathon.mesos."), [
    "car-store-zinaz-0.marathon.slave.mesos.:31364",
    "car-store-zinaz-0.marathon.slave.mesos.:31365",
  ]);
  // Enumerate: 4 frameworks in state order with raw names; only RUNNING tasks, raw task names.
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.map((t) => t.name)]), [
    ["ipv6-framework", ["toy-store"]],
    ["chronos with a space AND MIXED CASE-2.0.1", ["some-box"]],
    ["no pid", []],
    ["marathon", [
      "liquor.store",
      "big.dog2",
      "non-human-readable-liquor-store",
      "car.store",
      "chronos",
      "nginx",
      "reviewbot",
    ]],
  ]);
  // big.dog2 shares liquor.store's slave, so its plain `.slave` A values are new only under its own names.
  const big = rs.frameworks![3].tasks[1];
  assert.equal(big.id, "liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5");
  assert.ok(big.records!.every((r) => r.name.includes("big")));

  const resolved = run("mesos-dns-fake.json", { localhost: ["127.0.0.1", "::1"] });
  const want = fixtureTables("mesos-dns-fake.json", resolved.env);
  assert.deepEqual([want.a["nopid.mesos."], want.aaaa["nopid.mesos."]], [["127.0.0.1"], ["::1"]]);
  assertTables(resolved.rs, want);
});

Deno.test("fixture mesos-dns-fake: the original's TestInsertState expectations (RFC952, its settings)", () => {
  const state = load("mesos-dns-fake.json");
  state.leader = "master@144.76.157.37:5050";
  const g = (ipSources: string[]) =>
    generateRecords({
      state,
      masters: ["144.76.157.37:5050"],
      options: { domain: "mesos", enforceRFC952: true, ipSources, soaMname: "mesos-dns.mesos." },
      nameServerIPs: ["127.0.0.1"],
      resolved: new Map(),
    });
  const rg = g(["netinfo", "docker", "mesos", "host"]);
  const rgDocker = g(["docker", "host"]);
  const rgMesos = g(["mesos", "host"]);
  const rgSlave = g(["host"]);
  const rgNetinfo = g(["netinfo"]);
  const v = (m: ReadonlyMap<string, readonly string[]>, n: string) => [...(m.get(n) ?? [])].sort();
  const cases: Array<[ReadonlyMap<string, readonly string[]>, string, string[]]> = [
    [rg.a, "big-dog.marathon.mesos.", ["10.3.0.1"]],
    [rg.a, "liquor-store.marathon.mesos.", ["10.3.0.1", "10.3.0.2"]],
    [rg.a, "liquor-store.marathon.slave.mesos.", [S11, S12]],
    [rg.a, "car-store.marathon.slave.mesos.", [S11]],
    [rg.a, "nginx.marathon.mesos.", ["10.3.0.3"]],
    [rg.a, "poseidon.marathon.mesos.", []],
    [rg.a, "poseidon.marathon.slave.mesos.", []],
    [rg.a, "master.mesos.", ["144.76.157.37"]],
    [rg.a, "master0.mesos.", ["144.76.157.37"]],
    [rg.a, "leader.mesos.", ["144.76.157.37"]],
    [rg.a, "slave.mesos.", ["1.2.3.10", S11, S12]],
    [rg.a, "some-box.chronoswithaspaceandmixe.mesos.", [S11]],
    [rg.a, "marathon.mesos.", [S11]],
    [rg.a, "mesos-dns.mesos.", ["127.0.0.1"]],
    [rg.aaaa, "toy-store.ipv6-framework.mesos.", ["fd01:b::1:8000:2"]],
    [rg.aaaa, "toy-store.ipv6-framework.slave.mesos.", ["2001:db8::1"]],
    [rg.aaaa, "ipv6-framework.mesos.", ["2001:db8::1"]],
    [rg.aaaa, "slave.mesos.", ["2001:db8::1"]],
    [rg.srv, "_big-dog._tcp.marathon.mesos.", at("big-dog-4dfjd-0.marathon.mesos.", 443, 80)],
    [rg.srv, "_poseidon._tcp.marathon.mesos.", []],
    [rg.srv, "_leader._tcp.mesos.", ["leader.mesos.:5050"]],
    [rg.srv, "_liquor-store._tcp.marathon.mesos.", [
      ...at("liquor-store-4dfjd-0.marathon.mesos.", 443, 80),
      ...at("liquor-store-zasmd-1.marathon.mesos.", 443, 80),
    ]],
    [rg.srv, "_liquor-store._udp.marathon.mesos.", []],
    [rg.srv, "_liquor-store.marathon.mesos.", []],
    [rg.srv, "_https._liquor-store._tcp.marathon.mesos.", [
      "liquor-store-4dfjd-0.marathon.mesos.:443",
      "liquor-store-zasmd-1.marathon.mesos.:443",
    ]],
    [rg.srv, "_http._liquor-store._tcp.marathon.mesos.", [
      "liquor-store-4dfjd-0.marathon.mesos.:80",
      "liquor-store-zasmd-1.marathon.mesos.:80",
    ]],
    [rg.srv, "_car-store._tcp.marathon.mesos.", at("car-store-zinaz-0.marathon.slave.mesos.", 31364, 31365)],
    [rg.srv, "_car-store._udp.marathon.mesos.", at("car-store-zinaz-0.marathon.slave.mesos.", 31364, 31365)],
    [rg.srv, "_slave._tcp.mesos.", ["slave.mesos.:5051"]],
    [rg.srv, "_framework._tcp.marathon.mesos.", ["marathon.mesos.:25501"]],
    [rgSlave.a, "liquor-store.marathon.mesos.", [S11, S12]],
    [rgSlave.a, "liquor-store.marathon.slave.mesos.", [S11, S12]],
    [rgSlave.a, "nginx.marathon.mesos.", [S11]],
    [rgSlave.a, "car-store.marathon.slave.mesos.", [S11]],
    [rgSlave.aaaa, "toy-store.ipv6-framework.mesos.", ["2001:db8::1"]],
    [rgSlave.aaaa, "toy-store.ipv6-framework.slave.mesos.", ["2001:db8::1"]],
    [rgMesos.a, "liquor-store.marathon.mesos.", [S11, S12]],
    [rgMesos.a, "liquor-store.marathon.slave.mesos.", [S11, S12]],
    [rgMesos.a, "nginx.marathon.mesos.", ["10.3.0.3"]],
    [rgMesos.a, "car-store.marathon.slave.mesos.", [S11]],
    [rgMesos.aaaa, "toy-store.ipv6-framework.mesos.", ["2001:db8::1"]],
    [rgMesos.aaaa, "toy-store.ipv6-framework.slave.mesos.", ["2001:db8::1"]],
    [rgNetinfo.a, "toy-store.ipv6-framework.mesos.", ["12.0.1.2", "12.0.1.3"]],
    [rgNetinfo.aaaa, "toy-store.ipv6-framework.mesos.", ["fd01:b::1:8000:2"]],
    [rgNetinfo.aaaa, "toy-store.ipv6-framework.slave.mesos.", ["2001:db8::1"]],
    [rgDocker.a, "liquor-store.marathon.mesos.", ["10.3.0.1", "10.3.0.2"]],
    [rgDocker.a, "liquor-store.marathon.slave.mesos.", [S11, S12]],
    [rgDocker.a, "nginx.marathon.mesos.", [S11]],
    [rgDocker.a, "car-store.marathon.slave.mesos.", [S11]],
    [rgDocker.aaaa, "toy-store.ipv6-framework.mesos.", ["2001:db8::1"]],
    [rgDocker.aaaa, "toy-store.ipv6-framework.slave.mesos.", ["2001:db8::1"]],
  ];
  for (const [m, name, want] of cases) assert.deepEqual(v(m, name), [...want].sort(), name);
  // With only "netinfo", tasks without network info have no task A record, but keep .slave names.
  assert.equal(rgNetinfo.a.get("car-store.marathon.mesos."), undefined);
  assert.deepEqual(v(rgNetinfo.a, "car-store.marathon.slave.mesos."), [S11]);
});

Deno.test("fixture dcos-mesos_state-docker-discovery-0.28: completed tasks give nothing; 72-char names", () => {
  const { rs } = run("dcos-mesos_state-docker-discovery-0.28.json");
  const all = [...rs.a.keys(), ...rs.srv.keys()].join(" ");
  assert.ok(!all.includes("1e442826") && !all.includes("3ebd3b0b") && !all.includes("7fb6fb50"));
  assert.deepEqual(rs.frameworks!.map((f) => f.tasks.length), [2]);
  // The sanitised label is cut to 63 characters, the legacy one keeps all 72; the canonical
  // labels add `-hash-s2` (9) to either, so 72 appears twice.
  const labels = [...rs.a.keys()].map((n) => n.split(".")[0]).filter((l) => l.startsWith("integration"));
  assert.deepEqual(labels.map((l) => l.length).sort((x, y) => x - y), [
    63,
    63,
    63,
    63,
    72,
    72,
    72,
    72,
    72,
    72,
    72,
    72,
    81,
    81,
    81,
    81,
  ]);
});

Deno.test("fixture dcos-mesos_state-overlay-0.29: enumerate keeps both same-named frameworks", () => {
  const { rs } = run("dcos-mesos_state-overlay-0.29.json");
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.map((t) => t.name)]), [
    ["mesos-execute instance", ["dog"]],
    ["mesos-execute instance", ["cat"]],
    ["marathon", []],
  ]);
});

Deno.test("fixture dcos-mesos_state-vips-labels-0.25: second instances add only their canonical names", () => {
  const { rs } = run("dcos-mesos_state-vips-labels-0.25.json");
  const tasks = rs.frameworks![0].tasks;
  assert.deepEqual(tasks.map((t) => t.name), ["greg", "greg", "tyler", "tyler"]);
  assert.ok(
    tasks[1].records!.every((r) => r.name.startsWith("greg-7rgbs") || r.host.startsWith("greg-7rgbs")),
  );
});
