/**
 * Tests of the Mesos master simulator (scripts/sim/*, scripts/mesos_sim.ts): the generated
 * cluster's content and determinism, the mutations, what leaders and non-leaders serve over
 * real sockets, faults, stopping/restarting masters, the control API, basic auth and the
 * IAM login endpoint, and the CLI (with generated certificates and an IAM account). ZooKeeper
 * registration is tested end to end in e2e_zk_test.ts.
 */
import assert from "node:assert/strict";
import { expandPorts, formatPorts, generateDocument, pidHost, SimCluster } from "../scripts/sim/cluster.ts";
import { FAULT_KINDS, startSimulator } from "../scripts/sim/master_server.ts";
import { IAM_LOGIN_PATH } from "../scripts/sim/master_auth.ts";
import { createStateFetcher } from "../src/mesos/fetch_state.ts";
import { createIamAuthorization } from "../src/mesos/iam_auth.ts";
import type { MesosFramework, MesosState, MesosTask } from "../src/mesos/state_types.ts";
import { waitFor } from "./helpers/wait.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

function allTasks(doc: MesosState): Array<MesosTask & { completed: boolean }> {
  const out: Array<MesosTask & { completed: boolean }> = [];
  for (const fw of (doc.frameworks ?? []) as Array<MesosFramework & { completed_tasks?: MesosTask[] }>) {
    for (const t of fw.tasks ?? []) out.push({ ...t, completed: false });
    for (const t of fw.completed_tasks ?? []) out.push({ ...t, completed: true });
  }
  return out;
}

async function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function refused(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

Deno.test("generated cluster: deterministic per seed", () => {
  const a = generateDocument({ frameworks: 3, agents: 4, tasks: 40, seed: 7 });
  const b = generateDocument({ frameworks: 3, agents: 4, tasks: 40, seed: 7 });
  const c = generateDocument({ frameworks: 3, agents: 4, tasks: 40, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("generated cluster: realistic fields", () => {
  const doc = generateDocument({ frameworks: 4, agents: 6, tasks: 300, seed: 3 });
  assert.equal(doc.slaves?.length, 6);
  assert.equal(doc.frameworks?.length, 4);
  assert.equal(doc.frameworks?.[0].name, "marathon");
  for (const s of doc.slaves!) assert.match(s.pid!, /^slave\(1\)@10\.\d+\.\d+\.\d+:5051$/);
  const tasks = allTasks(doc);
  assert.equal(tasks.length, 300);
  assert.equal(new Set(tasks.map((t) => t.id)).size, 300, "task ids are unique");
  // About 10% are not running; the terminal ones sit in completed_tasks.
  const notRunning = tasks.filter((t) => t.state !== "TASK_RUNNING");
  assert.equal(notRunning.length, 30);
  assert.ok(new Set(notRunning.map((t) => t.state)).size >= 4, "several non-running states");
  for (const t of tasks) {
    const terminal = ["TASK_KILLED", "TASK_FAILED", "TASK_FINISHED", "TASK_LOST"].includes(t.state!);
    assert.equal(t.completed, terminal, `${t.id} ${t.state}`);
  }
  // Marathon-like names and ids.
  const marathon = doc.frameworks![0].tasks!;
  const names = new Set(marathon.map((t) => t.name));
  assert.ok([...names].some((n) => n === "web-frontend" || n === "payments.api" || n === "web.prod"));
  for (const t of marathon) {
    assert.match(t.id!, /^[A-Za-z0-9_.-]+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  }
  // Ports as Mesos writes them.
  const withPorts = tasks.filter((t) => t.resources?.ports);
  assert.ok(withPorts.length > 100);
  for (const t of withPorts) assert.match(t.resources!.ports!, /^\[\d+-\d+(, \d+-\d+)*\]$/);
  assert.ok(withPorts.some((t) => t.resources!.ports!.includes(",")), "some tasks have several ranges");
  // Network sources.
  const running = tasks.filter((t) => t.state === "TASK_RUNNING");
  const lastRunning = (t: MesosTask) => t.statuses!.filter((s) => s.state === "TASK_RUNNING").at(-1)!;
  const dockerLabel = running.filter((t) =>
    lastRunning(t).labels?.some((l) =>
      l.key === "Docker.NetworkSettings.IPAddress" && /^\d+\.\d+\.\d+\.\d+$/.test(l.value!)
    )
  );
  assert.ok(dockerLabel.length > 20, "Docker IP labels");
  const ips = running.flatMap((t) =>
    (lastRunning(t).container_status?.network_infos ?? []).flatMap((n) => [
      ...(n.ip_addresses ?? []).map((a) => a.ip_address!),
      ...(n.ip_address ? [n.ip_address] : []),
    ])
  );
  assert.ok(ips.some((ip) => ip.startsWith("172.17.")), "bridge IPs");
  assert.ok(ips.some((ip) => ip.startsWith("9.0.")), "overlay IPs");
  assert.ok(ips.some((ip) => ip.includes(":")), "IPv6 IPs");
  assert.ok(running.some((t) => lastRunning(t).container_status === undefined), "some tasks without netinfo");
  // DiscoveryInfo with named ports.
  const disc = tasks.filter((t) => t.discovery);
  assert.ok(disc.length > 30);
  assert.ok(
    disc.some((t) =>
      t.discovery!.ports!.ports!.some((p) => p.name === "http" && typeof p.number === "number")
    ),
  );
  // Hosts are IP literals only (nothing resolves names).
  for (const fw of doc.frameworks!) {
    assert.match(fw.hostname!, /^10\.\d+\.\d+\.\d+$/);
    if (fw.pid) assert.match(fw.pid, /^scheduler-[0-9a-f-]+@10\.\d+\.\d+\.\d+:\d+$/);
  }
  assert.ok(doc.frameworks!.some((fw) => fw.pid === undefined) || doc.frameworks!.length < 5);
});

Deno.test("ports helpers round-trip", () => {
  assert.deepEqual(expandPorts("[31000-31002, 31005-31005]"), [31000, 31001, 31002, 31005]);
  assert.equal(formatPorts([31005, 31000, 31001, 31002]), "[31000-31002, 31005-31005]");
  assert.deepEqual(expandPorts(""), []);
  assert.equal(pidHost("slave(1)@[2001:db8::1]:5051"), "2001:db8::1");
});

Deno.test("cluster mutations: kill, launch, move", () => {
  const c = SimCluster.generate({ frameworks: 2, agents: 3, tasks: 20, seed: 5 });
  const before = c.runningTasks().length;
  const victim = c.runningTasks()[0];
  assert.ok(c.killTask(victim.id));
  assert.equal(c.killTask(victim.id), false, "a killed task cannot be killed again");
  const killed = c.tasks().find((t) => t.id === victim.id)!;
  assert.equal(killed.completed, true);
  assert.equal(killed.state, "TASK_KILLED");
  const doc = c.document();
  const raw = allTasks(doc).find((t) => t.id === victim.id)!;
  assert.equal(raw.statuses!.at(-1)!.state, "TASK_KILLED");
  assert.equal(c.runningTasks().length, before - 1);

  const id = c.launchTask({ name: "payments.api", network: "host", ports: 2, discovery: true });
  const launched = allTasks(doc).find((t) => t.id === id)!;
  assert.match(id, /^payments\.api\.[0-9a-f-]{36}$/);
  assert.equal(launched.state, "TASK_RUNNING");
  assert.equal(expandPorts(launched.resources!.ports).length, 2);
  assert.deepEqual(launched.discovery!.ports!.ports!.map((p) => p.name), ["http", "https"]);
  const agentIP = pidHost(c.agents().find((a) => a.id === launched.slave_id)!.pid);
  assert.equal(
    launched.statuses!.at(-1)!.container_status!.network_infos![0].ip_addresses![0].ip_address,
    agentIP,
  );

  const to = c.moveTask(id);
  assert.notEqual(to, launched.slave_id);
  const moved = allTasks(doc).find((t) => t.id === id)!;
  assert.equal(moved.slave_id, to);
  const newIP = pidHost(c.agents().find((a) => a.id === to)!.pid);
  const last = moved.statuses!.at(-1)!;
  assert.equal(last.state, "TASK_RUNNING");
  assert.ok(last.timestamp! > launched.statuses!.at(-1)!.timestamp!);
  assert.equal(last.container_status!.network_infos![0].ip_addresses![0].ip_address, newIP);
  assert.deepEqual(
    moved.discovery!.ports!.ports!.map((p) => p.number),
    expandPorts(moved.resources!.ports),
    "discovery ports follow the new host ports",
  );
  assert.throws(() => c.launchTask({ framework: "nope" }), /no framework nope/);
  assert.throws(() => c.moveTask("nope"), /no live task/);
});

Deno.test("simulator: state paths, redirect, non-leader views, leader change", async () => {
  const sim = await startSimulator({
    masters: 3,
    generate: { tasks: 12, agents: 2, frameworks: 2, seed: 2 },
  });
  try {
    assert.equal(sim.masters.length, 3);
    for (const m of sim.masters) assert.match(m, /^127\.0\.0\.1:\d+$/);
    const leaderPid = `master@${sim.masters[0]}`;
    const full = JSON.parse((await get(sim.url(0))).text) as MesosState;
    assert.equal(full.leader, leaderPid);
    assert.equal(full.pid, leaderPid);
    assert.equal(allTasks(full).length, 12);
    for (const path of ["/master/state.json", "/state.json", "/state"]) {
      assert.deepEqual(JSON.parse((await get(sim.url(0, path))).text), full, path);
    }
    assert.equal((await get(sim.url(0, "/nope"))).status, 404);
    // Non-leaders: their own empty view, with the leader's pid.
    for (const i of [1, 2]) {
      const view = JSON.parse((await get(sim.url(i))).text) as MesosState;
      assert.equal(view.leader, leaderPid);
      assert.equal(view.pid, `master@${sim.masters[i]}`);
      assert.deepEqual(view.frameworks, []);
      assert.deepEqual(view.slaves, []);
    }
    // /master/redirect on any master: 307 to the leader, protocol-relative, as Mesos.
    for (const i of [0, 1, 2]) {
      const r = await get(sim.url(i, "/master/redirect"));
      assert.equal(r.status, 307);
      assert.equal(r.headers.get("location"), `//${sim.masters[0]}`);
    }
    sim.setLeader(2);
    assert.equal(sim.leaderIndex, 2);
    const after = JSON.parse((await get(sim.url(0))).text) as MesosState;
    assert.equal(after.leader, `master@${sim.masters[2]}`);
    assert.deepEqual(after.frameworks, []);
    const leaderView = JSON.parse((await get(sim.url(2))).text) as MesosState;
    assert.equal(allTasks(leaderView).length, 12);
    assert.equal((await get(sim.url(1, "/redirect"))).headers.get("location"), `//${sim.masters[2]}`);
    // No leader elected: no leader field, and /redirect answers 503.
    sim.setLeader(null);
    const none = JSON.parse((await get(sim.url(1))).text) as MesosState;
    assert.equal(none.leader, undefined);
    assert.equal((await get(sim.url(1, "/master/redirect"))).status, 503);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator: non-leaders redirect in redirect mode; loopback hosts share a port", async () => {
  const sim = await startSimulator({ masters: 2, nonLeader: "redirect", hosts: "loopbacks", leader: 1 });
  try {
    const port = sim.masters[0].split(":")[1];
    assert.deepEqual(sim.masters, [`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
    const r = await get(sim.url(0, "/master/state"));
    assert.equal(r.status, 307);
    assert.equal(r.headers.get("location"), `//127.0.0.2:${port}/master/state`);
    const leader = JSON.parse((await get(sim.url(1))).text) as MesosState;
    assert.equal(leader.leader, `master@127.0.0.2:${port}`);
    assert.ok(allTasks(leader).length > 0);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator: stop and restart a master on the same port", async () => {
  const sim = await startSimulator({ masters: 2 });
  try {
    const url = sim.url(1);
    await sim.stopMaster(1);
    assert.equal(sim.isUp(1), false);
    assert.ok(await refused(url));
    await sim.startMaster(1);
    assert.equal(sim.isUp(1), true);
    assert.equal(sim.url(1), url);
    assert.equal((await get(url)).status, 200);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator: every fault kind is visible to a client", async () => {
  const sim = await startSimulator({ slowMs: 2000 });
  try {
    const url = sim.url(0);
    sim.setFault(0, "garbage");
    let r = await get(url);
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.text));

    sim.setFault(0, "http500");
    r = await get(url);
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.text).leader, sim.pid(0), "the 500's body is a valid state");

    sim.setFault(0, "wrong-shape");
    const shape = JSON.parse((await get(url)).text);
    assert.equal(typeof shape.leader, "string");
    assert.equal(Array.isArray(shape.frameworks), false);

    sim.setFault(0, "no-leader");
    const noLeader = JSON.parse((await get(url)).text);
    assert.equal(noLeader.leader, undefined);
    assert.ok(Array.isArray(noLeader.frameworks));

    sim.setFault(0, "truncated");
    await assert.rejects(async () => {
      const res = await fetch(url);
      await res.arrayBuffer();
    });

    for (const kind of ["hang", "slow"] as const) {
      sim.setFault(0, kind);
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 200);
      await assert.rejects(async () => {
        const res = await fetch(url, { signal: ac.signal });
        await res.arrayBuffer();
      }, kind);
      clearTimeout(timer);
    }
    // A hung request is released when the fault is cleared.
    sim.setFault(0, "hang");
    const seen = sim.requests.length;
    const pending = fetch(url).then((res) => res.text().then(() => res.status));
    await waitFor(() => sim.requests.length > seen);
    sim.setFault(0, null);
    assert.equal(await pending, 503);
    assert.equal((await get(url)).status, 200);
    assert.deepEqual([...FAULT_KINDS].sort(), [
      "garbage",
      "hang",
      "http500",
      "no-leader",
      "slow",
      "truncated",
      "wrong-shape",
    ]);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator: close releases hanging requests", async () => {
  const sim = await startSimulator();
  sim.setFault(0, "hang");
  const pending = fetch(sim.url(0)).then((r) => r.body?.cancel()).catch(() => "failed");
  await waitFor(() => sim.requests.length === 1);
  await sim.close();
  await pending;
});

Deno.test("simulator: control API drives the cluster over HTTP", async () => {
  const sim = await startSimulator({ masters: 2, controlPort: 0, generate: { tasks: 10, seed: 9 } });
  try {
    const ctl = sim.control!;
    assert.match(ctl, /^http:\/\/127\.0\.0\.1:\d+\/__sim$/);
    const post = async (q: string) => {
      const res = await fetch(`${ctl}/${q}`, { method: "POST" });
      return { status: res.status, body: await res.json() };
    };
    const summary = await (await fetch(ctl)).json();
    assert.deepEqual(summary.masters, sim.masters);
    assert.equal(summary.leader, 0);

    const task = sim.cluster.runningTasks()[0].id;
    assert.deepEqual((await post(`kill?task=${encodeURIComponent(task)}`)).body, { ok: true, killed: task });
    assert.equal((await post(`kill?task=${encodeURIComponent(task)}`)).status, 404);
    assert.ok(!sim.cluster.runningTasks().some((t) => t.id === task));

    const launched =
      (await post("launch?name=web-frontend&network=bridge&ports=1&discovery=1")).body.launched;
    assert.match(launched, /^web-frontend\./);
    const tasks = await (await fetch(`${ctl}/tasks`)).json();
    assert.ok(
      tasks.some((t: { id: string; state: string }) => t.id === launched && t.state === "TASK_RUNNING"),
    );
    const moved = await post(`move?task=${encodeURIComponent(launched)}`);
    assert.equal(moved.status, 200);

    assert.deepEqual((await post("leader?index=1")).body, { ok: true, leader: 1 });
    assert.equal(sim.leaderIndex, 1);
    assert.deepEqual((await post("fault?kind=garbage")).body, { ok: true, master: 1, fault: "garbage" });
    assert.equal(sim.fault(1), "garbage");
    assert.equal((await post("fault?kind=bogus")).status, 400);
    assert.deepEqual((await post("fault?kind=none&master=1")).body, { ok: true, master: 1, fault: null });

    assert.deepEqual((await post("stop?master=0")).body, { ok: true, master: 0, up: false });
    assert.ok(await refused(sim.url(0)));
    await post("start?master=0");
    assert.equal((await get(sim.url(0))).status, 200);
    // Through a master's own port, stopping that master answers first.
    const self = await fetch(`http://${sim.masters[1]}/__sim/stop?master=1`, { method: "POST" });
    assert.equal((await self.json()).up, false);
    await waitFor(() => !sim.isUp(1));
    const cluster = await (await fetch(`${ctl}/cluster`)).json();
    assert.ok(Array.isArray(cluster.frameworks));
    const getLaunch = await fetch(`${ctl}/launch`);
    await getLaunch.body?.cancel();
    assert.equal(getLaunch.status, 404);
    assert.equal((await post("leader")).status, 400);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator: file source, leader rewrite only on request", async () => {
  const file = new URL("mesos-dns-fake.json", FIXTURES).pathname;
  const original = JSON.parse(await Deno.readTextFile(file));
  const plain = await startSimulator({ file });
  try {
    assert.deepEqual(JSON.parse((await get(plain.url(0))).text), original);
  } finally {
    await plain.close();
  }
  const rewritten = await startSimulator({ file, rewriteLeader: true, masters: 2 });
  try {
    const doc = JSON.parse((await get(rewritten.url(0))).text);
    assert.equal(doc.leader, rewritten.pid(0));
    assert.deepEqual({ ...doc, leader: original.leader, pid: original.pid }, original);
    assert.equal(JSON.parse((await get(rewritten.url(1))).text).leader, rewritten.pid(0));
    // Kill a task of the fixture: it moves to completed_tasks.
    assert.ok(rewritten.killTask("toy-store.b8db9f73-562f-11e4-a088-c20493233aa5"));
    const after = JSON.parse((await get(rewritten.url(0))).text) as MesosState;
    const t = allTasks(after).find((t) => t.id === "toy-store.b8db9f73-562f-11e4-a088-c20493233aa5")!;
    assert.equal(t.state, "TASK_KILLED");
    assert.equal(t.completed, true);
  } finally {
    await rewritten.close();
  }
  await assert.rejects(() => startSimulator({ file, masters: 2 }), /rewriteLeader/);
});

Deno.test("simulator CLI: ready line, control API, stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      new URL("../scripts/mesos_sim.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--masters",
      "2",
      "--tasks",
      "15",
      "--seed",
      "4",
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const errText = (async () => {
    let s = "";
    for await (const chunk of stderr) s += chunk;
    return s;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let buf = "";
    const deadline = Date.now() + 15_000;
    while (!buf.includes("\n")) {
      assert.ok(Date.now() < deadline, "simulator did not print its ready line");
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    const ready = JSON.parse(buf.split("\n")[0]);
    assert.equal(ready.masters.length, 2);
    assert.equal(ready.leader, 0);
    assert.match(ready.control, /^http:\/\/127\.0\.0\.1:\d+\/__sim$/);
    const state = await (await fetch(`http://${ready.masters[0]}/master/state`)).json();
    assert.equal(state.leader, `master@${ready.masters[0]}`);
    assert.equal(allTasks(state).length, 15);
    const res = await fetch(`${ready.control}/leader?index=1`, { method: "POST" });
    assert.equal((await res.json()).leader, 1);
    const view = await (await fetch(`http://${ready.masters[0]}/master/state`)).json();
    assert.equal(view.leader, `master@${ready.masters[1]}`);
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    const status = await child.status;
    const log = await errText;
    assert.equal(status.code, 0, log);
    assert.match(log, /leader is now master 1/);
  }
});

Deno.test("simulator: basic auth guards the master endpoints; the control API and the IAM login stay reachable", async () => {
  const sim = await startSimulator({ auth: { basic: { principal: "dns", secret: "pw" } }, masters: 2 });
  try {
    const ok = { authorization: `Basic ${btoa("dns:pw")}` };
    const refusedHeaders: Record<string, string>[] = [
      {},
      { authorization: `Basic ${btoa("dns:nope")}` },
      { authorization: "token=x" },
    ];
    for (const headers of refusedHeaders) {
      const r = await get(sim.url(0), { headers });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get("www-authenticate"), 'Basic realm="mesos"');
    }
    assert.equal((await get(sim.url(1, "/master/redirect"))).status, 401);
    const good = await get(sim.url(0), { headers: ok });
    assert.equal(good.status, 200);
    assert.equal(JSON.parse(good.text).leader, sim.pid(0));
    assert.equal((await get(sim.url(1, "/master/redirect"), { headers: ok })).status, 307);
    assert.equal(sim.auth!.refused, 4);
    assert.equal((await get(sim.url(0, "/__sim"))).status, 200, "the control API needs no credentials");
    // The IAM endpoint exists but this simulator has no IAM account.
    const login = await get(sim.url(0, IAM_LOGIN_PATH), { method: "POST", body: "{}" });
    assert.equal(login.status, 501);
    assert.equal((await get(sim.url(0, IAM_LOGIN_PATH))).status, 405);
  } finally {
    await sim.close();
  }
});

Deno.test("simulator CLI: --tls, --principal/--secret and --iam make what a client needs, and clean up", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../scripts/mesos_sim.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--control-port",
      "0",
      "--tasks",
      "5",
      "--tls",
      "--principal",
      "dns",
      "--secret",
      "pw",
      "--iam",
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const errText = (async () => {
    let s = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) s += chunk;
    return s;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let ready: Record<string, string> = {};
  try {
    let buf = "";
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    ready = JSON.parse(buf.split("\n")[0]);
    for (const k of ["caCertFile", "clientCertFile", "clientKeyFile", "iamConfigFile"]) {
      assert.ok((await Deno.stat(ready[k])).isFile, k);
    }
    const iam = JSON.parse(await Deno.readTextFile(ready.iamConfigFile));
    assert.equal(iam.uid, "mesos-dns");
    assert.match(iam.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(iam.login_endpoint, ready.control.replace(/\/__sim$/, IAM_LOGIN_PATH));
    const config = {
      MesosHTTPSOn: true,
      StateTimeoutSeconds: 5,
      CACertFile: ready.caCertFile,
      CertFile: ready.clientCertFile,
      KeyFile: ready.clientKeyFile,
      MesosCredentials: { Principal: "dns", Secret: "pw" },
    };
    const viaBasic = await createStateFetcher({ ...config, MesosAuthentication: "basic" });
    const viaIam = await createStateFetcher({ ...config, MesosAuthentication: "iam" }, {
      authorization: await createIamAuthorization(ready.iamConfigFile),
    });
    try {
      // Both read the same state: the live ones of the 5 tasks (completed tasks are not read).
      const [basic, iam] = [
        (await viaBasic.fetch([ready.masters[0]])).state,
        (await viaIam.fetch([ready.masters[0]])).state,
      ];
      assert.deepEqual(iam, basic);
      // The CLI's cluster is the generated one of its defaults (3 frameworks, 5 agents, seed 1).
      const generated = generateDocument({ frameworks: 3, agents: 5, tasks: 5, seed: 1 });
      const ids = (d: MesosState) => allTasks(d).filter((t) => !t.completed).map((t) => t.id).sort();
      assert.deepEqual(ids(basic), ids(generated));
      assert.ok(ids(basic).length > 0);
    } finally {
      viaBasic.close();
      viaIam.close();
    }
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    const status = await child.status;
    const log = await errText;
    assert.equal(status.code, 0, log);
    assert.match(log, /; HTTPS; basic auth; IAM/);
  }
  for (const k of ["caCertFile", "iamConfigFile"]) {
    await assert.rejects(Deno.stat(ready[k]), Deno.errors.NotFound, `${k} removed on stop`);
  }
});
