/**
 * What the DNS server's memory does under forwarding load and with many TCP connections
 * (issue #6 items 1 and 3), over real sockets, on a server in a child process (VmRSS and
 * VmHWM from /proc, open descriptors from /proc/<pid>/fd, V8 heap figures reported by
 * the child), once per UDP engine where UDP is involved:
 * - 12,000 forwarded UDP queries, `WINDOW` in flight at a time, to an upstream that
 *   answers at once: every query is answered; the upstream sees a handful of source
 *   ports (shared sockets, replaced every 2,000 queries), not one per query; memory
 *   outside the V8 heap and ArrayBuffer memory stay flat (no socket and 64 KB buffer per
 *   query); the whole RSS stays within a bound that leaves room for V8 sizing its heap;
 * - beyond the in-flight bound (`maxInFlight` set through `startDnsServer`), with a
 *   silent upstream: every query over the bound gets SERVFAIL at once (no upstream
 *   time-out), only the queries within the bound reach the upstream, and memory stays flat;
 * - 900 TCP connections that stay idle or dribble 1,000 bytes of a 65,535-byte frame
 *   (slow loris): RSS grows by about 12 KB per connection, not by a 64 KB buffer each.
 */
import assert from "node:assert/strict";
import { buildQuery, header, queryUdp, udpExchange } from "./helpers/dns_client.ts";
import { waitFor } from "./helpers/wait.ts";
import { withEvalChild } from "./helpers/eval_child.ts";
import { procMemory } from "./helpers/proc_memory.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";

const ROOT = new URL("../", import.meta.url);
/** Forwarded queries in flight from the test client at a time. */
const WINDOW = 64;
/** Forwarded queries per load test. */
const FORWARDED = 12_000;
/** Most the RSS outside the V8 heap may grow over the warmed-up baseline. */
const NATIVE_BOUND = 16 * 1024 * 1024;
/** Most ArrayBuffer memory (outside the V8 heap) there may be under forwarding load. */
const EXTERNAL_BOUND = 24 * 1024 * 1024;
/** Most the peak RSS may grow over the warmed-up baseline under forwarding load (V8 heap growth included). */
const FORWARD_RSS_BOUND = 64 * 1024 * 1024;
/** TCP connections opened (the server's cap is 1000). */
const TCP_CONNECTIONS = 900;
/** Most the RSS may grow with `TCP_CONNECTIONS` idle or slow connections open. */
const TCP_RSS_BOUND = 24 * 1024 * 1024;

interface ChildOptions {
  engine: string;
  resolvers: string[];
  timeout?: number;
  maxInFlight?: number;
}

/** The child: a DNS server on the sample zone with the given forwarding, until stdin closes. */
function serverProgram(o: ChildOptions): string {
  const mod = (path: string) => JSON.stringify(new URL(path, ROOT).href);
  return `
    import { startDnsServer } from ${mod("src/dns/server.ts")};
    import { SnapshotHolder } from ${mod("src/records/snapshot.ts")};
    import { sampleRecords } from ${mod("tests/helpers/dns_fixture.ts")};
    import { testConfig } from ${mod("tests/helpers/test_config.ts")};
    const holder = new SnapshotHolder();
    holder.publish(sampleRecords());
    const server = await startDnsServer({
      hostname: "127.0.0.1",
      port: 0,
      config: testConfig({ Resolvers: ${JSON.stringify(o.resolvers)}, Timeout: ${o.timeout ?? 5} }),
      holder,
      udpEngine: ${JSON.stringify(o.engine)},
      forwarder: ${o.maxInFlight === undefined ? "undefined" : `{ maxInFlight: ${o.maxInFlight} }`},
    });
    console.log(JSON.stringify({ port: server.port, udpEngine: server.udpEngine }));
    // Each line on stdin asks for the V8 heap figures; the server runs until stdin closes.
    for await (const chunk of Deno.stdin.readable) {
      for (const byte of chunk) {
        if (byte !== 10) continue;
        const { heapTotal, heapUsed, external } = Deno.memoryUsage();
        console.log(JSON.stringify({ heapTotal, heapUsed, external }));
      }
    }
    await server.close();
  `;
}

/** Memory figures of the server process, in bytes. */
interface Memory {
  /** VmRSS and VmHWM (peak RSS) from /proc. */
  rss: number;
  hwm: number;
  /** V8's heap (all spaces, as sized by V8) and ArrayBuffer memory outside it. */
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** RSS outside the V8 heap: sockets, buffers, native state. */
  native: number;
  /** Open file descriptors (sockets among them). */
  fds: number;
}

interface ServerProcess {
  port: number;
  udpEngine: string;
  memory(): Promise<Memory>;
}

async function withServerProcess(o: ChildOptions, fn: (s: ServerProcess) => Promise<void>): Promise<void> {
  await withEvalChild(serverProgram(o), {}, async (server) => {
    const line = async () => JSON.parse(await server.nextLine());
    const memory = async (): Promise<Memory> => {
      await server.writeLine();
      const v8 = await line();
      const proc = procMemory(server.child.pid);
      const fds = [...Deno.readDirSync(`/proc/${server.child.pid}/fd`)].length;
      return { ...proc, ...v8, native: proc.rss - v8.heapTotal, fds };
    };
    const { port, udpEngine } = await line();
    // Serving already (a UDP worker starts after its module is loaded, seconds on a busy machine).
    await waitFor(async () => {
      const r = await udpExchange(port, buildQuery("leader.mesos.", "A"), 500).catch(() => undefined);
      return r !== undefined;
    }, { timeoutMs: 20000, message: "the server answers" });
    await fn({ port, udpEngine, memory });
  });
}

const mb = (n: number) => (n / 1048576).toFixed(1);

/** A UDP socket with one outstanding receive at a time, read with deadlines. */
class Receiver {
  readonly sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  #next: Promise<[Uint8Array, Deno.Addr]> | undefined;

  get port(): number {
    return (this.sock.addr as Deno.NetAddr).port;
  }

  /** The next datagram and its sender, or undefined after `ms` (the receive stays pending for later). */
  async next(ms: number): Promise<[Uint8Array, Deno.NetAddr] | undefined> {
    this.#next ??= this.sock.receive();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let r: [Uint8Array, Deno.Addr] | undefined;
    try {
      r = await Promise.race([
        this.#next,
        new Promise<undefined>((res) => timer = setTimeout(() => res(undefined), ms)),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (r === undefined) return undefined;
    this.#next = undefined;
    return [r[0], r[1] as Deno.NetAddr];
  }

  async close(): Promise<void> {
    this.sock.close();
    await this.#next?.catch(() => {});
  }
}

/**
 * An upstream that answers every query at once with the query itself turned into a
 * reply (QR and RA set, NOERROR, no records), unless `silent`.
 */
function echoUpstream(silent = false) {
  const r = new Receiver();
  const ports = new Set<number>();
  let queries = 0;
  let closed = false;
  const loop = (async () => {
    while (!closed) {
      const got = await r.next(1000).catch(() => undefined);
      if (!got) continue;
      queries++;
      ports.add(got[1].port);
      if (silent) continue;
      const reply = got[0].slice();
      reply[2] |= 0x80;
      reply[3] = 0x80;
      await r.sock.send(reply, got[1]).catch(() => {});
    }
  })();
  return {
    port: r.port,
    queries: () => queries,
    /** The source ports queries came from. */
    ports,
    async close() {
      closed = true;
      await r.close();
      await loop;
    },
  };
}

/**
 * Sends `total` UDP queries for names outside the domain to `port`, `WINDOW` at a time
 * (each round waits for its replies, up to `waitMs`; the first round with unanswered
 * queries ends the run). Returns the replies' rcodes by count, the number unanswered or
 * not sent, and the slowest round in ms.
 */
async function forwardedLoad(
  port: number,
  total: number,
  waitMs: number,
  everyThousand?: () => Promise<void>,
): Promise<{ rcodes: Map<number, number>; missing: number; slowestMs: number }> {
  const client = new Receiver();
  const rcodes = new Map<number, number>();
  let missing = 0;
  let slowestMs = 0;
  try {
    for (let sent = 0; sent < total; sent += WINDOW) {
      const t0 = performance.now();
      const want = new Set<number>();
      for (let i = 0; i < Math.min(WINDOW, total - sent); i++) {
        const id = (sent + i) & 0xffff;
        want.add(id);
        const q = buildQuery(`q${sent + i}.example.org.`, "A", { id });
        await client.sock.send(q, { transport: "udp", hostname: "127.0.0.1", port });
      }
      const deadline = Date.now() + waitMs;
      while (want.size > 0 && Date.now() < deadline) {
        const got = await client.next(Math.max(1, deadline - Date.now()));
        if (!got) break;
        const h = header(got[0]);
        if (!want.delete(h.id)) continue;
        rcodes.set(h.rcode, (rcodes.get(h.rcode) ?? 0) + 1);
      }
      slowestMs = Math.max(slowestMs, performance.now() - t0);
      if (everyThousand && Math.floor((sent + WINDOW) / 1000) > Math.floor(sent / 1000)) {
        await everyThousand();
      }
      if (want.size > 0) {
        // Stop at the first round with unanswered queries: count the rest as missing.
        missing += total - sent - (Math.min(WINDOW, total - sent) - want.size);
        break;
      }
    }
  } finally {
    await client.close();
  }
  return { rcodes, missing, slowestMs };
}

/** Runs `load` while sampling the server's memory every 1,000 queries; returns the largest figures seen. */
async function peakDuring<T>(
  s: ServerProcess,
  load: (sample: () => Promise<void>) => Promise<T>,
): Promise<{ result: T; peak: Memory }> {
  const peak = await s.memory();
  const sample = async () => {
    const m = await s.memory();
    for (const k of Object.keys(peak) as Array<keyof Memory>) peak[k] = Math.max(peak[k], m[k]);
  };
  const result = await load(sample);
  await sample();
  return { result, peak };
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);

  test("forwarding load: every query answered over a few shared sockets, memory flat", async () => {
    const up = echoUpstream();
    try {
      await withServerProcess({ engine, resolvers: [`127.0.0.1:${up.port}`] }, async (s) => {
        assert.equal(s.udpEngine, engine);
        // Warm-up (JIT, the shared sockets and their buffers), then the baseline.
        const warm = await forwardedLoad(s.port, 1000, 3000);
        assert.equal(warm.missing, 0);
        const base = await s.memory();
        const portsBefore = up.ports.size;
        const { result: r, peak } = await peakDuring(
          s,
          (sample) => forwardedLoad(s.port, FORWARDED, 3000, sample),
        );
        assert.equal(r.missing, 0, `${r.missing} of ${FORWARDED} forwarded queries unanswered`);
        assert.deepEqual([...r.rcodes], [[0, FORWARDED]], "all relayed from the upstream (NOERROR)");
        assert.equal(up.queries(), 1000 + FORWARDED);
        const figures =
          `RSS ${mb(base.rss)} MB after warm-up, peak ${mb(peak.hwm)} MB; outside the V8 heap ` +
          `${mb(base.native)} → peak ${mb(peak.native)} MB; ArrayBuffers peak ${mb(peak.external)} MB; ` +
          `descriptors ${base.fds} → peak ${peak.fds}; ${up.ports.size} source ports`;
        // A few sockets (4 per family, each replaced after 2,000 queries), not one per query.
        assert.ok(peak.fds - base.fds <= 8, `open descriptors: ${figures}`);
        assert.ok(up.ports.size - portsBefore <= FORWARDED / 1000 + 4, `source ports: ${figures}`);
        // No 64 KB buffer per query: memory outside the V8 heap stays flat.
        assert.ok(peak.external < EXTERNAL_BOUND, `ArrayBuffers: ${figures}`);
        assert.ok(peak.native - base.native < NATIVE_BOUND, `outside the V8 heap: ${figures}`);
        // V8 sizes its own heap; the whole process still stays well below the audit's figures.
        assert.ok(peak.hwm - base.rss < FORWARD_RSS_BOUND, `RSS: ${figures}`);
      });
    } finally {
      await up.close();
    }
  });

  test("beyond maxInFlight: SERVFAIL at once, memory flat", async () => {
    const silent = echoUpstream(true);
    const bound = 16;
    try {
      const opts = { engine, resolvers: [`127.0.0.1:${silent.port}`], timeout: 5, maxInFlight: bound };
      await withServerProcess(opts, async (s) => {
        // Fill the bound: these wait for the silent upstream (5 s) and are never answered here.
        const held = await forwardedLoad(s.port, bound, 100);
        assert.equal(held.missing, bound);
        const base = await s.memory();
        // Everything over the bound: SERVFAIL without waiting for any upstream.
        const { result: over, peak } = await peakDuring(
          s,
          (sample) => forwardedLoad(s.port, 4000, 3000, sample),
        );
        assert.equal(over.missing, 0);
        assert.deepEqual([...over.rcodes], [[2, 4000]], "SERVFAIL");
        assert.ok(over.slowestMs < 2000, `a round of ${WINDOW} took ${over.slowestMs.toFixed(0)} ms`);
        assert.equal(silent.queries(), bound, "only the queries within the bound reached the upstream");
        const figures =
          `RSS ${mb(base.rss)} MB, peak ${mb(peak.hwm)} MB; outside the V8 heap ${mb(base.native)} → ` +
          `peak ${mb(peak.native)} MB`;
        assert.ok(peak.native - base.native < NATIVE_BOUND, figures);
        assert.ok(peak.hwm - base.rss < NATIVE_BOUND, figures);
        // Zone names are still answered.
        assert.equal((await queryUdp(s.port, "leader.mesos.", "A")).msg.rcode, "NOERROR");
      });
    } finally {
      await silent.close();
    }
  });
}

Deno.test("TCP: idle and slow-loris connections cost little memory each", async () => {
  await withServerProcess({ engine: "portable", resolvers: [] }, async (s) => {
    const conns: Deno.TcpConn[] = [];
    try {
      // Warm the TCP path, then the baseline.
      for (let i = 0; i < 20; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
        conns.push(c);
      }
      await new Promise((r) => setTimeout(r, 100));
      for (const c of conns.splice(0)) c.close();
      const base = (await s.memory()).hwm;
      // Half stay idle; half announce a 65,535-byte frame and send 1,000 bytes of it.
      const part = new Uint8Array(2 + 1000);
      part[0] = 0xff;
      part[1] = 0xff;
      // In parallel batches, so all are open well within the server's 2 s first-query timeout.
      for (let i = 0; i < TCP_CONNECTIONS; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () => Deno.connect({ hostname: "127.0.0.1", port: s.port })),
        );
        conns.push(...batch);
        await Promise.all(batch.map((c, k) => k % 2 === 1 ? c.write(part) : 0));
      }
      // Every connection is still open (the server reads the slow ones and waits).
      const probe = await queryUdp(s.port, "leader.mesos.", "A");
      assert.equal(probe.msg.rcode, "NOERROR");
      await new Promise((r) => setTimeout(r, 300));
      const m = await s.memory();
      assert.ok(
        m.hwm - base < TCP_RSS_BOUND,
        `${TCP_CONNECTIONS} open connections: RSS ${mb(base)} MB before, peak ${mb(m.hwm)} MB, ` +
          `now ${mb(m.rss)} MB (bound: +${mb(TCP_RSS_BOUND)} MB)`,
      );
    } finally {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed by the server */ }
      }
    }
  });
});
