/**
 * Tests of the reload's memory-related behaviour (issue #6): the record-set builder's
 * uniqueness check (a scan for short value lists, a set for long ones), the snapshot
 * holder's `beforeListeners` hook, the state poller's `releaseMemory` calls and their place
 * in a reload, the app's garbage collection policy (the `published` one once DNS answers
 * from the new snapshot), and the state body decoded piece by
 * piece (a character split between two chunks).
 */
import assert from "node:assert/strict";
import { collectionsAfterServed, memoryReleaser } from "../src/app.ts";
import { startDnsServer } from "../src/dns/server.ts";
import { testConfig } from "./helpers/test_config.ts";
import { StateFetcher } from "../src/mesos/fetch_state.ts";
import { StaticLeaderSource } from "../src/mesos/leader.ts";
import { type ReleaseStage, StatePoller, type StatePollerOptions } from "../src/mesos/state_poller.ts";
import type { MesosState } from "../src/mesos/state_types.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { waitFor } from "./helpers/wait.ts";

/** A poller log that says nothing. */
const SILENT = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
} as unknown as StatePollerOptions[
  "log"
];

Deno.test("record set builder: unique values per (type, name), in insertion order, short and long lists", () => {
  const b = new RecordSetBuilder("mesos");
  const values = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`);
  for (const v of values) assert.equal(b.add("A", "many.mesos.", v), true);
  for (const v of values) assert.equal(b.add("A", "many.mesos.", v), false, `duplicate ${v}`);
  for (const v of values.slice(0, 3)) assert.equal(b.add("A", "few.mesos.", v), true);
  assert.equal(b.add("A", "few.mesos.", "10.0.0.1"), false);
  assert.equal(b.add("AAAA", "few.mesos.", "10.0.0.1"), true, "other type, same name and value");
  assert.equal(b.add("SRV", "few.mesos.", "10.0.0.1"), true);
  // A value that joins name and value differently is still another pair.
  assert.equal(b.add("SRV", "a b.mesos.", "c"), true);
  assert.equal(b.add("SRV", "a", "b.mesos. c"), true);
  assert.equal(b.add("SRV", "a", "b.mesos. c"), false);
  const rs = b.build(null);
  assert.deepEqual(rs.a.get("many.mesos."), values);
  assert.deepEqual(rs.a.get("few.mesos."), values.slice(0, 3));
  assert.deepEqual(rs.aaaa.get("few.mesos."), ["10.0.0.1"]);
  assert.deepEqual([...rs.srv.keys()], ["few.mesos.", "a b.mesos.", "a"]);
});

Deno.test("snapshot holder: beforeListeners runs once the snapshot is current, before the listeners", () => {
  const holder = new SnapshotHolder();
  const seen: string[] = [];
  holder.subscribe((s) => seen.push(`listener ${s.serial}`));
  const records = new RecordSetBuilder("mesos").build(null);
  const snap = holder.publish(records, new Date(5000), (s) => {
    assert.equal(holder.current(), s);
    seen.push(`before ${s.serial}`);
  });
  assert.deepEqual(seen, [`before ${snap.serial}`, `listener ${snap.serial}`]);
  holder.publish(records, new Date(6000));
  assert.equal(seen.length, 3);
});

const STATE: MesosState = {
  leader: "master@10.0.0.1:5050",
  frameworks: [{ name: "marathon", tasks: [] }],
  slaves: [],
};

Deno.test("poller: releaseMemory before the fetch, after it, after the swap (not after a delta) and after publishing", async () => {
  const holder = new SnapshotHolder();
  const events: string[] = [];
  holder.subscribe(() => events.push("listener"));
  let fail = false;
  let throwInRelease = false;
  let asDelta = false;
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(["10.0.0.1:5050"]),
    fetch: () =>
      fail ? Promise.reject(new Error("down")) : Promise.resolve({ state: STATE, from: "10.0.0.1:5050" }),
    build: () => {
      events.push("build");
      const records = new RecordSetBuilder("mesos").build(null);
      // A store that held the state applies it as its delta: nothing is replaced.
      return asDelta ? { records, asDelta: 0 } : records;
    },
    holder,
    refreshSeconds: 3600,
    log: SILENT,
    releaseMemory: (stage: ReleaseStage) => {
      events.push(`release ${stage}${holder.current() ? "" : " (nothing current)"}`);
      if (throwInRelease) throw new Error("no gc");
    },
  });
  try {
    poller.start(); // the first masters list starts a reload
    const full = [
      "release starting (nothing current)",
      "release fetched (nothing current)",
      "build",
      "release replaced",
      "listener",
      "release published",
    ];
    await waitFor(() => events.length === full.length);
    assert.deepEqual(events, full);
    events.length = 0;
    await poller.reloadNow();
    assert.deepEqual(events, full.map((e) => e.replace(" (nothing current)", "")));
    events.length = 0;
    asDelta = true;
    await poller.reloadNow();
    assert.deepEqual(
      events,
      full.map((e) => e.replace(" (nothing current)", "")).filter((e) => e !== "release replaced"),
      "a whole state applied as its delta replaced nothing",
    );
    asDelta = false;
    events.length = 0;
    fail = true;
    await poller.reloadNow();
    assert.deepEqual(events, ["release starting"], "a failed fetch releases only before it");
    fail = false;
    throwInRelease = true;
    await poller.reloadNow();
    assert.equal(poller.stats().successes, 4, "a failing hook does not fail the reload");
    assert.equal(poller.stats().consecutiveFailures, 0);
  } finally {
    await poller.close();
  }
});

Deno.test("poller: a pushed whole state is collected around like a reload; applied as its delta, replaced nothing", async () => {
  const holder = new SnapshotHolder();
  const events: string[] = [];
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource([]),
    fetch: () => Promise.reject(new Error("not polled")),
    build: () => new RecordSetBuilder("mesos").build(null),
    holder,
    refreshSeconds: 3600,
    log: SILENT,
    releaseMemory: (stage: ReleaseStage) => events.push(stage),
  });
  poller.pause(true);
  try {
    const records = new RecordSetBuilder("mesos").build(null);
    await poller.push(() => ({ records, whole: true }), "10.0.0.1:5050");
    await waitFor(() => events.includes("published"));
    assert.deepEqual(events, ["replaced", "published"]);
    events.length = 0;
    await poller.push(() => ({ records, whole: true, asDelta: 3 }), "10.0.0.1:5050");
    await waitFor(() => events.includes("published"));
    assert.deepEqual(events, ["published"]);
    events.length = 0;
    // A delta (not a whole state): no collection.
    await poller.push(() => ({ records, changes: { names: new Set(["a.mesos."]) } }), "10.0.0.1:5050");
    assert.equal(poller.stats().successes, 3);
    assert.deepEqual(events, []);
  } finally {
    await poller.close();
  }
});

Deno.test("app: memoryReleaser collects at each stage, thoroughly after publishing; nothing without gc", () => {
  const g = globalThis as { gc?: unknown };
  const saved = g.gc;
  try {
    delete g.gc;
    memoryReleaser()("replaced"); // no gc exposed: nothing happens, nothing throws
    const calls: unknown[] = [];
    const record = (what: unknown) => calls.push(what);
    g.gc = (options?: unknown) => record(options ?? "full");
    const release = memoryReleaser();
    release("published");
    release("starting"); // the heap has not grown since the last reload: no collection
    release("fetched");
    release("replaced");
    assert.deepEqual([...calls], [{ type: "major", flavor: "last-resort" }, "full", "full"]);
    const grown = new Array(3_000_000).fill(1.5); // 24 MB more heap
    release("starting");
    assert.equal(calls.length, 4, "a grown heap is collected before the next reload");
    assert.equal(calls[3], "full");
    g.gc = (options?: unknown) => {
      if (options) throw new TypeError("unknown option");
      record("plain");
    };
    release("published");
    assert.equal(calls.at(-1), "plain", "falls back to a plain gc()");
    assert.equal(grown.length, 3_000_000);
  } finally {
    if (saved === undefined) delete g.gc;
    else g.gc = saved;
  }
});

Deno.test("state fetch: a UTF-8 character split between body chunks is decoded whole", async () => {
  const text = JSON.stringify({ ...STATE, frameworks: [{ name: "café-☕-framework", tasks: [] }] });
  const bytes = new TextEncoder().encode(text);
  const cut = text.indexOf("é") + 1; // inside the two bytes of é (all characters before are ASCII)
  const cut2 = new TextEncoder().encode(text.slice(0, text.indexOf("☕"))).length + 1; // inside ☕
  const fetcher = new StateFetcher({
    fetchFn: () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(bytes.slice(0, cut));
              c.enqueue(bytes.slice(cut, cut2));
              c.enqueue(bytes.slice(cut2));
              c.close();
            },
          }),
        ),
      ),
  });
  const { state } = await fetcher.fetch(["10.0.0.1:5050"]);
  assert.equal(state.frameworks![0].name, "café-☕-framework");
});

Deno.test("app: the published collection waits until DNS answers from the new snapshot", async () => {
  /** Enough names that a zone is built in slices after its publish. */
  const records = (round: number) => {
    const b = new RecordSetBuilder("mesos");
    for (let t = 0; t < 30000; t++) {
      b.add("A", `task${t}.marathon.mesos.`, `10.${round}.${t >> 8 & 255}.${t & 255}`);
    }
    return b.build(null);
  };
  const holder = new SnapshotHolder();
  const dns = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ DNSUDPEngine: "portable" }),
    holder,
  });
  try {
    const collected: ReleaseStage[] = [];
    const release = collectionsAfterServed(
      (stage) => collected.push(stage),
      () => dns,
      () => holder.current(),
    );
    for (const round of [1, 2]) {
      collected.length = 0;
      const snap = holder.publish(records(round));
      release("fetched");
      assert.deepEqual(collected, ["fetched"], "other stages at once");
      assert.notEqual(dns.servedSnapshot(), snap, "the zone is built in slices");
      release("published");
      release("published");
      assert.deepEqual(collected, ["fetched"], "not while the previous answers are served");
      await waitFor(() => dns.servedSnapshot() === snap, { timeoutMs: 20_000, message: `zone ${round}` });
      await waitFor(() => collected.length === 2, { message: "the collection after the zone" });
      assert.deepEqual(collected, ["fetched", "published"]);
    }
    // Served already: at once.
    collected.length = 0;
    release("published");
    assert.deepEqual(collected, ["published"]);
  } finally {
    await dns.close();
  }
});
