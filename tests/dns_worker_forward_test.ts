/**
 * Forwarding from the UDP workers themselves (the `ffi` engine, when every outside name
 * goes to the same resolvers): the reply carries the client's ID; replies from another
 * address or port, or for another question, are ignored (RFC 5452); a first resolver
 * that does not answer in time costs one timeout, then the main thread asks the next
 * one (not the first again); the source port changes as sockets are replaced.
 */
import assert from "node:assert/strict";
import { startDnsServer } from "../src/dns/server.ts";
import { ffiUdpUnavailable } from "../src/dns/udp_ffi.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import type { Config } from "../src/config/types.ts";
import { buildQuery, decode, udpExchange } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { waitFor } from "./helpers/wait.ts";

const ignore = ffiUdpUnavailable() !== undefined;

/** A reply to `q` with one A record `ip`, the question taken from `question` (default: `q`'s). */
function answer(q: Uint8Array, ip: number[], question = q): Uint8Array {
  const qsec = question.subarray(12, question.length - (question[11] === 1 ? 11 : 0));
  const r = new Uint8Array(12 + qsec.length + 16);
  r.set(q.subarray(0, 12));
  r[2] = 0x81;
  r[3] = 0x80;
  r.set([0, 1, 0, 1, 0, 0, 0, 0], 4);
  r.set(qsec, 12);
  r.set([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...ip], 12 + qsec.length);
  return r;
}

/** A UDP upstream calling `handle` for each query with a way to reply from its socket or from another one. */
function upstream(
  handle: (
    q: Uint8Array,
    from: Deno.Addr,
    sock: Deno.DatagramConn,
    other: Deno.DatagramConn,
  ) => Promise<void>,
) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const other = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const seen: Array<{ port: number }> = [];
  const loop = (async () => {
    while (true) {
      try {
        const [q, from] = await sock.receive();
        seen.push({ port: (from as Deno.NetAddr).port });
        await handle(q, from, sock, other);
      } catch {
        return;
      }
    }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    seen,
    async close() {
      sock.close();
      other.close();
      await loop;
    },
  };
}

async function withServer(config: Partial<Config>, fn: (port: number) => Promise<void>): Promise<void> {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const s = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    holder,
    config: testConfig({ DNSUDPEngine: "ffi", DNSUDPWorkers: 1, ForwardCacheSize: 0, ...config }),
  });
  try {
    // The worker answers once it has started (`deno test` type-checks its module first).
    await waitFor(async () => {
      const r = await udpExchange(s.port, buildQuery("leader.mesos.", "A"), 500).catch(() => undefined);
      return r !== undefined;
    }, { timeoutMs: 20000, message: "the UDP worker answers" });
    await fn(s.port);
  } finally {
    await s.close();
  }
}

Deno.test({
  name:
    "worker forwarding: only the reply from the upstream's address and port, for the question sent, counts",
  ignore,
  async fn() {
    const up = upstream(async (q, from, sock, other) => {
      await other.send(answer(q, [192, 0, 2, 66]), from); // another port
      await sock.send(answer(q, [192, 0, 2, 67], buildQuery("other.example.org.", "A")), from); // another question
      await sock.send(answer(q, [192, 0, 2, 77]), from);
    });
    try {
      await withServer({ Resolvers: [`127.0.0.1:${up.port}`], Timeout: 2 }, async (port) => {
        for (let i = 0; i < 3; i++) {
          const r = decode(
            await udpExchange(port, buildQuery(`Spoof${i}.Example.org.`, "A", { id: 4000 + i })),
          );
          assert.equal(r.id, 4000 + i);
          assert.equal(r.questions![0].name, `Spoof${i}.Example.org`);
          // deno-lint-ignore no-explicit-any
          assert.deepEqual(r.answers!.map((a: any) => a.data), ["192.0.2.77"]);
        }
        assert.equal(up.seen.length, 3, "one upstream query per client query");
      });
    } finally {
      await up.close();
    }
  },
});

Deno.test({
  name: "worker forwarding: a silent first resolver costs one timeout, then the next one answers",
  ignore,
  async fn() {
    const silent = upstream(async () => {});
    const good = upstream(async (q, from, sock) => {
      await sock.send(answer(q, [192, 0, 2, 5]), from);
    });
    try {
      await withServer(
        { Resolvers: [`127.0.0.1:${silent.port}`, `127.0.0.1:${good.port}`], Timeout: 1 },
        async (port) => {
          const t0 = performance.now();
          const r = decode(await udpExchange(port, buildQuery("failover.example.org.", "A"), 4000));
          const ms = performance.now() - t0;
          // deno-lint-ignore no-explicit-any
          assert.deepEqual(r.answers!.map((a: any) => a.data), ["192.0.2.5"]);
          assert.equal(
            silent.seen.length,
            1,
            "the silent resolver was asked once, not again by the main thread",
          );
          assert.equal(good.seen.length, 1);
          assert.ok(ms >= 900 && ms < 2900, `answered after one timeout (${ms.toFixed(0)} ms)`);
        },
      );
    } finally {
      await silent.close();
      await good.close();
    }
  },
});

Deno.test({
  name: "worker forwarding: the source port changes as the worker's sockets are replaced",
  ignore,
  async fn() {
    const up = upstream(async (q, from, sock) => {
      await sock.send(answer(q, [192, 0, 2, 9]), from);
    });
    try {
      await withServer({ Resolvers: [`127.0.0.1:${up.port}`], Timeout: 2 }, async (port) => {
        // 2,000 queries per socket: send 2,100 in batches of 100.
        for (let i = 0; i < 21; i++) {
          await Promise.all(
            Array.from(
              { length: 100 },
              (_, k) => udpExchange(port, buildQuery(`p${i}-${k}.example.org.`, "A"), 4000),
            ),
          );
        }
        const ports = new Set(up.seen.map((s) => s.port));
        assert.equal(up.seen.length, 2100);
        assert.equal(ports.size, 2, `source ports: ${[...ports].join(", ")}`);
      });
    } finally {
      await up.close();
    }
  },
});
