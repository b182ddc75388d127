// The record store: a whole state gives exactly `generateRecords`' set; a snapshot followed by
// random deltas gives the same records as a full build of the resulting state (fixtures and
// generated clusters); a delta's `changes` name exactly the names whose records changed (and
// the SRV names pointing at them); and
// published record sets never change afterwards.
import assert from "node:assert/strict";
import type { MesosState, MesosTask } from "../src/mesos/state_types.ts";
import { generateRecords, type GeneratorOptions } from "../src/records/generate.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { RecordStore } from "../src/records/store.ts";
import { generateDocument, Rng } from "../scripts/sim/cluster.ts";
import { FIXTURE_FILES } from "./helpers/fixture_tables.ts";
import { copy, deltaReady, randomChange } from "./helpers/random_deltas.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const OPTIONS: GeneratorOptions = {
  domain: "mesos",
  enforceRFC952: false,
  ipSources: ["netinfo", "mesos", "host"],
  soaMname: "ns1.mesos.",
};
const NS = ["198.51.100.53"];

function mastersOf(state: MesosState): string[] {
  return [String(state.leader ?? "").split("@")[1] ?? ""];
}

function full(state: MesosState): RecordSet {
  return generateRecords({
    state,
    masters: mastersOf(state),
    options: OPTIONS,
    nameServerIPs: NS,
    resolved: new Map(),
  });
}

/** Every record as a sorted list of `type name value`. */
function triples(rs: RecordSet): string[] {
  const out: string[] = [];
  for (const [type, m] of [["A", rs.a], ["AAAA", rs.aaaa], ["SRV", rs.srv]] as const) {
    for (const [name, values] of m) {
      assert.ok(values.length > 0, `${type} ${name} has an empty value list`);
      assert.equal(new Set(values).size, values.length, `${type} ${name} repeats a value`);
      for (const v of values) out.push(`${type} ${name} ${v}`);
    }
  }
  return out.sort();
}

/** Names per type, sorted. */
function sizes(rs: RecordSet): number[] {
  return [rs.a.size, rs.aaaa.size, rs.srv.size];
}

/**
 * The distinct `framework/task id` pairs the enumerate tree lists, and every record it lists,
 * as often as it lists it (sorted): each record a task added once, whichever task it is.
 */
function enumerateSummary(rs: RecordSet): { tasks: string[]; records: string[] } {
  const tasks: string[] = [];
  const records: string[] = [];
  for (const f of rs.frameworks ?? []) {
    for (const t of f.tasks) {
      tasks.push(`${f.name}/${t.id}`);
      for (const r of t.records ?? []) records.push(`${r.rtype} ${r.name} ${r.host}`);
    }
  }
  return { tasks: [...new Set(tasks)].sort(), records: records.sort() };
}

function load(file: string): MesosState {
  return JSON.parse(Deno.readTextFileSync(`${FIXTURES}/${file}`));
}

/** Runs `steps` random deltas over `state`, checking the store against a full build after each. */
function checkSequence(name: string, state0: MesosState, seed: number, steps: number): void {
  const state = deltaReady(state0);
  const store = new RecordStore({ options: OPTIONS, nameServerIPs: NS });
  const first = store.snapshot(state, mastersOf(state), new Map());
  assert.deepEqual(triples(first.records), triples(full(state)), `${name}: snapshot`);
  const rng = new Rng(seed);
  let published = first.records;
  let publishedTriples = triples(published);
  /** A set whose enumerate is first worked out after the next delta, and what it must list. */
  let deferred: { rs: RecordSet; want: ReturnType<typeof enumerateSummary>; step: number } | undefined;
  for (let i = 1; i <= steps; i++) {
    const delta = randomChange(state, rng, i);
    const up = store.delta(copy(delta));
    if (deferred) {
      // Worked out only now, after the store changed again: what it lists is still its own.
      const e = enumerateSummary(deferred.rs);
      assert.deepEqual(
        e.records,
        deferred.want.records,
        `${name} step ${deferred.step}: enumerate records, later`,
      );
      assert.deepEqual(e.tasks, deferred.want.tasks, `${name} step ${deferred.step}: enumerate tasks, later`);
      deferred = undefined;
    }
    const want = full(state);
    const wantTriples = triples(want);
    if (!up) {
      assert.deepEqual(
        publishedTriples,
        wantTriples,
        `${name} step ${i}: no change reported, but records differ`,
      );
      continue;
    }
    assert.deepEqual(
      triples(up.records),
      wantTriples,
      `${name} step ${i}: ${JSON.stringify(delta).slice(0, 300)}`,
    );
    assert.deepEqual(sizes(up.records), sizes(want), `${name} step ${i}: sizes`);
    // `changes` names exactly the names whose records differ from the previous set.
    const before = new Map<string, string[]>();
    for (const t of publishedTriples) {
      const n = t.split(" ")[1];
      before.set(n, [...(before.get(n) ?? []), t]);
    }
    const after = new Map<string, string[]>();
    for (const t of wantTriples) {
      const n = t.split(" ")[1];
      after.set(n, [...(after.get(n) ?? []), t]);
    }
    const differ = new Set<string>();
    for (const n of new Set([...before.keys(), ...after.keys()])) {
      if (JSON.stringify(before.get(n)) !== JSON.stringify(after.get(n))) differ.add(n);
    }
    // ... and the SRV names whose targets are among them (their answers carry the
    // targets' addresses), nothing else.
    const extra = [...up.changes!.names].filter((n) => !differ.has(n));
    for (const n of extra) {
      const values: readonly string[] = up.records.srv.get(n) ?? [];
      const targets = values.map((v) => v.slice(0, v.lastIndexOf(":")));
      assert.ok(targets.some((t) => differ.has(t)), `${name} step ${i}: ${n} is in changes`);
    }
    for (const n of differ) assert.ok(up.changes!.names.has(n), `${name} step ${i}: ${n} not in changes`);
    // The previous set is unchanged by this delta.
    assert.deepEqual(triples(published), publishedTriples, `${name} step ${i}: previous set changed`);
    // Enumerate lists the same tasks and records as a full build (order aside): at once, or
    // every other step, first after the next delta.
    const ew = enumerateSummary(want);
    if (i % 2 === 1) {
      deferred = { rs: up.records, want: ew, step: i };
    } else {
      const e = enumerateSummary(up.records);
      assert.deepEqual(e.records, ew.records, `${name} step ${i}: enumerate records`);
      assert.deepEqual(e.tasks, ew.tasks, `${name} step ${i}: enumerate tasks`);
    }
    published = up.records;
    publishedTriples = wantTriples;
  }
}

for (const file of FIXTURE_FILES) {
  Deno.test(`record store: ${file} as a snapshot is generateRecords' set, enumerate included`, () => {
    const state = load(file);
    const store = new RecordStore({ options: OPTIONS, nameServerIPs: NS });
    const got = store.snapshot(state, mastersOf(state), new Map()).records;
    const want = full(state);
    assert.deepEqual(triples(got), triples(want));
    assert.deepEqual(got.frameworks, want.frameworks);
  });

  Deno.test(`record store: ${file}, snapshot + 60 random deltas = full rebuild at every step`, () => {
    checkSequence(file, load(file), 7, 60);
  });
}

Deno.test("record store: generated clusters, snapshot + random deltas = full rebuild at every step", () => {
  for (const seed of [1, 2, 3]) {
    const state = generateDocument({ frameworks: 4, agents: 12, tasks: 150, seed });
    state.leader = "master@10.0.0.1:5050";
    checkSequence(`cluster seed ${seed}`, state, seed * 13, 80);
  }
});

Deno.test("record store: apps with dozens of instances (long value lists), random deltas = full rebuild at every step", () => {
  // Up to 91 tasks per app: SRV names with up to 182 values, removed and added in batches.
  const state = generateDocument({ frameworks: 2, agents: 6, tasks: 600, seed: 4 });
  state.leader = "master@10.0.0.1:5050";
  checkSequence("large apps", state, 29, 60);
});

Deno.test("record store: a value list that shrinks below the long-list size and grows past it again keeps a value removed meanwhile and added back", () => {
  const state = deltaReady(generateDocument({ frameworks: 1, agents: 3, tasks: 5, seed: 8 }));
  state.leader = "master@10.0.0.1:5050";
  const store = new RecordStore({ options: OPTIONS, nameServerIPs: NS });
  store.snapshot(copy(state), mastersOf(state), new Map());
  const fw = state.frameworks![0];
  const task = (i: number, running = true): MesosTask => ({
    id: `grow.${i}`,
    name: "grow",
    framework_id: fw.id,
    slave_id: state.slaves![i % 3].id,
    state: running ? "TASK_RUNNING" : "TASK_KILLED",
    resources: { ports: `[${31000 + i}-${31000 + i}]` },
    statuses: [{ state: running ? "TASK_RUNNING" : "TASK_KILLED", timestamp: 1 }],
  });
  const srvName = `_grow._tcp.${String(fw.name).toLowerCase()}.slave.mesos.`;
  // Each step: the tasks changed, as a delta and in the state; the store must equal a full build.
  const step = (what: string, tasks: MesosTask[], count: number) => {
    for (const t of tasks) {
      const at = fw.tasks!.findIndex((x) => x.id === t.id);
      if (at >= 0) fw.tasks![at] = t;
      else fw.tasks!.push(t);
    }
    const up = store.delta(copy({ tasks }))!;
    assert.deepEqual(triples(up.records), triples(full(state)), what);
    assert.equal(up.records.srv.get(srvName)?.length, count, what);
  };
  step("40 instances (a long list)", Array.from({ length: 40 }, (_, i) => task(i)), 40);
  step("10 killed at once (still long)", Array.from({ length: 10 }, (_, i) => task(i, false)), 30);
  step("task 20 killed (the list is short now)", [task(20, false)], 29);
  step("5 more instances (long again)", Array.from({ length: 5 }, (_, i) => task(40 + i)), 34);
  step("task 20 running again", [task(20)], 35);
});

Deno.test("record store: killing one task changes exactly its names; a second snapshot reports the diff", () => {
  const state = generateDocument({ frameworks: 2, agents: 3, tasks: 30, seed: 5 });
  state.leader = "master@10.0.0.1:5050";
  const store = new RecordStore({ options: OPTIONS, nameServerIPs: NS });
  const first = store.snapshot(state, mastersOf(state), new Map());
  assert.equal(first.changes, undefined);
  // A task alone in its app: every name it has is its own.
  const fw = state.frameworks![0];
  const task: MesosTask = {
    id: "solo.1234",
    name: "solo",
    framework_id: fw.id,
    slave_id: state.slaves![0].id,
    state: "TASK_RUNNING",
    resources: { ports: "[31999-31999]" },
    statuses: [{ state: "TASK_RUNNING", timestamp: 1 }],
  };
  const added = store.delta({ tasks: [task] })!;
  const own = [...added.changes!.names].sort();
  const fname = fw.name === "marathon" ? "marathon" : String(fw.name).toLowerCase();
  assert.ok(own.includes(`solo.${fname}.mesos.`), own.join(" "));
  assert.ok(own.includes(`_solo._tcp.${fname}.slave.mesos.`), own.join(" "));
  assert.ok(own.every((n) => n.includes("solo")), own.join(" "));
  const killed = store.delta({ tasks: [{ ...task, state: "TASK_KILLED" }] })!;
  assert.deepEqual([...killed.changes!.names].sort(), own);
  for (const n of own) assert.equal(killed.records.a.get(n) ?? killed.records.srv.get(n), undefined);
  assert.ok(added.records.a.get(`solo.${fname}.mesos.`), "the earlier set still has the task");
  // Nothing changes: no update.
  assert.equal(store.delta({ removedTasks: ["no-such-task"] }), undefined);
  // A whole state again: `changes` is the difference from the last records.
  (fw.tasks ??= []).push(task);
  const again = store.snapshot(state, mastersOf(state), new Map());
  assert.deepEqual([...again.changes!.names].sort(), own);
});

/** A new whole state from `state`: tasks killed, dropped, added, moved; agents and frameworks changed. */
function changedWhole(state: MesosState, rng: Rng, step: number): MesosState {
  const next = copy(state);
  const fws = next.frameworks!;
  for (let k = rng.int(1, 6); k > 0; k--) {
    const f = rng.pick(fws);
    const tasks = f.tasks!;
    if (tasks.length === 0) continue;
    const at = rng.int(0, tasks.length - 1);
    switch (rng.int(0, 7)) {
      case 0:
        tasks[at].state = "TASK_KILLED";
        break;
      case 1:
        tasks.splice(at, 1);
        break;
      case 2: {
        // Another instance of the same app, somewhere in the list.
        const t = copy(tasks[rng.int(0, tasks.length - 1)]);
        t.id = `${t.name}.new-${step}-${k}`;
        t.state = "TASK_RUNNING";
        tasks.splice(at, 0, t);
        break;
      }
      case 3: {
        const other = rng.int(0, tasks.length - 1);
        [tasks[at], tasks[other]] = [tasks[other], tasks[at]];
        break;
      }
      case 4:
        if (next.slaves?.length) tasks[at].slave_id = rng.pick(next.slaves).id;
        break;
      case 5:
        if (next.slaves?.length) rng.pick(next.slaves).pid = `slave(1)@10.77.${step}.${k}:5051`;
        break;
      case 7: {
        // A framework goes, or a new one comes last (with tasks of its own).
        if (rng.chance(0.5) && fws.length > 1) {
          fws.splice(fws.indexOf(f), 1);
        } else {
          const g = copy(f);
          g.id = `${f.id}-new-${step}-${k}`;
          g.name = `${f.name}-new${step}`;
          g.tasks = (g.tasks ?? []).slice(0, 5).map((t, n) => ({
            ...t,
            id: `${t.id}-g${step}-${n}`,
            framework_id: g.id,
          }));
          fws.push(g);
        }
        break;
      }
      case 6: {
        const roll = rng.next();
        if (roll < 0.3) f.name = `${f.name}x`;
        else if (roll < 0.5 && (next.slaves?.length ?? 0) > 1) {
          next.slaves!.splice(rng.int(0, next.slaves!.length - 1), 1);
        }
        break;
      }
    }
  }
  return next;
}

/** A state the store builds whole, never as a delta: ids missing or listed twice, a task under another framework. */
function builtWholeOnly(state: MesosState): boolean {
  const taskIds = new Set<string>();
  for (const f of state.frameworks ?? []) {
    if (typeof f?.id !== "string") return true;
    for (const t of f.tasks ?? []) {
      if (typeof t?.id !== "string" || taskIds.has(t.id)) return true;
      if (t.framework_id !== undefined && t.framework_id !== f.id) return true;
      taskIds.add(t.id);
    }
  }
  const agentIds = (state.slaves ?? []).map((s) => s?.id);
  return agentIds.some((id) => typeof id !== "string") || new Set(agentIds).size !== agentIds.length;
}

Deno.test("record store: a whole state like the one held (a new leader's too) is applied as its delta, with a full build's records, changes and enumerate", () => {
  const cases: [string, MesosState][] = FIXTURE_FILES.map((f) => [f, load(f)]);
  const generated = generateDocument({ frameworks: 3, agents: 20, tasks: 400, seed: 8 });
  generated.leader = "master@10.0.0.1:5050";
  cases.push(["generated", generated]);
  let asDelta = 0;
  let whole = 0;
  for (const [name, state0] of cases) {
    const rng = new Rng(name.length * 31 + 7);
    const store = new RecordStore({ options: OPTIONS, nameServerIPs: NS });
    let state = state0;
    assert.equal(
      store.snapshot(state, mastersOf(state), new Map()).asDelta,
      undefined,
      "the first state is built whole",
    );
    let before = full(state);
    for (let step = 1; step <= 12; step++) {
      state = changedWhole(state, rng, step);
      const swap = step === 7 && (state.frameworks?.length ?? 0) > 1;
      // Frameworks in another order: built whole.
      if (swap) state.frameworks!.reverse();
      // A new leader (as after a failover): still a delta, the masters' records changed.
      if (step === 9) state.leader = "master@10.0.0.99:5050";
      const up = store.snapshot(state, mastersOf(state), new Map());
      const want = full(state);
      const where = `${name} step ${step}`;
      assert.deepEqual(triples(up.records), triples(want), `${where}: records`);
      assert.deepEqual(up.records.frameworks, want.frameworks, `${where}: /v1/enumerate, in order`);
      const wholeOnly = swap || builtWholeOnly(state);
      if (wholeOnly) {
        assert.equal(up.asDelta, undefined, `${where}: built whole`);
        whole++;
      } else {
        assert.ok(up.asDelta !== undefined, `${where}: applied as a delta`);
        asDelta++;
      }
      // Every name whose records differ is among the changes; any other change (as a delta)
      // is an SRV name over a target that changed.
      const differ = new Set<string>();
      for (const t of ["a", "aaaa", "srv"] as const) {
        for (const n of new Set([...before[t].keys(), ...want[t].keys()])) {
          const x = [...(before[t].get(n) ?? [])].sort().join();
          if (x !== [...(want[t].get(n) ?? [])].sort().join()) differ.add(n);
        }
      }
      for (const n of differ) assert.ok(up.changes!.names.has(n), `${where}: ${n} not among the changes`);
      if (step === 9) assert.ok(differ.has("leader.mesos."), `${where}: the leader's name changed`);
      for (const n of up.changes!.names) {
        if (differ.has(n) || wholeOnly) continue;
        const targets = (want.srv.get(n) ?? before.srv.get(n) ?? []).map((v) =>
          v.slice(0, v.lastIndexOf(":"))
        );
        assert.ok(targets.some((t) => differ.has(t)), `${where}: ${n} among the changes, unchanged`);
      }
      before = want;
    }
  }
  assert.ok(asDelta > 30 && whole >= 1, `${asDelta} as deltas, ${whole} whole`);
});

Deno.test("record store: a whole state applied as its delta keeps the new state's tasks, not the previous ones", async () => {
  // A stream's model holds the new snapshot's tasks: the store must not keep the previous ones
  // too. Checked in a process with --expose-gc: the first state's tasks are collected.
  const store = new URL("../src/records/store.ts", import.meta.url).href;
  const cluster = new URL("../scripts/sim/cluster.ts", import.meta.url).href;
  const script = `
    import { RecordStore } from "${store}";
    import { generateDocument } from "${cluster}";
    const options = { domain: "mesos", enforceRFC952: false, ipSources: ["netinfo", "mesos", "host"], soaMname: "ns1.mesos." };
    const s = new RecordStore({ options, nameServerIPs: [] });
    const make = () => { const d = generateDocument({ frameworks: 2, agents: 10, tasks: 200, seed: 5 }); d.leader = "master@10.0.0.1:5050"; return d; };
    let first = make();
    const refs = first.frameworks.flatMap((f) => f.tasks.map((t) => new WeakRef(t)));
    s.snapshot(first, ["10.0.0.1:5050"], new Map());
    first = undefined;
    const second = make();
    const up = s.snapshot(second, ["10.0.0.1:5050"], new Map());
    await new Promise((r) => setTimeout(r, 0));
    globalThis.gc();
    console.log(JSON.stringify({ asDelta: up.asDelta, tasks: refs.length, kept: refs.filter((r) => r.deref() !== undefined).length }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(text.trim().split("\n").at(-1)!);
  assert.equal(r.asDelta, 0, "the same state again: applied as an empty delta");
  assert.ok(r.tasks > 100, `${r.tasks} tasks`);
  assert.equal(r.kept, 0, `${r.kept} of the first state's ${r.tasks} tasks still held`);
});
