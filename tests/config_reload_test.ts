/**
 * SIGHUP configuration reload, as an operator meets it: mesos-dns (main.ts) runs as a
 * child process with a config file fed by the simulator; the file is edited and the
 * process sent SIGHUP. A new ttl reaches dig's answers in place; a broken file keeps the
 * running configuration and the process; a new DNS or HTTP port moves the listener.
 * Plus the reload mechanism's own rules (src/config/reload.ts) without a process.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { changedKeys, ConfigReloader } from "../src/config/reload.ts";
import { defaultConfig } from "../src/config/mod.ts";
import type { Config } from "../src/config/types.ts";
import { RELOADABLE_KEYS } from "../src/app.ts";
import { KEYS } from "../src/config/keys.ts";
import { queryUdp } from "./helpers/dns_client.ts";
import { dig, startMesosDns } from "./helpers/mesos_dns_process.ts";
import { waitFor } from "./helpers/wait.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The TTLs of the answer section of `dig name` (empty when no answer). */
async function answerTtls(port: number, name: string): Promise<number[]> {
  const out = await dig(port, "+noall", "+answer", name, "A");
  return out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith(";")).map((l) =>
    Number(l.split(/\s+/)[1])
  );
}

Deno.test("SIGHUP: new ttl in place, a broken file keeps the old config, a new port moves the listener", async () => {
  const sim = await startSimulator({ file: `${FIXTURES}mesos-dns-fake.json`, rewriteLeader: true });
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.json`;
  const base = {
    masters: [sim.masters[0]],
    listener: "127.0.0.1",
    port: 0,
    httplistener: "127.0.0.1",
    httpport: 0,
    externalon: false,
    refreshSeconds: 3600, // no state reload during the test: the TTL changes in place
    ttl: 60,
  };
  await Deno.writeTextFile(file, JSON.stringify(base));
  const proc = await startMesosDns([`-config=${file}`]);
  try {
    await proc.waitReady();
    assert.deepEqual(await answerTtls(proc.dnsPort, "leader.mesos."), [60]);
    const loads = () => proc.output().match(/loaded state from/g)?.length ?? 0;
    const loadsBefore = loads();

    // 1. ttl 60 -> 7: answers carry the new TTL, without a state reload, on the same port,
    // and every query sent while the reload runs is answered (60 before, 7 after).
    await Deno.writeTextFile(file, JSON.stringify({ ...base, ttl: 7 }));
    const seen: number[] = [];
    let unanswered = 0;
    proc.signal("SIGHUP");
    await waitFor(async () => {
      const r = await queryUdp(proc.dnsPort, "leader.mesos.", "A").catch(() => undefined);
      if (!r || r.msg.rcode !== "NOERROR" || r.msg.answers?.length !== 1) {
        unanswered++;
        return false;
      }
      const ttl = (r.msg.answers[0] as { ttl?: number }).ttl ?? -1;
      if (seen.at(-1) !== ttl) seen.push(ttl);
      return ttl === 7;
    }, { timeoutMs: 10_000, intervalMs: 1, message: "the new TTL never reached the answers" });
    assert.equal(unanswered, 0, "no query went unanswered during the reload");
    assert.ok(seen.every((t) => t === 60 || t === 7), `only the old and the new TTL: ${seen}`);
    await waitFor(() => /configuration reloaded: TTL applied/.test(proc.output()), {
      timeoutMs: 10_000,
      message: "no 'configuration reloaded: TTL applied' log line",
    });
    assert.equal(loads(), loadsBefore, "a TTL change does not reload the state");
    const soa = await dig(proc.dnsPort, "+noall", "+answer", "mesos.", "SOA");
    assert.match(soa, /\s7\s+IN\s+SOA\s.*\s7$/m, `SOA TTL and MINIMUM follow ttl: ${soa}`);
    assert.equal((await proc.getJson("/v1/config") as { TTL: number }).TTL, 7);

    // 2. A malformed file, then a bad value: logged (line/column, the key), old config kept.
    await Deno.writeTextFile(file, '{\n  "ttl": 9,,\n}\n');
    proc.signal("SIGHUP");
    await waitFor(() => /configuration reload failed.*line 2/.test(proc.output()), {
      timeoutMs: 10_000,
      message: "the malformed file was not reported",
    });
    await Deno.writeTextFile(file, JSON.stringify({ ...base, ttl: 9, refreshSeconds: -5 }));
    proc.signal("SIGHUP");
    await waitFor(() => /configuration reload failed.*RefreshSeconds.*-5/.test(proc.output()), {
      timeoutMs: 10_000,
      message: "the bad value was not reported by key",
    });
    assert.ok(!proc.exited(), "the process keeps running");
    assert.deepEqual(await answerTtls(proc.dnsPort, "leader.mesos."), [7]);
    assert.equal((await proc.getJson("/v1/config") as { TTL: number }).TTL, 7);

    // 3. New DNS and HTTP ports: the listeners move; the old ports are closed.
    const dnsPort = freePort();
    const httpPort = freePort();
    await Deno.writeTextFile(file, JSON.stringify({ ...base, ttl: 7, port: dnsPort, httpport: httpPort }));
    proc.signal("SIGHUP");
    await waitFor(async () => (await answerTtls(dnsPort, "leader.mesos.")).join() === "7", {
      timeoutMs: 10_000,
      message: "the new DNS port never answered",
    });
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 10_000, message: "the new HTTP port never answered" });
    assert.match(proc.output(), new RegExp(`DNS server listening on 127\\.0\\.0\\.1:${dnsPort}`));
    assert.deepEqual(await answerTtls(proc.dnsPort, "leader.mesos."), [], "the old DNS port is closed");
    await assert.rejects(fetch(`http://127.0.0.1:${proc.httpPort}/health`), "the old HTTP port is closed");
    assert.ok(!proc.exited());

    // 4. A DNS port held by another process: the error names it, the listener stays where it was.
    const squatter = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    try {
      const busy = (squatter.addr as Deno.NetAddr).port;
      await Deno.writeTextFile(file, JSON.stringify({ ...base, ttl: 7, port: busy, httpport: httpPort }));
      proc.signal("SIGHUP");
      await waitFor(
        () => new RegExp(`DNS listener: DNS: cannot listen on 127\\.0\\.0\\.1:${busy}`).test(proc.output()),
        {
          timeoutMs: 10_000,
          message: "the busy port was not reported",
        },
      );
      assert.deepEqual(
        await answerTtls(dnsPort, "leader.mesos."),
        [7],
        "the running listener keeps answering",
      );
      const shown = await (await fetch(`http://127.0.0.1:${httpPort}/v1/config`)).json() as { Port: number };
      assert.equal(shown.Port, dnsPort, "/v1/config shows the port in use");
      // Five reloads: the TTL, the malformed file, the bad value, the new ports, the busy port.
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      assert.match(metrics, /^mesos_dns_config_reloads_total 5$/m);
      assert.match(metrics, /^mesos_dns_config_reload_failures_total 3$/m);
    } finally {
      squatter.close();
    }
  } finally {
    const code = await proc.stop();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, proc.output());
  }
});

function reloaderFor(next: () => Config | Promise<Config>) {
  return new ConfigReloader(defaultConfig(), async () => ({ config: await next(), warnings: [] }));
}

Deno.test("reload mechanism: hooks see only their changes; a failing hook keeps its keys; unclaimed keys wait for a restart", async () => {
  let next: Config = { ...defaultConfig(), TTL: 5, Port: 5353, Zk: "zk://10.0.0.1:2181/mesos" };
  const r = reloaderFor(() => next);
  const calls: string[] = [];
  r.hook({
    name: "ttl",
    keys: ["TTL"],
    apply: (c, changed) => void calls.push(`ttl ${c.TTL} ${[...changed].sort()}`),
  });
  r.hook({ name: "soa", keys: ["SOARefresh"], apply: () => void calls.push("soa") });
  r.hook({
    name: "listener",
    keys: ["Port"],
    apply: () => {
      throw new Error("port 5353 in use");
    },
  });
  const out = await r.reload();
  assert.equal(out.ok, false);
  assert.deepEqual(calls, ["ttl 5 Port,TTL,Zk"]);
  assert.deepEqual(out.applied, ["TTL"]);
  assert.deepEqual(out.needRestart, ["Zk"]);
  assert.deepEqual(out.errors, ["listener: port 5353 in use"]);
  assert.equal(r.current.TTL, 5);
  assert.equal(r.current.Port, defaultConfig().Port, "the failed hook's key keeps its old value");
  assert.equal(r.current.Zk, "", "a key no hook applies keeps its old value");
  assert.deepEqual(r.stats().recentErrors.map((e) => e.message), ["listener: port 5353 in use"]);
  assert.equal(r.stats().reloads, 1);
  assert.equal(r.stats().failures, 1);

  // A load that throws: nothing changes, counted.
  next = undefined as unknown as Config;
  const bad = reloaderFor(() => {
    throw new Error("RefreshSeconds: -5 is not valid, expected an integer > 0");
  });
  const o2 = await bad.reload();
  assert.equal(o2.ok, false);
  assert.match(bad.stats().recentErrors[0].message, /RefreshSeconds/);
  assert.equal(bad.current.RefreshSeconds, defaultConfig().RefreshSeconds);
});

Deno.test("reload mechanism: reloads asked for during one run once more after it, never overlapping", async () => {
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const r = reloaderFor(async () => {
    loads++;
    if (loads === 1) await gate;
    return { ...defaultConfig(), TTL: 100 + loads };
  });
  r.hook({ name: "ttl", keys: ["TTL"], apply: () => {} });
  const first = r.reload();
  const second = r.reload();
  const third = r.reload();
  release();
  await Promise.all([first, second, third]);
  assert.equal(loads, 2);
  assert.equal(r.current.TTL, 102);
});

Deno.test("changedKeys compares values deeply; every config key is reloadable or listed as needing a restart", () => {
  const a = defaultConfig();
  assert.deepEqual([...changedKeys(a, { ...a, Resolvers: [...a.Resolvers], SOASerial: 12345 })], []);
  assert.deepEqual([...changedKeys(a, { ...a, ZoneResolvers: { corp: ["10.0.0.1:53"] }, TTL: 1 })], [
    "TTL",
    "ZoneResolvers",
  ]);
  // A key added to the key table must be wired to a reload hook (src/app.ts RELOADABLE_KEYS).
  const wired = new Set<string>(Object.values(RELOADABLE_KEYS).flat());
  const missing = KEYS.map((k) => k.name).filter((k) => !wired.has(k) && k !== "SOASerial");
  assert.deepEqual(
    missing,
    [],
    "add these keys to RELOADABLE_KEYS in src/app.ts (the part that applies them)",
  );
});
