/**
 * End to end through a real 3-node ZooKeeper ensemble: simulated masters that register and
 * elect their leader in ZooKeeper as Mesos does (scripts/sim/zk_election.ts), the whole
 * service in-process (`startApp`, for timing) answering real DNS queries, and once main.ts as
 * a process. Shows: the leader found through ZooKeeper; the leading master stopped →
 * `leader.mesos` and `_leader._tcp` follow within 500 ms of its znode going away, with
 * RefreshSeconds 60; one ZooKeeper node killed → nothing changes; every node killed → the
 * last records stay, and leader changes are followed again once ZooKeeper is back; the
 * simulator's `--zk` command line; no leader at start-up → exit 1 with a clear error after
 * zkDetectionTimeout.
 */
import assert from "node:assert/strict";
import { startApp } from "../src/app.ts";
import { ZkClient } from "../src/mesos/zk_client.ts";
import type { ZkLeaderSource } from "../src/mesos/zk_leader_source.ts";
import { parseZkUrl } from "../src/mesos/zk_url.ts";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { type Answer, queryUdp } from "./helpers/dns_client.ts";
import { dig, runMesosDns } from "./helpers/mesos_dns_process.ts";
import { testConfig } from "./helpers/test_config.ts";
import { waitFor } from "./helpers/wait.ts";
import { ZkEnsemble } from "./helpers/zookeeper.ts";

function dataOf(r: Answer): unknown {
  return "data" in r ? r.data : undefined;
}

/** The A values of `name`, sorted. */
async function a(port: number, name: string): Promise<string[]> {
  const { msg } = await queryUdp(port, name, "A");
  return (msg.answers ?? []).filter((r) => r.type === "A").map((r) => String(dataOf(r))).sort();
}

/** The `_leader._tcp` SRV answer: `target:port` values and the additional A values. */
async function leaderSrv(port: number): Promise<{ targets: string[]; glue: string[] }> {
  const { msg } = await queryUdp(port, "_leader._tcp.mesos.", "SRV");
  const targets = (msg.answers ?? []).filter((r) => r.type === "SRV").map((r) => {
    const d = dataOf(r) as { target: string; port: number };
    return `${d.target}:${d.port}`;
  });
  const glue = (msg.additionals ?? []).filter((r) => r.type === "A").map((r) => String(dataOf(r)));
  return { targets, glue };
}

Deno.test("e2e ZooKeeper: leader through a real ensemble, fail-over within 500 ms, ZooKeeper outages", async (t) => {
  const zk = await ZkEnsemble.start(3);
  const url = zk.url("/mesos");
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  const fatal: Error[] = [];
  /** The simulator's log (masters registering, leaders changing), printed if a step fails. */
  const trace: string[] = [];
  const passed: boolean[] = [];
  const start = performance.now();
  try {
    // Masters on 127.0.0.1, .2, .3 (one shared port), so the leader's address shows who leads.
    sim = await startSimulator({
      masters: 3,
      hosts: "loopbacks",
      zk: url,
      zkSessionTimeoutMs: 4000,
      log: (line) => trace.push(`${(performance.now() - start).toFixed(0)}ms ${line}`),
      generate: { frameworks: 2, agents: 3, tasks: 12, seed: 11 },
    });
    const s = sim;
    const port = Number(s.masters[0].split(":")[1]);
    app = await startApp(
      testConfig({
        Zk: url,
        Masters: null,
        RefreshSeconds: 60,
        ZkDetectionTimeout: 30,
        // Reloads of /master/state on ZooKeeper changes are what this test counts.
        StateSource: "poll",
        Listener: "127.0.0.1",
        Port: 0,
        HttpOn: false,
        ExternalOn: false,
      }),
      { onFatal: (e) => fatal.push(e), interfaceIPs: () => ["127.0.0.1"] },
    );
    const dnsPort = app.dns!.port;
    const source = app.leaderSource as ZkLeaderSource;
    const leaderIP = async () => (await a(dnsPort, "leader.mesos.")).join(",");

    passed.push(
      await t.step("the leader is found through ZooKeeper", async () => {
        await waitFor(() => app!.holder.current() !== undefined, {
          timeoutMs: 10_000,
          message: "first state",
        });
        assert.equal(s.leaderIndex, 0);
        assert.equal(await leaderIP(), "127.0.0.1");
        assert.deepEqual(await leaderSrv(dnsPort), {
          targets: [`leader.mesos:${port}`],
          glue: ["127.0.0.1"],
        });
        assert.deepEqual(await a(dnsPort, "master.mesos."), ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
        assert.deepEqual(app!.poller.masters(), s.masters, "leader first, then by znode sequence");
        assert.equal((await dig(dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
      }),
    );

    passed.push(
      await t.step(
        "leading master stopped: DNS follows within 500 ms of its znode going (refresh 60 s)",
        async () => {
          const znode = s.znode(0);
          assert.ok(znode);
          // Our own watch on the leader's znode marks the moment ZooKeeper changed.
          const watcher = new ZkClient({ servers: parseZkUrl(url).servers, sessionTimeoutMs: 4000 });
          watcher.connect();
          try {
            await watcher.whenConnected();
            const gone = Promise.withResolvers<number>();
            assert.equal(await watcher.exists(znode, () => gone.resolve(performance.now())), true);
            const reloads = app!.poller.stats().successes;
            await s.stopMaster(0);
            const t0 = await gone.promise;
            await waitFor(async () => (await leaderIP()) === "127.0.0.2", {
              timeoutMs: 3000,
              intervalMs: 5,
              message: "leader.mesos never moved to 127.0.0.2",
            });
            const elapsed = performance.now() - t0;
            assert.ok(
              elapsed < 500,
              `leader.mesos answered the new leader ${Math.round(elapsed)} ms after the change`,
            );
            assert.deepEqual(await leaderSrv(dnsPort), {
              targets: [`leader.mesos:${port}`],
              glue: ["127.0.0.2"],
            });
            assert.equal(s.leaderIndex, 1);
            assert.ok(app!.poller.stats().successes > reloads);
            assert.equal(app!.poller.stats().failures, 0, "no failed reload on the way");
            assert.equal((await dig(dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.2");
          } finally {
            await watcher.close();
          }
        },
      ),
    );

    passed.push(
      await t.step("one ZooKeeper node killed: nothing changes", async () => {
        const server = source.connectedServer;
        assert.ok(server);
        const before = app!.holder.current();
        const stats = app!.poller.stats();
        const members = async () => {
          const c = new ZkClient({ servers: parseZkUrl(url).servers, sessionTimeoutMs: 4000 });
          c.connect();
          try {
            await c.whenConnected();
            return (await c.getChildren("/mesos")).sort();
          } finally {
            await c.close();
          }
        };
        const znodes = await members();
        assert.equal(znodes.length, 2);
        await zk.kill(zk.indexOf(server));
        await waitFor(() => source.connectedServer !== null && source.connectedServer !== server, {
          timeoutMs: 10_000,
          message: "mesos-dns did not move to another ZooKeeper node",
        });
        assert.deepEqual(await members(), znodes, "every master kept its session and znode");
        assert.equal(await leaderIP(), "127.0.0.2");
        assert.equal(app!.holder.current(), before, "the same records, not even a reload");
        assert.equal(app!.poller.stats().successes, stats.successes);
        assert.equal(app!.poller.stats().failures, stats.failures);
        assert.equal(s.leaderIndex, 1);
      }),
    );

    passed.push(
      await t.step("every ZooKeeper node killed: last records served; followed again once back", async () => {
        await zk.killAll();
        await waitFor(() => source.connectedServer === null, {
          timeoutMs: 10_000,
          message: "still connected",
        });
        assert.equal(await leaderIP(), "127.0.0.2", "the last good records stay");
        await app!.poller.reloadNow();
        assert.equal(app!.poller.stats().consecutiveFailures, 0, "the known masters still answer");
        assert.equal(await leaderIP(), "127.0.0.2");

        await zk.restartAll();
        await waitFor(() => source.connectedServer !== null, {
          timeoutMs: 15_000,
          message: "no reconnection",
        });
        // Sessions may have expired meanwhile (masters then contend again): DNS must agree with ZooKeeper.
        const ipOf = (i: number | null) => (i === null ? "" : `127.0.0.${i + 1}`);
        await waitFor(async () => s.leaderIndex !== null && (await leaderIP()) === ipOf(s.leaderIndex), {
          timeoutMs: 10_000,
          message: "DNS does not name ZooKeeper's leader after the outage",
        });
        // The watch works again: the leader's stop is followed at once.
        const old = s.leaderIndex!;
        await s.stopMaster(old);
        await waitFor(
          async () =>
            s.leaderIndex !== null && s.leaderIndex !== old && (await leaderIP()) === ipOf(s.leaderIndex),
          { timeoutMs: 3000, message: "leader change after the outage not followed" },
        );
      }),
    );

    passed.push(
      await t.step(
        "simulator CLI --zk: masters register as Mesos does; the leader follows ZooKeeper",
        async () => {
          const child = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--allow-net",
              "--allow-read",
              new URL("../scripts/mesos_sim.ts", import.meta.url).pathname,
              "--port=0",
              "--control-port=0",
              "--masters=2",
              "--tasks=3",
              `--zk=${zk.url("/cli")}`,
            ],
            stdout: "piped",
            stderr: "null",
            stdin: "null",
          }).spawn();
          const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
          const c = new ZkClient({ servers: parseZkUrl(url).servers, sessionTimeoutMs: 4000 });
          c.connect();
          try {
            let buf = "";
            while (!buf.includes("\n")) {
              const { value, done } = await reader.read();
              if (done) break;
              buf += value;
            }
            const ready = JSON.parse(buf.split("\n")[0]);
            assert.equal(ready.zk, zk.url("/cli"));
            await c.whenConnected();
            const leaderZnode = async () => {
              const names = (await c.getChildren("/cli")).filter((n) => n.startsWith("json.info_")).sort();
              const data = await c.getData(`/cli/${names[0]}`);
              return { count: names.length, info: JSON.parse(new TextDecoder().decode(data!)) };
            };
            let z = await leaderZnode();
            assert.equal(z.count, 2);
            assert.equal(z.info.pid, `master@${ready.masters[0]}`);
            assert.equal(z.info.address.ip, "127.0.0.1");
            // Moving the leader re-orders the znodes; the masters' state follows.
            const res = await fetch(`${ready.control}/leader?index=1`, { method: "POST" });
            assert.equal((await res.json()).leader, 1);
            z = await leaderZnode();
            assert.equal(z.info.pid, `master@${ready.masters[1]}`);
            const state = await (await fetch(`http://${ready.masters[0]}/master/state`)).json();
            assert.equal(state.leader, `master@${ready.masters[1]}`);
          } finally {
            child.kill("SIGTERM");
            await reader.cancel();
            assert.equal((await child.status).code, 0);
            await waitFor(async () => (await c.getChildren("/cli")).length === 0, {
              message: "the masters' znodes outlived the simulator",
            });
            await c.close();
          }
        },
      ),
    );

    passed.push(
      await t.step("no leader at start-up: mesos-dns exits 1 after zkDetectionTimeout", async () => {
        const t0 = performance.now();
        const out = await runMesosDns([
          `--zk=${zk.url("/nobody")}`,
          "--zk-detection-timeout=1",
          "--listener=127.0.0.1",
          "--port=0",
          "--httplistener=127.0.0.1",
          "--httpport=0",
          "--externalon=false",
        ]);
        const elapsed = performance.now() - t0;
        assert.equal(out.code, 1, out.stderr);
        assert.match(out.stderr, /master detection timed out after 1s/);
        assert.ok(elapsed >= 1000, `exited after ${Math.round(elapsed)} ms`);
      }),
    );
    assert.deepEqual(fatal, [], "the service never gave up");
  } finally {
    if (passed.includes(false)) console.error(`simulator log:\n${trace.join("\n")}`);
    await app?.close();
    await sim?.close();
    await zk.stop();
  }
});

Deno.test("e2e ZooKeeper + event stream (StateSource auto): the stream follows a leader change", async () => {
  const zk = await ZkEnsemble.start(1);
  const url = zk.url("/mesos");
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  try {
    sim = await startSimulator({
      masters: 3,
      hosts: "loopbacks",
      zk: url,
      zkSessionTimeoutMs: 4000,
      generate: { frameworks: 2, agents: 3, tasks: 12, seed: 12 },
    });
    const s = sim;
    app = await startApp(
      testConfig({
        Zk: url,
        Masters: null,
        RefreshSeconds: 60,
        ZkDetectionTimeout: 30,
        StateSource: "auto",
        Listener: "127.0.0.1",
        Port: 0,
        HttpOn: false,
        ExternalOn: false,
      }),
      { interfaceIPs: () => ["127.0.0.1"] },
    );
    const dnsPort = app.dns!.port;
    const stream = app.stream!;
    await waitFor(() => stream.stats().connected && app!.holder.current() !== undefined, {
      timeoutMs: 15_000,
      message: "never subscribed to the leader's event stream",
    });
    assert.equal(stream.stats().leader?.split(":")[0], "127.0.0.1");
    await waitFor(async () => (await a(dnsPort, "leader.mesos.")).join(",") === "127.0.0.1", {
      timeoutMs: 5000,
      message: "leader.mesos never answered 127.0.0.1",
    });
    const snapshots = stream.stats().snapshots;
    await s.stopMaster(0);
    // RefreshSeconds is 60: only ZooKeeper's watch and the stream's resubscription can move it.
    await waitFor(async () => (await a(dnsPort, "leader.mesos.")).join(",") === "127.0.0.2", {
      timeoutMs: 10_000,
      intervalMs: 20,
      message: "leader.mesos never moved to 127.0.0.2",
    }).catch((e) => {
      throw new Error(
        `${e.message}; stream ${JSON.stringify(stream.stats())}; masters ${app!.poller.masters()}`,
      );
    });
    await waitFor(() => stream.stats().connected && stream.stats().leader?.split(":")[0] === "127.0.0.2", {
      timeoutMs: 10_000,
      message: `the stream never moved to the new leader: ${JSON.stringify(stream.stats())}`,
    });
    assert.ok(stream.stats().snapshots > snapshots, "a fresh snapshot from the new leader");
    assert.equal(stream.stats().source, "stream");
  } finally {
    await app?.close();
    await sim?.close();
    await zk.stop();
  }
});
