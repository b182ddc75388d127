/**
 * DNS protocol handling over real sockets: SERVFAIL before the first snapshot, FORMERR,
 * NOTIMP, dropped responses, EDNS0 (OPT echo, sizes, BADVERS), truncation over UDP and
 * the full answer over TCP, TCP framing, pipelining, idle timeout and bad frames; each
 * server test runs once per UDP engine (portable and the FFI fast path).
 */
import assert from "node:assert/strict";
import { Forwarder } from "../src/dns/forwarder.ts";
import { Responder } from "../src/dns/respond.ts";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import { serveTcp } from "../src/dns/tcp_server.ts";
import type { Config } from "../src/config/types.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import {
  buildQuery,
  decode,
  header,
  queryTcp,
  queryUdp,
  TcpClient,
  UdpClient,
  udpExchange,
} from "./helpers/dns_client.ts";
import { BIG_COUNT, sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES, type UdpEngineName } from "./helpers/udp_engines.ts";

interface ServerOptions {
  config?: Partial<Config>;
  publish?: boolean;
  tcpIdleTimeoutMs?: number;
}

async function withServerOn(
  engine: UdpEngineName,
  fn: (s: DnsServer, holder: SnapshotHolder) => Promise<void>,
  opts: ServerOptions = {},
): Promise<void> {
  const holder = new SnapshotHolder();
  if (opts.publish !== false) holder.publish(sampleRecords());
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ DNSUDPEngine: engine, ...opts.config }),
    holder,
    tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs,
  });
  try {
    assert.equal(server.udpEngine, engine);
    await fn(server, holder);
  } finally {
    await server.close();
  }
}

/** A raw request: header fields given, then `rest` (question etc.). */
function rawRequest(id: number, flags2: number, qd: number, rest: number[]): Uint8Array {
  return new Uint8Array([id >> 8, id & 0xff, flags2, 0, 0, qd, 0, 0, 0, 0, 0, 0, ...rest]);
}

/** `chronos.marathon.mesos.` A IN, in wire form. */
const CHRONOS_Q = [
  ...[7, ..."chronos"].map((c) => typeof c === "string" ? c.charCodeAt(0) : c),
  ...[8, ..."marathon"].map((c) => typeof c === "string" ? c.charCodeAt(0) : c),
  ...[5, ..."mesos"].map((c) => typeof c === "string" ? c.charCodeAt(0) : c),
  0,
  0,
  1,
  0,
  1,
];

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  const withServer = (fn: (s: DnsServer, holder: SnapshotHolder) => Promise<void>, opts?: ServerOptions) =>
    withServerOn(engine, fn, opts);

  test("SERVFAIL for the domain before the first snapshot, answers after it", async () => {
    await withServer(async (s, holder) => {
      const before = await queryUdp(s.port, "chronos.marathon.mesos.", "A");
      assert.equal(before.msg.rcode, "SERVFAIL");
      assert.equal(before.msg.questions![0].name, "chronos.marathon.mesos");
      const tcp = await queryTcp(s.port, "missing.mesos.", "A");
      assert.equal(tcp.msg.rcode, "SERVFAIL");
      holder.publish(sampleRecords());
      const after = await queryUdp(s.port, "chronos.marathon.mesos.", "A");
      assert.equal(after.msg.rcode, "NOERROR");
      assert.equal(after.msg.answers?.length, 1);
    }, { publish: false });
  });

  test("malformed requests: FORMERR, NOTIMP, drops; the UDP loop keeps serving", async () => {
    await withServer(async (s) => {
      const c = new UdpClient();
      try {
        // Garbage after a readable header: FORMERR with the ID.
        const bad = await c.exchange(s.port, rawRequest(0x1234, 0x01, 1, [5, 1, 2]));
        assert.ok(bad);
        let h = header(bad);
        assert.deepEqual([h.id, h.qr, h.rcode, h.qdcount], [0x1234, true, 1, 0]);
        // No question: FORMERR.
        const none = await c.exchange(s.port, rawRequest(0x2222, 0x01, 0, []));
        h = header(none!);
        assert.deepEqual([h.id, h.rcode], [0x2222, 1]);
        // A compression pointer in the question: FORMERR.
        const ptr = await c.exchange(s.port, rawRequest(0x2323, 0x01, 1, [0xc0, 12, 0, 1, 0, 1]));
        assert.equal(header(ptr!).rcode, 1);
        // Opcode STATUS (2) and NOTIFY (4): NOTIMP, question echoed.
        for (const opcode of [2, 4]) {
          const r = await c.exchange(s.port, rawRequest(0x3333, opcode << 3, 1, CHRONOS_Q));
          h = header(r!);
          assert.deepEqual([h.id, h.rcode, h.opcode, h.qdcount], [0x3333, 4, opcode, 1]);
        }
        // Too short for a header, and a response (QR=1): no reply. The next good query's
        // reply is the next datagram to arrive.
        await c.send(s.port, new Uint8Array([1, 2, 3]));
        await c.send(s.port, rawRequest(0x4444, 0x80, 1, CHRONOS_Q));
        const good = await c.exchange(s.port, rawRequest(0x5555, 0x01, 1, CHRONOS_Q));
        const msg = decode(good!);
        assert.equal(msg.id, 0x5555);
        assert.equal(msg.rcode, "NOERROR");
      } finally {
        c.close();
      }
    });
  });

  test("EDNS0: OPT echoed, client UDP size honoured, BADVERS for version 1", async () => {
    await withServer(async (s) => {
      const small = await queryUdp(s.port, "chronos.marathon.mesos.", "A", { edns: 1232 });
      const opt = small.msg.additionals!.find((a) => a.type === "OPT") as
        | { udpPayloadSize: number }
        | undefined;
      assert.ok(opt, "OPT echoed");
      assert.equal(opt.udpPayloadSize, 4096);
      assert.equal(small.h.arcount, 1);
      const noOpt = await queryUdp(s.port, "chronos.marathon.mesos.", "A");
      assert.equal(noOpt.msg.additionals?.length ?? 0, 0);

      // The big answer fits a 4096-byte buffer: no truncation.
      const big = await queryUdp(s.port, "big.marathon.mesos.", "A", { edns: 4096 });
      assert.ok(!big.h.tc);
      assert.equal(big.msg.answers?.length, BIG_COUNT);
      assert.ok(big.raw.length > 512);
      // An advertised size below 512 counts as 512.
      const tiny = await queryUdp(s.port, "big.marathon.mesos.", "A", { edns: 100 });
      assert.ok(tiny.h.tc);
      assert.ok(tiny.raw.length <= 512);
      assert.ok(tiny.msg.additionals!.some((a) => a.type === "OPT"), "OPT kept when truncating");
      // 600 bytes: more answers than with 512, still truncated.
      const mid = await queryUdp(s.port, "big.marathon.mesos.", "A", { edns: 600 });
      assert.ok(mid.h.tc && mid.raw.length <= 600);
      assert.ok(mid.msg.answers!.length > tiny.msg.answers!.length);

      // EDNS version 1: BADVERS (extended rcode 16 = OPT ext 1, header rcode 0).
      const q = buildQuery("chronos.marathon.mesos.", "A", { edns: 1232 });
      q[q.length - 5] = 1; // OPT TTL byte 2 = version
      const bv = await udpExchange(s.port, q);
      const h = header(bv);
      assert.equal(h.rcode, 0);
      assert.equal(h.ancount, 0);
      assert.equal(bv[bv.length - 6], 1, "extended rcode 1");
    });
  });

  test("too big for UDP: TC with whole answers; full answer over TCP", async () => {
    await withServer(async (s) => {
      const udp = await queryUdp(s.port, "big.marathon.mesos.", "A");
      assert.ok(udp.h.tc && udp.h.aa);
      assert.ok(udp.raw.length <= 512);
      const n = udp.msg.answers!.length;
      assert.ok(n > 0 && n < BIG_COUNT);
      assert.equal(udp.h.ancount, n);
      const tcp = await queryTcp(s.port, "big.marathon.mesos.", "A");
      assert.ok(!tcp.h.tc);
      assert.equal(tcp.msg.answers?.length, BIG_COUNT);
    });
  });

  test("SetTruncateBit false: cut to size without TC", async () => {
    await withServer(async (s) => {
      const udp = await queryUdp(s.port, "big.marathon.mesos.", "A");
      assert.ok(!udp.h.tc);
      assert.ok(udp.raw.length <= 512);
      assert.ok(udp.msg.answers!.length < BIG_COUNT);
    }, { config: { SetTruncateBit: false } });
  });

  test("RecurseOn false: RA clear in zone replies", async () => {
    await withServer(async (s) => {
      const r = await queryUdp(s.port, "chronos.marathon.mesos.", "A");
      assert.ok(!r.h.ra && r.h.aa);
      const nx = await queryUdp(s.port, "missing.mesos.", "A");
      assert.ok(!nx.h.ra);
    }, { config: { RecurseOn: false } });
  });

  test("TCP: several pipelined queries on one connection", async () => {
    await withServer(async (s) => {
      const c = await TcpClient.connect(s.port);
      try {
        const names = ["chronos.marathon.mesos.", "leader.mesos.", "missing.mesos.", "big.marathon.mesos."];
        const queries = names.map((n, i) => buildQuery(n, "A", { id: 100 + i }));
        // All frames in one write: the server must split them.
        const frames = queries.map((q) => [q.length >> 8, q.length & 0xff, ...q]).flat();
        await c.writeRaw(new Uint8Array(frames));
        const got = new Map<number, string>();
        for (let i = 0; i < names.length; i++) {
          const r = await c.receive();
          assert.ok(r);
          const m = decode(r);
          got.set(m.id, m.rcode);
          if (m.id === 103) assert.equal(m.answers?.length, BIG_COUNT);
        }
        assert.deepEqual([...got.entries()].sort(), [
          [100, "NOERROR"],
          [101, "NOERROR"],
          [102, "NXDOMAIN"],
          [103, "NOERROR"],
        ]);
        // One more after the burst, split across two writes.
        const q = buildQuery("leader.mesos.", "A", { id: 200 });
        await c.writeRaw(new Uint8Array([q.length >> 8, q.length & 0xff, ...q.subarray(0, 5)]));
        await c.writeRaw(q.subarray(5));
        const r = await c.receive();
        assert.equal(decode(r!).id, 200);
      } finally {
        c.close();
      }
    });
  });

  test("TCP: a zero-length or header-less frame closes the connection", async () => {
    await withServer(async (s) => {
      for (const frame of [[0, 0], [0, 3, 1, 2, 3]]) {
        const c = await TcpClient.connect(s.port);
        try {
          await c.writeRaw(new Uint8Array(frame));
          assert.equal(await c.receive(), undefined);
        } finally {
          c.close();
        }
      }
      // The server still serves new connections.
      const ok = await queryTcp(s.port, "leader.mesos.", "A");
      assert.equal(ok.msg.rcode, "NOERROR");
    });
  });

  test("TCP: idle connections are closed after the idle timeout", async () => {
    await withServer(async (s) => {
      const c = await TcpClient.connect(s.port);
      try {
        await c.send(buildQuery("leader.mesos.", "A"));
        assert.ok(await c.receive());
        const t0 = Date.now();
        // The server closes the idle connection: the read ends (the test runner's own
        // timeout is the deadline if it never does).
        assert.equal(await c.receive(), undefined);
        assert.ok(Date.now() - t0 >= 100, "not closed before the idle timeout");
      } finally {
        c.close();
      }
    }, { tcpIdleTimeoutMs: 150 });
  });

  test("a server on a fixed port binds UDP and TCP; closing frees it", async () => {
    let port = 0;
    await withServer(async (s) => {
      port = s.port;
      assert.ok(port > 0);
      assert.equal((await queryTcp(port, "leader.mesos.", "A")).msg.rcode, "NOERROR");
    });
    const holder = new SnapshotHolder();
    holder.publish(sampleRecords());
    const config = testConfig({ DNSUDPEngine: engine });
    const again = await startDnsServer({ hostname: "127.0.0.1", port, config, holder });
    try {
      assert.equal(again.port, port);
      assert.equal(again.udpEngine, engine);
      const r = await queryUdp(port, "leader.mesos.", "A");
      assert.equal(r.msg.rcode, "NOERROR");
    } finally {
      await again.close();
    }
  });
}

Deno.test("TCP: connections beyond the cap are closed at once", async () => {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const config = testConfig();
  const forwarder = new Forwarder(config);
  const responder = new Responder({ config, holder, forwarder });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const service = serveTcp(listener, responder, { maxConnections: 1 });
  const first = await TcpClient.connect(listener.addr.port);
  try {
    await first.send(buildQuery("leader.mesos.", "A"));
    assert.ok(await first.receive(), "the first connection is served");
    const second = await TcpClient.connect(listener.addr.port);
    try {
      assert.equal(await second.receive(), undefined, "the second is closed");
    } finally {
      second.close();
    }
    await first.send(buildQuery("leader.mesos.", "A"));
    assert.ok(await first.receive(), "the first still works");
  } finally {
    first.close();
    await service.close();
    responder.close();
    await forwarder.close();
  }
});
