/**
 * Protocol points of SPEC §7 and issue #6 items 1–3 that the other DNS tests leave out,
 * over real UDP and TCP sockets: EDNS0 over TCP and on negative answers (OPT echoed, DO
 * bit kept), FORMERR for a request without a question still echoing its OPT (RFC 6891
 * §7), large EDNS requests, zone transfers refused, only the first question answered,
 * PTR in and outside the zone, a half-closed TCP client still answered, TCP frames of
 * up to 65,535 bytes split and pipelined (the read buffer grows and shrinks), a good
 * query's reply not lost to a bad frame behind it, and forwarding details (a reply with the
 * wrong ID or garbage from an upstream is not relayed and the next upstream is tried, a
 * TCP answer too big for the client's UDP size falls back to the truncated one,
 * `SetTruncateBit: false` clears TC on relayed replies, a `ZoneResolvers` zone inside the
 * Mesos domain wins by longest suffix). Tests that use UDP run once per UDP engine.
 */
import assert from "node:assert/strict";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import type { Config } from "../src/config/types.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import {
  buildQuery,
  decode,
  header,
  queryTcp,
  queryUdp,
  TcpClient,
  tcpExchange,
  udpExchange,
} from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { withUpstreams } from "./helpers/fake_upstream.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES, type UdpEngineName } from "./helpers/udp_engines.ts";

/** Runs `fn` against a server on the sample zone; `engine` undefined: the default UDP engine. */
async function withServerOn(
  engine: UdpEngineName | undefined,
  config: Partial<Config>,
  fn: (s: DnsServer) => Promise<void>,
): Promise<void> {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig(engine ? { DNSUDPEngine: engine, ...config } : config),
    holder,
  });
  try {
    if (engine) assert.equal(server.udpEngine, engine);
    await fn(server);
  } finally {
    await server.close();
  }
}

/** The OPT record of a decoded reply, if any. */
// deno-lint-ignore no-explicit-any
function optOf(msg: { additionals?: any[] }): { udpPayloadSize: number; flags: number } | undefined {
  return msg.additionals?.find((a) => a.type === "OPT");
}

// deno-lint-ignore no-explicit-any
const datas = (m: { answers?: any[] }) => (m.answers ?? []).map((a) => a.data);

Deno.test("TCP: a client that half-closes after its query still gets the reply", async () => {
  await withServerOn(undefined, {}, async (s) => {
    const c = await TcpClient.connect(s.port);
    try {
      await c.send(buildQuery("leader.mesos.", "A", { id: 31 }));
      await c.conn.closeWrite();
      const r = await c.receive();
      assert.ok(r, "reply after the half-close");
      assert.equal(decode(r).id, 31);
      assert.equal(await c.receive(), undefined, "then the server closes");
    } finally {
      c.close();
    }
  });
});

Deno.test("TCP: the reply to a good query is not lost to a bad frame right behind it", async () => {
  await withServerOn(undefined, {}, async (s) => {
    const c = await TcpClient.connect(s.port);
    try {
      const q = buildQuery("chronos.marathon.mesos.", "A", { id: 32 });
      // The good frame and a zero-length frame arrive in one segment.
      await c.writeRaw(new Uint8Array([q.length >> 8, q.length & 0xff, ...q, 0, 0]));
      const r = await c.receive();
      assert.ok(r, "the good query is answered before the connection is closed");
      assert.equal(decode(r).id, 32);
      assert.equal(await c.receive(), undefined);
    } finally {
      c.close();
    }
  });
});

/** A query for `name` A whose OPT carries a PADDING option making the message `size` bytes long. */
function paddedQuery(name: string, size: number, id: number): Uint8Array {
  const q = buildQuery(name, "A", { id, edns: 1232 });
  const padLen = size - q.length - 4;
  const big = new Uint8Array(size);
  big.set(q);
  big.set([0, 12, padLen >> 8, padLen & 0xff], q.length);
  big[q.length - 2] = (padLen + 4) >> 8;
  big[q.length - 1] = (padLen + 4) & 0xff;
  return big;
}

Deno.test("TCP: frames larger than the first read buffer, up to 65,535 bytes, split and pipelined", async () => {
  await withServerOn(undefined, {}, async (s) => {
    const c = await TcpClient.connect(s.port);
    try {
      const frame = (q: Uint8Array) => new Uint8Array([q.length >> 8, q.length & 0xff, ...q]);
      // A small frame and a 3,000-byte one in one write, then 40 small ones in one write.
      await c.writeRaw(
        new Uint8Array([
          ...frame(buildQuery("leader.mesos.", "A", { id: 1 })),
          ...frame(paddedQuery("chronos.marathon.mesos.", 3000, 2)),
        ]),
      );
      const many = Array.from(
        { length: 40 },
        (_, i) => [...frame(buildQuery("leader.mesos.", "A", { id: 10 + i }))],
      );
      await c.writeRaw(new Uint8Array(many.flat()));
      // The largest frame, written in pieces of 1,000 bytes.
      const max = frame(paddedQuery("chronos.marathon.mesos.", 65535, 3));
      for (let off = 0; off < max.length; off += 1000) await c.writeRaw(max.subarray(off, off + 1000));
      // And a small one again after the buffer has been given back.
      await c.send(buildQuery("chronos.marathon.mesos.", "A", { id: 4 }));
      const ids: number[] = [];
      for (let i = 0; i < 44; i++) {
        const r = await c.receive();
        assert.ok(r, `reply ${i + 1} of 44`);
        const m = decode(r);
        assert.equal(m.rcode, "NOERROR");
        ids.push(m.id);
        if (m.id === 2 || m.id === 3 || m.id === 4) assert.deepEqual(datas(m), ["1.2.3.11"]);
      }
      assert.deepEqual(ids, [1, 2, ...Array.from({ length: 40 }, (_, i) => 10 + i), 3, 4]);
    } finally {
      c.close();
    }
  });
});

/**
 * A UDP-only upstream that answers each query with `reply(query)` (nothing if it
 * returns undefined), and counts the queries.
 */
function rawUpstream(reply: (q: Uint8Array) => Uint8Array | undefined) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  let queries = 0;
  const loop = (async () => {
    while (true) {
      try {
        const [data, addr] = await sock.receive();
        queries++;
        const r = reply(data);
        if (r) await sock.send(r, addr);
      } catch {
        return;
      }
    }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    queries: () => queries,
    async close() {
      sock.close();
      await loop;
    },
  };
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  const withServer = (config: Partial<Config>, fn: (s: DnsServer) => Promise<void>) =>
    withServerOn(engine, config, fn);

  test("EDNS0 over TCP and on negative answers: OPT echoed once, DO bit kept", async () => {
    await withServer({}, async (s) => {
      const tcp = await queryTcp(s.port, "chronos.marathon.mesos.", "A", { edns: 1232 });
      assert.ok(optOf(tcp.msg), "OPT in a TCP reply");
      assert.equal(tcp.h.arcount, 1);

      const nx = await queryUdp(s.port, "missing.mesos.", "A", { edns: 1232 });
      assert.equal(nx.msg.rcode, "NXDOMAIN");
      assert.equal(nx.msg.authorities?.[0]?.type, "SOA");
      assert.ok(optOf(nx.msg), "OPT in an NXDOMAIN reply");
      assert.equal(nx.h.arcount, 1);

      const srv = await queryUdp(s.port, "_car-store._udp.marathon.mesos.", "SRV", { edns: 1232 });
      assert.equal(srv.h.arcount, 3, "two address additionals and the OPT");
      assert.equal(srv.msg.additionals!.at(-1)!.type, "OPT", "OPT last in the additional section");

      // DO bit (OPT TTL bit 15): kept in the reply's OPT.
      const q = buildQuery("chronos.marathon.mesos.", "A", { edns: 1232 });
      q[q.length - 4] = 0x80;
      const r = await udpExchange(s.port, q);
      assert.equal(r[r.length - 4] & 0x80, 0x80, "DO echoed");
    });
  });

  test("no question but an OPT: FORMERR (NOTIMP for other opcodes) with the OPT echoed", async () => {
    await withServer({}, async (s) => {
      // Header (RD, QDCOUNT 0, ARCOUNT 1), then an OPT: 1232 bytes, DO set.
      const request = (id: number, opcode: number) =>
        new Uint8Array([
          id >> 8,
          id & 0xff,
          (opcode << 3) | 1,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          1,
          0,
          0,
          41,
          4,
          208,
          0,
          0,
          0x80,
          0,
          0,
          0,
        ]);
      const udp = await udpExchange(s.port, request(0x0a0b, 0));
      const tcp = await tcpExchange(s.port, request(0x0a0c, 0));
      const notify = await udpExchange(s.port, request(0x0a0d, 4));
      for (const [raw, id, rcode] of [[udp, 0x0a0b, 1], [tcp, 0x0a0c, 1], [notify, 0x0a0d, 4]] as const) {
        const h = header(raw);
        assert.deepEqual([h.id, h.qr, h.rcode, h.qdcount, h.ancount, h.nscount, h.arcount], [
          id,
          true,
          rcode,
          0,
          0,
          0,
          1,
        ]);
        assert.equal(raw.length, 12 + 11, "header and OPT only");
        const opt = optOf(decode(raw));
        assert.ok(opt, "OPT echoed");
        assert.equal(opt.udpPayloadSize, 4096);
        assert.equal(raw[raw.length - 4] & 0x80, 0x80, "DO echoed");
      }
    });
  });

  test("a UDP request larger than 512 bytes (EDNS padding) is answered", async () => {
    await withServer({}, async (s) => {
      const q = buildQuery("chronos.marathon.mesos.", "A", { edns: 1232 });
      // Append a 700-byte PADDING option (code 12) to the OPT RDATA.
      const pad = new Uint8Array(4 + 700);
      pad[1] = 12;
      pad[2] = 700 >> 8;
      pad[3] = 700 & 0xff;
      const big = new Uint8Array(q.length + pad.length);
      big.set(q);
      big.set(pad, q.length);
      big[q.length - 2] = pad.length >> 8;
      big[q.length - 1] = pad.length & 0xff;
      assert.ok(big.length > 512);
      const r = decode(await udpExchange(s.port, big));
      assert.equal(r.rcode, "NOERROR");
      assert.deepEqual(datas(r), ["1.2.3.11"]);
    });
  });

  test("zone transfers are refused over UDP and TCP", async () => {
    await withServer({}, async (s) => {
      for (const type of ["AXFR", "IXFR"]) {
        const u = await queryUdp(s.port, "mesos.", type);
        assert.equal(u.msg.rcode, "REFUSED", `${type} over UDP`);
        assert.equal(u.h.ancount, 0);
        const t = await queryTcp(s.port, "mesos.", type);
        assert.equal(t.msg.rcode, "REFUSED", `${type} over TCP`);
      }
    });
  });

  test("with two questions only the first is answered, and only it is echoed", async () => {
    await withServer({}, async (s) => {
      const first = buildQuery("chronos.marathon.mesos.", "A", { id: 77 });
      const second = buildQuery("leader.mesos.", "A");
      const two = new Uint8Array([...first, ...second.subarray(12)]);
      two[5] = 2;
      const raw = await udpExchange(s.port, two);
      const h = header(raw);
      assert.equal(h.id, 77);
      assert.equal(h.qdcount, 1);
      const m = decode(raw);
      assert.equal(m.questions![0].name, "chronos.marathon.mesos");
      assert.deepEqual(datas(m), ["1.2.3.11"]);
    });
  });

  test("PTR: NODATA or NXDOMAIN inside the zone, forwarded outside it", async () => {
    await withUpstreams([{}], async ([up]) => {
      await withServer({ Resolvers: [`127.0.0.1:${up.port}`] }, async (s) => {
        const nodata = await queryUdp(s.port, "chronos.marathon.mesos.", "PTR");
        assert.equal(nodata.msg.rcode, "NOERROR");
        assert.equal(nodata.h.ancount, 0);
        assert.equal(nodata.msg.authorities?.[0]?.type, "SOA");
        const nx = await queryUdp(s.port, "nothing.mesos.", "PTR");
        assert.equal(nx.msg.rcode, "NXDOMAIN");
        assert.equal(up.seen.length, 0, "zone names are never forwarded");
        await queryUdp(s.port, "11.3.2.1.in-addr.arpa.", "PTR");
        assert.deepEqual(up.seen.map((q) => q.name), ["11.3.2.1.in-addr.arpa"]);
      });
    });
  });

  test("forwarding: a reply with the wrong ID or garbage is not relayed; the next upstream answers", async () => {
    const wrongId = rawUpstream((q) => {
      const r = q.slice();
      r[0] ^= 0xff; // not the ID the forwarder sent
      r[2] |= 0x80;
      return r;
    });
    const garbage = rawUpstream(() => new Uint8Array([1, 2, 3]));
    try {
      await withUpstreams([{ prefix: "198.51.100" }], async ([good]) => {
        const resolvers = [
          `127.0.0.1:${wrongId.port}`,
          `127.0.0.1:${garbage.port}`,
          `127.0.0.1:${good.port}`,
        ];
        await withServer({ Resolvers: resolvers, Timeout: 1 }, async (s) => {
          // Two upstreams time out (1 s each) before the third answers.
          const raw = await udpExchange(s.port, buildQuery("spoofed.example.org.", "A", { id: 4242 }), 5000);
          assert.equal(header(raw).id, 4242);
          assert.deepEqual(datas(decode(raw)), ["198.51.100.1"]);
          assert.equal(wrongId.queries(), 1);
          assert.equal(garbage.queries(), 1);
        });
      });
    } finally {
      await wrongId.close();
      await garbage.close();
    }
  });

  test("forwarding: a TCP retry too big for the client's UDP size relays the truncated reply", async () => {
    await withUpstreams([{ mode: "truncate", answers: 60 }], async ([up]) => {
      const addr = `127.0.0.1:${up.port}`;
      await withServer({ Resolvers: [addr] }, async (s) => {
        const r = await queryUdp(s.port, "huge.example.org.", "A");
        assert.ok(r.h.tc, "TC kept: the client should retry over TCP");
        assert.ok(r.raw.length <= 512);
        assert.deepEqual(up.seen.map((q) => q.transport), ["udp", "tcp"]);
        const full = await queryTcp(s.port, "huge.example.org.", "A");
        assert.equal(full.msg.answers!.length, 60);
      });
      await withServer({ Resolvers: [addr], SetTruncateBit: false }, async (s) => {
        const r = await queryUdp(s.port, "huge.example.org.", "A");
        assert.ok(!r.h.tc, "SetTruncateBit false clears the upstream's TC (SPEC §7.5 rule 4)");
      });
    });
  });

  test("forwarding: an EDNS client gets a large upstream reply whole over UDP", async () => {
    // 30 uncompressed A records: about 1,030 bytes, over 512 and under 1232.
    await withUpstreams([{ answers: 30 }], async ([up]) => {
      await withServer({ Resolvers: [`127.0.0.1:${up.port}`] }, async (s) => {
        const r = await queryUdp(s.port, "thirty.example.org.", "A", { edns: 1232 });
        assert.ok(r.raw.length > 512);
        assert.ok(!r.h.tc);
        assert.equal(r.msg.answers!.length, 30);
      });
    });
  });

  test("a ZoneResolvers zone inside the Mesos domain is forwarded (longest suffix wins)", async () => {
    await withUpstreams([{ prefix: "203.0.113" }], async ([up]) => {
      const config = { ZoneResolvers: { "Ext.Mesos": [`127.0.0.1:${up.port}`] } };
      await withServer(config, async (s) => {
        const r = await queryUdp(s.port, "host.ext.mesos.", "A");
        assert.deepEqual(datas(r.msg), ["203.0.113.1"]);
        assert.ok(!r.h.aa, "a forwarded answer is not authoritative");
        const zone = await queryUdp(s.port, "chronos.marathon.mesos.", "A");
        assert.deepEqual(datas(zone.msg), ["1.2.3.11"]);
        assert.deepEqual(up.seen.map((q) => q.name), ["host.ext.mesos"]);
      });
      await withServer({ ...config, ExternalOn: false }, async (s) => {
        const r = await queryUdp(s.port, "host.ext.mesos.", "A");
        assert.equal(r.msg.rcode, "NXDOMAIN", "without forwarding the Mesos zone answers");
      });
    });
  });
}
