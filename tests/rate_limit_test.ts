/**
 * Response rate limiting (src/dns/rate_limit.ts): the per-prefix decision (limit, slip,
 * windows, /24 and /56 grouping, IPv4-mapped clients), the slipped reply, and on both UDP
 * engines a burst from one client beyond `RateLimit`: the first responses answered, then
 * every `RateLimitSlip`-th truncated and the rest dropped, counted in the metrics; below
 * the limit nothing is touched, and TCP is never limited.
 */
import assert from "node:assert/strict";
import { ResponseRateLimit, RRL_DROP, RRL_PASS, RRL_SLIP, slipReply } from "../src/dns/rate_limit.ts";
import { sockaddrFor } from "../src/dns/libc.ts";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode, header, queryTcp } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";
import { waitFor } from "./helpers/wait.ts";

const sa = (ip: string) => sockaddrFor(ip, 5353)!;

Deno.test("rate limit: limit per second, slip, new window, prefixes", () => {
  const rrl = new ResponseRateLimit({ perSecond: 3, slip: 2 });
  const a = sa("192.0.2.7");
  const verdicts = Array.from({ length: 9 }, () => rrl.check(a, 0, 100));
  assert.deepEqual(verdicts, [
    RRL_PASS,
    RRL_PASS,
    RRL_PASS,
    RRL_DROP,
    RRL_SLIP,
    RRL_DROP,
    RRL_SLIP,
    RRL_DROP,
    RRL_SLIP,
  ]);
  // Same /24: limited too; another /24: its own budget.
  assert.equal(rrl.check(sa("192.0.2.200"), 0, 100), RRL_DROP);
  assert.equal(rrl.check(sa("192.0.3.7"), 0, 100), RRL_PASS);
  // The IPv4-mapped form of a limited client is the same client.
  assert.notEqual(rrl.check(sa("::ffff:192.0.2.9"), 0, 100), RRL_PASS);
  // The next second: a fresh budget.
  assert.equal(rrl.check(a, 0, 101), RRL_PASS);
  // IPv6 by /56: 2001:db8:0:ff::1 and 2001:db8:0:12::1 share it (first 7 bytes), 2001:db8:0:100::1 does not.
  const six = new ResponseRateLimit({ perSecond: 1, slip: 0 });
  assert.equal(six.check(sa("2001:db8:0:ff::1"), 0, 5), RRL_PASS);
  assert.equal(six.check(sa("2001:db8:0:12::1"), 0, 5), RRL_DROP);
  assert.equal(six.check(sa("2001:db8:0:100::1"), 0, 5), RRL_PASS);
  // slip 1: every limited response is truncated; the address may sit inside a larger buffer.
  const all = new ResponseRateLimit({ perSecond: 1, slip: 1 });
  const buf = new Uint8Array(64);
  buf.set(a, 20);
  assert.equal(all.check(buf, 20, 7), RRL_PASS);
  assert.equal(all.check(buf, 20, 7), RRL_SLIP);
  assert.equal(all.check(buf, 20, 7), RRL_SLIP);
});

Deno.test("rate limit: a slipped reply keeps the question, sets TC, drops the records", () => {
  const req = buildQuery("web.marathon.mesos", "A", { id: 77 });
  const out = new Uint8Array(512);
  out.set(req);
  out[2] |= 0x80;
  out[7] = 3; // pretend ANCOUNT = 3 with records after the question
  const len = slipReply(out, req.length + 40);
  assert.equal(len, req.length);
  const h = header(out.subarray(0, len));
  assert.equal(h.id, 77);
  assert.ok(h.tc);
  assert.deepEqual([h.qdcount, h.ancount, h.nscount, h.arcount], [1, 0, 0, 0]);
  assert.equal(decode(out.subarray(0, len)).questions![0].name, "web.marathon.mesos");
});

/** Responses a server has sent or dropped, by its counters. */
function handled(dns: DnsServer): number {
  return dns.counters.queries().reduce((sum, q) => sum + q.value, 0) + dns.counters.rateLimited().dropped;
}

/**
 * Sends `n` queries from one socket at once, waits until the server has dealt with all of
 * them (its counters), and sorts the replies: full answers and truncated ones.
 */
async function burst(dns: DnsServer, n: number): Promise<{ full: number; truncated: number }> {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const before = handled(dns);
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: dns.port };
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) => sock.send(buildQuery("web.marathon.mesos", "A", { id: i + 1 }), to),
      ),
    );
    // Long: under `deno test` a new UDP worker type-checks its module first (seconds on a loaded machine).
    await waitFor(() => handled(dns) >= before + n, {
      timeoutMs: 30_000,
      message: "the server did not answer",
    });
    let full = 0;
    let truncated = 0;
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 300));
      const got = await Promise.race([sock.receive().then(([d]) => d), quiet]);
      clearTimeout(timer);
      if (!got) break;
      const h = header(got);
      if (h.tc) {
        assert.equal(h.ancount, 0);
        truncated++;
      } else {
        assert.equal(h.ancount, 4);
        full++;
      }
    }
    return { full, truncated };
  } finally {
    sock.close();
  }
}

for (const engine of UDP_ENGINES) {
  engineTest(engine)(
    "rate limit: a burst beyond RateLimit is cut; below it and over TCP nothing is",
    async () => {
      const holder = new SnapshotHolder();
      holder.publish(sampleRecords());
      const dns = await startDnsServer({
        hostname: "127.0.0.1",
        port: 0,
        config: testConfig({ DNSUDPEngine: engine, RateLimit: 10, RateLimitSlip: 2 }),
        holder,
      });
      try {
        const sent = 60;
        const { full, truncated } = await burst(dns, sent);
        // 10 per second; a burst that straddles seconds (a loaded machine) gets a budget in each.
        assert.ok(full >= 10 && full <= 30, `full answers: ${full}`);
        assert.ok(truncated >= 10 && full + truncated < sent, `truncated: ${truncated}, full: ${full}`);
        await waitFor(() => {
          const r = dns.counters.rateLimited();
          return r.slipped === truncated && r.dropped === sent - full - truncated;
        }, {
          timeoutMs: 3000,
          message: `rate-limit counters: ${JSON.stringify(dns.counters.rateLimited())}`,
        });
        // TCP is not limited (a TCP client cannot spoof its address).
        for (let i = 0; i < 15; i++) {
          const r = await queryTcp(dns.port, "web.marathon.mesos", "A");
          assert.equal(r.msg.answers!.length, 4);
        }
        // A new second, below the limit: every query answered in full.
        await new Promise((r) => setTimeout(r, 1100));
        const below = await burst(dns, 8);
        assert.deepEqual(below, { full: 8, truncated: 0 });
      } finally {
        await dns.close();
      }
    },
  );
}

engineTest("portable")("rate limit off (the default): a burst is answered in full", async () => {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const dns = await startDnsServer({ hostname: "127.0.0.1", port: 0, config: testConfig(), holder });
  try {
    assert.deepEqual(await burst(dns, 40), { full: 40, truncated: 0 });
    assert.deepEqual(dns.counters.rateLimited(), { dropped: 0, slipped: 0 });
  } finally {
    await dns.close();
  }
});
