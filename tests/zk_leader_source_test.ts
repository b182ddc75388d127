/**
 * Tests for ZooKeeper leader detection: the zk URL parser, MasterInfo decoding and list
 * building (pure), and ZkLeaderSource against a real 3-node ZooKeeper ensemble with
 * masters registered exactly as Mesos registers them (scripts/sim/zk_register.ts).
 */
import assert from "node:assert/strict";
import { ZkEnsemble } from "./helpers/zookeeper.ts";
import { parseZkUrl, ZkUrlError } from "../src/mesos/zk_url.ts";
import {
  buildMastersList,
  decodeJsonMasterInfo,
  decodeProtobufMasterInfo,
  ipv4FromUint32LE,
  membersOf,
} from "../src/mesos/zk_master_info.ts";
import { goDuration, ZkLeaderSource, type ZkLeaderSourceOptions } from "../src/mesos/zk_leader_source.ts";
import { CreateMode, ZkClient } from "../src/mesos/zk_client.ts";
import { ipv4ToUint32LE, type MasterRegistration, registerMaster } from "../scripts/sim/zk_register.ts";

// ---------------------------------------------------------------- zk URL

Deno.test("parseZkUrl accepts the zk:// forms", () => {
  assert.deepEqual(parseZkUrl("zk://10.0.0.1:2181/mesos"), {
    servers: [{ host: "10.0.0.1", port: 2181 }],
    path: "/mesos",
  });
  assert.deepEqual(parseZkUrl("zk://user:pass@zk1:2181,zk2:2182,zk3/mesos/prod/"), {
    servers: [{ host: "zk1", port: 2181 }, { host: "zk2", port: 2182 }, { host: "zk3", port: 2181 }],
    path: "/mesos/prod",
  });
  assert.deepEqual(parseZkUrl(" zk://[::1]:2181,[fd00::2]/mesos "), {
    servers: [{ host: "::1", port: 2181 }, { host: "fd00::2", port: 2181 }],
    path: "/mesos",
  });
});

Deno.test("parseZkUrl rejects bad values with the expected form, never showing credentials", () => {
  const bad: [string, RegExp][] = [
    ["", /not a zk:\/\/ URL/],
    ["10.0.0.1:2181", /not a zk:\/\/ URL/],
    ["file:///etc/mesos/zk", /scheme must be "zk"/],
    ["http://10.0.0.1:2181/mesos", /scheme must be "zk"/],
    ["zk://10.0.0.1:2181", /missing znode path/],
    ["zk://10.0.0.1:2181/", /missing znode path/],
    ["zk:///mesos", /no ZooKeeper host/],
    ["zk://a:2181,,b:2181/mesos", /empty host/],
    ["zk://a:x/mesos", /bad port "x"/],
    ["zk://a:70000/mesos", /out of range/],
    ["zk://::1:2181/mesos", /must be in brackets/],
    ["zk://a:2181/mesos?x=1", /query/],
    ["zk://a:2181/mesos//x", /empty segment/],
    ["zk://user:s3cret@a:bad/mesos", /bad port/],
  ];
  for (const [value, reason] of bad) {
    assert.throws(() => parseZkUrl(value), (e: unknown) => {
      assert.ok(e instanceof ZkUrlError, `${value}: ${e}`);
      assert.match(e.message, reason, value);
      assert.match(e.message, /expected zk:\/\/host1:port1\[,host2:port2,\.\.\.\]\/path/, value);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
  }
  assert.throws(
    () => new ZkLeaderSource({ zk: "zk://nowhere", detectionTimeoutMs: 0, onFatal: () => {} }),
    ZkUrlError,
  );
});

// ---------------------------------------------------------------- MasterInfo

Deno.test("decodeJsonMasterInfo: address object, old 32-bit ip, IPv6, garbage", () => {
  const example = '{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"hostname":"m1","id":"2a3b",' +
    '"ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.4.0"}';
  assert.deepEqual(decodeJsonMasterInfo(example), { id: "2a3b", address: "10.0.0.1:5050" });
  assert.deepEqual(decodeJsonMasterInfo('{"id":"x","ip":16777226,"port":5051}'), {
    id: "x",
    address: "10.0.0.1:5051",
  });
  assert.deepEqual(decodeJsonMasterInfo('{"id":"x","ip":16777226}'), { id: "x", address: "10.0.0.1:5050" });
  assert.deepEqual(decodeJsonMasterInfo('{"id":"y","address":{"ip":"fd00::1","port":5050}}'), {
    id: "y",
    address: "[fd00::1]:5050",
  });
  assert.deepEqual(decodeJsonMasterInfo('{"id":"z"}'), { id: "z", address: null });
  assert.throws(() => decodeJsonMasterInfo("not json"));
  assert.throws(() => decodeJsonMasterInfo("[1]"));
  assert.equal(ipv4FromUint32LE(16777226), "10.0.0.1");
  assert.equal(ipv4ToUint32LE("10.0.0.1"), 16777226);
  assert.equal(ipv4FromUint32LE(ipv4ToUint32LE("192.168.201.254")), "192.168.201.254");
});

/** Encodes a protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function protoString(field: number, s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [(field << 3) | 2, ...varint(b.length), ...b];
}

Deno.test("decodeProtobufMasterInfo: old info_ znodes", () => {
  // id=1 "m-1", ip=2 10.0.0.1, port=3 5050, pid=4, hostname=5, then an unknown fixed64 field 20.
  const old = new Uint8Array([
    ...protoString(1, "m-1"),
    2 << 3,
    ...varint(16777226),
    3 << 3,
    ...varint(5050),
    ...protoString(4, "master@10.0.0.1:5050"),
    ...protoString(5, "m1"),
    ...varint((20 << 3) | 1),
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]);
  assert.deepEqual(decodeProtobufMasterInfo(old), { id: "m-1", address: "10.0.0.1:5050" });
  const address = [...protoString(1, "m2"), ...protoString(2, "10.0.0.2"), 3 << 3, ...varint(5051)];
  const withAddress = new Uint8Array([
    ...protoString(1, "m-2"),
    2 << 3,
    ...varint(0),
    7 << 3 | 2,
    ...varint(address.length),
    ...address,
  ]);
  assert.deepEqual(decodeProtobufMasterInfo(withAddress), { id: "m-2", address: "10.0.0.2:5051" });
  assert.throws(() => decodeProtobufMasterInfo(new Uint8Array([0x0a, 0x09, 0x41])));
});

Deno.test("membersOf and buildMastersList: leader = lowest sequence, JSON preferred, ordered, de-duplicated", () => {
  const members = membersOf([
    "json.info_0000000007",
    "log_replicas",
    "info_0000000001",
    "json.info_0000000003",
    "json.info_x",
    "json.info_0000000005",
  ]);
  assert.deepEqual(members.map((m) => m.name), [
    "info_0000000001",
    "json.info_0000000003",
    "json.info_0000000005",
    "json.info_0000000007",
  ]);
  const info = (id: string, address: string | null) => ({ id, address });
  const decoded = [
    { member: members[3], info: info("c", "10.0.0.3:5050") },
    { member: members[0], info: info("old", "10.0.0.9:5050") },
    { member: members[1], info: info("a", "10.0.0.1:5050") },
    { member: members[2], info: info("b", "10.0.0.2:5050") },
  ];
  assert.deepEqual(buildMastersList(decoded), [
    "10.0.0.1:5050",
    "10.0.0.9:5050",
    "10.0.0.2:5050",
    "10.0.0.3:5050",
  ]);
  // The same master under both prefixes is listed once; protobuf leads only without JSON members.
  const dup = [{ member: members[0], info: info("a", "10.0.0.1:5050") }, decoded[2], decoded[3]];
  assert.deepEqual(buildMastersList(dup), ["10.0.0.1:5050", "10.0.0.2:5050"]);
  assert.deepEqual(buildMastersList([decoded[1]]), ["10.0.0.9:5050"]);
  // An undecodable leader leaves the leader unknown but keeps the others.
  assert.deepEqual(buildMastersList([{ member: members[1], info: null }, decoded[3]]), ["", "10.0.0.2:5050"]);
  assert.deepEqual(buildMastersList([]), [""]);
});

Deno.test("goDuration formats like Go", () => {
  assert.equal(goDuration(30_000), "30s");
  assert.equal(goDuration(1000), "1s");
  assert.equal(goDuration(1500), "1.5s");
  assert.equal(goDuration(500), "500ms");
  assert.equal(goDuration(90_000), "1m30s");
  assert.equal(goDuration(3_600_000), "1h0m0s");
});

// ---------------------------------------------------------------- real ZooKeeper

/** Records delivered lists; `next` waits (with a deadline) for a list matching a predicate. */
class Recorder {
  readonly lists: { list: string[]; at: number }[] = [];
  private waiters: (() => void)[] = [];

  readonly listener = (list: readonly string[]) => {
    this.lists.push({ list: [...list], at: performance.now() });
    for (const w of this.waiters.splice(0)) w();
  };

  get last(): string[] | undefined {
    return this.lists.at(-1)?.list;
  }

  /** Waits until a list delivered at index ≥ `from` equals `expected`; returns its delivery time. */
  async waitFor(expected: string[], timeoutMs = 5000, from = 0): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.lists.slice(from).find((l) => JSON.stringify(l.list) === JSON.stringify(expected));
      if (hit) return hit.at;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no list ${JSON.stringify(expected)} within ${timeoutMs} ms; got ${
            JSON.stringify(this.lists.map((l) => l.list))
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        this.waiters.push(resolve);
      });
      clearTimeout(timer);
    }
  }
}

/** Waits until `cond()` holds, checking every 20 ms, or throws after `timeoutMs`. */
async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const noFatal = (e: Error) => {
  throw new Error(`unexpected onFatal: ${e.message}`);
};

Deno.test("ZkLeaderSource against a real 3-node ZooKeeper ensemble", async (t) => {
  const zk = await ZkEnsemble.start(3);
  const regs: MasterRegistration[] = [];
  const sources: ZkLeaderSource[] = [];
  const register = async (path: string, ip: string) => {
    const reg = await registerMaster({ zk: zk.url(path), ip, port: 5050, sessionTimeoutMs: 4000 });
    regs.push(reg);
    return reg;
  };
  const source = (opts: Partial<ZkLeaderSourceOptions> & { zk: string }) => {
    const s = new ZkLeaderSource({
      detectionTimeoutMs: 10_000,
      onFatal: noFatal,
      sessionTimeoutMs: 4000,
      ...opts,
    });
    sources.push(s);
    return s;
  };
  try {
    await t.step("leader found, others in sequence order, changes delivered within 500 ms", async () => {
      // Registered out of address order: the sequence, not the address, decides.
      const m3 = await register("/mesos", "10.0.0.3");
      const m1 = await register("/mesos", "10.0.0.1");
      await register("/mesos", "10.0.0.2");
      assert.ok(m3.sequence < m1.sequence);
      const rec = new Recorder();
      const src = source({ zk: zk.url("/mesos"), masters: ["192.0.2.1:5050"] });
      src.start(rec.listener);
      assert.deepEqual(
        rec.lists[0].list,
        ["", "192.0.2.1:5050"],
        "configured masters before ZooKeeper answers",
      );
      await rec.waitFor(["10.0.0.3:5050", "10.0.0.1:5050", "10.0.0.2:5050"]);

      // The leader's znode goes away: the next lowest leads.
      let from = rec.lists.length;
      let t0 = performance.now();
      await m3.resign();
      let at = await rec.waitFor(["10.0.0.1:5050", "10.0.0.2:5050"], 2000, from);
      assert.ok(at - t0 < 500, `leader change delivered after ${Math.round(at - t0)} ms`);

      // The leader's session ends (master process gone): same.
      from = rec.lists.length;
      t0 = performance.now();
      await m1.close();
      at = await rec.waitFor(["10.0.0.2:5050"], 2000, from);
      assert.ok(at - t0 < 500, `leader change delivered after ${Math.round(at - t0)} ms`);

      // A new member is appended after the leader.
      from = rec.lists.length;
      t0 = performance.now();
      await register("/mesos", "10.0.0.4");
      at = await rec.waitFor(["10.0.0.2:5050", "10.0.0.4:5050"], 2000, from);
      assert.ok(at - t0 < 500, `new member delivered after ${Math.round(at - t0)} ms`);
    });

    await t.step("one node of three killed: the source fails over and nothing changes", async () => {
      await register("/one", "10.0.1.1");
      await register("/one", "10.0.1.2");
      const rec = new Recorder();
      const src = source({ zk: zk.url("/one") });
      src.start(rec.listener);
      await rec.waitFor(["10.0.1.1:5050", "10.0.1.2:5050"]);
      const server = src.connectedServer;
      assert.ok(server);
      const victim = zk.indexOf(server);
      assert.ok(victim >= 0);
      const delivered = rec.lists.length;
      await zk.kill(victim);
      await until(() => src.connectedServer !== null && src.connectedServer !== server, "fail-over");
      assert.equal(
        rec.lists.length,
        delivered,
        `lists after the kill: ${JSON.stringify(rec.lists.slice(delivered))}`,
      );
      // Still watching: a change is seen at once.
      const t0 = performance.now();
      await register("/one", "10.0.1.3");
      const at = await rec.waitFor(["10.0.1.1:5050", "10.0.1.2:5050", "10.0.1.3:5050"], 2000, delivered);
      assert.ok(at - t0 < 500, `change after fail-over delivered after ${Math.round(at - t0)} ms`);
      await zk.restart(victim);
    });

    await t.step(
      "a frozen node (SIGSTOP) is dropped after the receive timeout; nothing changes",
      async () => {
        await register("/frozen", "10.0.4.1");
        const rec = new Recorder();
        const src = source({ zk: zk.url("/frozen"), sessionTimeoutMs: 2000 });
        src.start(rec.listener);
        await rec.waitFor(["10.0.4.1:5050"]);
        const server = src.connectedServer;
        assert.ok(server);
        const victim = zk.indexOf(server);
        const delivered = rec.lists.length;
        zk.pause(victim);
        try {
          // Session timeout 2 s → receive timeout ≈ 1.3 s, then fail-over (a re-election may add a little).
          await until(
            () => src.connectedServer !== null && src.connectedServer !== server,
            "fail-over",
            12_000,
          );
          assert.equal(rec.lists.length, delivered);
          await register("/frozen", "10.0.4.2");
          await rec.waitFor(["10.0.4.1:5050", "10.0.4.2:5050"], 2000, delivered);
        } finally {
          zk.resume(victim);
        }
        await zk.restart(victim);
      },
    );

    await t.step("all nodes killed: last leader kept, fall-backs added, fresh list on recovery", async () => {
      await register("/all", "10.0.2.1");
      await register("/all", "10.0.2.2");
      const rec = new Recorder();
      const src = source({ zk: zk.url("/all"), masters: ["192.0.2.9:5050"], fallbackDelayMs: 300 });
      src.start(rec.listener);
      await rec.waitFor(["10.0.2.1:5050", "10.0.2.2:5050"]);
      const from = rec.lists.length;
      await zk.killAll();
      await rec.waitFor(["10.0.2.1:5050", "10.0.2.2:5050", "192.0.2.9:5050"], 5000, from);
      assert.ok(rec.lists.slice(from).every((l) => l.list[0] === "10.0.2.1:5050"), "leader never blanked");
      const back = rec.lists.length;
      await zk.restartAll();
      await rec.waitFor(["10.0.2.1:5050", "10.0.2.2:5050"], 15_000, back);
      // And it watches again.
      await register("/all", "10.0.2.3");
      await rec.waitFor(["10.0.2.1:5050", "10.0.2.2:5050", "10.0.2.3:5050"], 2000, back);
    });

    await t.step("no leader registered: onFatal after the detection timeout", async () => {
      const rec = new Recorder();
      const fatal = Promise.withResolvers<Error>();
      const t0 = performance.now();
      const src = source({ zk: zk.url("/nobody"), detectionTimeoutMs: 1000, onFatal: fatal.resolve });
      src.start(rec.listener);
      const error = await fatal.promise;
      const elapsed = performance.now() - t0;
      assert.equal(error.message, "master detection timed out after 1s");
      assert.ok(elapsed >= 950 && elapsed < 3000, `fired after ${Math.round(elapsed)} ms`);
      assert.deepEqual(rec.lists.map((l) => l.list), [[""]], "ZooKeeper reported no members");
    });

    await t.step("path created later, protobuf-only and undecodable members", async () => {
      const rec = new Recorder();
      const src = source({ zk: zk.url("/later/mesos") });
      src.start(rec.listener);
      await rec.waitFor([""]);
      // Old Mesos: protobuf info_ znodes only (written directly here); the lowest leads.
      const client = new ZkClient({ servers: parseZkUrl(zk.url("/later")).servers, sessionTimeoutMs: 4000 });
      client.connect();
      try {
        await client.whenConnected();
        await client.create("/later", new Uint8Array(), CreateMode.persistent);
        await client.create("/later/mesos", new Uint8Array(), CreateMode.persistent);
        const proto = (id: string, ip: string) =>
          new Uint8Array([
            ...protoString(1, id),
            2 << 3,
            ...varint(ipv4ToUint32LE(ip)),
            3 << 3,
            ...varint(5050),
          ]);
        await client.create("/later/mesos/info_", proto("p1", "10.0.3.1"), CreateMode.ephemeralSequential);
        await client.create("/later/mesos/info_", proto("p2", "10.0.3.2"), CreateMode.ephemeralSequential);
        await rec.waitFor(["10.0.3.1:5050", "10.0.3.2:5050"]);
        // JSON members take precedence for leadership; an undecodable leader is unknown ("").
        const bad = await client.create(
          "/later/mesos/json.info_",
          new TextEncoder().encode("{bad"),
          CreateMode.ephemeralSequential,
        );
        await register("/later/mesos", "10.0.3.3");
        await rec.waitFor(["", "10.0.3.1:5050", "10.0.3.2:5050", "10.0.3.3:5050"]);
        await client.delete(bad);
        await rec.waitFor(["10.0.3.3:5050", "10.0.3.1:5050", "10.0.3.2:5050"]);
      } finally {
        await client.close();
      }
    });

    await t.step("ZkClient: an expired session is replaced by a new one; watches are set again", async () => {
      const servers = parseZkUrl(zk.url("/expiry")).servers;
      const states: string[] = [];
      const a = new ZkClient({
        servers,
        sessionTimeoutMs: 4000,
        retryDelayMs: 200,
        onState: (s) => states.push(s),
      });
      a.connect();
      try {
        await a.whenConnected();
        await a.create("/expiry", new Uint8Array(), CreateMode.persistent);
        await a.create("/expiry/mine", new Uint8Array(), CreateMode.ephemeral);
        const first = a.sessionId;
        // Another client resumes the same session and ends it: the server drops `a`,
        // and on reconnecting `a` is told its session expired.
        const b = new ZkClient({ servers, session: { id: first, password: a.sessionPassword } });
        b.connect();
        await b.whenConnected();
        assert.equal(b.sessionId, first);
        await b.close();
        await until(() => states.includes("expired") && a.isConnected, "a new session");
        assert.notEqual(a.sessionId, first);
        // A follower that has not applied the close yet may let `a` resume once before expiring it.
        assert.deepEqual(states.slice(0, 2), ["connected", "disconnected"]);
        assert.deepEqual(states.slice(-2), ["expired", "connected"]);
        assert.deepEqual(await a.getChildren("/expiry"), [], "the old session's ephemeral node is gone");
        const fired = Promise.withResolvers<string>();
        await a.getChildren("/expiry", (e) => fired.resolve(e.path));
        await a.create("/expiry/again", new Uint8Array(), CreateMode.ephemeral);
        assert.equal(await fired.promise, "/expiry");
      } finally {
        await a.close();
      }
    });
  } finally {
    await Promise.all(sources.map((s) => s.close()));
    await Promise.all(regs.map((r) => r.close()));
    await zk.stop();
  }
});
