// Every real Mesos state in /work/shared/fixtures through the generator. The expected
// tables below were derived by hand from SPEC §5–6 and each document; task hashes were
// computed once with an independent SHA-1 + z-base-32 helper and written as literals.
import assert from "node:assert/strict";
import type { MesosState } from "../src/mesos/state_types.ts";
import { generateRecords, hostsToResolve } from "../src/records/generate.ts";
import type { RecordSet } from "../src/records/record_set.ts";

const FIXTURES = "/work/shared/fixtures";
const NS_IP = "198.51.100.53";

function load(name: string): MesosState {
  return JSON.parse(Deno.readTextFileSync(`${FIXTURES}/${name}`));
}

/** Defaults: domain mesos, RFC1123, IPSources netinfo,mesos,host, masters = [leader host:port]. */
function run(name: string, resolved = new Map<string, string[]>()): { state: MesosState; rs: RecordSet } {
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
    resolved,
  });
  return { state, rs };
}

type Table = Record<string, string[]>;

function table(m: ReadonlyMap<string, readonly string[]>): Table {
  const out: Table = {};
  for (const k of [...m.keys()].sort()) out[k] = [...m.get(k)!].sort();
  return out;
}

function sorted(t: Table): Table {
  const out: Table = {};
  for (const k of Object.keys(t).sort()) out[k] = [...t[k]].sort();
  return out;
}

function assertTables(rs: RecordSet, a: Table, aaaa: Table, srv: Table): void {
  assert.deepEqual(table(rs.a), sorted(a), "A records");
  assert.deepEqual(table(rs.aaaa), sorted(aaaa), "AAAA records");
  assert.deepEqual(table(rs.srv), sorted(srv), "SRV records");
}

/** `target:port` for each port (formatting only). */
function at(target: string, ...ports: number[]): string[] {
  return ports.map((p) => `${target}:${p}`);
}

function masterTables(ip: string, port: number): { a: Table; srv: Table } {
  return {
    a: { "leader.mesos.": [ip], "master.mesos.": [ip], "master0.mesos.": [ip], "ns1.mesos.": [NS_IP] },
    srv: {
      "_leader._tcp.mesos.": [`leader.mesos.:${port}`],
      "_leader._udp.mesos.": [`leader.mesos.:${port}`],
      "_master._tcp.mesos.": [`master.mesos.:${port}`],
      "_master._udp.mesos.": [`master.mesos.:${port}`],
    },
  };
}

// ---------------------------------------------------------------------------------------------

Deno.test("fixtures: every document generates without throwing and has leader records", () => {
  const names = [...Deno.readDirSync(FIXTURES)].filter((e) => e.isFile && e.name.endsWith(".json")).map((e) =>
    e.name
  ).sort();
  assert.equal(names.length, 7);
  for (const name of names) {
    const { state, rs } = run(name);
    const leaderIP = String(state.leader).split("@")[1].split(":")[0];
    assert.deepEqual(rs.a.get("leader.mesos."), [leaderIP], name);
    assert.ok(rs.frameworks && rs.frameworks.length === (state.frameworks ?? []).length, name);
    // Every stored name is fully qualified; every SRV value is `name.:port`.
    for (const m of [rs.a, rs.aaaa, rs.srv]) {
      for (const k of m.keys()) assert.ok(k.endsWith("."), `${name}: ${k}`);
    }
    for (const vs of rs.srv.values()) for (const v of vs) assert.match(v, /\.:\d+$/, name);
  }
});

Deno.test("fixture dcos-net-l4lb-poller-1.8.0: complete record set and enumerate", () => {
  const { rs } = run("dcos-net-l4lb-poller-1.8.0.json");
  const m = masterTables("10.0.5.220", 5050);
  // task `test`: id test.92ed0e79-… → tn7xg, agent …-S1 → s1, netinfo 9.0.2.2, agent 10.0.0.40
  assertTables(
    rs,
    {
      ...m.a,
      "metronome.mesos.": ["10.0.5.220"],
      "marathon.mesos.": ["10.0.5.220"],
      "slave.mesos.": ["10.0.0.40", "10.0.6.5"],
      "test.marathon.mesos.": ["9.0.2.2"],
      "test-tn7xg-s1.marathon.mesos.": ["9.0.2.2"],
      "test.marathon.slave.mesos.": ["10.0.0.40"],
      "test-tn7xg-s1.marathon.slave.mesos.": ["10.0.0.40"],
    },
    {},
    {
      ...m.srv,
      "_framework._tcp.metronome.mesos.": ["metronome.mesos.:15201"],
      "_framework._tcp.marathon.mesos.": ["marathon.mesos.:15101"],
      "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      "_test._tcp.marathon.slave.mesos.": ["test-tn7xg-s1.marathon.slave.mesos.:12564"],
      "_test._udp.marathon.slave.mesos.": ["test-tn7xg-s1.marathon.slave.mesos.:12564"],
      // DiscoveryInfo port 12564/tcp, unnamed; no _udp, no non-slave resource-port SRVs.
      "_test._tcp.marathon.mesos.": ["test-tn7xg-s1.marathon.mesos.:12564"],
    },
  );
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

Deno.test("fixture dcos-net-l4lb-overlay-1.0.1: complete record set and enumerate", () => {
  const { rs } = run("dcos-net-l4lb-overlay-1.0.1.json");
  const m = masterTables("10.0.7.247", 5050);
  // task `http-1`: id http-1.57d78934-… → sd7ng, agent …-S0 → s0, netinfo 9.0.1.130, no resource ports,
  // DiscoveryInfo port http:80/tcp.
  assertTables(
    rs,
    {
      ...m.a,
      "metronome.mesos.": ["10.0.7.247"],
      "marathon.mesos.": ["10.0.7.247"],
      "slave.mesos.": ["10.0.1.248"],
      "http-1.marathon.mesos.": ["9.0.1.130"],
      "http-1-sd7ng-s0.marathon.mesos.": ["9.0.1.130"],
      "http-1.marathon.slave.mesos.": ["10.0.1.248"],
      "http-1-sd7ng-s0.marathon.slave.mesos.": ["10.0.1.248"],
    },
    {},
    {
      ...m.srv,
      "_framework._tcp.metronome.mesos.": ["metronome.mesos.:40647"],
      "_framework._tcp.marathon.mesos.": ["marathon.mesos.:40733"],
      "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      "_http-1._tcp.marathon.mesos.": ["http-1-sd7ng-s0.marathon.mesos.:80"],
      "_http._http-1._tcp.marathon.mesos.": ["http-1-sd7ng-s0.marathon.mesos.:80"],
    },
  );
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

// mesos-cli 0.19: framework `marathon-0.6.0-SNAPSHOT` (no pid, hostname mesos.vm) → F =
// marathon-0.6.0-snapshot; both RUNNING tasks on agent …-1196-0 (tail "0", pid 10.141.141.10:5051).
const CLI_F = "marathon-0.6.0-snapshot.mesos.";
const CLI_FS = "marathon-0.6.0-snapshot.slave.mesos.";
const APP15 = "app-15-41fef02d-fcba-11e3-8b67-b6f6cc110ef2"; // hash 41am6
const APP215 = "app-215-3e6a099c-fcba-11e3-8b67-b6f6cc110ef2"; // hash qfhmj
const CLI_IP = "10.141.141.10";

function cliTables() {
  const m = masterTables(CLI_IP, 5050);
  const a: Table = {
    ...m.a,
    "slave.mesos.": [CLI_IP],
    [`${APP15}.${CLI_F}`]: [CLI_IP],
    [`${APP15}-41am6-0.${CLI_F}`]: [CLI_IP],
    [`${APP15}.${CLI_FS}`]: [CLI_IP],
    [`${APP15}-41am6-0.${CLI_FS}`]: [CLI_IP],
    [`${APP215}.${CLI_F}`]: [CLI_IP],
    [`${APP215}-qfhmj-0.${CLI_F}`]: [CLI_IP],
    [`${APP215}.${CLI_FS}`]: [CLI_IP],
    [`${APP215}-qfhmj-0.${CLI_FS}`]: [CLI_IP],
  };
  const t15 = at(`${APP15}-41am6-0.${CLI_FS}`, 31654);
  const t215 = at(`${APP215}-qfhmj-0.${CLI_FS}`, 31705);
  const srv: Table = {
    ...m.srv,
    // two agents on one host with different pid ports
    "_slave._tcp.mesos.": ["slave.mesos.:5051", "slave.mesos.:5052"],
    [`_${APP15}._tcp.${CLI_F}`]: t15,
    [`_${APP15}._udp.${CLI_F}`]: t15,
    [`_${APP15}._tcp.${CLI_FS}`]: t15,
    [`_${APP15}._udp.${CLI_FS}`]: t15,
    [`_${APP215}._tcp.${CLI_F}`]: t215,
    [`_${APP215}._udp.${CLI_F}`]: t215,
    [`_${APP215}._tcp.${CLI_FS}`]: t215,
    [`_${APP215}._udp.${CLI_FS}`]: t215,
  };
  return { a, srv };
}

Deno.test("fixture mesos-cli-master-state-0.19.0: complete record set (mesos.vm unresolved)", () => {
  const { state, rs } = run("mesos-cli-master-state-0.19.0.json");
  assert.deepEqual(hostsToResolve(state, ["10.141.141.10:5050"]), ["mesos.vm"]);
  const { a, srv } = cliTables();
  assertTables(rs, a, {}, srv);
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.map((t) => [t.name, t.records!.length])]), [
    ["marathon-0.6.0-SNAPSHOT", [
      ["app-15.41fef02d-fcba-11e3-8b67-b6f6cc110ef2", 8],
      ["app-215.3e6a099c-fcba-11e3-8b67-b6f6cc110ef2", 8],
    ]],
  ]);
});

Deno.test("fixture mesos-cli-master-state-0.19.0: framework hostname resolved → framework A, no SRV", () => {
  const { rs } = run("mesos-cli-master-state-0.19.0.json", new Map([["mesos.vm", [CLI_IP]]]));
  const { a, srv } = cliTables();
  assertTables(rs, { ...a, [CLI_F]: [CLI_IP] }, {}, srv);
});

// ---------------------------------------------------------------------------------------------
// mesos-dns-fake.json: the original's own fixture.

// Canonical names (hashes: toy-store go588, some-box h3dyr, liquor-store.b8db… 4dfjd (also big.dog2),
// liquor-store.b711… zasmd, car-store zinaz, chronos rx8q6, nginx 6ud99, reviewbot 8sq89).
const CHR = "chronoswithaspaceandmixedcase-2.0.1";
const S11 = "1.2.3.11";
const S12 = "1.2.3.12";

function fakeExpected(): { a: Table; aaaa: Table; srv: Table } {
  const m = masterTables("1.2.3.4", 5050);
  const a: Table = {
    ...m.a,
    [`${CHR}.mesos.`]: ["1.2.3.12"],
    "marathon.mesos.": [S11],
    "slave.mesos.": ["1.2.3.10", S11, S12],
    // toy-store: netinfo 12.0.1.3, 12.0.1.2 (+ IPv6 below); agent 2001:db8::1 (AAAA only)
    "toy-store.ipv6-framework.mesos.": ["12.0.1.3", "12.0.1.2"],
    "toy-store-go588-3.ipv6-framework.mesos.": ["12.0.1.3", "12.0.1.2"],
    // some-box: no container IPs → host
    [`some-box.${CHR}.mesos.`]: [S11],
    [`some-box-h3dyr-0.${CHR}.mesos.`]: [S11],
    [`some-box.${CHR}.slave.mesos.`]: [S11],
    [`some-box-h3dyr-0.${CHR}.slave.mesos.`]: [S11],
    // liquor.store (4dfjd-0 on 1.2.3.11) + non-human-readable-liquor-store (zasmd-1 on 1.2.3.12),
    // Docker labels ignored with the default sources → host IPs; legacy and sanitised names.
    "liquor.store.marathon.mesos.": [S11, S12],
    "liquor.store.marathon.slave.mesos.": [S11, S12],
    "liquor-store.marathon.mesos.": [S11, S12],
    "liquor-store.marathon.slave.mesos.": [S11, S12],
    "liquor.store-4dfjd-0.marathon.mesos.": [S11],
    "liquor.store-4dfjd-0.marathon.slave.mesos.": [S11],
    "liquor-store-4dfjd-0.marathon.mesos.": [S11],
    "liquor-store-4dfjd-0.marathon.slave.mesos.": [S11],
    "liquor.store-zasmd-1.marathon.mesos.": [S12],
    "liquor.store-zasmd-1.marathon.slave.mesos.": [S12],
    "liquor-store-zasmd-1.marathon.mesos.": [S12],
    "liquor-store-zasmd-1.marathon.slave.mesos.": [S12],
    // big.dog2 with DiscoveryInfo name big.dog
    "big.dog.marathon.mesos.": [S11],
    "big.dog.marathon.slave.mesos.": [S11],
    "big.dog-4dfjd-0.marathon.mesos.": [S11],
    "big.dog-4dfjd-0.marathon.slave.mesos.": [S11],
    "big-dog.marathon.mesos.": [S11],
    "big-dog.marathon.slave.mesos.": [S11],
    "big-dog-4dfjd-0.marathon.mesos.": [S11],
    "big-dog-4dfjd-0.marathon.slave.mesos.": [S11],
    "car-store.marathon.mesos.": [S11],
    "car-store.marathon.slave.mesos.": [S11],
    "car-store-zinaz-0.marathon.mesos.": [S11],
    "car-store-zinaz-0.marathon.slave.mesos.": [S11],
    "chronos.marathon.mesos.": [S11],
    "chronos.marathon.slave.mesos.": [S11],
    "chronos-rx8q6-0.marathon.mesos.": [S11],
    "chronos-rx8q6-0.marathon.slave.mesos.": [S11],
    // nginx: Mesos containerizer label 10.3.0.3
    "nginx.marathon.mesos.": ["10.3.0.3"],
    "nginx-6ud99-0.marathon.mesos.": ["10.3.0.3"],
    "nginx.marathon.slave.mesos.": [S11],
    "nginx-6ud99-0.marathon.slave.mesos.": [S11],
    "reviewbot.marathon.mesos.": [S12],
    "reviewbot.marathon.slave.mesos.": [S12],
    "reviewbot-8sq89-1.marathon.mesos.": [S12],
    "reviewbot-8sq89-1.marathon.slave.mesos.": [S12],
  };
  const aaaa: Table = {
    "ipv6-framework.mesos.": ["2001:db8::1"],
    "slave.mesos.": ["2001:db8::1"],
    "toy-store.ipv6-framework.mesos.": ["fd01:b::1:8000:2"],
    "toy-store-go588-3.ipv6-framework.mesos.": ["fd01:b::1:8000:2"],
    "toy-store.ipv6-framework.slave.mesos.": ["2001:db8::1"],
    "toy-store-go588-3.ipv6-framework.slave.mesos.": ["2001:db8::1"],
  };
  const toy = at("toy-store-go588-3.ipv6-framework.slave.mesos.", 31354, 31355);
  const box = at(`some-box-h3dyr-0.${CHR}.slave.mesos.`, 31354);
  const car = at("car-store-zinaz-0.marathon.slave.mesos.", 31364, 31365);
  const chronos = at("chronos-rx8q6-0.marathon.slave.mesos.", 31332);
  const review = at("reviewbot-8sq89-1.marathon.slave.mesos.", 31744);
  const srv: Table = {
    ...m.srv,
    "_framework._tcp.ipv6-framework.mesos.": ["ipv6-framework.mesos.:25501"],
    [`_framework._tcp.${CHR}.mesos.`]: [`${CHR}.mesos.:25501`],
    "_framework._tcp.marathon.mesos.": ["marathon.mesos.:25501"],
    "_slave._tcp.mesos.": ["slave.mesos.:5051"],
    "_toy-store._tcp.ipv6-framework.mesos.": toy,
    "_toy-store._udp.ipv6-framework.mesos.": toy,
    "_toy-store._tcp.ipv6-framework.slave.mesos.": toy,
    "_toy-store._udp.ipv6-framework.slave.mesos.": toy,
    [`_some-box._tcp.${CHR}.mesos.`]: box,
    [`_some-box._udp.${CHR}.mesos.`]: box,
    [`_some-box._tcp.${CHR}.slave.mesos.`]: box,
    [`_some-box._udp.${CHR}.slave.mesos.`]: box,
    // DiscoveryInfo tasks: resource ports only under .slave, DI ports (tcp only) under F.D.
    "_liquor.store._tcp.marathon.slave.mesos.": [
      ...at("liquor.store-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
      ...at("liquor.store-zasmd-1.marathon.slave.mesos.", 31737, 31738),
    ],
    "_liquor.store._udp.marathon.slave.mesos.": [
      ...at("liquor.store-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
      ...at("liquor.store-zasmd-1.marathon.slave.mesos.", 31737, 31738),
    ],
    "_liquor.store._tcp.marathon.mesos.": [
      ...at("liquor.store-4dfjd-0.marathon.mesos.", 80, 443),
      ...at("liquor.store-zasmd-1.marathon.mesos.", 80, 443),
    ],
    "_http._liquor.store._tcp.marathon.mesos.": [
      ...at("liquor.store-4dfjd-0.marathon.mesos.", 80),
      ...at("liquor.store-zasmd-1.marathon.mesos.", 80),
    ],
    "_https._liquor.store._tcp.marathon.mesos.": [
      ...at("liquor.store-4dfjd-0.marathon.mesos.", 443),
      ...at("liquor.store-zasmd-1.marathon.mesos.", 443),
    ],
    "_liquor-store._tcp.marathon.slave.mesos.": [
      ...at("liquor-store-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
      ...at("liquor-store-zasmd-1.marathon.slave.mesos.", 31737, 31738),
    ],
    "_liquor-store._udp.marathon.slave.mesos.": [
      ...at("liquor-store-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
      ...at("liquor-store-zasmd-1.marathon.slave.mesos.", 31737, 31738),
    ],
    "_liquor-store._tcp.marathon.mesos.": [
      ...at("liquor-store-4dfjd-0.marathon.mesos.", 80, 443),
      ...at("liquor-store-zasmd-1.marathon.mesos.", 80, 443),
    ],
    "_http._liquor-store._tcp.marathon.mesos.": [
      ...at("liquor-store-4dfjd-0.marathon.mesos.", 80),
      ...at("liquor-store-zasmd-1.marathon.mesos.", 80),
    ],
    "_https._liquor-store._tcp.marathon.mesos.": [
      ...at("liquor-store-4dfjd-0.marathon.mesos.", 443),
      ...at("liquor-store-zasmd-1.marathon.mesos.", 443),
    ],
    "_big.dog._tcp.marathon.slave.mesos.": at("big.dog-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
    "_big.dog._udp.marathon.slave.mesos.": at("big.dog-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
    "_big.dog._tcp.marathon.mesos.": at("big.dog-4dfjd-0.marathon.mesos.", 80, 443),
    "_http._big.dog._tcp.marathon.mesos.": at("big.dog-4dfjd-0.marathon.mesos.", 80),
    "_https._big.dog._tcp.marathon.mesos.": at("big.dog-4dfjd-0.marathon.mesos.", 443),
    "_big-dog._tcp.marathon.slave.mesos.": at("big-dog-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
    "_big-dog._udp.marathon.slave.mesos.": at("big-dog-4dfjd-0.marathon.slave.mesos.", 31354, 31355),
    "_big-dog._tcp.marathon.mesos.": at("big-dog-4dfjd-0.marathon.mesos.", 80, 443),
    "_http._big-dog._tcp.marathon.mesos.": at("big-dog-4dfjd-0.marathon.mesos.", 80),
    "_https._big-dog._tcp.marathon.mesos.": at("big-dog-4dfjd-0.marathon.mesos.", 443),
    "_car-store._tcp.marathon.mesos.": car,
    "_car-store._udp.marathon.mesos.": car,
    "_car-store._tcp.marathon.slave.mesos.": car,
    "_car-store._udp.marathon.slave.mesos.": car,
    "_chronos._tcp.marathon.mesos.": chronos,
    "_chronos._udp.marathon.mesos.": chronos,
    "_chronos._tcp.marathon.slave.mesos.": chronos,
    "_chronos._udp.marathon.slave.mesos.": chronos,
    // nginx has "[]" ports: no SRV
    "_reviewbot._tcp.marathon.mesos.": review,
    "_reviewbot._udp.marathon.mesos.": review,
    "_reviewbot._tcp.marathon.slave.mesos.": review,
    "_reviewbot._udp.marathon.slave.mesos.": review,
  };
  return { a, aaaa, srv };
}

Deno.test("fixture mesos-dns-fake: complete record set (defaults, localhost unresolved)", () => {
  const { state, rs } = run("mesos-dns-fake.json");
  assert.deepEqual(hostsToResolve(state, ["1.2.3.4:5050"]), ["localhost"]);
  const { a, aaaa, srv } = fakeExpected();
  assertTables(rs, a, aaaa, srv);
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
});

Deno.test("fixture mesos-dns-fake: localhost resolved → the pid-less framework gets A/AAAA", () => {
  const { rs } = run("mesos-dns-fake.json", new Map([["localhost", ["127.0.0.1", "::1"]]]));
  const { a, aaaa, srv } = fakeExpected();
  assertTables(rs, { ...a, "nopid.mesos.": ["127.0.0.1"] }, { ...aaaa, "nopid.mesos.": ["::1"] }, srv);
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

// ---------------------------------------------------------------------------------------------
// The rest: what summary.txt implies.

interface Expect {
  task: string; // sanitised task label
  canonical: string;
  framework: string; // F.D.
  ips: string[]; // dns_ips(default srcs)
  slaveIP: string;
}

function assertTasks(rs: RecordSet, list: Expect[]): void {
  const byName = new Map<string, Set<string>>();
  for (const e of list) {
    const n = `${e.task}.${e.framework}`;
    const set = byName.get(n) ?? new Set();
    for (const ip of e.ips) set.add(ip);
    byName.set(n, set);
    assert.deepEqual([...rs.a.get(`${e.canonical}.${e.framework}`)!].sort(), [...e.ips].sort(), e.canonical);
    const slaveF = e.framework.replace(/\.mesos\.$/, ".slave.mesos.");
    assert.deepEqual(rs.a.get(`${e.canonical}.${slaveF}`), [e.slaveIP], e.canonical);
    assert.ok(rs.a.get(`${e.task}.${slaveF}`)!.includes(e.slaveIP), e.task);
  }
  for (const [n, ips] of byName) assert.deepEqual([...rs.a.get(n)!].sort(), [...ips].sort(), n);
}

Deno.test("fixture dcos-mesos_state-docker-discovery-0.28: summary-implied records", () => {
  const { rs } = run("dcos-mesos_state-docker-discovery-0.28.json");
  const F = "marathon.mesos.";
  // Task names are 72 characters: RFC1123 cuts the label to 63.
  const proxy = "integration-test-proxy-to-minuteman-vip-597177d7b90b4cfaac21ccf";
  const app = "integration-test-app-with-minuteman-vip-597177d7b90b4cfaac21ccf";
  assertTasks(rs, [
    {
      task: proxy,
      canonical: `${proxy}-nohbr-s2`,
      framework: F,
      ips: ["10.10.0.109"],
      slaveIP: "10.10.0.109",
    },
    { task: app, canonical: `${app}-d5ut6-s2`, framework: F, ips: ["10.10.0.109"], slaveIP: "10.10.0.109" },
  ]);
  assert.deepEqual([...rs.a.get("slave.mesos.")!].sort(), ["10.10.0.106", "10.10.0.108", "10.10.0.109"]);
  assert.deepEqual(rs.a.get("marathon.mesos."), ["10.10.0.106"]);
  assert.deepEqual(rs.srv.get("_framework._tcp.marathon.mesos."), ["marathon.mesos.:39699"]);
  // DiscoveryInfo port 21464/tcp (unnamed) → C.F.D.; resource port → only the .slave SRVs.
  assert.deepEqual(rs.srv.get(`_${proxy}._tcp.${F}`), [`${proxy}-nohbr-s2.${F}:21464`]);
  assert.deepEqual(rs.srv.get(`_${app}._tcp.${F}`), [`${app}-d5ut6-s2.${F}:8014`]);
  assert.equal(rs.srv.get(`_${proxy}._udp.${F}`), undefined);
  assert.deepEqual(rs.srv.get(`_${proxy}._udp.marathon.slave.mesos.`), [
    `${proxy}-nohbr-s2.marathon.slave.mesos.:21464`,
  ]);
  // The legacy pass keeps the full 72-character DiscoveryInfo name.
  const full = "integration-test-proxy-to-minuteman-vip-597177d7b90b4cfaac21ccf48822be52";
  assert.deepEqual(rs.a.get(`${full}.${F}`), ["10.10.0.109"]);
  assert.deepEqual(rs.srv.get(`_${full}._tcp.${F}`), [`${full}-nohbr-s2.${F}:21464`]);
  // Completed tasks give nothing.
  const all = [...rs.a.keys(), ...rs.srv.keys()].join(" ");
  assert.ok(!all.includes("1e442826") && !all.includes("3ebd3b0b") && !all.includes("7fb6fb50"));
  assert.deepEqual(rs.frameworks!.map((f) => f.tasks.length), [2]);
});

Deno.test("fixture dcos-mesos_state-overlay-0.29: summary-implied records", () => {
  const { rs } = run("dcos-mesos_state-overlay-0.29.json");
  const F = "mesos-executeinstance.mesos.";
  assertTasks(rs, [
    { task: "dog", canonical: "dog-h1ktr-s1", framework: F, ips: ["44.128.1.130"], slaveIP: "10.0.3.135" },
    { task: "cat", canonical: "cat-uscj7-s0", framework: F, ips: ["44.128.0.130"], slaveIP: "10.0.0.67" },
  ]);
  // Frameworks without pid and with an empty hostname get no records; marathon has a pid.
  assert.equal(rs.a.get(F), undefined);
  assert.deepEqual(rs.a.get("marathon.mesos."), ["10.0.4.86"]);
  assert.deepEqual(rs.srv.get("_framework._tcp.marathon.mesos."), ["marathon.mesos.:32997"]);
  assert.deepEqual([...rs.a.get("slave.mesos.")!].sort(), ["10.0.0.67", "10.0.3.135"]);
  // No resource ports → no task SRVs.
  assert.deepEqual([...rs.srv.keys()].filter((k) => k.includes("mesos-executeinstance")), []);
  assert.deepEqual(rs.frameworks!.map((f) => [f.name, f.tasks.map((t) => t.name)]), [
    ["mesos-execute instance", ["dog"]],
    ["mesos-execute instance", ["cat"]],
    ["marathon", []],
  ]);
});

Deno.test("fixture dcos-mesos_state-vips-labels-0.25: summary-implied records (0.25 netinfo, duplicates)", () => {
  const { rs } = run("dcos-mesos_state-vips-labels-0.25.json");
  const F = "marathon.mesos.";
  const ip = "33.33.33.1";
  assertTasks(rs, [
    { task: "greg", canonical: "greg-9o31r-s2", framework: F, ips: [ip], slaveIP: ip },
    { task: "greg", canonical: "greg-7rgbs-s2", framework: F, ips: [ip], slaveIP: ip },
    { task: "tyler", canonical: "tyler-48xqf-s2", framework: F, ips: [ip], slaveIP: ip },
    { task: "tyler", canonical: "tyler-rc7mp-s2", framework: F, ips: [ip], slaveIP: ip },
  ]);
  // Load-balancing sets over both instances.
  const greg = [
    ...at("greg-9o31r-s2.marathon.slave.mesos.", 31290),
    ...at("greg-7rgbs-s2.marathon.slave.mesos.", 31215),
  ];
  assert.deepEqual([...rs.srv.get("_greg._tcp.marathon.mesos.")!].sort(), greg.sort());
  const tyler = [
    ...at("tyler-48xqf-s2.marathon.slave.mesos.", 31362),
    ...at("tyler-rc7mp-s2.marathon.slave.mesos.", 31634),
  ];
  assert.deepEqual([...rs.srv.get("_tyler._udp.marathon.slave.mesos.")!].sort(), tyler.sort());
  assert.deepEqual(rs.a.get("marathon.mesos."), ["33.33.33.2"]);
  assert.deepEqual(rs.a.get("slave.mesos."), [ip]);
  // Second instances add only their canonical names.
  const tasks = rs.frameworks![0].tasks;
  assert.deepEqual(tasks.map((t) => t.name), ["greg", "greg", "tyler", "tyler"]);
  assert.ok(
    tasks[1].records!.every((r) => r.name.startsWith("greg-7rgbs") || r.host.startsWith("greg-7rgbs")),
  );
});
