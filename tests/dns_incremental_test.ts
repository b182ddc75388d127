// Incremental DNS answers: after a run of deltas, the layered zone (base + top layer of the
// changed names) answers every name as a zone built whole from the same records; a live
// server's UDP fast path worker, TCP and HTTP agree after each delta; and TCP keeps
// answering while a large zone is built again (in slices).
import assert from "node:assert/strict";
import { startDnsServer } from "../src/dns/server.ts";
import { buildZoneAnswers, updateZoneAnswers, type ZoneAnswers } from "../src/dns/zone_answers.ts";
import { startHttpServer } from "../src/http/server.ts";
import { questionWire } from "../src/dns/wire.ts";
import type { MesosState, MesosTask } from "../src/mesos/state_types.ts";
import type { StateDelta } from "../src/mesos/state_delta.ts";
import type { GeneratorOptions } from "../src/records/generate.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { type Snapshot, SnapshotHolder } from "../src/records/snapshot.ts";
import { RecordStore } from "../src/records/store.ts";
import { generateDocument, Rng } from "../scripts/sim/cluster.ts";
import { buildQuery, decode, queryTcp, queryUdp, TcpClient } from "./helpers/dns_client.ts";
import { copy, deltaReady, randomChange } from "./helpers/random_deltas.ts";
import { testConfig } from "./helpers/test_config.ts";
import { waitFor } from "./helpers/wait.ts";
import { Responder } from "../src/dns/respond.ts";
import { Forwarder } from "../src/dns/forwarder.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";

const OPTIONS: GeneratorOptions = {
  domain: "mesos",
  enforceRFC952: false,
  ipSources: ["netinfo", "mesos", "host"],
  soaMname: "ns1.mesos.",
};
const TYPES = [1, 28, 33, 255];

function cluster(seed: number, tasks = 200): MesosState {
  const state = generateDocument({ frameworks: 4, agents: 15, tasks, seed });
  state.leader = "master@10.0.0.1:5050";
  return deltaReady(state);
}

/** A record store with `state` as its first snapshot, and the zone built whole from it. */
function storeAndZone(state: MesosState) {
  const store = new RecordStore({ options: OPTIONS, nameServerIPs: ["198.51.100.53"] });
  const holder = new SnapshotHolder();
  const config = testConfig();
  const zone = buildZoneAnswers(
    holder.publish(store.snapshot(state, ["10.0.0.1:5050"], new Map()).records),
    config,
  );
  return { store, holder, config, zone };
}

/** What a name answers for one type, order aside: rcode and sorted answer/additional RRs. */
function answerOf(zone: ZoneAnswers, name: string, qtype: number): string {
  const n = zone.flat.findName(name);
  if (n < 0) return "NXDOMAIN";
  const id = zone.flat.answer(n, qtype);
  if (id < 0) return "NODATA";
  const msg = decode(zone.flat.render(id, 0, questionWire(name, qtype)!));
  // Owners point at the question, which a reply takes from the request: they read as the name asked
  // (a stored answer may be its `_tcp`/`_udp` twin's).
  const asked = msg.questions?.[0]?.name;
  const rr = (r: { type: string; name: string; data?: unknown }) =>
    `${r.type} ${r.name === asked ? name : r.name} ${JSON.stringify(r.data)}`;
  const answers = (msg.answers ?? []).map(rr).sort();
  // Additional addresses are drawn at random among a target's: only their owners compare.
  const extra = (msg.additionals ?? []).map((r) => `${r.type} ${r.name}`).sort();
  return JSON.stringify([answers.filter((a) => !a.startsWith("SOA")), extra]);
}

/** Every name either zone has, plus the parents of changed names. */
function namesOf(...zones: ZoneAnswers[]): Set<string> {
  const out = new Set<string>();
  for (const z of zones) {
    for (const name of z.topNames) out.add(name);
  }
  return out;
}

Deno.test("layered zone: after each random delta, every name answers as a zone built whole", () => {
  // Top layers that go on from the previous one's answers (the default), that start afresh
  // each time (copying the names they keep), and that alternate.
  const modes: [number, number | undefined][] = [[1, undefined], [2, undefined], [1, 0], [2, 3000]];
  for (const [seed, freshTopBytes] of modes) {
    const state = cluster(seed);
    const { store, holder, config, zone: first } = storeAndZone(state);
    let zone = first;
    const rng = new Rng(seed * 31);
    const everName = new Set<string>();
    for (const m of [zone]) for (const n of m.topNames) everName.add(n);
    for (let step = 1; step <= 40; step++) {
      const up = store.delta(randomChange(state, rng, step));
      if (!up) continue;
      const snap = holder.publish(up.records, new Date(), undefined, up.changes);
      zone = updateZoneAnswers(zone, snap, config, up.changes!.names, { freshTopBytes });
      const whole = buildZoneAnswers(snap, config);
      for (const fqdn of up.changes!.names) everName.add(fqdn.replace(/\.$/, "").toLowerCase());
      for (const n of namesOf(zone)) everName.add(n);
      for (const m of [up.records.a, up.records.aaaa, up.records.srv]) {
        for (const fqdn of m.keys()) everName.add(fqdn.replace(/\.$/, "").toLowerCase());
      }
      // Every parent too: an empty non-terminal whose last name below went is gone (NXDOMAIN).
      for (const name of [...everName]) {
        for (let p = name.slice(name.indexOf(".") + 1); p.includes("."); p = p.slice(p.indexOf(".") + 1)) {
          everName.add(p);
        }
      }
      for (const name of everName) {
        for (const t of TYPES) {
          assert.equal(
            answerOf(zone, name, t),
            answerOf(whole, name, t),
            `seed ${seed} (fresh top at ${freshTopBytes} bytes) step ${step}: ${name} type ${t}`,
          );
        }
      }
      // The counts of names below each name are those of the zone built whole.
      assert.deepEqual(
        new Map([...zone.children].sort()),
        new Map([...whole.children].sort()),
        `step ${step}`,
      );
      // The apex SOA carries the new serial.
      assert.equal(zone.flat.serial, snap.serial);
    }
    assert.ok(zone.flat.topSize > 0);
  }
});

Deno.test("layered zone: SRV names with dozens of values copy the records they keep, in their order, and answer as a zone built whole", () => {
  // Up to 91 tasks per app: SRV names with up to 182 values (`SrvOrder`: 64 or more).
  const state = deltaReady(generateDocument({ frameworks: 2, agents: 6, tasks: 600, seed: 4 }));
  state.leader = "master@10.0.0.1:5050";
  const { store, holder, config, zone: first } = storeAndZone(state);
  let zone = first;
  /** The SRV records of `name` in stored order (rotation 0). */
  const stored = (z: ZoneAnswers, name: string): string[] => {
    const id = z.flat.answer(z.flat.findName(name), 33);
    // deno-lint-ignore no-explicit-any
    return (decode(z.flat.render(id, 0, questionWire(name, 33)!)).answers ?? []).map((a: any) =>
      `${a.data.port} ${a.data.target}`
    );
  };
  const rng = new Rng(17);
  let compared = 0;
  let kept = 0;
  /** New instances of the apps with the most tasks: their SRV names gain values. */
  const grow = (step: number): StateDelta => {
    const tasks: MesosTask[] = [];
    for (const f of state.frameworks!) {
      const byName = new Map<string, MesosTask[]>();
      for (const t of f.tasks ?? []) {
        if (t.state === "TASK_RUNNING") {
          byName.set(String(t.name), [...(byName.get(String(t.name)) ?? []), t]);
        }
      }
      const biggest = [...byName.values()].sort((x, y) => y.length - x.length)[0] ?? [];
      for (let n = 0; n < Math.min(3, biggest.length); n++) {
        const t: MesosTask = { ...biggest[n], id: `${biggest[n].id}-grown-${step}-${n}` };
        f.tasks!.push(t);
        tasks.push(copy(t));
      }
    }
    return { tasks };
  };
  for (let step = 1; step <= 30; step++) {
    // Kills, launches and agents coming and going; every third step, the biggest apps grow.
    const up = store.delta(step % 3 === 0 ? grow(step) : randomChange(state, rng, step));
    if (!up) continue;
    const before = zone;
    zone = updateZoneAnswers(
      zone,
      holder.publish(up.records, new Date(), undefined, up.changes),
      config,
      up.changes!.names,
    );
    const whole = buildZoneAnswers(holder.current()!, config);
    for (const [fqdn, values] of up.records.srv) {
      if (values.length < 64) continue;
      const name = fqdn.slice(0, -1);
      for (const t of TYPES) {
        assert.equal(answerOf(zone, name, t), answerOf(whole, name, t), `step ${step}: ${name} ${t}`);
      }
      compared++;
      if (!up.changes!.names.has(fqdn) || before.flat.findName(name) < 0) continue;
      // The records it kept are in the order they had: copied, not shuffled again.
      const now = stored(zone, name);
      const was = stored(before, name).filter((r) => now.includes(r));
      assert.deepEqual(now.filter((r) => was.includes(r)), was, `step ${step}: ${name}`);
      if (was.length > 10) kept++;
    }
  }
  assert.ok(compared > 30 && kept > 5, `${compared} big names compared, ${kept} updated with records kept`);
});

Deno.test("whole and layered builds agree on names whose values cannot be served, names that cannot be encoded, and the names above them (RFC 8020)", () => {
  const config = testConfig();
  const rng = new Rng(11);
  const labels = ["a", "b", "c", "_tcp", "x", "l".repeat(64)];
  let unservable = 0;
  for (let round = 0; round < 40; round++) {
    const b = new RecordSetBuilder("mesos");
    const names = new Set<string>();
    for (let i = 0; i < 30; i++) {
      let name = "mesos.";
      for (let d = rng.int(1, 4); d > 0; d--) name = `${rng.pick(labels)}.${name}`;
      names.add(name);
      switch (rng.int(0, 3)) {
        case 0:
          b.add("A", name, "not-an-ip"); // no value it can serve
          break;
        case 1:
          b.add("A", name, `10.0.0.${rng.int(1, 250)}`);
          break;
        case 2:
          b.add("SRV", name, `a.b.mesos.:${rng.int(1, 60000)}`);
          break;
        default:
          b.add("SRV", name, "bad..target.mesos.:1"); // nor here
      }
    }
    const rs = b.build(null);
    for (const name of names) {
      const valid = (rs.a.get(name) ?? []).some((v) => v !== "not-an-ip") ||
        (rs.srv.get(name) ?? []).some((v) => !v.startsWith("bad"));
      if (!valid) unservable++;
    }
    const whole = buildZoneAnswers(new SnapshotHolder().publish(rs), config);
    // The same records as a change to an empty zone: a top layer built name by name.
    const holder = new SnapshotHolder();
    const empty = buildZoneAnswers(holder.publish(new RecordSetBuilder("mesos").build(null)), config);
    const snap = holder.publish(rs, new Date());
    const layered = updateZoneAnswers(empty, snap, config, names);
    const asked = new Set<string>();
    for (const name of names) {
      for (let p = name.slice(0, -1); p.includes("."); p = p.slice(p.indexOf(".") + 1)) asked.add(p);
    }
    for (const name of asked) {
      for (const t of TYPES) {
        assert.equal(
          answerOf(layered, name, t),
          answerOf(whole, name, t),
          `round ${round}: ${name} type ${t}`,
        );
      }
    }
    assert.deepEqual(
      new Map([...layered.children].sort()),
      new Map([...whole.children].sort()),
      `round ${round}`,
    );
  }
  // The rounds had names without a value to serve, with and without names below them.
  assert.ok(unservable > 100, `${unservable}`);
});

/** The sorted A values of `name` over UDP, TCP and HTTP. */
async function threeWays(dnsPort: number, httpPort: number, name: string): Promise<string[][]> {
  const udp = (await queryUdp(dnsPort, name, "A")).msg;
  const tcp = (await queryTcp(dnsPort, name, "A")).msg;
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/hosts/${name}`);
  const http = (await res.json()) as { host: string; ip: string }[];
  const ips = (m: typeof udp) =>
    (m.answers ?? []).filter((a) => a.type === "A").map((a) => String((a as { data?: unknown }).data)).sort();
  return [ips(udp), ips(tcp), http.map((h) => h.ip).filter((ip) => ip !== "" && !ip.includes(":")).sort()];
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  test(`UDP (${engine}), TCP and HTTP agree after each delta`, async () => {
    const state = cluster(9, 120);
    const store = new RecordStore({ options: OPTIONS, nameServerIPs: ["198.51.100.53"] });
    const holder = new SnapshotHolder();
    holder.publish(store.snapshot(state, ["10.0.0.1:5050"], new Map()).records);
    const config = testConfig({ DNSUDPEngine: engine });
    const dns = await startDnsServer({ hostname: "127.0.0.1", port: 0, config, holder });
    const http = await startHttpServer({
      hostname: "127.0.0.1",
      port: 0,
      config,
      holder: { current: () => dns.servedSnapshot() },
      metrics: () => "",
    });
    try {
      const rng = new Rng(5);
      let checked = 0;
      for (let step = 1; step <= 25; step++) {
        const up = store.delta(randomChange(state, rng, step));
        if (!up) continue;
        const snap = holder.publish(up.records, new Date(), undefined, up.changes);
        assert.equal(dns.servedSnapshot(), snap, "a small change is served at once");
        const names = [...up.changes!.names].filter((n) => n === n.toLowerCase()).slice(0, 6);
        for (const fqdn of names) {
          const name = fqdn.replace(/\.$/, "");
          const [udp, tcp, web] = await threeWays(dns.port, http.port, name);
          const want = [...(up.records.a.get(fqdn) ?? [])].sort();
          assert.deepEqual(udp, want, `step ${step} ${name}: UDP`);
          assert.deepEqual(tcp, want, `step ${step} ${name}: TCP`);
          assert.deepEqual(web, want, `step ${step} ${name}: HTTP`);
          checked++;
        }
      }
      assert.ok(checked > 20, `only ${checked} names checked`);
    } finally {
      await http.close();
      await dns.close();
    }
  });
}

/** A record set of `n` tasks' worth of names (4 names each). */
function bigRecords(n: number, round: number) {
  const b = new RecordSetBuilder("mesos");
  for (let t = 0; t < n; t++) {
    const ip = `10.${round & 255}.${(t >> 8) & 255}.${t & 255}`;
    b.add("A", `app${t % 500}.marathon.mesos.`, ip);
    b.add("A", `app${t % 500}-x${t}.marathon.mesos.`, ip);
    b.add("A", `app${t % 500}-x${t}.marathon.slave.mesos.`, ip);
    b.add(
      "SRV",
      `_app${t % 500}._tcp.marathon.mesos.`,
      `app${t % 500}-x${t}.marathon.mesos.:${31000 + (t % 1000)}`,
    );
  }
  return b.build(null);
}

/** A DNS server (portable UDP) over a holder that has published `bigRecords(40000, 1)`. */
async function serveBigZone() {
  const holder = new SnapshotHolder();
  const first = holder.publish(bigRecords(40000, 1));
  const dns = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ DNSUDPEngine: "portable" }),
    holder,
  });
  return { holder, first, dns };
}

Deno.test("a large first zone is built in slices: TCP goes on meanwhile, the domain is answered once it is whole", async () => {
  const { first, dns } = await serveBigZone();
  const served: Array<Snapshot | undefined> = [];
  const off = dns.onServed(() => served.push(dns.servedSnapshot()));
  const client = await TcpClient.connect(dns.port);
  try {
    // Outside the domain (no resolvers here): answered while the zone is built.
    const outside = buildQuery("example.org.", "A");
    const rcodes: string[] = [];
    const inDomain: string[] = [];
    while (dns.servedSnapshot() !== first) {
      await client.send(outside);
      const reply = await client.receive();
      assert.ok(reply);
      rcodes.push(String(decode(reply).rcode));
      if (dns.servedSnapshot() === first) break;
      const mine = (await queryTcp(dns.port, "app7-x7.marathon.mesos", "A")).msg;
      if (dns.servedSnapshot() === first) break;
      inDomain.push(`${mine.rcode} ${mine.answers?.length ?? 0}`);
    }
    // Built at once, the zone would be whole before any query is answered.
    assert.ok(rcodes.length >= 1, "no TCP query answered while the first zone was built");
    // Nothing of the domain is answered from a part of the zone: SERVFAIL until it is whole.
    for (const r of inDomain) assert.equal(r, "SERVFAIL 0", "a domain name asked before the zone was whole");
    assert.deepEqual(served, [first]);
    const whole = (await queryTcp(dns.port, "app7-x7.marathon.mesos", "A")).msg;
    assert.equal(String((whole.answers?.[0] as { data?: unknown } | undefined)?.data), "10.1.0.7");
  } finally {
    off();
    client.close();
    await dns.close();
  }
});

Deno.test("TCP keeps answering while a large zone is built again", async () => {
  const { holder, first, dns } = await serveBigZone();
  const client = await TcpClient.connect(dns.port);
  try {
    await waitFor(() => dns.servedSnapshot() === first, { timeoutMs: 20_000, message: "the first zone" });
    const query = buildQuery("app7-x7.marathon.mesos.", "A");
    const ask = async () => {
      const t0 = performance.now();
      await client.send(query);
      const reply = await client.receive();
      assert.ok(reply);
      return {
        ms: performance.now() - t0,
        data: String((decode(reply).answers?.[0] as { data?: unknown } | undefined)?.data),
      };
    };
    assert.equal((await ask()).data, "10.1.0.7");
    // What building the new zone in one piece costs on this machine now (the pause TCP
    // had before slicing).
    const next = bigRecords(40000, 2);
    const t1 = performance.now();
    buildZoneAnswers({ records: next, serial: 1, loadedAt: new Date() }, testConfig());
    const onePieceMs = performance.now() - t1;
    // A whole new state (no `changes`): built again in slices.
    const t0 = performance.now();
    const snap: Snapshot = holder.publish(next);
    const waits: number[] = [];
    while (dns.servedSnapshot() !== snap) {
      const r = await ask();
      if (dns.servedSnapshot() !== snap) {
        waits.push(r.ms);
        assert.equal(r.data, "10.1.0.7", "the previous zone answers until the new one is whole");
      }
    }
    const during = waits.length;
    const worst = Math.max(0, ...waits);
    const median = waits.sort((x, y) => x - y)[Math.floor(during / 2)] ?? 0;
    const buildMs = performance.now() - t0;
    assert.equal((await ask()).data, "10.2.0.7");
    // Slices are 10 ms of wall time (REBUILD_SLICE_MS); a query waits for the slice under way,
    // plus whatever else the process does (a garbage collection) or the time it is off the CPU
    // on a busy machine. Built in one piece, the zone would answer no query meanwhile, and a
    // query asked as it starts would wait the whole build. The bounds are relative to the
    // one-piece build measured just before, so that they hold on a loaded 2-core machine too:
    // the typical query (the median) waits under a third of it (at least 100 ms), and none
    // as long as all of it (a single pause of the machine can take the slowest past a third).
    const bound = Math.max(100, onePieceMs / 3);
    console.log(
      `one-piece build ${onePieceMs.toFixed(0)} ms; sliced build ${buildMs.toFixed(0)} ms, ` +
        `${during} TCP queries answered meanwhile, median ${median.toFixed(0)} ms, the slowest ${
          worst.toFixed(0)
        } ms`,
    );
    assert.ok(during >= 3, `only ${during} queries answered during a ${buildMs.toFixed(0)} ms build`);
    assert.ok(
      median < bound,
      `TCP queries waited ${median.toFixed(0)} ms (median; bound ${bound.toFixed(0)} ms)`,
    );
    assert.ok(
      worst < Math.max(100, onePieceMs),
      `a TCP query waited ${worst.toFixed(0)} ms, as long as the build in one piece (${
        onePieceMs.toFixed(0)
      } ms)`,
    );
  } finally {
    client.close();
    await dns.close();
  }
});

Deno.test("after a slow update, the changes published during its pause are applied together, none lost", async () => {
  const holder = new SnapshotHolder();
  const a: Record<string, string[]> = { "slave.mesos.": ["10.0.0.1"] };
  const set = () => {
    const b = new RecordSetBuilder("mesos");
    for (const [name, ips] of Object.entries(a)) for (const ip of ips) b.add("A", name, ip);
    return b.build(null);
  };
  holder.publish(set());
  const config = testConfig();
  // Every update counts as slow here (the threshold is 50 ms): each is followed by a pause as long as it took
  // (a timer even when it took under the clock's resolution).
  const responder = new Responder({ config, holder, forwarder: new Forwarder(config), updateAtOnceMs: -1 });
  const updates: number[] = [];
  responder.onZone((z) => updates.push(z.serial));
  try {
    const published: Snapshot[] = [];
    for (let k = 0; k < 6; k++) {
      a[`web-${k}.marathon.mesos.`] = [`10.1.0.${k}`];
      published.push(
        holder.publish(set(), new Date(), undefined, { names: new Set([`web-${k}.marathon.mesos.`]) }),
      );
    }
    // The first change is applied at once; the rest wait for its pause, then go in one update.
    assert.equal(responder.servedSnapshot, published[0]);
    assert.equal(updates.length, 1);
    await waitFor(() => responder.servedSnapshot === published[5], { timeoutMs: 5000 });
    assert.equal(updates.length, 2, `updates: ${updates.join(", ")}`);
    for (let k = 0; k < 6; k++) {
      const want = JSON.stringify([[`A web-${k}.marathon.mesos "10.1.0.${k}"`], []]);
      assert.equal(answerOf(responder.zone!, `web-${k}.marathon.mesos`, 1), want, `web-${k}`);
    }
  } finally {
    responder.close();
  }
});
