/**
 * Bursts and several UDP workers: one client's burst of 500 queries sent back to back
 * (plain, EDNS, or malformed) must not cost another client its answer (the receive
 * buffer `UDPReceiveBuffer`, malformed datagrams dropped cheaply by the worker); with
 * `DNSUDPWorkers` 2, both workers (each its own SO_REUSEPORT socket) answer from one
 * zone and one forward cache, and both see a zone swap.
 */
import assert from "node:assert/strict";
import { blast, malformed } from "../scripts/bench/burst.ts";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import { ffiUdpUnavailable } from "../src/dns/udp_ffi.ts";
import type { Config } from "../src/config/types.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode, UdpClient, udpExchange } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES, type UdpEngineName } from "./helpers/udp_engines.ts";
import { waitFor } from "./helpers/wait.ts";

async function withServer(
  engine: UdpEngineName,
  config: Partial<Config>,
  fn: (s: DnsServer, holder: SnapshotHolder) => Promise<void>,
): Promise<void> {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ DNSUDPEngine: engine, ...config }),
    holder,
  });
  try {
    assert.equal(server.udpEngine, engine);
    await fn(server, holder);
  } finally {
    await server.close();
  }
}

/** Runs `rounds` rounds of: a burst from one client, then one query from another; counts the answered. */
async function burstRounds(port: number, burst: () => Uint8Array[], rounds: number): Promise<number> {
  let answered = 0;
  for (let r = 0; r < rounds; r++) {
    const probe = new UdpClient();
    try {
      blast(port, burst());
      const id = 60000 + r;
      const reply = await probe.exchange(port, buildQuery("chronos.marathon.mesos.", "A", { id }), 1500);
      if (reply && decode(reply).id === id && decode(reply).rcode === "NOERROR") answered++;
    } finally {
      probe.close();
    }
  }
  return answered;
}

const ROUNDS = 20;

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);

  test("a burst of 500 queries from one client does not cost another client its answer", async () => {
    await withServer(engine, {}, async (s) => {
      const plain = () =>
        Array.from({ length: 500 }, (_, i) => buildQuery("web.marathon.mesos.", "A", { id: i }));
      const edns = () =>
        Array.from({ length: 500 }, (_, i) => buildQuery("web.marathon.mesos.", "A", { id: i, edns: 4096 }));
      assert.equal(await burstRounds(s.port, plain, ROUNDS), ROUNDS, "plain bursts");
      assert.equal(await burstRounds(s.port, edns, ROUNDS), ROUNDS, "EDNS bursts");
    });
  });

  test("a burst of 500 malformed datagrams does not cost another client its answer", async () => {
    await withServer(engine, {}, async (s) => {
      // Every other one shorter than a header, the rest announcing a question that is not there.
      const junk = () => Array.from({ length: 500 }, (_, i) => malformed(i));
      assert.equal(await burstRounds(s.port, junk, ROUNDS), ROUNDS);
      if (engine === "ffi") {
        assert.ok(s.udpStats()!.junk >= 250 * ROUNDS, "short datagrams dropped by the worker");
      }
    });
  });
}

Deno.test({
  name: "two UDP workers answer from one zone and one forward cache, and both see a zone swap",
  ignore: ffiUdpUnavailable() !== undefined,
  fn: async () => {
    // An upstream for the cache part: answers every A query with 192.0.2.7 (TTL 300).
    const up = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    let upstreamQueries = 0;
    const upLoop = (async () => {
      while (true) {
        try {
          const [q, from] = await up.receive();
          upstreamQueries++;
          const r = new Uint8Array(q.length + 16);
          r.set(q);
          r[2] = 0x81;
          r[3] = 0x80;
          r[7] = 1; // ANCOUNT 1
          r.set([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 7], q.length);
          await up.send(r, from);
        } catch {
          return;
        }
      }
    })();
    try {
      await withServer(
        "ffi",
        { DNSUDPWorkers: 2, Resolvers: [`127.0.0.1:${(up.addr as Deno.NetAddr).port}`] },
        async (s, holder) => {
          assert.equal(s.udpStats()!.workers, 2);
          // Many client sockets: the kernel spreads them over both workers' sockets.
          const clients = Array.from({ length: 32 }, () => new UdpClient());
          try {
            const ask = async (name: string) => {
              const replies = await Promise.all(
                clients.map((c, i) => c.exchange(s.port, buildQuery(name, "A", { id: i + 1 }), 2000)),
              );
              return replies.map((r) => {
                assert.ok(r, `no reply for ${name}`);
                // deno-lint-ignore no-explicit-any
                return (decode(r).answers ?? []).map((a: any) => a.data).join(",");
              });
            };
            await udpExchange(s.port, buildQuery("outside.example.net.", "A"));
            assert.equal(upstreamQueries, 1);
            await waitFor(() => s.cacheStats()!.entries === 1, { message: "the reply is cached" });
            const before = s.udpStats()!.perWorker;
            const cached = await ask("outside.example.net.");
            assert.deepEqual(new Set(cached), new Set(["192.0.2.7"]));
            assert.equal(upstreamQueries, 1, "every worker answered from the one cache");
            const after = s.udpStats()!.perWorker;
            assert.ok(after.every((n, i) => n > before[i]), `both workers answered: ${before} -> ${after}`);

            const b = new RecordSetBuilder("mesos");
            b.add("A", "chronos.marathon.mesos.", "5.6.7.8");
            b.add("A", "ns1.mesos.", "127.0.0.1");
            const swapAt = s.udpStats()!.perWorker;
            holder.publish(b.build(null));
            await waitFor(
              async () => (await ask("chronos.marathon.mesos.")).every((ip) => ip === "5.6.7.8"),
              {
                message: "every client sees the new zone",
              },
            );
            const swapped = s.udpStats()!.perWorker;
            assert.ok(
              swapped.every((n, i) => n > swapAt[i]),
              `both workers answered after the swap: ${swapped}`,
            );
          } finally {
            for (const c of clients) c.close();
          }
        },
      );
    } finally {
      up.close();
      await upLoop;
    }
  },
});
