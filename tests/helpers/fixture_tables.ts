/**
 * Hand-derived record tables for every state document in tests/fixtures (owns: what SPEC §5–6 says
 * the original serves for each fixture, plus this project's `_master._{tcp,udp}` addition). Each
 * table is split into the records tasks add and the rest (frameworks, agents, masters, name
 * server), so tests can hold the generator, DNS, `/v1/axfr` and `/v1/enumerate` to them.
 *
 * Derived by hand from the documents and SPEC; task hashes were computed once with an independent
 * SHA-1 + z-base-32 script and written as literals. Nothing here calls the code under test.
 */

/** Owner name → values (A/AAAA: IP text; SRV: `target:port`). */
export type Table = Record<string, string[]>;

export interface Tables {
  a: Table;
  aaaa: Table;
  srv: Table;
}

/** What the records depend on besides the document (defaults: domain `mesos`, RFC 1123, default IPSources). */
export interface FixtureEnv {
  /** The leader the served state names, and the masters list `[leader]`. */
  leaderIP: string;
  leaderPort: number;
  /** Address of `ns1.mesos.`. */
  nsIP: string;
  /** What host names resolve to (framework host names); unlisted names resolve to nothing. */
  hosts?: Record<string, string[]>;
}

/** The records tasks add (what `/v1/enumerate` lists) and everything else. */
export interface FixtureExpectation {
  tasks: Tables;
  base: Tables;
}

/** The master state documents (the `operator-api/` captures are event streams, not states). */
export const FIXTURE_FILES = [
  "dcos-mesos_state-docker-discovery-0.28.json",
  "dcos-mesos_state-overlay-0.29.json",
  "dcos-mesos_state-vips-labels-0.25.json",
  "dcos-net-l4lb-overlay-1.0.1.json",
  "dcos-net-l4lb-poller-1.8.0.json",
  "mesos-cli-master-state-0.19.0.json",
  "mesos-dns-fake.json",
] as const;

/** `target:port` for each port (formatting only). */
export function at(target: string, ...ports: number[]): string[] {
  return ports.map((p) => `${target}:${p}`);
}

/** The union of tables (values of a name merged, duplicates dropped). */
export function merge(...list: Tables[]): Tables {
  const out: Tables = { a: {}, aaaa: {}, srv: {} };
  for (const t of list) {
    for (const kind of ["a", "aaaa", "srv"] as const) {
      for (const [name, values] of Object.entries(t[kind])) {
        const have = out[kind][name] ?? [];
        out[kind][name] = [...have, ...values.filter((v) => !have.includes(v))];
      }
    }
  }
  return out;
}

/** A table with sorted names and sorted values, for deepEqual. */
export function sortedTable(t: Table): Table {
  const out: Table = {};
  for (const k of Object.keys(t).sort()) out[k] = [...t[k]].sort();
  return out;
}

/** `name` → ips, split into A and AAAA by the presence of a colon. */
function addresses(name: string, ips: readonly string[]): { a: Table; aaaa: Table } {
  const v4 = ips.filter((ip) => !ip.includes(":"));
  const v6 = ips.filter((ip) => ip.includes(":"));
  return { a: v4.length ? { [name]: v4 } : {}, aaaa: v6.length ? { [name]: v6 } : {} };
}

/** leader/master/master0 and their SRVs for a single-master list, plus `ns1.mesos.`. */
function masterBlock(env: FixtureEnv): Tables {
  const leader = addresses("leader.mesos.", [env.leaderIP]);
  const master = addresses("master.mesos.", [env.leaderIP]);
  const master0 = addresses("master0.mesos.", [env.leaderIP]);
  const ns = addresses("ns1.mesos.", [env.nsIP]);
  return {
    a: { ...leader.a, ...master.a, ...master0.a, ...ns.a },
    aaaa: { ...leader.aaaa, ...master.aaaa, ...master0.aaaa, ...ns.aaaa },
    srv: {
      "_leader._tcp.mesos.": [`leader.mesos.:${env.leaderPort}`],
      "_leader._udp.mesos.": [`leader.mesos.:${env.leaderPort}`],
      "_master._tcp.mesos.": [`master.mesos.:${env.leaderPort}`],
      "_master._udp.mesos.": [`master.mesos.:${env.leaderPort}`],
    },
  };
}

/** A framework known only by host name (no pid): `F.D.` → what the name resolves to, no SRV. */
function hostFramework(env: FixtureEnv, fname: string, host: string): Tables {
  return { ...addresses(fname, env.hosts?.[host] ?? []), srv: {} };
}

// ---------------------------------------------------------------------------------------------
// dcos-net-l4lb-poller-1.8.0: task `test` (id test.92ed0e79-… → tn7xg) on agent …-S1 (tail s1,
// 10.0.0.40), netinfo 9.0.2.2 in the newest RUNNING status; DiscoveryInfo name `test` (both passes
// give the same names), port 12564/tcp unnamed; resource port 12564.

function poller(): FixtureExpectation {
  const cs = "test-tn7xg-s1.marathon.slave.mesos.";
  return {
    base: {
      a: {
        "metronome.mesos.": ["10.0.5.220"],
        "marathon.mesos.": ["10.0.5.220"],
        "slave.mesos.": ["10.0.0.40", "10.0.6.5"],
      },
      aaaa: {},
      srv: {
        "_framework._tcp.metronome.mesos.": ["metronome.mesos.:15201"],
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:15101"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: {
      a: {
        "test.marathon.mesos.": ["9.0.2.2"],
        "test-tn7xg-s1.marathon.mesos.": ["9.0.2.2"],
        "test.marathon.slave.mesos.": ["10.0.0.40"],
        [cs]: ["10.0.0.40"],
      },
      aaaa: {},
      srv: {
        "_test._tcp.marathon.slave.mesos.": at(cs, 12564),
        "_test._udp.marathon.slave.mesos.": at(cs, 12564),
        // DiscoveryInfo port 12564/tcp, unnamed; no _udp, no non-slave resource-port SRVs.
        "_test._tcp.marathon.mesos.": at("test-tn7xg-s1.marathon.mesos.", 12564),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dcos-net-l4lb-overlay-1.0.1: task `http-1` (id http-1.57d78934-… → sd7ng) on agent …-S0 (s0,
// 10.0.1.248), netinfo 9.0.1.130; no resource ports; DiscoveryInfo port http:80/tcp.

function overlay101(): FixtureExpectation {
  const c = "http-1-sd7ng-s0.marathon.mesos.";
  return {
    base: {
      a: {
        "metronome.mesos.": ["10.0.7.247"],
        "marathon.mesos.": ["10.0.7.247"],
        "slave.mesos.": ["10.0.1.248"],
      },
      aaaa: {},
      srv: {
        "_framework._tcp.metronome.mesos.": ["metronome.mesos.:40647"],
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:40733"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: {
      a: {
        "http-1.marathon.mesos.": ["9.0.1.130"],
        [c]: ["9.0.1.130"],
        "http-1.marathon.slave.mesos.": ["10.0.1.248"],
        "http-1-sd7ng-s0.marathon.slave.mesos.": ["10.0.1.248"],
      },
      aaaa: {},
      srv: {
        "_http-1._tcp.marathon.mesos.": at(c, 80),
        "_http._http-1._tcp.marathon.mesos.": at(c, 80),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// mesos-cli 0.19: framework `marathon-0.6.0-SNAPSHOT` (no pid, hostname mesos.vm) → F =
// marathon-0.6.0-snapshot; both RUNNING tasks on agent …-1196-0 (tail "0", pid 10.141.141.10:5051);
// a second agent on the same host has pid port 5052. No container IPs: the host source wins.

const CLI_F = "marathon-0.6.0-snapshot.mesos.";
const CLI_FS = "marathon-0.6.0-snapshot.slave.mesos.";
const APP15 = "app-15-41fef02d-fcba-11e3-8b67-b6f6cc110ef2"; // hash 41am6
const APP215 = "app-215-3e6a099c-fcba-11e3-8b67-b6f6cc110ef2"; // hash qfhmj
const CLI_IP = "10.141.141.10";

function cli(env: FixtureEnv): FixtureExpectation {
  const t15 = at(`${APP15}-41am6-0.${CLI_FS}`, 31654);
  const t215 = at(`${APP215}-qfhmj-0.${CLI_FS}`, 31705);
  const fw = hostFramework(env, CLI_F, "mesos.vm");
  return {
    base: {
      a: { ...fw.a, "slave.mesos.": [CLI_IP] },
      aaaa: fw.aaaa,
      srv: { "_slave._tcp.mesos.": ["slave.mesos.:5051", "slave.mesos.:5052"] },
    },
    tasks: {
      a: {
        [`${APP15}.${CLI_F}`]: [CLI_IP],
        [`${APP15}-41am6-0.${CLI_F}`]: [CLI_IP],
        [`${APP15}.${CLI_FS}`]: [CLI_IP],
        [`${APP15}-41am6-0.${CLI_FS}`]: [CLI_IP],
        [`${APP215}.${CLI_F}`]: [CLI_IP],
        [`${APP215}-qfhmj-0.${CLI_F}`]: [CLI_IP],
        [`${APP215}.${CLI_FS}`]: [CLI_IP],
        [`${APP215}-qfhmj-0.${CLI_FS}`]: [CLI_IP],
      },
      aaaa: {},
      srv: {
        [`_${APP15}._tcp.${CLI_F}`]: t15,
        [`_${APP15}._udp.${CLI_F}`]: t15,
        [`_${APP15}._tcp.${CLI_FS}`]: t15,
        [`_${APP15}._udp.${CLI_FS}`]: t15,
        [`_${APP215}._tcp.${CLI_F}`]: t215,
        [`_${APP215}._udp.${CLI_F}`]: t215,
        [`_${APP215}._tcp.${CLI_FS}`]: t215,
        [`_${APP215}._udp.${CLI_FS}`]: t215,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// mesos-dns-fake.json: the original's own fixture.
// Canonical names (hashes: toy-store go588, some-box h3dyr, liquor-store.b8db… 4dfjd (also big.dog2),
// liquor-store.b711… zasmd, car-store zinaz, chronos rx8q6, nginx 6ud99, reviewbot 8sq89).
// Frameworks: ipv6-framework (pid [2001:db8::1]:25501), `chronos with a space AND MIXED CASE-2.0.1`
// (pid 1.2.3.12:25501), `no pid` (hostname localhost), marathon (pid 1.2.3.11:25501).

const CHR = "chronoswithaspaceandmixedcase-2.0.1";
const S11 = "1.2.3.11";
const S12 = "1.2.3.12";

function fake(env: FixtureEnv): FixtureExpectation {
  const nopid = hostFramework(env, "nopid.mesos.", "localhost");
  const toy = at("toy-store-go588-3.ipv6-framework.slave.mesos.", 31354, 31355);
  const box = at(`some-box-h3dyr-0.${CHR}.slave.mesos.`, 31354);
  const car = at("car-store-zinaz-0.marathon.slave.mesos.", 31364, 31365);
  const chronos = at("chronos-rx8q6-0.marathon.slave.mesos.", 31332);
  const review = at("reviewbot-8sq89-1.marathon.slave.mesos.", 31744);
  return {
    base: {
      a: {
        ...nopid.a,
        [`${CHR}.mesos.`]: [S12],
        "marathon.mesos.": [S11],
        "slave.mesos.": ["1.2.3.10", S11, S12],
      },
      aaaa: {
        ...nopid.aaaa,
        "ipv6-framework.mesos.": ["2001:db8::1"],
        "slave.mesos.": ["2001:db8::1"],
      },
      srv: {
        "_framework._tcp.ipv6-framework.mesos.": ["ipv6-framework.mesos.:25501"],
        [`_framework._tcp.${CHR}.mesos.`]: [`${CHR}.mesos.:25501`],
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:25501"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: {
      a: {
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
      },
      aaaa: {
        "toy-store.ipv6-framework.mesos.": ["fd01:b::1:8000:2"],
        "toy-store-go588-3.ipv6-framework.mesos.": ["fd01:b::1:8000:2"],
        "toy-store.ipv6-framework.slave.mesos.": ["2001:db8::1"],
        "toy-store-go588-3.ipv6-framework.slave.mesos.": ["2001:db8::1"],
      },
      srv: {
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
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dcos-mesos_state-docker-discovery-0.28: framework marathon (pid 10.10.0.106:39699); agents S2
// 10.10.0.109, S1 10.10.0.108, S0 10.10.0.106. Two RUNNING tasks on S2 (tail s2), netinfo
// `ip_addresses` 10.10.0.109 (the legacy `ip_address` is ignored when the list is non-empty). Both
// have a 72-character DiscoveryInfo name equal to the task name and one unnamed tcp port:
// legacy pass = the name verbatim; sanitised pass = RFC 1123 cuts it to its first 63 characters.
// Hashes: proxy …788bb83d… → nohbr, app …637947ab… → d5ut6. Seven KILLED tasks give nothing.

const PROXY_FULL = "integration-test-proxy-to-minuteman-vip-597177d7b90b4cfaac21ccf48822be52";
const PROXY_63 = "integration-test-proxy-to-minuteman-vip-597177d7b90b4cfaac21ccf";
const APP_FULL = "integration-test-app-with-minuteman-vip-597177d7b90b4cfaac21ccf48822be52";
const APP_63 = "integration-test-app-with-minuteman-vip-597177d7b90b4cfaac21ccf";

function dockerDiscovery(): FixtureExpectation {
  const ip = "10.10.0.109";
  const F = "marathon.mesos.";
  const FS = "marathon.slave.mesos.";
  const a: Table = {};
  const srv: Table = {};
  // One DiscoveryInfo pass for label T, canonical C, resource port = DiscoveryInfo port = `port`.
  const pass = (T: string, C: string, port: number) => {
    a[`${T}.${F}`] = [ip];
    a[`${C}.${F}`] = [ip];
    a[`${T}.${FS}`] = [ip];
    a[`${C}.${FS}`] = [ip];
    srv[`_${T}._tcp.${FS}`] = at(`${C}.${FS}`, port);
    srv[`_${T}._udp.${FS}`] = at(`${C}.${FS}`, port);
    srv[`_${T}._tcp.${F}`] = at(`${C}.${F}`, port);
  };
  pass(PROXY_FULL, `${PROXY_FULL}-nohbr-s2`, 21464);
  pass(PROXY_63, `${PROXY_63}-nohbr-s2`, 21464);
  pass(APP_FULL, `${APP_FULL}-d5ut6-s2`, 8014);
  pass(APP_63, `${APP_63}-d5ut6-s2`, 8014);
  return {
    base: {
      a: {
        "marathon.mesos.": ["10.10.0.106"],
        "slave.mesos.": ["10.10.0.109", "10.10.0.108", "10.10.0.106"],
      },
      aaaa: {},
      srv: {
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:39699"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: { a, aaaa: {}, srv },
  };
}

// ---------------------------------------------------------------------------------------------
// dcos-mesos_state-overlay-0.29: two frameworks named `mesos-execute instance` (no pid, empty
// hostname → no framework records; F = mesos-executeinstance) with one RUNNING task each and no
// ports; marathon (pid 10.0.4.86:32997) without tasks. `dog` (id dog → h1ktr) on S1 10.0.3.135,
// netinfo 44.128.1.130; `cat` (id cat → uscj7) on S0 10.0.0.67, netinfo 44.128.0.130.

function overlay029(): FixtureExpectation {
  const F = "mesos-executeinstance.mesos.";
  const FS = "mesos-executeinstance.slave.mesos.";
  return {
    base: {
      a: { "marathon.mesos.": ["10.0.4.86"], "slave.mesos.": ["10.0.3.135", "10.0.0.67"] },
      aaaa: {},
      srv: {
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:32997"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: {
      a: {
        [`dog.${F}`]: ["44.128.1.130"],
        [`dog-h1ktr-s1.${F}`]: ["44.128.1.130"],
        [`dog.${FS}`]: ["10.0.3.135"],
        [`dog-h1ktr-s1.${FS}`]: ["10.0.3.135"],
        [`cat.${F}`]: ["44.128.0.130"],
        [`cat-uscj7-s0.${F}`]: ["44.128.0.130"],
        [`cat.${FS}`]: ["10.0.0.67"],
        [`cat-uscj7-s0.${FS}`]: ["10.0.0.67"],
      },
      aaaa: {},
      srv: {},
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dcos-mesos_state-vips-labels-0.25: marathon (pid 33.33.33.2:37628; hostname `ubuntu` unused),
// one agent S2 33.33.33.1; four RUNNING tasks on it, two named greg and two named tyler, each with
// one resource port and 0.25-style netinfo `ip_address` 33.33.33.1. Hashes: greg.c92049c2… 9o31r,
// greg.c92070d3… 7rgbs, tyler.af307469… 48xqf, tyler.af30c28b… rc7mp.

function vips025(): FixtureExpectation {
  const ip = "33.33.33.1";
  const FS = "marathon.slave.mesos.";
  const greg = [...at(`greg-9o31r-s2.${FS}`, 31290), ...at(`greg-7rgbs-s2.${FS}`, 31215)];
  const tyler = [...at(`tyler-48xqf-s2.${FS}`, 31362), ...at(`tyler-rc7mp-s2.${FS}`, 31634)];
  return {
    base: {
      a: { "marathon.mesos.": ["33.33.33.2"], "slave.mesos.": [ip] },
      aaaa: {},
      srv: {
        "_framework._tcp.marathon.mesos.": ["marathon.mesos.:37628"],
        "_slave._tcp.mesos.": ["slave.mesos.:5051"],
      },
    },
    tasks: {
      a: {
        "greg.marathon.mesos.": [ip],
        "greg-9o31r-s2.marathon.mesos.": [ip],
        "greg-7rgbs-s2.marathon.mesos.": [ip],
        "greg.marathon.slave.mesos.": [ip],
        "greg-9o31r-s2.marathon.slave.mesos.": [ip],
        "greg-7rgbs-s2.marathon.slave.mesos.": [ip],
        "tyler.marathon.mesos.": [ip],
        "tyler-48xqf-s2.marathon.mesos.": [ip],
        "tyler-rc7mp-s2.marathon.mesos.": [ip],
        "tyler.marathon.slave.mesos.": [ip],
        "tyler-48xqf-s2.marathon.slave.mesos.": [ip],
        "tyler-rc7mp-s2.marathon.slave.mesos.": [ip],
      },
      aaaa: {},
      srv: {
        "_greg._tcp.marathon.mesos.": greg,
        "_greg._udp.marathon.mesos.": greg,
        "_greg._tcp.marathon.slave.mesos.": greg,
        "_greg._udp.marathon.slave.mesos.": greg,
        "_tyler._tcp.marathon.mesos.": tyler,
        "_tyler._udp.marathon.mesos.": tyler,
        "_tyler._tcp.marathon.slave.mesos.": tyler,
        "_tyler._udp.marathon.slave.mesos.": tyler,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** The expected records of fixture `file` (one of FIXTURE_FILES) under `env`. */
export function fixtureExpectation(file: string, env: FixtureEnv): FixtureExpectation {
  let e: FixtureExpectation;
  switch (file) {
    case "dcos-mesos_state-docker-discovery-0.28.json":
      e = dockerDiscovery();
      break;
    case "dcos-mesos_state-overlay-0.29.json":
      e = overlay029();
      break;
    case "dcos-mesos_state-vips-labels-0.25.json":
      e = vips025();
      break;
    case "dcos-net-l4lb-overlay-1.0.1.json":
      e = overlay101();
      break;
    case "dcos-net-l4lb-poller-1.8.0.json":
      e = poller();
      break;
    case "mesos-cli-master-state-0.19.0.json":
      e = cli(env);
      break;
    case "mesos-dns-fake.json":
      e = fake(env);
      break;
    default:
      throw new Error(`no expected records for fixture ${file}`);
  }
  return { tasks: e.tasks, base: merge(e.base, masterBlock(env)) };
}

/** All expected records of fixture `file` under `env`. */
export function fixtureTables(file: string, env: FixtureEnv): Tables {
  const e = fixtureExpectation(file, env);
  return merge(e.base, e.tasks);
}

/** The leader of a state document as `{ ip, port }` (for env). */
export function documentLeader(leader: unknown): { ip: string; port: number } {
  const addr = String(leader).split("@")[1];
  const colon = addr.lastIndexOf(":");
  return { ip: addr.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(addr.slice(colon + 1)) };
}
