/**
 * The Linux UDP fast path (src/dns/udp_ffi.ts) where the shared DNS tests do not reach:
 * bursts that queue many datagrams so they are drained with recvmmsg and answered with
 * sendmmsg (several clients, IPv4 and IPv6, every reply matched to its query),
 * malformed and dropped datagrams inside a burst, forwarded names inside a burst,
 * shutdown, and the engine choice: `auto`, `portable`, `ffi`, the fallback without
 * `--allow-ffi` (a child process) and the validation of `DNSUDPEngine`.
 */
import assert from "node:assert/strict";
import { type ConfigEnv, ConfigError, parseCommandLine } from "../src/config/mod.ts";
import type { Config } from "../src/config/types.ts";
import { Forwarder } from "../src/dns/forwarder.ts";
import { Responder } from "../src/dns/respond.ts";
import { startDnsServer } from "../src/dns/server.ts";
import {
  type FfiUdpOptions,
  type FfiUdpService,
  ffiUdpUnavailable,
  serveUdpFfi,
} from "../src/dns/udp_ffi.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode, header, queryUdp, UdpClient } from "./helpers/dns_client.ts";
import { BIG_COUNT, sampleRecords } from "./helpers/dns_fixture.ts";
import { type FakeUpstream, startFakeUpstream } from "./helpers/fake_upstream.ts";
import { testConfig } from "./helpers/test_config.ts";
import { waitFor } from "./helpers/wait.ts";

const unavailable = ffiUdpUnavailable();
const ignore = unavailable !== undefined;
const ROOT = new URL("../", import.meta.url).pathname;

interface Served {
  port: number;
  service: FfiUdpService;
}

/** Serves the sample zone with the fast path on `hostname`, port 0, for the length of `fn`. */
async function withFfi(
  fn: (s: Served) => Promise<void>,
  opts: { hostname?: string; config?: Partial<Config>; ffi?: FfiUdpOptions } = {},
): Promise<void> {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const config = testConfig(opts.config);
  const forwarder = new Forwarder(config);
  const responder = new Responder({ config, holder, forwarder });
  const conn = Deno.listenDatagram({ hostname: opts.hostname ?? "127.0.0.1", port: 0, transport: "udp" });
  const port = (conn.addr as Deno.NetAddr).port;
  const service = serveUdpFfi(conn, responder, opts.ffi);
  try {
    await fn({ port, service });
  } finally {
    responder.close();
    await forwarder.close();
    await service.close();
  }
}

/** A UDP client on `hostname` (UdpClient binds 127.0.0.1 only). */
class Client {
  readonly sock: Deno.DatagramConn;
  constructor(readonly hostname = "127.0.0.1") {
    this.sock = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  }

  /** Sends every message at once (no await in between), so they queue at the server. */
  async burst(port: number, msgs: Uint8Array[]): Promise<void> {
    const to = { transport: "udp" as const, hostname: this.hostname, port };
    await Promise.all(msgs.map((m) => this.sock.send(m, to)));
  }

  /** Receives `n` datagrams, failing after `timeoutMs`. */
  async receive(n: number, timeoutMs = 5000): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
    try {
      while (out.length < n) {
        const next = this.sock.receive();
        const r = await Promise.race([next, expired]);
        if (r === "timeout") {
          this.close();
          await next.catch(() => {});
          throw new Error(`received ${out.length} of ${n} replies within ${timeoutMs} ms`);
        }
        out.push(r[0]);
      }
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.sock.close();
    } catch { /* already closed */ }
  }
}

interface Expect {
  name: string;
  rcode: string;
  answers?: number;
  tc?: boolean;
}

/** A mix of queries with what each must get; IDs `base`, `base + 1`, ... */
function mixedQueries(base: number, count: number): { msgs: Uint8Array[]; expect: Map<number, Expect> } {
  const kinds: Array<[string, string, { edns?: number; qclass?: string }, Expect]> = [
    ["chronos.marathon.mesos.", "A", {}, { name: "chronos.marathon.mesos", rcode: "NOERROR", answers: 1 }],
    ["WEB.marathon.mesos.", "A", {}, { name: "WEB.marathon.mesos", rcode: "NOERROR", answers: 4 }],
    ["missing.mesos.", "A", {}, { name: "missing.mesos", rcode: "NXDOMAIN", answers: 0 }],
    ["big.marathon.mesos.", "A", { edns: 4096 }, {
      name: "big.marathon.mesos",
      rcode: "NOERROR",
      answers: BIG_COUNT,
      tc: false,
    }],
    ["big.marathon.mesos.", "A", {}, { name: "big.marathon.mesos", rcode: "NOERROR", tc: true }],
    ["chronos.marathon.mesos.", "A", { qclass: "CH" }, { name: "chronos.marathon.mesos", rcode: "REFUSED" }],
    ["mesos.", "SOA", {}, { name: "mesos", rcode: "NOERROR", answers: 1 }],
  ];
  const msgs: Uint8Array[] = [];
  const expect = new Map<number, Expect>();
  for (let i = 0; i < count; i++) {
    const [name, type, opts, e] = kinds[i % kinds.length];
    msgs.push(buildQuery(name, type, { ...opts, id: base + i }));
    expect.set(base + i, e);
  }
  return { msgs, expect };
}

function checkReplies(replies: Uint8Array[], expect: Map<number, Expect>): void {
  const seen = new Set<number>();
  for (const raw of replies) {
    const m = decode(raw);
    const e = expect.get(m.id);
    assert.ok(e, `unexpected reply ID ${m.id}`);
    assert.ok(!seen.has(m.id), `two replies for ID ${m.id}`);
    seen.add(m.id);
    assert.equal(m.questions![0].name, e.name, `question of ${m.id}`);
    assert.equal(m.rcode, e.rcode, `rcode of ${m.id} (${e.name})`);
    if (e.answers !== undefined) assert.equal(m.answers?.length ?? 0, e.answers, `answers of ${m.id}`);
    if (e.tc !== undefined) assert.equal(header(raw).tc, e.tc, `TC of ${m.id}`);
    if (e.tc) assert.ok(raw.length <= 512);
  }
  assert.equal(seen.size, expect.size);
}

Deno.test({
  name: "a burst from several clients is drained in batches; every reply matches its query",
  ignore,
  async fn() {
    await withFfi(async ({ port, service }) => {
      const clients = [new Client(), new Client(), new Client()];
      try {
        const work = clients.map((c, k) => ({ c, ...mixedQueries(1000 * (k + 1), 40) }));
        await Promise.all(work.map((w) => w.c.burst(port, w.msgs)));
        const replies = await Promise.all(work.map((w) => w.c.receive(w.msgs.length)));
        work.forEach((w, k) => checkReplies(replies[k], w.expect));
        assert.ok(service.stats.batched > 0, "some datagrams came through recvmmsg");
        assert.equal(service.stats.batched, 120, "each datagram received once");
      } finally {
        for (const c of clients) c.close();
      }
    });
  },
});

Deno.test({
  name: "IPv6: a burst on ::1 is answered to the right clients",
  // Skipped where the host has no IPv6 loopback.
  ignore: ignore || !hasIPv6Loopback(),
  async fn() {
    await withFfi(async ({ port, service }) => {
      const clients = [new Client("::1"), new Client("::1")];
      try {
        const work = clients.map((c, k) => ({ c, ...mixedQueries(5000 + 1000 * k, 30) }));
        await Promise.all(work.map((w) => w.c.burst(port, w.msgs)));
        const replies = await Promise.all(work.map((w) => w.c.receive(w.msgs.length)));
        work.forEach((w, k) => checkReplies(replies[k], w.expect));
        assert.ok(service.stats.batched > 0);
      } finally {
        for (const c of clients) c.close();
      }
    }, { hostname: "::1" });
  },
});

function hasIPv6Loopback(): boolean {
  try {
    Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" }).close();
    return true;
  } catch {
    return false;
  }
}

/** A raw request: header fields given, then `rest`. */
function rawRequest(id: number, flags2: number, qd: number, rest: number[]): Uint8Array {
  return new Uint8Array([id >> 8, id & 0xff, flags2, 0, 0, qd, 0, 0, 0, 0, 0, 0, ...rest]);
}

Deno.test({
  name: "malformed and dropped datagrams inside a burst: FORMERR, NOTIMP, nothing for drops",
  ignore,
  async fn() {
    await withFfi(async ({ port }) => {
      const c = new Client();
      try {
        const q = buildQuery("leader.mesos.", "A");
        const question = [...q.subarray(12)];
        const msgs: Uint8Array[] = [];
        const expect = new Map<number, number>();
        for (let i = 0; i < 12; i++) {
          const id = 100 + i * 10;
          msgs.push(rawRequest(id, 0x01, 1, question)); // good: NOERROR
          expect.set(id, 0);
          msgs.push(new Uint8Array([1, 2, 3])); // too short: dropped
          msgs.push(rawRequest(id + 1, 0x80, 1, question)); // a response: dropped
          msgs.push(rawRequest(id + 2, 0x01, 1, [5, 1, 2])); // garbage: FORMERR
          expect.set(id + 2, 1);
          msgs.push(rawRequest(id + 3, 4 << 3, 1, question)); // NOTIFY: NOTIMP
          expect.set(id + 3, 4);
        }
        await c.burst(port, msgs);
        const replies = await c.receive(expect.size);
        const got = new Map(replies.map((r) => [header(r).id, header(r).rcode]));
        assert.deepEqual([...got.entries()].sort(), [...expect.entries()].sort());
        // Nothing else is on its way: the next reply is the probe's.
        await c.burst(port, [buildQuery("leader.mesos.", "A", { id: 4321 })]);
        const [probe] = await c.receive(1);
        assert.equal(header(probe).id, 4321);
      } finally {
        c.close();
      }
    });
  },
});

Deno.test({
  name:
    "what the worker hands to the main thread is answered once each or counted as dropped, within the bound",
  ignore,
  async fn() {
    await withFfi(async ({ port, service }) => {
      const c = new Client();
      try {
        // 200 requests only the main thread answers (FORMERR), queued at once.
        const garbage = Array.from({ length: 200 }, (_, i) => rawRequest(9000 + i, 0x01, 1, [5, 1, 2]));
        await c.burst(port, garbage);
        await waitFor(() => service.stats.batched >= 200, { timeoutMs: 5000 });
        const dropped = service.stats.dropped;
        const replies = await c.receive(200 - dropped);
        assert.ok(replies.every((r) => header(r).rcode === 1), "FORMERR for each one answered");
        assert.equal(new Set(replies.map((r) => header(r).id)).size, replies.length, "none answered twice");
        assert.ok(dropped <= 200 - 4, `at least the first bound's worth answered (dropped ${dropped})`);
        // Still serving, from the worker and from the main thread.
        await c.burst(port, [buildQuery("leader.mesos.", "A", { id: 4321 }), rawRequest(4322, 0x01, 1, [5])]);
        const last = await c.receive(2);
        assert.deepEqual(last.map((r) => header(r).id).sort(), [4321, 4322]);
      } finally {
        c.close();
      }
    }, { ffi: { maxHandedOver: 4 } });
  },
});

Deno.test({
  name: "a worker that cannot run: the portable engine takes over the address and answers",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const broken = new URL(`file://${dir}/broken_worker.ts`);
    await Deno.writeTextFile(broken, 'throw new Error("this worker cannot start");\n');
    try {
      await withFfi(async ({ port }) => {
        await waitFor(async () => {
          const r = await queryUdp(port, "leader.mesos.", "A", {}).catch(() => undefined);
          return r?.msg.rcode === "NOERROR";
          // `deno test` type-checks the worker module before it fails: seconds on a loaded machine.
        }, { timeoutMs: 15000 });
        const { msg } = await queryUdp(port, "chronos.marathon.mesos.", "A");
        assert.equal(msg.answers?.length, 1);
      }, { ffi: { workerModule: broken } });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function withUpstream(fn: (up: FakeUpstream) => Promise<void>): Promise<void> {
  const up = startFakeUpstream({});
  try {
    await fn(up);
  } finally {
    await up.close();
  }
}

Deno.test({
  name: "forwarded names inside a burst are answered from the same socket with the client's ID",
  ignore,
  async fn() {
    await withUpstream(async (up) => {
      await withFfi(async ({ port }) => {
        const c = new Client();
        try {
          const msgs: Uint8Array[] = [];
          for (let i = 0; i < 40; i++) {
            const name = i % 2 === 0 ? `host${i}.Example.org.` : "chronos.marathon.mesos.";
            msgs.push(buildQuery(name, "A", { id: 7000 + i }));
          }
          await c.burst(port, msgs);
          const replies = await c.receive(msgs.length);
          const byId = new Map(replies.map((r) => [header(r).id, decode(r)]));
          assert.equal(byId.size, 40);
          for (let i = 0; i < 40; i++) {
            const m = byId.get(7000 + i)!;
            assert.equal(m.rcode, "NOERROR");
            const forwarded = i % 2 === 0;
            assert.equal(m.questions![0].name, forwarded ? `host${i}.Example.org` : "chronos.marathon.mesos");
            assert.equal((m.answers![0] as { data: string }).data, forwarded ? "192.0.2.1" : "1.2.3.11");
          }
          assert.equal(up.seen.length, 20, "each forwarded query reached the upstream once");
        } finally {
          c.close();
        }
      }, { config: { Resolvers: [`127.0.0.1:${up.port}`] } });
    });
  },
});

Deno.test({
  name: "a dual-stack socket (::) answers IPv6 and IPv4 clients, zone and forwarded names",
  ignore: ignore || !hasIPv6Loopback(),
  async fn() {
    await withUpstream(async (up) => {
      await withFfi(async ({ port }) => {
        for (const [k, hostname] of ["::1", "127.0.0.1"].entries()) {
          const c = new Client(hostname);
          try {
            const ids = [0, 1, 2, 3, 4, 5].map((i) => 900 + 10 * k + i);
            const msgs = ids.map((id, i) =>
              buildQuery(i % 2 ? "leader.mesos." : `v6-${i}.example.org.`, "A", { id })
            );
            await c.burst(port, msgs);
            const replies = await c.receive(msgs.length);
            assert.deepEqual(replies.map((r) => header(r).id).sort(), ids, hostname);
            for (const r of replies) assert.equal(decode(r).rcode, "NOERROR");
            // One more on its own: the datagram Deno itself receives.
            await c.burst(port, [buildQuery("leader.mesos.", "A", { id: 999 })]);
            assert.equal(header((await c.receive(1))[0]).id, 999);
          } finally {
            c.close();
          }
        }
      }, { hostname: "::", config: { Resolvers: [`127.0.0.1:${up.port}`] } });
    });
  },
});

Deno.test({
  name: "closing stops serving, ends forwarded queries in flight at once, and frees the port",
  ignore,
  async fn() {
    const silent = startFakeUpstream({ mode: "silent" });
    try {
      const holder = new SnapshotHolder();
      holder.publish(sampleRecords());
      const config = testConfig({ DNSUDPEngine: "ffi", Resolvers: [`127.0.0.1:${silent.port}`], Timeout: 5 });
      const s = await startDnsServer({ hostname: "127.0.0.1", port: 0, config, holder });
      let closedIn: number;
      try {
        const c = new UdpClient();
        try {
          // A forwarded query is in flight (the upstream never answers) when the server closes.
          await c.send(s.port, buildQuery("stuck.example.org.", "A"));
          await waitFor(() => silent.seen.length === 1);
          assert.equal((await queryUdp(s.port, "leader.mesos.", "A")).msg.rcode, "NOERROR");
        } finally {
          c.close();
        }
      } finally {
        const t0 = Date.now();
        await s.close();
        closedIn = Date.now() - t0;
      }
      assert.ok(closedIn < 1000, `close took ${closedIn} ms`);
      // The port is free again.
      Deno.listenDatagram({ hostname: "127.0.0.1", port: s.port, transport: "udp" }).close();
    } finally {
      await silent.close();
    }
  },
});

Deno.test({
  name: "engine choice: auto takes the fast path here, portable and ffi when asked",
  ignore,
  async fn() {
    for (const [choice, engine] of [["auto", "ffi"], ["portable", "portable"], ["ffi", "ffi"]] as const) {
      const holder = new SnapshotHolder();
      holder.publish(sampleRecords());
      const s = await startDnsServer({
        hostname: "127.0.0.1",
        port: 0,
        config: testConfig({ DNSUDPEngine: choice }),
        holder,
      });
      try {
        assert.equal(s.udpEngine, engine, choice);
        assert.equal((await queryUdp(s.port, "leader.mesos.", "A")).msg.rcode, "NOERROR");
      } finally {
        await s.close();
      }
    }
  },
});

/** Runs main.ts with `permissions` until `until` matches its output (or it exits); returns the output. */
async function runMain(
  permissions: string[],
  args: string[],
  until: RegExp,
): Promise<{ out: string; code?: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) out += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited: number | undefined;
  const status = child.status.then((s) => exited = s.code);
  const deadline = Date.now() + 20_000;
  try {
    while (!until.test(out) && exited === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    if (exited === undefined) child.kill("SIGTERM");
    await status;
    await pumps;
  }
  return { out, code: exited };
}

const COMMON_ARGS = [
  "--masters=127.0.0.1:1",
  "--listener=127.0.0.1",
  "--port=0",
  "--http-on=false",
  "--resolvers=127.0.0.1:1",
  "-v=1",
];
const NO_FFI = ["--allow-net", "--allow-read", "--allow-env", "--allow-sys"];

Deno.test("without --allow-ffi, auto falls back to the portable engine with one info line", async () => {
  const { out } = await runMain(NO_FFI, COMMON_ARGS, /UDP engine: \w+/);
  assert.match(out, /UDP engine: portable/);
  const lines = out.split("\n").filter((l) => l.includes("UDP fast path unavailable"));
  assert.equal(lines.length, 1, out);
  assert.match(lines[0], /^VERBOSE: .*no --allow-ffi permission.*portable/);
});

Deno.test("DNSUDPEngine=ffi without --allow-ffi is a start-up error; a bad value a config error", async () => {
  const ffi = await runMain(NO_FFI, [...COMMON_ARGS, "--dns-udp-engine=ffi"], /UDP engine: \w+/);
  assert.equal(ffi.code, 1, ffi.out);
  assert.match(ffi.out, /DNSUDPEngine "ffi" cannot run: no --allow-ffi permission/);

  const env: ConfigEnv = {
    cwd: "/nonexistent",
    env: () => undefined,
    readTextFile: () => Promise.reject(new Deno.errors.NotFound("none")),
    exists: () => Promise.resolve(false),
    localIPs: () => ["127.0.0.1"],
  };
  await assert.rejects(
    parseCommandLine(["--masters=10.0.0.1:5050", "--dns-udp-engine=fast"], env),
    (e: Error) =>
      e instanceof ConfigError && /DNSUDPEngine.*"fast".*"auto", "ffi" or "portable"/.test(e.message),
  );
  const ok = await parseCommandLine(["--masters=10.0.0.1:5050", "--dnsudpengine=portable"], env);
  assert.ok(ok.kind === "run" && ok.config.DNSUDPEngine === "portable");
});
