/**
 * Fuzzing the running DNS server over real sockets (issue #6 item 4): at least 100,000
 * random and mutated UDP packets (random bytes, bit flips, truncations, huge section
 * counts, compression pointer loops, labels longer than 63, OPT abuse, odd opcodes, types
 * and classes, names outside the domain), paced by probe queries that must keep
 * getting the right answer; at the same time over TCP: idle connections, slow-loris
 * connections dribbling a frame that never completes, and streams with wrong lengths,
 * zero-length and header-less frames, truncated frames and mutated messages. Afterwards
 * valid queries answer correctly over UDP and TCP, and the process RSS grew by less than
 * `RSS_GROWTH_BOUND`. A last test has one TCP client pipeline queries and never read.
 *
 * Forwarding is off (no resolvers): names outside the domain get REFUSED, so what is
 * measured is the server's own handling, not a fake upstream's. (Forwarded load has its
 * own memory test: tests/dns_memory_test.ts.)
 *
 * Run once per UDP engine: `portable`, and `auto` (the FFI fast path where it can run).
 * The server runs in a child process (`startDnsServer` with the sample zone of
 * tests/helpers/dns_fixture.ts, TCP idle timeout `IDLE_MS`), so its memory is its own:
 * VmRSS and VmHWM from /proc/<pid>/status. The pace is "one batch, then a probe round
 * trip". The packet stream is deterministic for a seed: `DNS_FUZZ_SEED=<n>` replays
 * another one.
 */
import assert from "node:assert/strict";
import { buildQuery, decode, queryTcp, queryUdp } from "./helpers/dns_client.ts";
import { BIG_COUNT } from "./helpers/dns_fixture.ts";
import { withEvalChild } from "./helpers/eval_child.ts";
import { procMemory } from "./helpers/proc_memory.ts";

/** UDP packets thrown at the server. */
const UDP_PACKETS = 100_000;
/**
 * Packets sent between two probe round trips: small enough that a batch fits the
 * server's socket receive buffer (~200 KB, ~2 KB of kernel accounting per datagram), so
 * packets are parsed rather than dropped by the kernel.
 */
const BATCH = 64;
/** A probe must be answered within this long, or the server counts as stalled. */
const PROBE_DEADLINE_MS = 3000;
/** A probe is re-sent this often while unanswered, as a real client would. */
const PROBE_RETRY_MS = 500;
/** TCP idle timeout given to the server under test. */
const IDLE_MS = 1000;
const IDLE_CONNECTIONS = 100;
const SLOW_LORIS_CONNECTIONS = 10;
const MALFORMED_TCP_STREAMS = 400;
/**
 * Most the server's RSS may grow, peak (VmHWM) and at the end (VmRSS), over its RSS after
 * the warm-up. Everything the server keeps per request is either answered and dropped or
 * bounded (forwarded queries in flight: 1024; TCP connections: 1000, each with a read
 * buffer that grows only with what its client sent); what remains is V8 heap growth and
 * allocator slack.
 */
const RSS_GROWTH_BOUND = 48 * 1024 * 1024;

const enc = new TextEncoder();

/** A small deterministic PRNG (mulberry32). */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const NAMES = [
  "chronos.marathon.mesos.",
  "web.marathon.mesos.",
  "big.marathon.mesos.",
  "_car-store._udp.marathon.mesos.",
  "missing.mesos.",
  "mesos.",
  "web.*.marathon.mesos.",
  "a.*.b.*.mesos.",
  "CHRONOS.Marathon.MESOS.",
  "www.example.org.",
  "x.in-addr.arpa.",
  ".",
];
const TYPES = ["A", "AAAA", "SRV", "ANY", "SOA", "NS", "TXT", "PTR", "MX", "CNAME", "AXFR", "IXFR", "CAA"];

/** A well-formed query to mutate. */
function validQuery(rng: Rng): Uint8Array {
  const edns = rng.next() < 0.4 ? rng.pick([0, 100, 512, 1232, 4096, 65535]) : undefined;
  return buildQuery(rng.pick(NAMES), rng.pick(TYPES), { id: rng.int(0x10000), edns, rd: rng.next() < 0.5 });
}

/** A header with the given counts, followed by `rest`. */
function withHeader(rng: Rng, counts: number[], rest: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + rest.length);
  out[0] = rng.int(256);
  out[1] = rng.int(256);
  out[2] = rng.next() < 0.8 ? 0x01 : rng.int(256);
  for (let i = 0; i < 4; i++) {
    out[4 + 2 * i] = counts[i] >> 8;
    out[5 + 2 * i] = counts[i] & 0xff;
  }
  out.set(rest, 12);
  return out;
}

/** An uncompressed label sequence for `name` (no trailing zero byte). */
function labels(name: string): number[] {
  return name.split(".").filter((l) => l).flatMap((l) => [l.length, ...enc.encode(l)]);
}

/** One bad packet; each kind aims at a different part of the parser. */
function badPacket(rng: Rng): Uint8Array {
  switch (rng.int(12)) {
    case 0: // random bytes, any length up to a large datagram
      return rng.bytes(rng.next() < 0.9 ? rng.int(80) : rng.int(1500));
    case 1: { // bit flips
      const q = validQuery(rng);
      for (let i = 1 + rng.int(8); i > 0; i--) q[rng.int(q.length)] ^= 1 << rng.int(8);
      return q;
    }
    case 2: // truncated anywhere
      return validQuery(rng).subarray(0, rng.int(40));
    case 3: { // huge or wrong section counts
      const q = validQuery(rng);
      const at = 4 + 2 * rng.int(4);
      const v = rng.pick([0xffff, 0x8000, 2, 3, 100, rng.int(0x10000)]);
      q[at] = v >> 8;
      q[at + 1] = v & 0xff;
      return q;
    }
    case 4: { // compression pointers: to itself, in a cycle, forward, past the end
      const kinds: number[][] = [
        [0xc0, 12, 0, 1, 0, 1],
        [3, 97, 98, 99, 0xc0, 12, 0, 1, 0, 1],
        [1, 97, 0xc0, 14, 0, 1, 0, 1],
        [0xc0, 200, 0, 1, 0, 1],
        [0xff, 0xff, 0, 1, 0, 1],
      ];
      const qname = labels("chronos.marathon.mesos.");
      // A valid question, then an answer record whose owner is a pointer loop.
      const loopRR = [0xc0, 12 + qname.length + 5, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4];
      return rng.next() < 0.5
        ? withHeader(rng, [1, 0, 0, 0], rng.pick(kinds))
        : withHeader(rng, [1, 1, 0, 0], [...qname, 0, 0, 1, 0, 1, ...loopRR]);
    }
    case 5: { // label lengths over 63 (reserved label types), and names over 255 bytes
      const long = rng.next() < 0.5;
      const name = long
        ? Array.from({ length: 6 }, () => [63, ...rng.bytes(63)]).flat()
        : [64 + rng.int(128), ...rng.bytes(20)];
      return withHeader(rng, [1, 0, 0, 0], [...name, 0, 0, 1, 0, 1]);
    }
    case 6: { // OPT abuse
      const q = labels("chronos.marathon.mesos.");
      const size = rng.pick([0, 1, 511, 512, 65535, rng.int(0x10000)]);
      const ttl = [rng.int(256), rng.pick([0, 1, 255]), rng.pick([0, 0x80, 0xff]), rng.int(256)];
      const rdata = rng.next() < 0.5 ? [] : [...rng.bytes(rng.int(12))];
      const rdlen = rng.next() < 0.7 ? rdata.length : rng.int(0x10000);
      const opt = [0, 0, 41, size >> 8, size & 0xff, ...ttl, rdlen >> 8, rdlen & 0xff, ...rdata];
      const owner = rng.next() < 0.2 ? [1, 120, 0] : [0];
      const optRR = [...owner, ...opt.slice(1)];
      const copies = rng.pick([1, 1, 2, 3]);
      const inAnswer = rng.next() < 0.15;
      const rrs = Array.from({ length: copies }, () => optRR).flat();
      return withHeader(
        rng,
        [1, inAnswer ? copies : 0, 0, inAnswer ? 0 : copies],
        [...q, 0, 0, 1, 0, 1, ...rrs],
      );
    }
    case 7: { // any opcode, QR, Z, AD, CD, rcode bits
      const q = validQuery(rng);
      q[2] = rng.int(256);
      q[3] = rng.int(256);
      return q;
    }
    case 8: { // any type and class, existing and missing names, forwarded names
      const q = validQuery(rng);
      const end = 12 + labels(rng.pick(NAMES)).length; // not exact for every name: fine either way
      if (end + 5 <= q.length) {
        q[end + 1] = rng.int(256);
        q[end + 2] = rng.int(256);
        q[end + 3] = rng.pick([0, 1, 3, 4, 254, 255, rng.int(256)]);
      }
      return q;
    }
    case 9: { // two messages spliced together
      const a = validQuery(rng);
      const b = validQuery(rng);
      const cut = rng.int(a.length);
      return new Uint8Array([...a.subarray(0, cut), ...b.subarray(rng.int(b.length))]);
    }
    case 10: { // a valid question followed by records with lying lengths
      const q = validQuery(rng);
      const rr = [0, 0, 1, 0, 1, 0, 0, 0, 60, rng.int(256), rng.int(256), ...rng.bytes(rng.int(8))];
      const out = new Uint8Array([...q, ...rr]);
      const at = 6 + 2 * rng.int(3);
      out[at + 1] += 1;
      return out;
    }
    default: // a valid query: the mutations are most useful next to normal traffic
      return validQuery(rng);
  }
}

/** Frames `msg` for TCP with a 2-byte length prefix. */
function frame(msg: Uint8Array, len = msg.length): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = (len >> 8) & 0xff;
  out[1] = len & 0xff;
  out.set(msg, 2);
  return out;
}

/** Writes all of `b`; false if the connection failed. */
async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<boolean> {
  try {
    let off = 0;
    while (off < b.length) off += await conn.write(b.subarray(off));
    return true;
  } catch {
    return false;
  }
}

/** Reads one length-prefixed message; undefined if the connection ends first. */
async function readFrame(conn: Deno.Conn): Promise<Uint8Array | undefined> {
  const head = new Uint8Array(2);
  const body = async (b: Uint8Array) => {
    for (let got = 0; got < b.length;) {
      const n = await conn.read(b.subarray(got));
      if (n === null) return false;
      got += n;
    }
    return true;
  };
  if (!(await body(head))) return undefined;
  const msg = new Uint8Array((head[0] << 8) | head[1]);
  return (await body(msg)) ? msg : undefined;
}

/** Resolves to the time at which the server closed `conn` (reads until EOF or error). */
async function closedAt(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(4096);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
  } catch { /* reset counts as closed */ }
  return Date.now();
}

/** Races `p` against a timer; undefined on timeout. No timer is left behind. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms))]);
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

/** Probe queries with the answer each must get. */
const PROBES: Array<{ name: string; type: string; check: (m: ReturnType<typeof decode>) => void }> = [
  {
    name: "chronos.marathon.mesos.",
    type: "A",
    check: (m) => {
      assert.equal(m.rcode, "NOERROR");
      assert.deepEqual(m.answers!.map((a) => (a as { data: string }).data), ["1.2.3.11"]);
    },
  },
  {
    name: "_car-store._udp.marathon.mesos.",
    type: "SRV",
    check: (m) => {
      assert.equal(m.answers!.length, 2);
      assert.equal(m.additionals!.length, 2);
    },
  },
  {
    name: "missing.mesos.",
    type: "A",
    check: (m) => {
      assert.equal(m.rcode, "NXDOMAIN");
      assert.equal(m.authorities!.length, 1);
    },
  },
];

/** Reads every datagram arriving on `sock` until it is closed, handing each to `onData`. */
async function drain(sock: Deno.DatagramConn, onData: (d: Uint8Array) => void): Promise<void> {
  while (true) {
    try {
      const [data] = await sock.receive();
      onData(data);
    } catch {
      return; // closed
    }
  }
}

/**
 * The fuzzing client: bad packets go out from one socket (whose replies are read and
 * dropped), probes from another, so a reply to a bad packet can never pass for a probe's.
 */
class FuzzClient {
  readonly #fuzz = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  readonly #probe = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  #waiting: { id: number; resolve: (b: Uint8Array) => void } | undefined;
  /** Replies to bad packets. */
  replies = 0;
  /** Probe sends, first tries included. */
  probeSends = 0;
  readonly #loops: Promise<void>[];

  constructor(readonly port: number) {
    this.#loops = [
      drain(this.#fuzz, () => this.replies++),
      drain(this.#probe, (data) => {
        const w = this.#waiting;
        if (w && data.length >= 12 && ((data[0] << 8) | data[1]) === w.id) {
          this.#waiting = undefined;
          w.resolve(data);
        }
      }),
    ];
  }

  send(msg: Uint8Array): Promise<number> {
    return this.#fuzz.send(msg, { transport: "udp", hostname: "127.0.0.1", port: this.port });
  }

  /**
   * Sends a probe with ID `id` and waits for its reply, re-sending it every
   * `PROBE_RETRY_MS`; undefined if nothing came within `PROBE_DEADLINE_MS`.
   */
  async probe(msg: Uint8Array, id: number): Promise<Uint8Array | undefined> {
    msg[0] = id >> 8;
    msg[1] = id & 0xff;
    const got = new Promise<Uint8Array>((resolve) => this.#waiting = { id, resolve });
    const deadline = Date.now() + PROBE_DEADLINE_MS;
    let r: Uint8Array | undefined;
    while (r === undefined && Date.now() < deadline) {
      this.probeSends++;
      await this.#probe.send(msg, { transport: "udp", hostname: "127.0.0.1", port: this.port });
      r = await within(got, Math.min(PROBE_RETRY_MS, deadline - Date.now()));
    }
    this.#waiting = undefined;
    return r;
  }

  async close(): Promise<void> {
    closeQuietly(this.#fuzz);
    closeQuietly(this.#probe);
    await Promise.all(this.#loops);
  }
}

/** Idle connections: the server must close every one after its idle timeout. */
async function idleConnections(port: number): Promise<number[]> {
  const t0 = Date.now();
  const conns = await Promise.all(
    Array.from({ length: IDLE_CONNECTIONS }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  try {
    const ends = await Promise.all(conns.map((c) => within(closedAt(c), IDLE_MS + 5000)));
    return ends.map((e) => (e === undefined ? Infinity : e - t0));
  } finally {
    conns.forEach(closeQuietly);
  }
}

/**
 * Slow-loris connections: announce a 300-byte frame and dribble one byte every 50 ms,
 * never finishing it. Bytes that trickle in must not keep a connection open.
 */
async function slowLoris(port: number): Promise<number[]> {
  return await Promise.all(Array.from({ length: SLOW_LORIS_CONNECTIONS }, async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const t0 = Date.now();
    let open = true;
    const ended = closedAt(conn).then((t) => {
      open = false;
      return t;
    });
    try {
      if (await writeAll(conn, new Uint8Array([1, 44]))) {
        for (let sent = 0; open && sent < 299 && Date.now() - t0 < IDLE_MS + 5000; sent++) {
          await within(ended, 50);
          if (open && !(await writeAll(conn, new Uint8Array([sent & 0xff])))) break;
        }
      }
      const end = await within(ended, 1000);
      return end === undefined ? Infinity : end - t0;
    } finally {
      closeQuietly(conn);
      await ended;
    }
  }));
}

/**
 * Streams of bad TCP frames. Each connection starts with a valid query (whose reply
 * must come back right), then sends one abuse: a frame longer than what follows, a
 * zero-length or header-less frame, random bytes, a frame cut short, a length shorter
 * than its message, or mutated messages in correct frames; then the client reads until
 * the server closes or a short deadline passes.
 */
async function malformedStreams(port: number, rng: Rng): Promise<{ streams: number; frames: number }> {
  let frames = 0;
  const one = async (): Promise<void> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      // A valid query first, answered right; then the abuse.
      await writeAll(conn, frame(buildQuery("chronos.marathon.mesos.", "A", { id: 0xabcd })));
      const r = await within(readFrame(conn), PROBE_DEADLINE_MS);
      assert.ok(r, "the valid first query on a TCP connection is answered");
      const m = decode(r);
      assert.equal(m.id, 0xabcd);
      assert.deepEqual(m.answers!.map((a) => (a as { data: string }).data), ["1.2.3.11"]);
      const parts: Uint8Array[] = [];
      const kind = rng.int(7);
      const bad = badPacket(rng);
      if (kind === 0) parts.push(frame(bad, bad.length + 1 + rng.int(500)));
      else if (kind === 1) parts.push(new Uint8Array([0, 0]));
      else if (kind === 2) parts.push(frame(bad.subarray(0, 11), Math.min(bad.length, 11)));
      else if (kind === 3) parts.push(rng.bytes(1 + rng.int(300)));
      else if (kind === 4) parts.push(frame(bad).subarray(0, 1 + rng.int(bad.length + 1)));
      else if (kind === 5) parts.push(frame(bad, Math.max(0, bad.length - 1 - rng.int(4))));
      else for (let i = 0; i < 20; i++) parts.push(frame(badPacket(rng)));
      frames += 1 + parts.length;
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      // Sent in two random pieces, so frame boundaries fall anywhere.
      const cut = rng.int(all.length);
      await writeAll(conn, all.subarray(0, cut));
      await writeAll(conn, all.subarray(cut));
      // Half of the clients half-close (the server must finish and close), the others
      // go quiet; drain until the server closes or 150 ms pass without data.
      const halfClose = rng.next() < 0.5;
      if (halfClose) await conn.closeWrite().catch(() => {});
      const buf = new Uint8Array(65536);
      while (true) {
        const n = await within(conn.read(buf).catch(() => null), halfClose ? PROBE_DEADLINE_MS : 150);
        if (n === undefined) {
          assert.ok(!halfClose, "the server closes a half-closed connection once it has answered");
          break;
        }
        if (n === null) break;
      }
    } finally {
      closeQuietly(conn);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < MALFORMED_TCP_STREAMS) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { streams: MALFORMED_TCP_STREAMS, frames };
}

const ROOT = new URL("../", import.meta.url);

/** The child: the DNS server on the sample zone, until its stdin closes. */
function serverProgram(udpEngine: string): string {
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
      config: testConfig(),
      holder,
      tcpIdleTimeoutMs: ${IDLE_MS},
      udpEngine: ${JSON.stringify(udpEngine)},
    });
    console.log(JSON.stringify({ port: server.port, udpEngine: server.udpEngine }));
    // Each line on stdin asks for the UDP fast path's counters; the server runs until stdin closes.
    for await (const chunk of Deno.stdin.readable) {
      for (const byte of chunk) if (byte === 10) console.log(JSON.stringify(server.udpStats() ?? null));
    }
    await server.close();
  `;
}

interface ServerProcess {
  port: number;
  /** The UDP engine the server runs (what `auto` chose). */
  udpEngine: string;
  /** VmRSS and VmHWM of the server process, in bytes. */
  memory(): { rss: number; hwm: number };
  /** The UDP fast path's counters (null on the portable engine). */
  udpStats(): Promise<{ batched: number; dropped: number } | null>;
}

/** Runs `fn` against a server child process with the given UDP engine choice. */
async function withFuzzServer(udpEngine: string, fn: (s: ServerProcess) => Promise<void>): Promise<void> {
  await withEvalChild(serverProgram(udpEngine), {}, async (server) => {
    const { port, udpEngine: engine } = JSON.parse(await server.nextLine());
    await fn({
      port,
      udpEngine: engine,
      memory: () => procMemory(server.child.pid),
      udpStats: async () => {
        await server.writeLine("");
        return JSON.parse(await server.nextLine());
      },
    });
  });
}

/** Asserts that the server's peak and current RSS stayed within the bound over `base`. */
function assertMemoryBound(mem: { rss: number; hwm: number }, base: number, what: string): void {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  assert.ok(
    mem.hwm - base < RSS_GROWTH_BOUND && mem.rss - base < RSS_GROWTH_BOUND,
    `${what}: server RSS ${mb(base)} MB after warm-up, peak ${mb(mem.hwm)} MB, now ${mb(mem.rss)} MB ` +
      `(bound: +${mb(RSS_GROWTH_BOUND)} MB)`,
  );
}

/**
 * The UDP engines to fuzz: the portable one, and `auto` (the FFI fast path where it can
 * run, else portable again).
 */
for (const engineChoice of ["portable", "auto"]) {
  Deno.test(`fuzz (UDP engine ${engineChoice}): 100,000 bad UDP packets and abusive TCP clients; the server keeps answering, memory bounded`, async () => {
    const seed = Number(Deno.env.get("DNS_FUZZ_SEED") ?? "20260806");
    const rng = new Rng(seed);
    await withFuzzServer(engineChoice, async (server) => {
      const port = server.port;
      const client = new FuzzClient(port);
      let sent = 0;
      let probes = 0;
      let rssBase = 0;
      const tcpWork: Promise<unknown>[] = [];
      try {
        const round = async () => {
          for (let i = 0; i < BATCH; i++) {
            await client.send(badPacket(rng));
            sent++;
          }
          const p = PROBES[probes % PROBES.length];
          const id = probes & 0xffff;
          probes++;
          const r = await client.probe(buildQuery(p.name, p.type), id);
          assert.ok(
            r,
            `probe ${probes} (${p.name} ${p.type}) unanswered after ${sent} packets ` +
              `(seed ${seed}, UDP engine ${server.udpEngine})`,
          );
          p.check(decode(r));
        };
        // Warm-up (JIT, buffers), then the memory baseline.
        for (let i = 0; i < 8; i++) await round();
        rssBase = server.memory().hwm;

        const idle = idleConnections(port);
        const loris = slowLoris(port);
        const malformed = malformedStreams(port, new Rng(seed + 1));
        tcpWork.push(idle, loris, malformed);
        // Failures are reported when each is awaited below, not as unhandled rejections.
        for (const w of tcpWork) w.catch(() => {});
        while (sent < UDP_PACKETS + 8 * BATCH) await round();

        const idleEnds = await idle;
        assert.ok(
          idleEnds.every((t) => t >= IDLE_MS - 50 && t < IDLE_MS + 4000),
          `idle connections closed after the idle timeout: ${Math.min(...idleEnds)}..${
            Math.max(...idleEnds)
          } ms`,
        );
        const lorisEnds = await loris;
        assert.ok(
          lorisEnds.every((t) => t < IDLE_MS + 4000),
          `slow-loris connections closed despite the trickle: ${lorisEnds.join(", ")} ms`,
        );
        const m = await malformed;
        assert.equal(m.streams, MALFORMED_TCP_STREAMS);
      } finally {
        await Promise.allSettled(tcpWork);
        await client.close();
      }
      assert.ok(sent >= UDP_PACKETS);

      // Still right over both transports.
      const a = await queryUdp(port, "chronos.marathon.mesos.", "A");
      assert.deepEqual(a.msg.answers!.map((x) => (x as { data: string }).data), ["1.2.3.11"]);
      const big = await queryTcp(port, "big.marathon.mesos.", "A");
      assert.equal(big.msg.answers!.length, BIG_COUNT);
      const tc = await queryUdp(port, "big.marathon.mesos.", "A");
      assert.ok(tc.h.tc);
      const nx = await queryTcp(port, "missing.mesos.", "A", { edns: 1232 });
      assert.equal(nx.msg.rcode, "NXDOMAIN");
      const outside = await queryUdp(port, "after.example.org.", "A");
      assert.equal(outside.msg.rcode, "REFUSED");

      assertMemoryBound(
        server.memory(),
        rssBase,
        `UDP engine ${server.udpEngine}: after ${sent} UDP packets and the TCP abuse`,
      );
      if (server.udpEngine === "ffi") {
        // Every datagram went through the fast path's worker: it never gave up and fell back.
        const stats = await server.udpStats();
        assert.ok(stats && stats.batched >= sent + probes, `fast path counters: ${JSON.stringify(stats)}`);
      }
    });
  });
}

Deno.test("fuzz: a TCP client that pipelines queries and never reads cannot grow memory without bound", async () => {
  await withFuzzServer("portable", async (server) => {
    const port = server.port;
    // Warm the TCP path first, so the baseline holds its buffers.
    assert.equal((await queryTcp(port, "big.marathon.mesos.", "A")).msg.answers!.length, BIG_COUNT);
    const rssBase = server.memory().hwm;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    let writing: Promise<boolean> = Promise.resolve(true);
    try {
      // Each 38-byte query asks for a ~1 KB answer. Write up to 60,000 of them, and
      // stop when the server stops taking them (back-pressure) for half a second.
      const q = frame(buildQuery("big.marathon.mesos.", "A"));
      const chunk = new Uint8Array(q.length * 1000);
      for (let i = 0; i < 1000; i++) chunk.set(q, i * q.length);
      for (let i = 0; i < 60; i++) {
        writing = writeAll(conn, chunk);
        if ((await within(writing, 500)) !== true) break;
      }
      // Other clients are still answered while the server works through what it took.
      const r = await queryUdp(port, "chronos.marathon.mesos.", "A");
      assert.equal(r.msg.rcode, "NOERROR");
      // A fixed one-second observation window: VmHWM keeps the peak of what it queued.
      await new Promise((r) => setTimeout(r, 1000));
      assertMemoryBound(server.memory(), rssBase, "one TCP client pipelining 60,000 queries without reading");
    } finally {
      closeQuietly(conn);
      await writing;
    }
    const after = await queryTcp(port, "leader.mesos.", "A");
    assert.equal(after.msg.rcode, "NOERROR");
  });
});
