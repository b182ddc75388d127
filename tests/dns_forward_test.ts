/**
 * Forwarding names outside the domain (SPEC §7.6): relay with the client's ID over the
 * client's transport, TCP retry of a truncated UDP reply, fail-over and SERVFAIL on
 * silence, REFUSED when forwarding is off, `ZoneResolvers` by longest suffix; upstream
 * replies accepted only for the ID, source address and question sent (RFC 5452), a
 * random ID per upstream query, and the shared upstream sockets replaced after their
 * number of queries. Each server test runs once per UDP engine.
 */
import assert from "node:assert/strict";
import { Forwarder } from "../src/dns/forwarder.ts";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import type { Config } from "../src/config/types.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode, queryTcp, queryUdp } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { type FakeUpstream, withUpstreams } from "./helpers/fake_upstream.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES, type UdpEngineName } from "./helpers/udp_engines.ts";

async function withServerOn(
  engine: UdpEngineName,
  config: Partial<Config>,
  fn: (s: DnsServer) => Promise<void>,
): Promise<void> {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    // These tests are about the main thread's forwarding: no cache in front of it, and the
    // UDP workers hand every outside name over (their own forwarding: dns_worker_forward_test.ts).
    config: testConfig({ DNSUDPEngine: engine, ForwardCacheSize: 0, ...config }),
    forwardInWorker: false,
    holder,
  });
  try {
    assert.equal(server.udpEngine, engine);
    await fn(server);
  } finally {
    await server.close();
  }
}

const addr = (u: FakeUpstream) => `127.0.0.1:${u.port}`;
// deno-lint-ignore no-explicit-any
const ips = (m: { answers?: any[] }) => (m.answers ?? []).map((a) => a.data);

Deno.test("Forwarder bounds the queries in flight", async () => {
  await withUpstreams([{ mode: "silent" }], async ([silent]) => {
    const fwd = new Forwarder(testConfig({ Resolvers: [addr(silent)], Timeout: 5 }), { maxInFlight: 1 });
    const ups = fwd.upstreamsFor("x.example.org")!;
    const q = buildQuery("x.example.org.", "A");
    const first = fwd.forward(q, "udp", ups, 512);
    assert.equal(fwd.inFlight, 1);
    assert.equal(await fwd.forward(q, "udp", ups, 512), undefined, "over the bound: no upstream");
    assert.ok(fwd.saturated);
    await fwd.close();
    assert.equal(await first, undefined, "closing aborts the exchange in flight");
    assert.equal(fwd.inFlight, 0);
    assert.equal(fwd.udpSockets, 0, "the shared sockets are closed");
  });
});

/** What a raw upstream received: the source port, and the query. */
interface RawQuery {
  port: number;
  query: Uint8Array;
}

/**
 * A UDP-only upstream that calls `answer` for each query with a function sending a
 * datagram back to the querier from this socket or (`other`) from a second socket on
 * another port; records what it received.
 */
function rawUpstream(
  answer: (q: Uint8Array, send: (r: Uint8Array, other?: boolean) => Promise<void>) => Promise<void>,
) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const other = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const seen: RawQuery[] = [];
  const loop = (async () => {
    while (true) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await sock.receive();
        data = d;
        from = a as Deno.NetAddr;
      } catch {
        return;
      }
      seen.push({ port: from.port, query: data });
      await answer(data, async (r, fromOther) => {
        await (fromOther ? other : sock).send(r, from);
      }).catch(() => {});
    }
  })();
  return {
    addr: `127.0.0.1:${(sock.addr as Deno.NetAddr).port}`,
    seen,
    async close() {
      sock.close();
      other.close();
      await loop;
    },
  };
}

/** The query turned into a reply (QR, RA) with `rcode` and no records. */
function replyTo(q: Uint8Array, rcode = 0): Uint8Array {
  const r = q.slice();
  r[2] |= 0x80;
  r[3] = 0x80 | rcode;
  return r;
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  const withServer = (config: Partial<Config>, fn: (s: DnsServer) => Promise<void>) =>
    withServerOn(engine, config, fn);

  test("forwarding over UDP and TCP relays the upstream reply with the client's ID", async () => {
    await withUpstreams([{}], async ([up]) => {
      await withServer({ Resolvers: [addr(up)] }, async (s) => {
        const udp = await queryUdp(s.port, "www.Example.org.", "A", { id: 777 });
        assert.equal(udp.h.id, 777);
        assert.equal(udp.msg.rcode, "NOERROR");
        assert.ok(!udp.h.aa && udp.h.ra);
        assert.deepEqual(ips(udp.msg), ["192.0.2.1"]);
        assert.equal(udp.msg.questions![0].name, "www.Example.org");
        const tcp = await queryTcp(s.port, "www.example.org.", "A", { id: 778 });
        assert.equal(tcp.h.id, 778);
        assert.deepEqual(ips(tcp.msg), ["192.0.2.1"]);
        assert.deepEqual(up.seen.map((q) => q.transport), ["udp", "tcp"]);
        assert.equal(up.seen[0].name, "www.Example.org", "the name is forwarded unchanged");
      });
    });
  });

  test("a truncated upstream UDP reply is retried over TCP", async () => {
    await withUpstreams([{ mode: "truncate", answers: 3 }], async ([up]) => {
      await withServer({ Resolvers: [addr(up)] }, async (s) => {
        const r = await queryUdp(s.port, "big.example.org.", "A", { edns: 1232 });
        assert.ok(!r.h.tc);
        assert.deepEqual(ips(r.msg), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        assert.deepEqual(up.seen.map((q) => q.transport), ["udp", "tcp"]);
      });
    });
  });

  test("an oversized upstream reply is cut to the client's UDP size", async () => {
    await withUpstreams([{ answers: 60 }], async ([up]) => {
      await withServer({ Resolvers: [addr(up)] }, async (s) => {
        const r = await queryUdp(s.port, "many.example.org.", "A");
        assert.ok(r.h.tc);
        assert.ok(r.raw.length <= 512);
        assert.ok(r.msg.answers!.length > 0 && r.msg.answers!.length < 60);
      });
    });
  });

  test("silent upstreams: fail over in order, SERVFAIL when all fail", async () => {
    await withUpstreams([{ mode: "silent" }, { prefix: "198.51.100" }], async ([silent, good]) => {
      await Promise.all([
        withServer({ Resolvers: [addr(silent), addr(good)], Timeout: 1 }, async (s) => {
          const t0 = Date.now();
          const r = await queryUdp(s.port, "failover.example.org.", "A", { id: 9 });
          assert.equal(r.h.id, 9);
          assert.deepEqual(ips(r.msg), ["198.51.100.1"]);
          assert.ok(Date.now() - t0 >= 900, "waited for the first upstream's timeout");
        }),
        withServer({ Resolvers: [addr(silent)], Timeout: 1 }, async (s) => {
          const [u, t] = await Promise.all([
            queryUdp(s.port, "dead.example.org.", "A", { id: 10 }),
            queryTcp(s.port, "dead.example.org.", "A", { id: 11 }),
          ]);
          for (const [r, id] of [[u, 10], [t, 11]] as const) {
            assert.equal(r.msg.rcode, "SERVFAIL");
            assert.equal(r.h.id, id);
            assert.equal(r.msg.questions![0].name, "dead.example.org");
            assert.ok(!r.h.aa && !r.h.ra);
          }
        }),
      ]);
    });
  });

  test("REFUSED when ExternalOn is false or there are no resolvers", async () => {
    await withUpstreams([{}], async ([up]) => {
      await withServer({ ExternalOn: false, Resolvers: [addr(up)] }, async (s) => {
        const r = await queryUdp(s.port, "www.example.org.", "A");
        assert.equal(r.msg.rcode, "REFUSED");
        assert.ok(!r.h.aa && !r.h.ra && r.h.rd);
        // The zone is still answered.
        assert.equal((await queryUdp(s.port, "leader.mesos.", "A")).msg.rcode, "NOERROR");
      });
      await withServer({ Resolvers: [] }, async (s) => {
        const r = await queryTcp(s.port, "www.example.org.", "A");
        assert.equal(r.msg.rcode, "REFUSED");
      });
      assert.equal(up.seen.length, 0);
    });
  });

  test("ZoneResolvers: longest suffix wins, keys match case-insensitively", async () => {
    await withUpstreams(
      [{ prefix: "10.10.10" }, { prefix: "10.20.20" }, { prefix: "10.30.30" }],
      async ([zone, sub, dflt]) => {
        const config = {
          Resolvers: [addr(dflt)],
          ZoneResolvers: { "Example.COM": [addr(zone)], "sub.example.com": [addr(sub)] },
        };
        await withServer(config, async (s) => {
          const cases: Array<[string, string]> = [
            ["www.example.com.", "10.10.10.1"],
            ["EXAMPLE.com.", "10.10.10.1"],
            ["a.SUB.example.com.", "10.20.20.1"],
            ["sub.example.com.", "10.20.20.1"],
            ["notexample.com.", "10.30.30.1"],
            ["www.example.org.", "10.30.30.1"],
          ];
          for (const [name, ip] of cases) {
            const r = await queryUdp(s.port, name, "A");
            assert.deepEqual(ips(r.msg), [ip], name);
          }
        });
      },
    );
  });

  test("forwarded replies pass through unchanged apart from the ID", async () => {
    await withUpstreams([{ answers: 2 }], async ([up]) => {
      await withServer({ Resolvers: [addr(up)] }, async (s) => {
        const r = await queryUdp(s.port, "two.example.org.", "AAAA", { id: 4321 });
        const m = decode(r.raw);
        assert.equal(m.id, 4321);
        assert.equal(m.answers?.length, 2);
        assert.equal((m.answers![0] as { ttl?: number }).ttl, 30, "upstream TTL kept");
      });
    });
  });

  test("upstream replies count only with the ID, source address and question sent (RFC 5452)", async () => {
    const up = rawUpstream(async (q, send) => {
      const nameEnd = q.indexOf(0, 12);
      // Wrong name (one letter changed), wrong type, from another port, wrong ID: all NOERROR.
      const wrongName = replyTo(q);
      wrongName[14] ^= 0x01;
      const wrongType = replyTo(q);
      wrongType[nameEnd + 2] = 28;
      const wrongId = replyTo(q);
      wrongId[1] ^= 0x01;
      await send(wrongName);
      await send(wrongType);
      await send(replyTo(q), true);
      await send(wrongId);
      // Then the genuine reply, the name in other letter case (0x20 style), NXDOMAIN.
      const genuine = replyTo(q, 3);
      for (let i = 13; i < nameEnd; i++) if (genuine[i] >= 0x61 && genuine[i] <= 0x7a) genuine[i] -= 0x20;
      await send(genuine);
    });
    try {
      await withServer({ Resolvers: [up.addr], Timeout: 2 }, async (s) => {
        const t0 = Date.now();
        const r = await queryUdp(s.port, "spoof.example.org.", "A", { id: 4711 });
        assert.equal(r.h.id, 4711);
        assert.equal(r.msg.rcode, "NXDOMAIN", "the genuine reply, not one of the four before it");
        assert.ok(Date.now() - t0 < 1500, "answered without waiting for the time-out");
        assert.equal(up.seen.length, 1);
        assert.notEqual((up.seen[0].query[0] << 8) | up.seen[0].query[1], 4711, "a fresh ID upstream");
      });
    } finally {
      await up.close();
    }
  });

  test("forwarded UDP queries share sockets, each replaced after its number of queries", async () => {
    const up = rawUpstream((q, send) => send(replyTo(q)));
    try {
      const holder = new SnapshotHolder();
      holder.publish(sampleRecords());
      const server = await startDnsServer({
        hostname: "127.0.0.1",
        port: 0,
        config: testConfig({ DNSUDPEngine: engine, Resolvers: [up.addr] }),
        holder,
        forwarder: { udpSockets: 1, udpExchangesPerSocket: 5 },
        forwardInWorker: false,
      });
      try {
        for (let i = 0; i < 20; i++) {
          const r = await queryUdp(server.port, `n${i}.example.org.`, "A", { id: 99 });
          assert.equal(r.h.id, 99);
          assert.equal(r.msg.rcode, "NOERROR");
        }
      } finally {
        await server.close();
      }
      const perPort = new Map<number, number>();
      for (const q of up.seen) perPort.set(q.port, (perPort.get(q.port) ?? 0) + 1);
      assert.deepEqual([...perPort.values()], [5, 5, 5, 5], "one socket at a time, 5 queries each");
      const ids = new Set(up.seen.map((q) => (q.query[0] << 8) | q.query[1]));
      assert.ok(ids.size >= 18, `random IDs upstream (${ids.size} distinct of 20)`);
    } finally {
      await up.close();
    }
  });
}
