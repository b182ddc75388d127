/**
 * End to end: mesos-dns as a real process (flags and an original config.json), the Mesos
 * master simulator, real DNS clients (`dig`) and HTTP. Covers the walking skeleton's
 * promises: records from a live cluster, records kept when the master dies or returns
 * garbage, a killed task disappearing at the next refresh, NXDOMAIN with SOA, forwarding
 * and SERVFAIL, and the HTTP endpoints.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { dig, startMesosDns } from "./helpers/mesos_dns_process.ts";
import { startFakeUpstream } from "./helpers/fake_upstream.ts";
import { waitFor } from "./helpers/wait.ts";
import type { MesosState } from "../src/mesos/state_types.ts";

function agentIP(state: MesosState, agentId: string): string {
  const slave = state.slaves?.find((s) => s.id === agentId);
  const m = slave?.pid?.match(/@([\d.]+):\d+$/);
  assert.ok(m, `agent ${agentId} has an IPv4 pid`);
  return m[1];
}

function taskPorts(state: MesosState, id: string): number[] {
  for (const fw of state.frameworks ?? []) {
    for (const t of fw.tasks ?? []) {
      if (t.id !== id) continue;
      const text = t.resources?.ports ?? "";
      const ports: number[] = [];
      for (const [, lo, hi] of text.matchAll(/(\d+)-(\d+)/g)) {
        for (let p = Number(lo); p <= Number(hi); p++) ports.push(p);
      }
      return ports;
    }
  }
  throw new Error(`task ${id} not in state`);
}

async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)`, "m"));
  return m ? Number(m[1]) : NaN;
}

Deno.test("e2e: original config.json + flags, records follow the cluster and survive master failures", async (t) => {
  const sim = await startSimulator({
    generate: { frameworks: 2, agents: 3, tasks: 20, seed: 7 },
    masters: 1,
  });
  const upstream = startFakeUpstream({ mode: "answer", answers: 2 });
  const dir = await Deno.makeTempDir({ prefix: "mesos-dns-e2e-" });
  // A config.json as written for the Go Mesos-DNS (its sample's keys and spellings).
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify(
      {
        zk: "",
        masters: [sim.masters[0]],
        refreshSeconds: 60,
        ttl: 60,
        domain: "mesos",
        port: 53,
        resolvers: [`127.0.0.1:${upstream.port}`],
        timeout: 1,
        httpon: true,
        dnson: true,
        httpport: 8123,
        externalon: true,
        listener: "127.0.0.1",
        SOAMname: "ns1.mesos",
        SOARname: "root.ns1.mesos",
        SOARefresh: 60,
        SOARetry: 600,
        SOAExpire: 86400,
        SOAMinttl: 60,
        IPSources: ["netinfo", "mesos", "host"],
      },
      null,
      2,
    ),
  );
  const launched = sim.launchTask({ name: "e2e-web", network: "host", ports: 2 });
  const state0 = sim.state();
  const fw = state0.frameworks!.find((f) => f.tasks?.some((x) => x.id === launched))!;
  const task = fw.tasks!.find((x) => x.id === launched)!;
  const ip = agentIP(state0, task.slave_id!);
  const ports = taskPorts(state0, launched);
  const fwName = fw.name!.toLowerCase();

  // Flags override the file: free ports, a 1 s refresh, polling (as the original; the
  // event stream has its own tests in event_stream_test.ts).
  const proc = await startMesosDns(
    [
      `-config=${dir}/config.json`,
      "--port=0",
      "--httpport=0",
      "--httplistener=127.0.0.1",
      "--refreshSeconds=1",
      "--state-source=poll",
    ],
  );
  try {
    await proc.waitReady();
    const cfg = await proc.getJson("/v1/config") as Record<string, unknown>;
    assert.equal(cfg.RefreshSeconds, 1, "flag beats file");
    assert.equal(cfg.TTL, 60, "file value kept");
    assert.equal(cfg.File, `${dir}/config.json`);

    await t.step("leader, task A and SRV over dig", async () => {
      assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
      assert.equal((await dig(proc.dnsPort, "+short", `e2e-web.${fwName}.mesos`)).trim(), ip);
      const srv = (await dig(proc.dnsPort, "+short", "SRV", `_e2e-web._tcp.${fwName}.mesos`)).trim().split(
        "\n",
      );
      assert.deepEqual(srv.map((l) => Number(l.split(" ")[2])).sort(), [...ports].sort());
      for (const line of srv) {
        assert.match(
          line,
          new RegExp(`^0 1 \\d+ e2e-web-[a-z0-9]{5}-[a-z0-9]+\\.${fwName}\\.slave\\.mesos\\.$`),
        );
      }
      const tcp = await dig(proc.dnsPort, "+tcp", "+short", "leader.mesos");
      assert.equal(tcp.trim(), "127.0.0.1");
    });

    await t.step("NXDOMAIN carries the zone SOA", async () => {
      const out = await dig(proc.dnsPort, "no-such-task.mesos");
      assert.match(out, /status: NXDOMAIN/);
      assert.match(out, /flags: qr aa/);
      assert.match(
        out,
        /AUTHORITY SECTION:\nmesos\.\s+60\s+IN\s+SOA\s+ns1\.mesos\. root\.ns1\.mesos\. \d+ 60 600 86400 60/,
      );
    });

    await t.step("the UDP fast path counts what it received in /metrics", async () => {
      // `-A` grants --allow-ffi, so `auto` runs the fast path on Linux.
      if (Deno.build.os !== "linux") return;
      const datagrams = await metric(proc.httpPort, "mesos_dns_udp_fast_path_datagrams_total");
      assert.ok(datagrams >= 4, `the dig queries above came through the fast path (${datagrams})`);
      assert.equal(await metric(proc.httpPort, "mesos_dns_udp_fast_path_dropped_total"), 0);
    });

    await t.step("HTTP endpoints", async () => {
      const version = await proc.getJson("/v1/version") as Record<string, string>;
      assert.equal(version.Service, "Mesos-DNS");
      const hosts = await proc.getJson(`/v1/hosts/e2e-web.${fwName}.mesos`) as Array<Record<string, string>>;
      assert.deepEqual(hosts, [{ host: `e2e-web.${fwName}.mesos.`, ip }]);
      const svc = await proc.getJson(`/v1/services/_e2e-web._tcp.${fwName}.mesos.`) as Array<
        Record<string, string>
      >;
      assert.deepEqual(svc.map((s) => Number(s.port)).sort(), [...ports].sort());
      assert.ok(svc.every((s) => s.ip === ip));
      const axfr = await proc.getJson("/v1/axfr") as { Records: { As: Record<string, string[]> } };
      assert.deepEqual(axfr.Records.As["leader.mesos."], ["127.0.0.1"]);
      const en = await proc.getJson("/v1/enumerate") as {
        frameworks: Array<{ name: string; tasks: Array<{ id: string }> }>;
      };
      assert.ok(en.frameworks.some((f) => f.tasks.some((x) => x.id === launched)));
    });

    await t.step("forwarding to the upstream, SERVFAIL when it is silent", async () => {
      const out = await dig(proc.dnsPort, "+short", "example.org");
      assert.deepEqual(out.trim().split("\n").sort(), ["192.0.2.1", "192.0.2.2"]);
      upstream.mode = "silent";
      const fail = await dig(proc.dnsPort, "+time=4", "example.net");
      assert.match(fail, /status: SERVFAIL/);
      // example.org is in the forward cache (TTL 30): answered while the upstream is silent.
      const cached = await dig(proc.dnsPort, "EXAMPLE.org");
      assert.match(cached, /status: NOERROR/);
      assert.match(cached, /QUESTION SECTION:\n;EXAMPLE\.org\.\s+IN\s+A\n/, "the question as asked");
      assert.match(cached, /example\.org\.\s+(30|29|28)\s+IN\s+A\s+192\.0\.2\.[12]/, "TTL counting down");
      assert.equal(upstream.seen.filter((q) => q.name.toLowerCase() === "example.org").length, 1);
      assert.ok(await metric(proc.httpPort, "mesos_dns_forward_cache_hits_total") >= 1);
      assert.ok(await metric(proc.httpPort, "mesos_dns_forward_cache_misses_total") >= 2);
      assert.equal(await metric(proc.httpPort, "mesos_dns_forward_cache_entries"), 1);
      upstream.mode = "answer";
    });

    await t.step("a killed task disappears after the next refresh", async () => {
      assert.ok(sim.killTask(launched));
      await waitFor(
        async () => (await dig(proc.dnsPort, `e2e-web.${fwName}.mesos`)).includes("status: NXDOMAIN"),
        {
          timeoutMs: 5000,
          message: "killed task still resolves",
        },
      );
    });

    await t.step("the master returns garbage: the last records stay", async () => {
      const before = await metric(proc.httpPort, "mesos_dns_state_reload_failures_total");
      sim.setFault(0, "garbage");
      await waitFor(
        async () => (await metric(proc.httpPort, "mesos_dns_state_reload_failures_total")) > before,
        {
          timeoutMs: 5000,
        },
      );
      assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
      sim.setFault(0, null);
    });

    await t.step("the master goes down: the last records stay, and come back with it", async () => {
      await sim.stopMaster(0);
      const before = await metric(proc.httpPort, "mesos_dns_state_reload_failures_total");
      await waitFor(
        async () => (await metric(proc.httpPort, "mesos_dns_state_reload_failures_total")) > before,
        {
          timeoutMs: 5000,
        },
      );
      assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
      assert.match(proc.output(), /keeping previous records/);
      const relaunched = sim.launchTask({ name: "e2e-back", network: "host" });
      assert.ok(relaunched);
      await sim.startMaster(0);
      const fwBack = sim.state().frameworks!.find((f) => f.tasks?.some((x) => x.id === relaunched))!;
      await waitFor(
        async () =>
          (await dig(proc.dnsPort, "+short", `e2e-back.${fwBack.name!.toLowerCase()}.mesos`)).trim() !== "",
        { timeoutMs: 5000, message: "records did not recover after the master came back" },
      );
    });
  } finally {
    const code = await proc.stop();
    await sim.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, "SIGTERM exits 0");
  }
});

Deno.test("e2e: SERVFAIL for in-domain names until the first state loads", async () => {
  const sim = await startSimulator({ generate: { frameworks: 1, agents: 1, tasks: 2, seed: 1 } });
  await sim.stopMaster(0);
  const proc = await startMesosDns([
    `--masters=${sim.masters[0]}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httplistener=127.0.0.1",
    "--httpport=0",
    "--refreshSeconds=1",
    "--externalon=false",
  ]);
  try {
    assert.match(await dig(proc.dnsPort, "leader.mesos"), /status: SERVFAIL/);
    assert.match(await dig(proc.dnsPort, "example.org"), /status: REFUSED/);
    const res = await fetch(`http://127.0.0.1:${proc.httpPort}/ready`);
    await res.body?.cancel();
    assert.equal(res.status, 503);
    await sim.startMaster(0);
    await proc.waitReady(5000);
    assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
  } finally {
    await proc.stop();
    await sim.close();
  }
});

Deno.test("e2e: a large cluster is ready (/ready) only once DNS answers its names", async () => {
  // Enough names that the first zone is built in slices after the state is published.
  const sim = await startSimulator({ generate: { frameworks: 2, agents: 1000, tasks: 30000, seed: 2 } });
  const proc = await startMesosDns([
    `--masters=${sim.masters[0]}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httplistener=127.0.0.1",
    "--httpport=0",
    "--externalon=false",
  ]);
  try {
    await proc.waitReady(60_000);
    // Asked at once: a ready server answers the domain (SERVFAIL only before the first zone).
    assert.match(await dig(proc.dnsPort, "leader.mesos"), /status: NOERROR/);
    assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
  } finally {
    await proc.stop();
    await sim.close();
  }
});
