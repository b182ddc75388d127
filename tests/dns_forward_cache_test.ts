/**
 * The cache of forwarded answers (`ForwardCacheSize`): what may be cached and for how
 * long (smallest TTL; RFC 2308 for negative answers; never SERVFAIL, REFUSED or TC),
 * TTLs counting down and entries expiring, keys kept apart by name, type, class and the
 * DO bit, the question answered as asked; and a cached answer served, without a second
 * upstream query, by both UDP engines and over TCP.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { cacheability, ForwardCache } from "../src/dns/forward_cache.ts";
import { hashWireName } from "../src/dns/name_index.ts";
import { type Answer, dnsPacket, type Packet } from "../src/dns/packet.ts";
import { PlainQuery, scanPlainQuery } from "../src/dns/query.ts";
import { type DnsServer, startDnsServer } from "../src/dns/server.ts";
import type { Config } from "../src/config/types.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode, type QueryOptions, tcpExchange, udpExchange } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES, type UdpEngineName } from "./helpers/udp_engines.ts";
import { waitFor } from "./helpers/wait.ts";

// deno-lint-ignore no-explicit-any
type AnyRecord = any;

const SOA = (ttl: number, minimum: number): AnyRecord => ({
  type: "SOA",
  name: "example.org",
  ttl,
  data: {
    mname: "ns.example.org",
    rname: "admin.example.org",
    serial: 1,
    refresh: 60,
    retry: 60,
    expire: 600,
    minimum,
  },
});

const A = (name: string, ttl: number, ip = "192.0.2.1"): Answer => ({ type: "A", name, ttl, data: ip });

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

/** A reply to `query` with the given rcode, flags and sections. */
function replyTo(
  query: Uint8Array,
  o: {
    rcode?: string;
    tc?: boolean;
    answers?: AnyRecord[];
    authorities?: AnyRecord[];
    additionals?: AnyRecord[];
  },
): Uint8Array {
  const q = decode(query);
  const packet: AnyRecord = {
    type: "response",
    id: q.id,
    // dns-packet takes the rcode from the low bits of `flags`.
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED |
      (o.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | RCODES[o.rcode ?? "NOERROR"],
    questions: q.questions,
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: [...(o.additionals ?? []), ...(q.additionals ?? [])],
  };
  return new Uint8Array(dnsPacket.encode(packet as Packet));
}

const dec = (b: Uint8Array): AnyRecord => decode(b);

function plain(req: Uint8Array): PlainQuery {
  const q = new PlainQuery();
  assert.ok(scanPlainQuery(req, req.length, q));
  return q;
}

/** Looks `req` up in `cache` at time `now`; the decoded reply, or undefined on a miss. */
function lookup(cache: ForwardCache, req: Uint8Array, now: number, limit = 4096) {
  const q = plain(req);
  const out = new Uint8Array(65535);
  const n = cache.answer(req, q, q.hash, limit, out, now);
  return n < 0 ? undefined : { bytes: out.slice(0, n), msg: decode(out.slice(0, n)) as AnyRecord };
}

function store(cache: ForwardCache, req: Uint8Array, reply: Uint8Array, now: number): boolean {
  return cache.store(req, plain(req), reply, now);
}

Deno.test("cacheability: smallest TTL for answers; SOA TTL or MINIMUM, the lesser, for negative ones", () => {
  const q = buildQuery("www.example.org.", "A");
  const qEnd = plain(q).qEnd;
  const positive = replyTo(q, {
    answers: [A("www.example.org", 300), A("www.example.org", 120, "192.0.2.2")],
    authorities: [{ type: "NS", name: "example.org", ttl: 86400, data: "ns.example.org" }],
  });
  assert.equal(cacheability(positive, qEnd)?.ttl, 120);
  assert.equal(cacheability(positive, qEnd)?.ttlOffsets.length, 3, "every record's TTL counts down");
  const nx = replyTo(q, { rcode: "NXDOMAIN", authorities: [SOA(900, 60)] });
  assert.equal(cacheability(nx, qEnd)?.ttl, 60, "MINIMUM below the SOA's TTL");
  const nodata = replyTo(q, { authorities: [SOA(30, 3600)] });
  assert.equal(cacheability(nodata, qEnd)?.ttl, 30, "the SOA's TTL below MINIMUM");
  assert.equal(cacheability(replyTo(q, { rcode: "NXDOMAIN" }), qEnd), undefined, "negative without SOA");
  assert.equal(cacheability(replyTo(q, { rcode: "SERVFAIL" }), qEnd), undefined);
  assert.equal(cacheability(replyTo(q, { rcode: "REFUSED" }), qEnd), undefined);
  assert.equal(cacheability(replyTo(q, { rcode: "FORMERR" }), qEnd), undefined);
  assert.equal(cacheability(replyTo(q, { tc: true, answers: [A("www.example.org", 300)] }), qEnd), undefined);
  assert.equal(cacheability(replyTo(q, { answers: [A("www.example.org", 0)] }), qEnd), undefined, "TTL 0");
});

Deno.test("cached TTLs count down by whole seconds and the entry expires with its smallest TTL", () => {
  const cache = new ForwardCache(16);
  const q = buildQuery("www.example.org.", "A");
  const reply = replyTo(q, { answers: [A("www.example.org", 10), A("www.example.org", 5, "192.0.2.2")] });
  const t0 = 1_000_000;
  assert.ok(store(cache, q, reply, t0));
  assert.deepEqual(lookup(cache, q, t0)!.msg.answers!.map((a: AnyRecord) => a.ttl), [10, 5]);
  assert.deepEqual(lookup(cache, q, t0 + 999)!.msg.answers!.map((a: AnyRecord) => a.ttl), [10, 5]);
  assert.deepEqual(lookup(cache, q, t0 + 3500)!.msg.answers!.map((a: AnyRecord) => a.ttl), [7, 2]);
  assert.deepEqual(lookup(cache, q, t0 + 4999)!.msg.answers!.map((a: AnyRecord) => a.ttl), [6, 1]);
  assert.equal(lookup(cache, q, t0 + 5000), undefined, "expired with the 5 s record");
  assert.equal(cache.stats(t0 + 5000).entries, 0);
  assert.equal(cache.stats(t0).entries, 1);
});

Deno.test("negative answers are cached for min(SOA TTL, MINIMUM) and served with their SOA", () => {
  const cache = new ForwardCache(16);
  const q = buildQuery("nope.example.org.", "A");
  const t0 = 5_000_000;
  assert.ok(store(cache, q, replyTo(q, { rcode: "NXDOMAIN", authorities: [SOA(900, 20)] }), t0));
  const hit = lookup(cache, q, t0 + 15_000)!;
  assert.equal(hit.msg.rcode, "NXDOMAIN");
  assert.equal(hit.msg.authorities![0].type, "SOA");
  assert.equal(hit.msg.authorities![0].ttl, 900 - 15);
  assert.equal(lookup(cache, q, t0 + 20_000), undefined);
});

Deno.test("SERVFAIL, REFUSED and truncated replies are never cached", () => {
  const cache = new ForwardCache(16);
  const q = buildQuery("www.example.org.", "A");
  for (
    const r of [{ rcode: "SERVFAIL" }, { rcode: "REFUSED" }, {
      tc: true,
      answers: [A("www.example.org", 60)],
    }]
  ) {
    assert.equal(store(cache, q, replyTo(q, r), 0), false, JSON.stringify(r));
    assert.equal(lookup(cache, q, 0), undefined);
  }
});

Deno.test("entries are kept apart by name, type, class, RD, CD, EDNS and the DO bit", () => {
  const cache = new ForwardCache(64);
  const base = buildQuery("www.example.org.", "A", { edns: 1232 });
  assert.ok(store(cache, base, replyTo(base, { answers: [A("www.example.org", 60)] }), 0));
  assert.ok(lookup(cache, base, 0));
  const others: Array<[string, string, QueryOptions]> = [
    ["www.example.org.", "A", { edns: 1232, dnssecOk: true }],
    ["www.example.org.", "A", {}],
    ["www.example.org.", "A", { edns: 1232, cd: true }],
    ["www.example.org.", "A", { edns: 1232, rd: false }],
    ["www.example.org.", "AAAA", { edns: 1232 }],
    ["www.example.org.", "A", { edns: 1232, qclass: "CH" }],
    ["ww.example.org.", "A", { edns: 1232 }],
  ];
  for (const [name, type, o] of others) {
    assert.equal(
      lookup(cache, buildQuery(name, type, o), 0),
      undefined,
      `${name} ${type} ${JSON.stringify(o)}`,
    );
  }
  // The DO entry is its own: both live side by side.
  const withDo = buildQuery("www.example.org.", "A", { edns: 1232, dnssecOk: true });
  assert.ok(store(cache, withDo, replyTo(withDo, { answers: [A("www.example.org", 60, "192.0.2.9")] }), 0));
  assert.deepEqual(lookup(cache, withDo, 0)!.msg.answers!.map((a: AnyRecord) => a.data), ["192.0.2.9"]);
  assert.deepEqual(lookup(cache, base, 0)!.msg.answers!.map((a: AnyRecord) => a.data), ["192.0.2.1"]);
});

Deno.test("a cached answer carries the request's ID and question as asked, and our OPT", () => {
  const cache = new ForwardCache(16);
  const q = buildQuery("WWW.Example.ORG.", "A", { id: 7, edns: 4096, dnssecOk: true });
  assert.ok(store(cache, q, replyTo(q, { answers: [A("WWW.Example.ORG", 60)] }), 0));
  const again = buildQuery("www.EXAMPLE.org.", "A", { id: 4242, edns: 1232, dnssecOk: true });
  const hit = lookup(cache, again, 0)!;
  assert.equal(hit.msg.id, 4242);
  assert.equal(hit.msg.questions![0].name, "www.EXAMPLE.org");
  const opt = hit.msg.additionals!.filter((r: AnyRecord) => r.type === "OPT");
  assert.equal(opt.length, 1);
  assert.equal((opt[0] as AnyRecord).flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
  // A client without EDNS asked the same: a separate entry, and no OPT in that reply.
  const bare = buildQuery("www.example.org.", "A");
  assert.ok(store(cache, bare, replyTo(bare, { answers: [A("www.example.org", 60)] }), 0));
  assert.equal(lookup(cache, bare, 0)!.msg.additionals?.length ?? 0, 0);
  // Too big for the client's limit: a miss (the forwarder answers it and truncates).
  assert.equal(lookup(cache, again, 0, hit.bytes.length - 1), undefined);
  assert.equal(hashWireName(again, 12, plain(again).qnameEnd), plain(again).hash);
});

Deno.test("a full bucket gives way to the entry that expires first", () => {
  const cache = new ForwardCache(4); // one bucket of four
  const names = ["a", "b", "c", "d", "e"].map((n) => `${n}.example.org.`);
  names.forEach((name, i) => {
    const q = buildQuery(name, "A");
    assert.ok(store(cache, q, replyTo(q, { answers: [A(name.slice(0, -1), i === 1 ? 10 : 100)] }), 0));
  });
  assert.equal(lookup(cache, buildQuery(names[1], "A"), 0), undefined, "b expired first, so it went");
  for (const i of [0, 2, 3, 4]) assert.ok(lookup(cache, buildQuery(names[i], "A"), 0), names[i]);
});

/** A UDP upstream answering each query with `answer(query)` (undefined: silence); it counts queries. */
function scriptedUpstream(answer: (query: Uint8Array) => Uint8Array | undefined) {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const seen: Uint8Array[] = [];
  const loop = (async () => {
    while (true) {
      try {
        const [data, from] = await sock.receive();
        seen.push(data);
        const r = answer(data);
        if (r) await sock.send(r, from);
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
      await loop;
    },
  };
}

async function withCachingServer(
  engine: UdpEngineName,
  answer: (query: Uint8Array) => Uint8Array | undefined,
  fn: (s: DnsServer, seen: Uint8Array[]) => Promise<void>,
  config: Partial<Config> = {},
): Promise<void> {
  const up = scriptedUpstream(answer);
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ DNSUDPEngine: engine, Resolvers: [`127.0.0.1:${up.port}`], Timeout: 2, ...config }),
    holder,
  });
  try {
    assert.equal(server.udpEngine, engine);
    await fn(server, up.seen);
  } finally {
    await server.close();
    await up.close();
  }
}

const positive = (q: Uint8Array, ttl = 60) => {
  const name = decode(q).questions![0].name;
  return replyTo(q, { answers: [A(name, ttl)] });
};

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);

  test("a forwarded answer is cached: UDP and TCP clients get it without a second upstream query", async () => {
    await withCachingServer(engine, (q) => positive(q, 300), async (s, seen) => {
      const first = dec(await udpExchange(s.port, buildQuery("Cached.Example.org.", "A", { id: 11 })));
      assert.equal(first.rcode, "NOERROR");
      assert.equal(seen.length, 1);
      // A UDP worker that forwarded it itself hands the reply to the cache a moment later.
      await waitFor(() => s.cacheStats()!.entries === 1, { message: "the reply is cached" });
      for (let i = 0; i < 5; i++) {
        const r = dec(await udpExchange(s.port, buildQuery("cached.EXAMPLE.org.", "A", { id: 100 + i })));
        assert.equal(r.id, 100 + i);
        assert.equal(r.questions![0].name, "cached.EXAMPLE.org");
        assert.deepEqual(r.answers!.map((a: AnyRecord) => a.data), ["192.0.2.1"]);
        assert.ok(r.answers![0].ttl! <= 300 && r.answers![0].ttl! >= 298);
      }
      const tcp = dec(await tcpExchange(s.port, buildQuery("cached.example.org.", "A", { id: 77 })));
      assert.equal(tcp.id, 77);
      assert.deepEqual(tcp.answers!.map((a: AnyRecord) => a.data), ["192.0.2.1"]);
      assert.equal(seen.length, 1, "only the first query reached the upstream");
      const stats = s.cacheStats()!;
      assert.equal(stats.hits, 6);
      assert.equal(stats.misses, 1);
      assert.equal(stats.entries, 1);
      if (engine === "ffi") {
        assert.ok(s.udpStats()!.batched >= 6, "the worker received the queries");
      }
    });
  });

  test("an expired entry is asked again; SERVFAIL and truncated replies are not cached", async () => {
    let mode: "ttl1" | "servfail" | "tc" = "ttl1";
    await withCachingServer(engine, (q) => {
      if (mode === "servfail") return replyTo(q, { rcode: "SERVFAIL" });
      if (mode === "tc") return replyTo(q, { tc: true });
      return positive(q, 1);
    }, async (s, seen) => {
      await udpExchange(s.port, buildQuery("short.example.org.", "A"));
      await waitFor(() => s.cacheStats()!.stores === 1, { message: "the reply is cached" });
      await udpExchange(s.port, buildQuery("short.example.org.", "A"));
      assert.equal(seen.length, 1, "cached for its 1 s");
      await waitFor(async () => {
        await udpExchange(s.port, buildQuery("short.example.org.", "A"));
        return seen.length === 2;
      }, { timeoutMs: 5000, intervalMs: 100, message: "asked upstream again after the TTL" });
      await waitFor(() => s.cacheStats()!.stores === 2, { message: "the fresh reply is cached again" });
      for (const m of ["servfail", "tc"] as const) {
        mode = m;
        const before: number = seen.length;
        const name = `${m}.example.org.`;
        const r1 = decode(await udpExchange(s.port, buildQuery(name, "A")));
        const afterFirst: number = seen.length;
        assert.ok(afterFirst > before);
        const r2 = decode(await udpExchange(s.port, buildQuery(name, "A")));
        if (m === "servfail") assert.equal(r2.rcode, "SERVFAIL");
        else assert.ok((r1.flags & dnsPacket.TRUNCATED_RESPONSE) !== 0);
        // Not cached: the second query went upstream too. (A truncated reply to a UDP
        // worker's own attempt is forwarded again by the main thread, which retries over
        // TCP, refused here, and relays the truncated reply.)
        assert.ok(seen.length > afterFirst, `${m}: the second query went upstream`);
        // Counted as stores, not live entries: the first name's 1 s entry may expire meanwhile.
        assert.equal(s.cacheStats()!.stores, 2, "only the first name is cached");
      }
    });
  });

  test("the DO bit keeps cache entries apart", async () => {
    await withCachingServer(engine, (q) => positive(q), async (s, seen) => {
      for (let i = 0; i < 2; i++) {
        await udpExchange(s.port, buildQuery("do.example.org.", "A", { edns: 1232 }));
        await udpExchange(s.port, buildQuery("do.example.org.", "A", { edns: 1232, dnssecOk: true }));
        await waitFor(() => s.cacheStats()!.stores === 2, { message: "both replies cached" });
      }
      assert.equal(seen.length, 2, "one upstream query per DO value");
    });
  });

  test("ForwardCacheSize 0 forwards every query", async () => {
    await withCachingServer(engine, (q) => positive(q), async (s, seen) => {
      await udpExchange(s.port, buildQuery("nocache.example.org.", "A"));
      await udpExchange(s.port, buildQuery("nocache.example.org.", "A"));
      assert.equal(seen.length, 2);
      assert.equal(s.cacheStats(), undefined);
    }, { ForwardCacheSize: 0 });
  });
}

Deno.test("the upstream's reply bytes are decodable as a cache test fixture", () => {
  // Guards the fixture builder itself: dns-packet encodes what the tests above rely on.
  const q = buildQuery("x.example.org.", "A", { edns: 512 });
  const r = decode(Buffer.from(replyTo(q, { rcode: "NXDOMAIN", authorities: [SOA(10, 5)] })));
  assert.equal(r.rcode, "NXDOMAIN");
  assert.equal(r.additionals![0].type, "OPT");
});
