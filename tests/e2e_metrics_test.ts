/**
 * `/metrics` and `/ready` as an operator sees them: mesos-dns as a real process on each
 * UDP engine with the Mesos master simulator and a fake upstream; real `dig` traffic over
 * UDP and TCP (zone answers by type and rcode, NXDOMAIN, forwarded names, REFUSED for a
 * client outside `ForwardAllow`), then a scrape whose counters must have moved by exactly
 * that traffic; and `/ready` turning 503 when the master stops answering for longer than
 * `ReadyMaxAgeSeconds` and 200 again when it answers, while `/health` stays 200.
 */
import assert from "node:assert/strict";
import { procMemory } from "./helpers/proc_memory.ts";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { dig, startMesosDns, startTaskFlags } from "./helpers/mesos_dns_process.ts";
import { startFakeUpstream } from "./helpers/fake_upstream.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";
import { waitFor } from "./helpers/wait.ts";

/** A scrape: `name{labels}` → value, plus the raw text. */
interface Scrape {
  text: string;
  value(series: string): number;
}

async function scrape(httpPort: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4");
  const text = await res.text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, value: (s) => values.get(s) ?? 0 };
}

async function status(httpPort: number, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
  await res.body?.cancel();
  return res.status;
}

for (const engine of UDP_ENGINES) {
  engineTest(engine)(
    "e2e: /metrics counts real dig traffic; /ready follows the age of the records",
    async (t) => {
      const sim = await startSimulator({
        generate: { frameworks: 1, agents: 2, tasks: 4, seed: 3 },
        masters: 1,
      });
      const upstream = startFakeUpstream({ mode: "answer" });
      const proc = await startMesosDns(
        [
          `--masters=${sim.masters[0]}`,
          "--port=0",
          "--http-port=0",
          "--listener=127.0.0.1",
          "--http-listener=127.0.0.1",
          "--refresh-seconds=1",
          "--ready-max-age-seconds=2",
          // /master/state faults make the records stale here (the event stream has its own tests).
          "--state-source=poll",
          `--resolvers=127.0.0.1:${upstream.port}`,
          "--timeout=1",
          `--dns-udp-engine=${engine}`,
          "--forward-allow=127.0.0.1",
        ],
        undefined,
        // What the `start` task grants, not -A: the figures an operator sees.
        startTaskFlags(),
      );
      try {
        await proc.waitReady();
        const before = await scrape(proc.httpPort);
        // The process's own figures, as the kernel and the clock give them.
        const rss = procMemory(proc.pid).rss;
        const scraped = before.value("process_resident_memory_bytes");
        assert.ok(scraped > rss / 2 && scraped < rss * 2, `RSS ${scraped} scraped, ${rss} in /proc`);
        assert.ok(before.value("process_cpu_seconds_total") > 0);
        const age = Date.now() / 1000 - before.value("process_start_time_seconds");
        assert.ok(age > 0 && age < 600, `started ${age} s ago`);
        assert.ok(before.value("mesos_dns_heap_used_bytes") > 1e6);
        const limit = /^Max open files\s+(\S+)/m.exec(Deno.readTextFileSync(`/proc/${proc.pid}/limits`))![1];
        assert.equal(before.value("process_max_fds"), limit === "unlimited" ? Infinity : Number(limit));
        // Descriptors: about what /proc lists (connections come and go), and 20 more with 20 TCP
        // connections held open to the DNS port.
        const listed = () => [...Deno.readDirSync(`/proc/${proc.pid}/fd`)].length;
        const fds = before.value("process_open_fds");
        assert.ok(Math.abs(fds - listed()) <= 8, `${fds} open descriptors scraped, ${listed()} listed`);
        const held = await Promise.all(
          Array.from({ length: 20 }, () => Deno.connect({ hostname: "127.0.0.1", port: proc.dnsPort })),
        );
        try {
          await waitFor(async () => (await scrape(proc.httpPort)).value("process_open_fds") >= fds + 20, {
            timeoutMs: 5000,
            message: "20 held TCP connections did not show in process_open_fds",
          });
        } finally {
          for (const c of held) c.close();
        }
        for (
          const name of [
            "mesos_dns_queries_total",
            "mesos_dns_responses_total",
            "mesos_dns_request_duration_seconds",
            "mesos_dns_forward_requests_total",
            "mesos_dns_records",
            "mesos_dns_state_age_seconds",
            "mesos_dns_state_reloads_total",
          ]
        ) {
          assert.match(before.text, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} `, "m"), name);
        }
        assert.ok(before.value('mesos_dns_records{type="A"}') > 0, "A records counted");
        assert.equal(before.value("mesos_dns_ready"), 1);

        await t.step("queries by type and rcode, sources, forwarding and latency", async () => {
          const p = proc.dnsPort;
          for (let i = 0; i < 10; i++) {
            assert.equal((await dig(p, "+short", "leader.mesos")).trim(), "127.0.0.1");
          }
          for (let i = 0; i < 4; i++) {
            assert.match(await dig(p, "SRV", "_leader._tcp.mesos"), /status: NOERROR/);
          }
          for (let i = 0; i < 3; i++) {
            assert.match(await dig(p, "nope.mesos"), /status: NXDOMAIN/);
          }
          for (let i = 0; i < 2; i++) assert.match(await dig(p, "+tcp", "leader.mesos"), /status: NOERROR/);
          // Two outside names (the second query of a name may come from the forward cache).
          for (const name of ["example.org", "example.net"]) {
            assert.match(await dig(p, "+short", name), /192\.0\.2\.1/);
          }
          // Outside ForwardAllow: REFUSED, even for a name in the forward cache now.
          assert.match(await dig(p, "-b", "127.0.0.2", "example.org"), /status: REFUSED/);
          assert.match(await dig(p, "-b", "127.0.0.2", "+tcp", "example.org"), /status: REFUSED/);
          assert.match(await dig(p, "-b", "127.0.0.2", "+short", "leader.mesos"), /127\.0\.0\.1/);

          const delta = (m: Scrape, s: string) => m.value(s) - before.value(s);
          const q = (proto: string, qtype: string, rcode: string) =>
            `mesos_dns_queries_total{proto="${proto}",qtype="${qtype}",rcode="${rcode}"}`;
          // The fast path counts just after it sent a reply: wait for the last ones.
          let m = before;
          await waitFor(async () => {
            m = await scrape(proc.httpPort);
            return delta(m, 'mesos_dns_request_duration_seconds_count{proto="udp"}') >= 20;
          }, { timeoutMs: 5000, message: "UDP latency count did not reach 20" });
          assert.ok(delta(m, "process_cpu_seconds_total") > 0, "CPU time grows as queries are answered");
          assert.equal(delta(m, q("udp", "A", "NOERROR")), 10 + 2 + 1);
          assert.equal(delta(m, q("udp", "SRV", "NOERROR")), 4);
          assert.equal(delta(m, q("udp", "A", "NXDOMAIN")), 3);
          assert.equal(delta(m, q("udp", "A", "REFUSED")), 1);
          assert.equal(delta(m, q("tcp", "A", "NOERROR")), 2);
          assert.equal(delta(m, q("tcp", "A", "REFUSED")), 1);
          assert.equal(delta(m, 'mesos_dns_responses_total{source="zone"}'), 10 + 4 + 3 + 2 + 1);
          assert.equal(delta(m, 'mesos_dns_responses_total{source="forward"}'), 2);
          assert.equal(delta(m, 'mesos_dns_responses_total{source="refused"}'), 2);
          assert.equal(
            delta(m, `mesos_dns_forward_requests_total{upstream="127.0.0.1:${upstream.port}"}`),
            2,
          );
          assert.equal(
            delta(m, `mesos_dns_forward_failures_total{upstream="127.0.0.1:${upstream.port}"}`),
            0,
          );
          assert.equal(delta(m, 'mesos_dns_request_duration_seconds_count{proto="udp"}'), 21);
          assert.equal(delta(m, 'mesos_dns_request_duration_seconds_count{proto="tcp"}'), 3);
          assert.equal(
            m.value('mesos_dns_request_duration_seconds_bucket{proto="udp",le="+Inf"}'),
            m.value('mesos_dns_request_duration_seconds_count{proto="udp"}'),
          );
          assert.ok(m.value('mesos_dns_request_duration_seconds_sum{proto="udp"}') > 0);
          if (engine === "ffi") assert.ok(delta(m, "mesos_dns_udp_fast_path_datagrams_total") >= 21);
        });

        await t.step("/ready turns 503 when the master stops answering, 200 when it is back", async () => {
          sim.setFault(0, "http500");
          await waitFor(async () => await status(proc.httpPort, "/ready") === 503, {
            timeoutMs: 8000,
            message: "/ready stayed 200 with stale records",
          });
          assert.equal(await status(proc.httpPort, "/health"), 200);
          const m = await scrape(proc.httpPort);
          assert.equal(m.value("mesos_dns_ready"), 0);
          assert.ok(m.value("mesos_dns_state_age_seconds") > 2, "age above the bound");
          assert.ok(m.value('mesos_dns_state_reload_failures_by_cause_total{cause="http-status"}') > 0);
          // The records are still served while not ready.
          assert.equal((await dig(proc.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
          sim.setFault(0, null);
          await proc.waitReady(8000);
          assert.ok((await scrape(proc.httpPort)).value("mesos_dns_state_age_seconds") <= 2);
        });
      } finally {
        await proc.stop();
        await upstream.close();
        await sim.close();
      }
    },
  );
}

Deno.test("e2e: /ready is 503 until the first state loads; ReadyMaxAgeSeconds=0 never goes stale", async () => {
  const sim = await startSimulator({ generate: { frameworks: 1, agents: 1, tasks: 1, seed: 5 }, masters: 1 });
  sim.setFault(0, "http500");
  const proc = await startMesosDns([
    `--masters=${sim.masters[0]}`,
    "--port=0",
    "--http-port=0",
    "--listener=127.0.0.1",
    "--http-listener=127.0.0.1",
    "--refresh-seconds=1",
    "--ready-max-age-seconds=0",
    "--state-source=poll",
    "--dns-udp-engine=portable",
  ]);
  try {
    await waitFor(() => /failed/.test(proc.output()), {
      timeoutMs: 8000,
      message: "no failed reload logged",
    });
    assert.equal(await status(proc.httpPort, "/ready"), 503);
    assert.equal(await status(proc.httpPort, "/health"), 200);
    sim.setFault(0, null);
    await proc.waitReady(8000);
    sim.setFault(0, "http500");
    // Three refreshes fail; with 0 the records never count as stale.
    await waitFor(
      async () => (await scrape(proc.httpPort)).value("mesos_dns_state_consecutive_failures") >= 3,
      {
        timeoutMs: 8000,
        message: "reloads did not fail",
      },
    );
    assert.equal(await status(proc.httpPort, "/ready"), 200);
  } finally {
    await proc.stop();
    await sim.close();
  }
});
