/**
 * Long work in slices (src/work_slices.ts): a large state is read (`readStateSteps`) and its
 * records built (`RecordStore.snapshotSteps`) with the event loop let through in between,
 * and the result is what the same work done at once gives.
 */
import assert from "node:assert/strict";
import { readState, readStateSteps } from "../src/mesos/state_schema.ts";
import { readEvent, readEventSteps } from "../src/mesos/operator_api.ts";
import { encodeRecord } from "../src/mesos/recordio.ts";
import { subscribedEvent } from "../scripts/sim/operator_events.ts";
import type { MesosState } from "../src/mesos/state_types.ts";
import { RecordStore } from "../src/records/store.ts";
import { runAll, runSliced, yieldToEventLoop } from "../src/work_slices.ts";
import { generateDocument } from "../scripts/sim/cluster.ts";

const OPTIONS = {
  domain: "mesos",
  enforceRFC952: false,
  ipSources: ["netinfo", "mesos", "host"],
  soaMname: "ns1.mesos.",
};

/**
 * Runs `work` while another task waits for the event loop over and over (`yieldToEventLoop`, as a
 * TCP or HTTP handler waits for its I/O): how many times that task got through. Work done at once
 * lets it through no time; work in slices lets it through between them.
 */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let running = true;
  const other = (async () => {
    while (running) {
      await yieldToEventLoop();
      turns++;
    }
  })();
  try {
    const value = await work();
    return { value, turns };
  } finally {
    running = false;
    await other;
  }
}

/** `steps` with its pauses counted in `count.steps`. */
function* counted<T>(steps: Generator<void, T>, count: { steps: number }): Generator<void, T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    count.steps++;
    yield;
  }
}

function triples(
  rs: { a: ReadonlyMap<string, readonly string[]>; srv: ReadonlyMap<string, readonly string[]> },
) {
  const out: string[] = [];
  for (const [type, m] of [["A", rs.a], ["SRV", rs.srv]] as const) {
    for (const [name, values] of m) for (const v of values) out.push(`${type} ${name} ${v}`);
  }
  return out;
}

Deno.test("a large state is read and its records built in slices, other tasks getting through in between, as at once", async () => {
  const doc = generateDocument({ frameworks: 4, agents: 400, tasks: 20_000, seed: 3 });
  doc.leader = "master@10.0.0.1:5050";
  const bytes = new TextEncoder().encode(JSON.stringify(doc));

  const readCount = { steps: 0 };
  const read = await turnsDuring(() => runSliced(counted(readStateSteps(bytes), readCount), 2));
  assert.ok(readCount.steps >= 20, `the state was read in ${readCount.steps} steps`);
  assert.ok(read.turns >= 1, `the event loop ran ${read.turns} times while the state was read`);
  const atOnce = readState(bytes);
  assert.deepEqual(read.value, atOnce);
  assert.equal(runAll(readStateSteps(bytes)).state?.frameworks?.length, 4);

  const state = read.value.state as MesosState;
  const sliced = new RecordStore({ options: OPTIONS, nameServerIPs: ["198.51.100.53"] });
  const builtCount = { steps: 0 };
  const built = await turnsDuring(() =>
    runSliced(counted(sliced.snapshotSteps(state, ["10.0.0.1:5050"], new Map()), builtCount), 2)
  );
  assert.ok(builtCount.steps >= 20, `the records were built in ${builtCount.steps} steps`);
  assert.ok(built.turns >= 1, `the event loop ran ${built.turns} times while the records were built`);
  const whole = new RecordStore({ options: OPTIONS, nameServerIPs: ["198.51.100.53"] })
    .snapshot(state, ["10.0.0.1:5050"], new Map());
  assert.deepEqual(triples(built.value.records), triples(whole.records));
  assert.ok(triples(whole.records).length > 100_000);
  // A second whole state, in slices too: the changes are those of a state built at once.
  state.frameworks![0].tasks = state.frameworks![0].tasks!.slice(10);
  const again = await runSliced(sliced.snapshotSteps(state, ["10.0.0.1:5050"], new Map()), 2);
  const onceMore = new RecordStore({ options: OPTIONS, nameServerIPs: ["198.51.100.53"] });
  onceMore.snapshot(readState(bytes).state!, ["10.0.0.1:5050"], new Map());
  assert.deepEqual(
    [...again.changes!.names].sort(),
    [...onceMore.snapshot(state, ["10.0.0.1:5050"], new Map()).changes!.names].sort(),
  );
  assert.ok(again.changes!.names.size > 0);
});

Deno.test("a large SUBSCRIBED record is read in slices, other tasks getting through in between, as at once", async () => {
  const doc = generateDocument({ frameworks: 3, agents: 300, tasks: 12_000, seed: 4 });
  doc.leader = "master@10.0.0.1:5050";
  const text = JSON.stringify(subscribedEvent(doc, 15));
  const bytes = new TextEncoder().encode(text);
  assert.ok(encodeRecord(text).length > 1024 * 1024, "large enough for the stream to read it in slices");
  const readCount = { steps: 0 };
  const read = await turnsDuring(() => runSliced(counted(readEventSteps(bytes), readCount), 2));
  assert.ok(readCount.steps >= 20, `the record was read in ${readCount.steps} steps`);
  assert.ok(read.turns >= 1, `the event loop ran ${read.turns} times while the record was read`);
  const atOnce = readEvent(bytes);
  assert.deepEqual(read.value, atOnce);
  const tasks = atOnce.subscribed?.get_state?.get_tasks?.tasks ?? [];
  assert.equal(tasks.length, doc.frameworks!.reduce((n, f) => n + (f.tasks?.length ?? 0), 0));
  assert.equal(atOnce.subscribed?.get_state?.get_agents?.agents?.length, 300);
});
