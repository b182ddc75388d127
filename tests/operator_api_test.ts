/**
 * The operator API read as `/master/state` (src/mesos/operator_api.ts, cluster_model.ts,
 * recordio.ts): the real captures in tests/fixtures/operator-api give the records SPEC §5–6
 * says a `/master/state` of the same cluster gives, and each event kind changes exactly the
 * names it should.
 */
import assert from "node:assert/strict";
import { ClusterModel } from "../src/mesos/cluster_model.ts";
import { affectsRecords, mergeDeltas } from "../src/mesos/event_stream.ts";
import {
  convertAgent,
  convertFramework,
  convertStatus,
  convertTask,
  eventDelta,
  OP_EVENT_SCHEMA,
  type OpEvent,
  portsString,
  readEvent,
  snapshotDelta,
} from "../src/mesos/operator_api.ts";
import { project } from "../src/mesos/json_scan.ts";
import { encodeRecord, RecordIODecoder, RecordIOError } from "../src/mesos/recordio.ts";
import type { MesosState } from "../src/mesos/state_types.ts";
import { generateRecords } from "../src/records/generate.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { taskHash } from "../src/records/task_hash.ts";

const DIR = new URL("./fixtures/operator-api/", import.meta.url);

function events(file: string): OpEvent[] {
  return Deno.readTextFileSync(new URL(file, DIR)).split("\n").filter((l) => l.trim() !== "").map((l) =>
    readEvent(new TextEncoder().encode(l))
  );
}

function records(state: MesosState): RecordSet {
  return generateRecords({
    state,
    masters: ["10.0.0.1:5050"],
    options: {
      domain: "mesos",
      enforceRFC952: false,
      ipSources: ["netinfo", "mesos", "host"],
      soaMname: "ns1.mesos.",
    },
    nameServerIPs: [],
    resolved: new Map(),
  });
}

/** Every (type, name, value) of a record set, as `A name value` lines. */
function lines(r: RecordSet): Set<string> {
  const out = new Set<string>();
  for (const [type, map] of [["A", r.a], ["AAAA", r.aaaa], ["SRV", r.srv]] as const) {
    for (const [name, values] of map) for (const v of values) out.add(`${type} ${name} ${v}`);
  }
  return out;
}

function names(r: RecordSet): Set<string> {
  return new Set([...r.a.keys(), ...r.aaaa.keys(), ...r.srv.keys()]);
}

/** Feeds a capture to a model: the snapshot, then the events; returns the model. */
function replay(evs: OpEvent[], upTo = evs.length): ClusterModel {
  const model = new ClusterModel();
  for (const ev of evs.slice(0, upTo)) {
    if (ev.type === "SUBSCRIBED") {
      model.clear();
      model.apply(snapshotDelta(ev.subscribed!.get_state!));
      continue;
    }
    const d = eventDelta(ev, (id) => model.task(id));
    if (d) model.apply(d);
  }
  return model;
}

const LEADER = "master@10.0.0.1:5050";

Deno.test("readEvent keeps all that is read: each capture's events convert alike from their bytes and from JSON.parse", () => {
  const enc = new TextEncoder();
  // deno-lint-ignore no-explicit-any
  type Raw = any;
  let compared = 0;
  for (const file of ["operator-api.jsonl", "pod-tasks.jsonl", "recovered-agents.jsonl", "unhealthy.jsonl"]) {
    const text = Deno.readTextFileSync(new URL(file, DIR));
    const lines = file === "unhealthy.jsonl" ? [text] : text.split("\n").filter((l) => l.trim() !== "");
    for (const line of lines) {
      const raw: Raw = JSON.parse(line);
      const ev = readEvent(enc.encode(line));
      assert.deepEqual(ev, project(raw, OP_EVENT_SCHEMA), `${file}: the scan is the projection`);
      const state: Raw = raw.subscribed?.get_state ?? raw.get_state;
      const read = ev.subscribed?.get_state ?? ev.get_state;
      if (state) {
        for (const list of ["tasks", "unreachable_tasks"]) {
          const want = (state.get_tasks?.[list] ?? []).map(convertTask);
          assert.deepEqual(read!.get_tasks?.[list as "tasks"] ?? [], want, `${file} ${list}`);
          compared += want.length;
        }
        const agents = state.get_agents?.agents ?? [];
        assert.deepEqual((read!.get_agents?.agents ?? []).map(convertAgent), agents.map(convertAgent));
        const fws = state.get_frameworks?.frameworks ?? [];
        assert.deepEqual(
          (read!.get_frameworks?.frameworks ?? []).map(convertFramework),
          fws.map(convertFramework),
        );
        compared += agents.length + fws.length;
      }
      if (raw.task_added) assert.deepEqual(ev.task_added!.task, convertTask(raw.task_added.task)), compared++;
      if (raw.task_updated) {
        assert.deepEqual(convertStatus(ev.task_updated!.status!), convertStatus(raw.task_updated.status));
        assert.deepEqual(ev.task_updated!.status!.task_id, raw.task_updated.status.task_id);
        assert.equal(ev.task_updated!.state, raw.task_updated.state);
        compared++;
      }
      for (const k of ["agent_added", "framework_added", "framework_updated"] as const) {
        const what = k === "agent_added" ? "agent" : "framework";
        if (!raw[k]) continue;
        const conv = k === "agent_added" ? convertAgent : convertFramework;
        // deno-lint-ignore no-explicit-any
        assert.deepEqual(conv((ev[k] as any)[what]), conv(raw[k][what])), compared++;
      }
    }
  }
  assert.ok(compared > 30, `${compared} conversions compared`);
  // Fields nothing reads are not kept (here: an agent's resources and times).
  const sub = readEvent(enc.encode(Deno.readTextFileSync(new URL("operator-api.jsonl", DIR)).split("\n")[0]));
  const agent = sub.subscribed!.get_state!.get_agents!.agents![0] as Record<string, unknown>;
  assert.deepEqual(Object.keys(agent).sort(), ["agent_info", "pid"]);
  assert.throws(() => readEvent(enc.encode('{"type": "HEARTBEAT"')), SyntaxError);
});

Deno.test("RecordIO: records split across pushes of any size; not RecordIO is an error", () => {
  const text = encodeRecord('{"type":"SUBSCRIBED"}') + encodeRecord('{"type":"HEARTBEAT","x":"é"}');
  const bytes = new TextEncoder().encode(text);
  for (const step of [1, 2, 3, 7, bytes.length]) {
    const d = new RecordIODecoder();
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += step) {
      got.push(...d.push(bytes.slice(i, i + step)).map((r) => new TextDecoder().decode(r)));
    }
    assert.deepEqual(got, ['{"type":"SUBSCRIBED"}', '{"type":"HEARTBEAT","x":"é"}'], `step ${step}`);
    assert.equal(d.pending, 0);
  }
  assert.throws(() => new RecordIODecoder().push(new TextEncoder().encode('{"leader":"x"}')), RecordIOError);
  assert.throws(() => new RecordIODecoder().push(new TextEncoder().encode("<html>")), RecordIOError);
  assert.throws(() => new RecordIODecoder(10).push(new TextEncoder().encode("11\n")), /larger than 10/);
});

Deno.test("RecordIO: a snapshot of megabytes in small pieces, an empty record, a character split between pieces", () => {
  const big = JSON.stringify({
    type: "SUBSCRIBED",
    tasks: Array.from({ length: 40_000 }, (_, i) => `tâsk-${i}`),
  });
  const text = encodeRecord(big) + "0\n" + encodeRecord('{"type":"HEARTBEAT"}');
  const bytes = new TextEncoder().encode(text);
  assert.ok(bytes.length > 500_000);
  for (const step of [4093, 65536]) {
    const d = new RecordIODecoder();
    const got: string[] = [];
    let most = 0;
    for (let i = 0; i < bytes.length; i += step) {
      got.push(...d.push(bytes.slice(i, i + step)).map((r) => new TextDecoder().decode(r)));
      most = Math.max(most, d.pending);
    }
    assert.deepEqual(got, [big, "", '{"type":"HEARTBEAT"}'], `step ${step}`);
    assert.equal(d.pending, 0);
    assert.ok(most > 400_000 && most < bytes.length, `pending counts the record's bytes so far (${most})`);
  }
});

Deno.test("resources.ports in the /master/state form: ranges sorted and merged, none without ports", () => {
  const r = (ranges: Array<[number, number]>) => ({
    name: "ports",
    type: "RANGES",
    ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) },
  });
  assert.equal(portsString([r([[31005, 31005], [31000, 31001]])]), "[31000-31001, 31005-31005]");
  assert.equal(portsString([r([[20560, 20560]]), { name: "cpus", scalar: { value: 1 } }]), "[20560-20560]");
  // Two ports resources (e.g. two roles) are one set of ports, as Mesos adds them up.
  assert.equal(portsString([r([[1, 2]]), r([[3, 4], [10, 10]])]), "[1-4, 10-10]");
  assert.equal(portsString([{ name: "cpus", scalar: { value: 1 } }]), undefined);
  assert.equal(portsString(undefined), undefined);
});

Deno.test("operator-api.jsonl: snapshot, then TASK_ADDED/UPDATED give the names of /master/state", () => {
  const evs = events("operator-api.jsonl");
  assert.equal(evs[0].type, "SUBSCRIBED");
  // The snapshot has two agents and metronome, no task: only framework and agent names.
  const snap = records(replay(evs, 1).toState(LEADER));
  assert.deepEqual([...snap.a.keys()].filter((n) => n.includes(".marathon.")), []);
  assert.deepEqual(snap.a.get("metronome.mesos."), ["172.17.0.2"]);
  assert.deepEqual(snap.a.get("slave.mesos."), ["172.17.0.4", "172.17.0.3"]);
  // FRAMEWORK_UPDATED of a framework the snapshot did not have adds it (hostname, no pid).
  const afterFw = records(replay(evs, 2).toState(LEADER));
  assert.deepEqual(afterFw.a.get("marathon.mesos."), ["172.17.0.2"]);
  assert.equal(afterFw.srv.has("_framework._tcp.marathon.mesos."), false);

  // While every task is still staging or starting, no task has a name (SPEC §6.1).
  const firstRunning = evs.findIndex((e) =>
    e.type === "TASK_UPDATED" && e.task_updated?.state === "TASK_RUNNING"
  );
  const beforeRunning = records(replay(evs, firstRunning).toState(LEADER));
  assert.deepEqual([...names(beforeRunning)].filter((n) => n.includes(".marathon.")), []);

  const all = replay(evs);
  const r = records(all.toState(LEADER));
  // Every task ends TASK_RUNNING and has a DiscoveryInfo name, which names it (SPEC §5.4).
  const tasks = new Map<string, { disc: string; agent: string }>();
  for (const e of evs) {
    const t = e.task_added?.task;
    if (t) tasks.set(t.id!, { disc: t.discovery!.name!, agent: t.slave_id! });
  }
  assert.equal(tasks.size, 12);
  const taskNames = new Set([...r.a.keys(), ...r.aaaa.keys()].filter((n) => /\.marathon\.mesos\.$/.test(n)));
  const expected = new Set<string>();
  for (const [id, t] of tasks) {
    const tail = t.agent.split("-").at(-1)!.toLowerCase();
    expected.add(`${t.disc}.marathon.mesos.`);
    expected.add(`${t.disc}-${taskHash(id)}-${tail}.marathon.mesos.`);
  }
  assert.deepEqual([...taskNames].sort(), [...expected].sort());
  // Addresses from the last TASK_RUNNING status's network infos (netinfo first).
  assert.deepEqual(r.a.get("docker-on-bridge.marathon.mesos."), ["172.18.0.2"]);
  assert.deepEqual(r.a.get("docker-on-ipv6.marathon.mesos."), ["172.19.0.2"]);
  assert.deepEqual(r.aaaa.get("docker-on-ipv6.marathon.mesos."), ["fd01:b::2:8000:0:2"]);
  assert.deepEqual(r.a.get("ucr-on-dcos.marathon.mesos."), ["9.0.1.6"]);
  // The three pods' tasks are all named `app`, their DiscoveryInfo names differ.
  assert.deepEqual(r.a.get("pod-on-dcos.marathon.mesos."), ["9.0.1.3"]);
  assert.equal(r.a.has("app.marathon.mesos."), false);
  // SRV: DiscoveryInfo ports to the task name; resource ports ([20560-20560]) to the agent name.
  const bridge = `docker-on-bridge-${taskHash("docker-on-bridge.0ef76549-2630-11e8-af52-70b3d5800001")}-s0`;
  assert.deepEqual(r.srv.get("_docker-on-bridge._tcp.marathon.mesos."), [`${bridge}.marathon.mesos.:20560`]);
  assert.deepEqual(r.srv.get("_http._docker-on-bridge._tcp.marathon.mesos."), [
    `${bridge}.marathon.mesos.:20560`,
  ]);
  assert.deepEqual(r.srv.get("_docker-on-bridge._udp.marathon.slave.mesos."), [
    `${bridge}.marathon.slave.mesos.:20560`,
  ]);
  assert.equal(r.srv.has("_docker-on-bridge._udp.marathon.mesos."), false);
  // No resource ports (overlay network): no .slave SRV.
  assert.equal(r.srv.has("_ucr-on-dcos._tcp.marathon.slave.mesos."), false);
});

Deno.test("pod-tasks.jsonl: a task that finishes loses its names, its sibling keeps the shared ones", () => {
  const evs = events("pod-tasks.jsonl");
  const foo = "app.instance-caff1565-d0db-11e8-aa23-70b3d5800002.foo";
  const bar = "app.instance-caff1565-d0db-11e8-aa23-70b3d5800002.bar";
  const finished = evs.findIndex((e) => e.task_updated?.state === "TASK_FINISHED");
  const before = records(replay(evs, finished).toState(LEADER));
  const after = records(replay(evs).toState(LEADER));
  const fooName = `app-${taskHash(foo)}-s0.marathon.mesos.`;
  const barName = `app-${taskHash(bar)}-s0.marathon.mesos.`;
  assert.deepEqual(before.a.get(fooName), ["9.0.0.2"]);
  assert.deepEqual(before.a.get(barName), ["9.0.0.2"]);
  assert.deepEqual(after.a.get(fooName), ["9.0.0.2"]);
  assert.equal(after.a.has(barName), false);
  assert.equal(after.a.has(`app-${taskHash(bar)}-s0.marathon.slave.mesos.`), false);
  assert.deepEqual(after.a.get("app.marathon.mesos."), ["9.0.0.2"]);
  // Exactly bar's own names went.
  const gone = [...names(before)].filter((n) => !names(after).has(n));
  assert.deepEqual(gone.sort(), [barName, `app-${taskHash(bar)}-s0.marathon.slave.mesos.`].sort());
});

Deno.test("recovered-agents.jsonl: AGENT_ADDED and FRAMEWORK_ADDED after a failover; the failed task has no name", () => {
  const evs = events("recovered-agents.jsonl");
  const r = records(replay(evs).toState(LEADER));
  assert.deepEqual(r.a.get("web.marathon.mesos."), ["172.31.254.10"]);
  const ids = evs.map((e) => e.task_added?.task?.id).filter((x): x is string => !!x);
  assert.equal(ids.length, 2);
  const canon = ids.map((id) => `web-${taskHash(id)}-s0.marathon.mesos.`);
  assert.equal(r.a.has(canon[0]), false, "app.1 ended TASK_FAILED");
  assert.deepEqual(r.a.get(canon[1]), ["172.31.254.10"]);
  assert.deepEqual(r.a.get("slave.mesos."), ["172.17.0.4"]);
});

Deno.test("unhealthy.jsonl (GET_STATE): the snapshot alone gives the task's names", () => {
  const doc = readEvent(Deno.readFileSync(new URL("unhealthy.jsonl", DIR)));
  assert.equal(doc.type, "GET_STATE");
  const model = new ClusterModel();
  model.apply(snapshotDelta(doc.get_state!));
  const r = records(model.toState(LEADER));
  const canon = `app-${taskHash("app.7a5a8aa6-d8be-11e8-9bf3-70b3d5800001")}-s0`;
  assert.deepEqual(r.a.get("app.marathon.mesos."), ["9.0.1.6"]);
  assert.deepEqual(r.a.get(`${canon}.marathon.slave.mesos.`), ["172.17.0.4"]);
  assert.deepEqual(r.srv.get("_app._tcp.marathon.mesos."), [`${canon}.marathon.mesos.:80`]);
  assert.deepEqual(r.srv.get("_http._app._tcp.marathon.mesos."), [`${canon}.marathon.mesos.:80`]);
  assert.deepEqual(r.a.get("metronome.mesos."), ["172.17.0.3"]);
});

Deno.test("each event kind changes exactly its names", () => {
  const evs = events("operator-api.jsonl");
  const model = replay(evs);
  // Events written here as the master sends them, read as the stream reads them.
  const diff = (sent: Record<string, unknown>) => {
    const apply = readEvent(new TextEncoder().encode(JSON.stringify(sent)));
    const before = lines(records(model.toState(LEADER)));
    const d = eventDelta(apply, (id) => model.task(id));
    assert.ok(d, `${apply.type} gives a delta`);
    model.apply(d);
    const after = lines(records(model.toState(LEADER)));
    return {
      added: [...after].filter((l) => !before.has(l)).sort(),
      removed: [...before].filter((l) => !after.has(l)).sort(),
      delta: d,
    };
  };
  const v = (value: string) => ({ value });
  const S0 = "30257977-0153-499d-a5b0-35afd842ef4d-S0";
  const S1 = "30257977-0153-499d-a5b0-35afd842ef4d-S1";
  const MARATHON = "30257977-0153-499d-a5b0-35afd842ef4d-0001";

  // TASK_UPDATED to TASK_KILLED: that task's names (and only those) go.
  const killed = "none-on-host.1458594c-2630-11e8-af52-70b3d5800001";
  const k = diff({
    type: "TASK_UPDATED",
    task_updated: {
      framework_id: v(MARATHON),
      status: { task_id: v(killed), state: "TASK_KILLED" },
      state: "TASK_KILLED",
    },
  });
  assert.deepEqual(k.added, []);
  assert.ok(k.removed.length > 0 && k.removed.every((l) => l.includes("none-on-host")), k.removed.join("\n"));
  assert.deepEqual(k.delta.removedTasks, [killed]);

  // TASK_ADDED (staging) adds nothing; TASK_UPDATED to running adds its names.
  const added = diff({
    type: "TASK_ADDED",
    task_added: {
      task: {
        name: "fresh",
        task_id: v("fresh.1"),
        framework_id: v(MARATHON),
        agent_id: v(S1),
        state: "TASK_STAGING",
        resources: [{ name: "ports", type: "RANGES", ranges: { range: [{ begin: 31000, end: 31000 }] } }],
      },
    },
  });
  assert.deepEqual([added.added, added.removed], [[], []]);
  const running = diff({
    type: "TASK_UPDATED",
    task_updated: {
      framework_id: v(MARATHON),
      status: {
        task_id: v("fresh.1"),
        agent_id: v(S1),
        state: "TASK_RUNNING",
        timestamp: 1,
        container_status: { network_infos: [{ ip_addresses: [{ ip_address: "9.9.9.9" }] }] },
      },
      state: "TASK_RUNNING",
    },
  });
  const c = `fresh-${taskHash("fresh.1")}-s1`;
  assert.deepEqual(running.removed, []);
  assert.deepEqual(
    running.added,
    [
      `A fresh.marathon.mesos. 9.9.9.9`,
      `A ${c}.marathon.mesos. 9.9.9.9`,
      `A fresh.marathon.slave.mesos. 172.17.0.3`,
      `A ${c}.marathon.slave.mesos. 172.17.0.3`,
      `SRV _fresh._tcp.marathon.mesos. ${c}.marathon.slave.mesos.:31000`,
      `SRV _fresh._udp.marathon.mesos. ${c}.marathon.slave.mesos.:31000`,
      `SRV _fresh._tcp.marathon.slave.mesos. ${c}.marathon.slave.mesos.:31000`,
      `SRV _fresh._udp.marathon.slave.mesos. ${c}.marathon.slave.mesos.:31000`,
    ].sort(),
  );

  // AGENT_REMOVED: the agent's address and every name of its tasks go; nothing else.
  const onS1 = [...(model.toState(LEADER).frameworks ?? [])].flatMap((f) => f.tasks ?? []).filter((t) =>
    t.slave_id === S1
  );
  assert.ok(onS1.length >= 2);
  const agentGone = diff({ type: "AGENT_REMOVED", agent_removed: { agent_id: v(S1) } });
  assert.deepEqual(agentGone.added, []);
  assert.ok(agentGone.removed.includes("A slave.mesos. 172.17.0.3"));
  for (const l of agentGone.removed) {
    assert.ok(
      l === "A slave.mesos. 172.17.0.3" ||
        onS1.some((t) =>
          l.includes(`-${taskHash(t.id!)}-s1.`) || l.includes(`${t.discovery?.name ?? t.name}.`)
        ),
      `unexpected removal ${l}`,
    );
  }
  assert.deepEqual(new Set(agentGone.delta.removedTasks), new Set(onS1.map((t) => t.id)));

  // AGENT_ADDED: the new agent's address, nothing else.
  const agentBack = diff({
    type: "AGENT_ADDED",
    agent_added: {
      agent: { agent_info: { id: v(S1 + "x"), hostname: "h" }, pid: "slave(1)@172.17.0.9:5051" },
    },
  });
  assert.deepEqual(agentBack, { added: ["A slave.mesos. 172.17.0.9"], removed: [], delta: agentBack.delta });

  // FRAMEWORK_ADDED / UPDATED / REMOVED.
  const fwAdd = diff({
    type: "FRAMEWORK_ADDED",
    framework_added: {
      framework: { framework_info: { id: v("fw-x"), name: "Spark.Jobs", hostname: "10.3.0.7" } },
    },
  });
  assert.deepEqual(fwAdd.added, ["A spark.jobs.mesos. 10.3.0.7"]);
  assert.deepEqual(fwAdd.removed, []);
  const fwUpd = diff({
    type: "FRAMEWORK_UPDATED",
    framework_updated: {
      framework: { framework_info: { id: v("fw-x"), name: "Spark.Jobs", hostname: "10.3.0.8" } },
    },
  });
  assert.deepEqual([fwUpd.added, fwUpd.removed], [["A spark.jobs.mesos. 10.3.0.8"], [
    "A spark.jobs.mesos. 10.3.0.7",
  ]]);
  const marathonTasks =
    (model.toState(LEADER).frameworks ?? []).find((f) => f.id === MARATHON)!.tasks!.length;
  assert.ok(marathonTasks > 0);
  const fwGone = diff({
    type: "FRAMEWORK_REMOVED",
    framework_removed: { framework_info: { id: v(MARATHON) } },
  });
  assert.deepEqual(fwGone.added, []);
  assert.ok(fwGone.removed.every((l) => l.includes("marathon")), fwGone.removed.join("\n"));
  assert.equal(fwGone.delta.removedTasks?.length, marathonTasks);
  assert.deepEqual([...names(records(model.toState(LEADER)))].filter((n) => n.includes("marathon")), []);

  // Events that change nothing give no delta.
  assert.equal(eventDelta({ type: "HEARTBEAT" }, () => undefined), null);
  assert.equal(
    eventDelta({
      type: "TASK_UPDATED",
      task_updated: { status: { task_id: v("nope") }, state: "TASK_RUNNING" },
    }, () => undefined),
    null,
  );
  void S0;
});

Deno.test("mergeDeltas: later wins, a removal after an upsert removes", () => {
  const m = mergeDeltas([
    { tasks: [{ id: "a", state: "TASK_STAGING" }], agents: [{ id: "s" }] },
    { tasks: [{ id: "a", state: "TASK_RUNNING" }, { id: "b" }] },
    { removedTasks: ["b"], removedAgents: ["s"] },
  ]);
  assert.deepEqual(m, {
    tasks: [{ id: "a", state: "TASK_RUNNING" }],
    removedTasks: ["b"],
    removedAgents: ["s"],
  });
});

Deno.test("affectsRecords: a launch's staging and starting change no record; running and its end do", () => {
  const evs = events("pod-tasks.jsonl");
  const model = new ClusterModel();
  const seen: Array<[string, boolean, boolean]> = [];
  for (const ev of evs) {
    if (ev.type === "SUBSCRIBED") {
      model.apply(snapshotDelta(ev.subscribed!.get_state!));
      continue;
    }
    const d = eventDelta(ev, (id) => model.task(id))!;
    const before = lines(records(model.toState(LEADER)));
    const affects = affectsRecords(d, (id) => model.task(id)?.state);
    model.apply(d);
    const after = lines(records(model.toState(LEADER)));
    const changed = before.size !== after.size || [...after].some((l) => !before.has(l));
    seen.push([`${ev.type} ${ev.task_updated?.state ?? ev.task_added?.task?.state}`, affects, changed]);
    // Never skip a change; skip every non-change a launch makes.
    assert.equal(affects, changed, `${ev.type}: affects ${affects}, records changed ${changed}`);
  }
  assert.deepEqual(seen.map(([what, affects]) => `${what} ${affects}`), [
    "TASK_ADDED TASK_STAGING false",
    "TASK_ADDED TASK_STAGING false",
    "TASK_UPDATED TASK_STARTING false",
    "TASK_UPDATED TASK_STARTING false",
    "TASK_UPDATED TASK_RUNNING true",
    "TASK_UPDATED TASK_RUNNING true",
    "TASK_UPDATED TASK_FINISHED true",
  ]);
  assert.equal(affectsRecords({ agents: [{ id: "x" }] }, () => undefined), true);
});
