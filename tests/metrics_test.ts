/**
 * The metrics registry (src/metrics/registry.ts) and the shared query counters
 * (src/metrics/dns_counters.ts): the text exposition format (HELP, TYPE, labels and their
 * escaping, cumulative histogram buckets, a failing family left out), and counter regions
 * written by separate writers (as the main thread and a worker do) summed on scrape.
 */
import assert from "node:assert/strict";
import { histogramSamples, MetricsRegistry } from "../src/metrics/registry.ts";
import { addStreamMetrics } from "../src/metrics/service.ts";
import {
  DnsCounterRegion,
  DnsCounterSlots,
  LATENCY_BOUNDS,
  latencyBucket,
  PROTO_TCP,
  PROTO_UDP,
  SOURCE_FORWARD,
  SOURCE_ZONE,
} from "../src/metrics/dns_counters.ts";
import { Forwarder } from "../src/dns/forwarder.ts";
import { sockaddrFor } from "../src/dns/libc.ts";
import { Responder } from "../src/dns/respond.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { startFakeUpstream } from "./helpers/fake_upstream.ts";
import { testConfig } from "./helpers/test_config.ts";

Deno.test("registry: text format 0.0.4 with HELP, TYPE, labels and histograms", () => {
  const reg = new MetricsRegistry();
  let n = 3;
  reg.counter("x_total", "Things\nthat happened.", () => n);
  reg.add({
    name: "y",
    help: "Labelled.",
    type: "gauge",
    samples: () => [{ labels: { path: 'a"b\\c' }, value: 1.5 }, { labels: { path: "d" }, value: -0 }],
  });
  reg.add({
    name: "z_seconds",
    help: "A histogram.",
    type: "histogram",
    samples: () =>
      histogramSamples({ bounds: [0.1, 1], counts: [2, 1, 4], sum: 9.25, labels: { proto: "udp" } }),
  });
  reg.add({
    name: "broken",
    help: "Throws.",
    type: "gauge",
    samples: () => {
      throw new Error("source gone");
    },
  });
  n = 4;
  assert.equal(
    reg.render(),
    [
      "# HELP x_total Things\\nthat happened.",
      "# TYPE x_total counter",
      "x_total 4",
      "# HELP y Labelled.",
      "# TYPE y gauge",
      'y{path="a\\"b\\\\c"} 1.5',
      'y{path="d"} 0',
      "# HELP z_seconds A histogram.",
      "# TYPE z_seconds histogram",
      'z_seconds_bucket{proto="udp",le="0.1"} 2',
      'z_seconds_bucket{proto="udp",le="1"} 3',
      'z_seconds_bucket{proto="udp",le="+Inf"} 7',
      'z_seconds_sum{proto="udp"} 9.25',
      'z_seconds_count{proto="udp"} 7',
      "# broken: not available (source gone)",
      "",
    ].join("\n"),
  );
  assert.throws(() => reg.counter("x_total", "again", () => 0), /registered twice/);
  assert.throws(() => reg.counter("bad-name", "no", () => 0), /invalid metric name/);
});

Deno.test("dns counters: each writer has its own region; scrape sums them", () => {
  const slots = new DnsCounterSlots(3);
  const main = slots.region(0);
  // A second writer built from the shared buffer, as the UDP worker builds its own.
  const worker = new DnsCounterRegion(slots.buffer, 2);
  assert.throws(() => slots.region(3), RangeError);
  for (let i = 0; i < 5; i++) worker.query(PROTO_UDP, 1, 0);
  main.query(PROTO_UDP, 1, 0);
  main.query(PROTO_TCP, 33, 3);
  main.query(PROTO_UDP, 99, 5); // an unlisted type counts as "other"
  main.query(PROTO_UDP, 300, 2);
  worker.source(SOURCE_ZONE, 5);
  main.source(SOURCE_FORWARD);
  worker.latency(PROTO_UDP, 300, 5);
  main.latency(PROTO_TCP, 7_000_000);
  worker.rateLimitDropped();
  main.rateLimitSlipped();
  assert.deepEqual(slots.queries(), [
    { proto: "udp", qtype: "A", rcode: "NOERROR", value: 6 },
    { proto: "udp", qtype: "other", rcode: "SERVFAIL", value: 1 },
    { proto: "udp", qtype: "other", rcode: "REFUSED", value: 1 },
    { proto: "tcp", qtype: "SRV", rcode: "NXDOMAIN", value: 1 },
  ]);
  assert.deepEqual(slots.sources(), [
    { source: "zone", value: 5 },
    { source: "forward", value: 1 },
    { source: "refused", value: 0 },
    { source: "error", value: 0 },
  ]);
  const udp = slots.latency(PROTO_UDP);
  assert.equal(udp.counts[latencyBucket(300)], 5);
  assert.equal(LATENCY_BOUNDS[latencyBucket(300)], 0.0005);
  assert.ok(Math.abs(udp.sum - 0.0015) < 1e-12);
  const tcp = slots.latency(PROTO_TCP);
  assert.equal(tcp.counts[LATENCY_BOUNDS.length], 1, "beyond the last bound: +Inf");
  assert.deepEqual(slots.rateLimited(), { dropped: 1, slipped: 1 });
});

Deno.test("counting, ForwardAllow and RateLimit add no allocation to the plain path", async () => {
  const upstream = startFakeUpstream({ mode: "answer" });
  const config = testConfig({
    Resolvers: [`127.0.0.1:${upstream.port}`],
    ForwardAllow: ["127.0.0.0/8"],
    RateLimit: 1_000_000_000,
  });
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const forwarder = new Forwarder(config);
  const slots = new DnsCounterSlots(1);
  const r = new Responder({ config, holder, forwarder, counters: slots.region(0) });
  const client = sockaddrFor("127.0.0.1", 5353)!;
  try {
    const out = new Uint8Array(65535);
    // Other paths first (forwarded, refused, errors), as a running server sees them.
    for (let i = 0; i < 200; i++) {
      const q =
        [buildQuery(`x${i}.example.org.`, "A"), buildQuery("x.mesos.", "TXT"), new Uint8Array(5)][i % 3];
      const reply = r.respondInto(q, i & 1 ? "tcp" : "udp", out, q.length, client);
      if (typeof reply !== "number") await reply;
    }
    const reqs = [
      "chronos.marathon.mesos.",
      "web.marathon.mesos.",
      "nope.mesos.",
      "_web._tcp.marathon.mesos.",
    ]
      .map((n, i) => buildQuery(n, i === 3 ? "SRV" : "A", { edns: 1232 }));
    const run = (n: number) => {
      for (let i = 0; i < n; i++) r.respondInto(reqs[i & 3], "udp", out, reqs[i & 3].length, client);
    };
    run(200_000); // optimised code first
    const used: number[] = [];
    for (let k = 0; k < 10; k++) {
      run(50_000);
      used.push(Deno.memoryUsage().heapUsed);
    }
    // 50,000 answers × even 8 bytes each would make the heap climb by 400 KB between every
    // two samples; a fall is a collection (of the warm-up's garbage too), so only climbs
    // count. One climb may be V8 installing optimised code (seen: ~200 KB once, then flat).
    const steps = used.slice(3).map((u, i) => u - used[i + 2]);
    assert.ok(
      steps.filter((d) => d >= 128 * 1024).length <= 1,
      `the used heap moved by ${steps.join(", ")} bytes`,
    );
    const counted = slots.queries().reduce((s, q) => s + q.value, 0);
    assert.ok(counted >= 700_000, `counted ${counted}`);
  } finally {
    r.close();
    await forwarder.close();
    await upstream.close();
  }
});

Deno.test("the stream hook: reconnects once the stream reports them", () => {
  const reg = new MetricsRegistry();
  const stream: { stats?: { reconnects: number } } = {};
  addStreamMetrics(reg, () => stream.stats);
  assert.doesNotMatch(reg.render(), /^mesos_dns_stream_reconnects_total /m);
  stream.stats = { reconnects: 3 };
  assert.match(
    reg.render(),
    /^# TYPE mesos_dns_stream_reconnects_total counter\nmesos_dns_stream_reconnects_total 3$/m,
  );
});
