/**
 * Tests of src/mesos/state_poller.ts: reloads on start, on new masters lists and on the
 * timer, serialised; the last good snapshot kept through every kind of failure with one log
 * line per failed reload; changes in the cluster picked up; close() stops everything; quick
 * retries after a failure; the loud warning when a new state drops most of the records.
 * Real sockets against the simulator where the state comes from a master.
 */
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { Logger } from "@logtape/logtape";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { StateFetcher } from "../src/mesos/fetch_state.ts";
import { type LeaderSource, type MastersListener, StaticLeaderSource } from "../src/mesos/leader.ts";
import { countRecords, StatePoller, type StatePollerOptions } from "../src/mesos/state_poller.ts";
import type { MesosState } from "../src/mesos/state_types.ts";
import { type RecordSet, RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { waitFor } from "./helpers/wait.ts";

/** A tiny stand-in for the record generator: `<task>.<framework>.mesos.` → agent IP. */
function build(state: MesosState): RecordSet {
  const b = new RecordSetBuilder("mesos");
  const agentIP = new Map((state.slaves ?? []).map((s) => [s.id, /@([^:]+):/.exec(s.pid ?? "")?.[1] ?? ""]));
  for (const fw of state.frameworks ?? []) {
    for (const t of fw.tasks ?? []) {
      if (t.state === "TASK_RUNNING") {
        b.add("A", `${t.name}.${fw.name}.mesos.`, agentIP.get(t.slave_id) ?? "");
      }
    }
  }
  return b.build(null);
}

interface Line {
  level: string;
  text: string;
}

/** A logger that keeps the rendered lines. */
function captureLog(): { log: StatePollerOptions["log"]; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, props: Record<string, unknown> = {}) => {
    lines.push({ level, text: msg.replace(/\{(\w+)\}/g, (_, k) => String(props[k])) });
  };
  const log = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
  return { log: log as unknown as Pick<Logger, "error" | "warn" | "info" | "debug">, lines };
}

/** A leader source the test drives by hand. */
class ManualLeaderSource implements LeaderSource {
  listener: MastersListener | undefined;
  closed = false;
  start(listener: MastersListener): void {
    this.listener = listener;
  }
  emit(masters: string[]): void {
    this.listener?.(masters);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function hasName(holder: SnapshotHolder, name: string): boolean {
  return holder.current()?.records.a.has(name) ?? false;
}

Deno.test("poller: loads at start, then picks up a killed task at the next reload", async () => {
  const sim = await startSimulator({ generate: { tasks: 10, seed: 3 } });
  const id = sim.launchTask({ name: "web-frontend-canary" });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(sim.masters),
    fetch: (m, s) => fetcher.fetch(m, s),
    build,
    holder,
    refreshSeconds: 3600,
    log,
  });
  try {
    poller.start();
    await waitFor(() => holder.current() !== undefined, { message: "first load" });
    assert.ok(hasName(holder, "web-frontend-canary.marathon.mesos."));
    assert.equal(poller.stats().successes, 1);
    assert.equal(poller.stats().lastFrom, sim.masters[0]);
    assert.deepEqual(poller.masters(), sim.masters);
    const first = holder.current()!;

    sim.killTask(id);
    await poller.reloadNow();
    assert.notEqual(holder.current(), first);
    assert.ok(!hasName(holder, "web-frontend-canary.marathon.mesos."));
    assert.equal(poller.stats().successes, 2);
    assert.equal(lines.filter((l) => l.level === "error").length, 0);
  } finally {
    await poller.close();
    await sim.close();
  }
});

Deno.test("poller: the refresh timer picks up changes by itself", async () => {
  const sim = await startSimulator({ generate: { tasks: 5, seed: 4 } });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  const holder = new SnapshotHolder();
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(sim.masters),
    fetch: (m, s) => fetcher.fetch(m, s),
    build,
    holder,
    refreshSeconds: 0.05,
    log: captureLog().log,
  });
  try {
    poller.start();
    await waitFor(() => holder.current() !== undefined);
    sim.launchTask({ name: "late-arrival" });
    await waitFor(() => hasName(holder, "late-arrival.marathon.mesos."), { message: "timed reload" });
    assert.ok(poller.stats().successes >= 2);
  } finally {
    await poller.close();
    await sim.close();
  }
});

Deno.test("poller: keeps the last good snapshot through every fault, one log line per failed reload", async () => {
  const sim = await startSimulator({ masters: 2, generate: { tasks: 8, seed: 5 }, slowMs: 3000 });
  const fetcher = new StateFetcher({ timeoutMs: 250 });
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  const errors: Error[] = [];
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(sim.masters),
    fetch: (m, s) => fetcher.fetch(m, s),
    build,
    holder,
    refreshSeconds: 3600,
    log,
    onError: (e) => errors.push(e),
  });
  try {
    poller.start();
    await waitFor(() => holder.current() !== undefined);
    const good = holder.current()!;
    const errorLines = () => lines.filter((l) => l.level === "error");
    let failures = 0;
    const faults = ["http500", "garbage", "wrong-shape", "no-leader", "truncated", "hang", "slow"] as const;
    for (const kind of faults) {
      // Both masters misbehave, so every master is tried and fails: still one line.
      sim.setFault(0, kind);
      sim.setFault(1, kind);
      await poller.reloadNow();
      failures++;
      assert.equal(holder.current(), good, `${kind}: the last good snapshot stays`);
      assert.equal(poller.stats().failures, failures, kind);
      assert.equal(errorLines().length, failures, `${kind}: exactly one error line per failed reload`);
      assert.match(
        errorLines().at(-1)!.text,
        /^state fetch failed, keeping previous records \(last good \d+s ago\): all 2 masters failed: /,
      );
    }
    sim.setFault(0, null);
    sim.setFault(1, null);
    await sim.stopMaster(0);
    await sim.stopMaster(1);
    await poller.reloadNow();
    failures++;
    assert.equal(holder.current(), good, "down: the last good snapshot stays");
    assert.match(errorLines().at(-1)!.text, /connection refused to 127\.0\.0\.1:\d+; connection refused/);
    assert.equal(errorLines().length, failures);
    assert.equal(errors.length, failures);
    assert.equal(poller.stats().consecutiveFailures, failures);
    assert.match(poller.stats().lastError!, /^state fetch failed: all 2 masters failed/);

    // Back up, and a killed task is gone at the next reload.
    await sim.startMaster(0);
    await sim.startMaster(1);
    const victim = sim.cluster.runningTasks()[0];
    const victimName = `${victim.name}.${victim.frameworkName}.mesos.`;
    const stillThere = sim.cluster.runningTasks().filter((t) =>
      `${t.name}.${t.frameworkName}.mesos.` === victimName
    ).length;
    sim.killTask(victim.id);
    await poller.reloadNow();
    assert.notEqual(holder.current(), good);
    assert.equal(hasName(holder, victimName), stillThere > 1);
    assert.equal(poller.stats().consecutiveFailures, 0);
    assert.equal(errorLines().length, failures, "no error line for a good reload");
    assert.match(lines.filter((l) => l.level === "info").at(-1)!.text, /again after 8 failed reload\(s\)/);
  } finally {
    await poller.close();
    await sim.close();
  }
});

Deno.test("poller: failures before the first load, bad builds, states without a leader", async () => {
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  let mode: "fail" | "no-leader" | "ok" = "fail";
  let buildFails = false;
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(["127.0.0.1:5050"]),
    fetch: () => {
      if (mode === "fail") return Promise.reject(new Error("connection refused to 127.0.0.1:5050"));
      return Promise.resolve({
        state: mode === "ok" ? { leader: "master@127.0.0.1:5050" } : {},
        from: "127.0.0.1:5050",
      });
    },
    build: (s) => {
      if (buildFails) throw new Error("boom");
      return build(s);
    },
    holder,
    refreshSeconds: 3600,
    log,
  });
  try {
    poller.start();
    await poller.reloadNow();
    assert.equal(holder.current(), undefined);
    assert.equal(
      lines.filter((l) => l.level === "error").at(-1)!.text,
      "state fetch failed, no records loaded yet: connection refused to 127.0.0.1:5050",
    );
    mode = "no-leader";
    await poller.reloadNow();
    assert.equal(holder.current(), undefined);
    assert.match(lines.at(-1)!.text, /fetched state does not contain leader information/);
    mode = "ok";
    await poller.reloadNow();
    const good = holder.current();
    assert.ok(good);
    buildFails = true;
    await poller.reloadNow();
    assert.equal(holder.current(), good);
    assert.match(
      lines.at(-1)!.text,
      /^record generation failed, keeping previous records \(last good \d+s ago\): boom$/,
    );
  } finally {
    await poller.close();
  }
});

Deno.test("poller: reloads are serialised; ticks during a reload are dropped, requests coalesced", async () => {
  let running = 0;
  let maxRunning = 0;
  const calls: string[][] = [];
  let release: (() => void) | undefined;
  const source = new ManualLeaderSource();
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  const count = (text: string) => lines.filter((l) => l.text.includes(text)).length;
  const poller = new StatePoller({
    leaderSource: source,
    fetch: async (masters) => {
      calls.push([...masters]);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => (release = r));
      running--;
      return { state: { leader: `master@${masters[0]}` }, from: masters[0] };
    },
    build,
    holder,
    refreshSeconds: 0.01,
    log,
  });
  try {
    poller.start();
    // No list yet: timer ticks do nothing.
    await waitFor(() => count("no masters list yet") >= 2);
    assert.equal(calls.length, 0);
    source.emit(["10.0.0.1:5050"]);
    await waitFor(() => calls.length === 1);
    // While it runs: ticks (every 10 ms) are dropped; new lists and reloadNow coalesce into one.
    source.emit(["10.0.0.2:5050"]);
    const a = poller.reloadNow();
    source.emit(["10.0.0.3:5050", "10.0.0.2:5050"]);
    const b = poller.reloadNow();
    await waitFor(() => count("dropping this tick") >= 3);
    assert.equal(calls.length, 1);
    assert.equal(poller.stats().reloading, true);
    release!();
    await waitFor(() => calls.length === 2);
    assert.deepEqual(calls[1], ["10.0.0.3:5050", "10.0.0.2:5050"], "the newest list is used");
    release!();
    await Promise.all([a, b]);
    assert.equal(maxRunning, 1);
    assert.equal(poller.stats().successes, 2);
    assert.equal(holder.current() !== undefined, true);
  } finally {
    const closing = poller.close();
    release?.();
    await closing;
  }
  assert.equal(source.closed, true);
});

Deno.test("poller: close() stops the timer and the source and cancels a hanging fetch", async () => {
  const sim = await startSimulator();
  sim.setFault(0, "hang");
  const fetcher = new StateFetcher({ timeoutMs: 60_000 });
  const source = new ManualLeaderSource();
  const { log, lines } = captureLog();
  const poller = new StatePoller({
    leaderSource: source,
    fetch: (m, s) => fetcher.fetch(m, s),
    build,
    holder: new SnapshotHolder(),
    refreshSeconds: 0.02,
    log,
  });
  try {
    poller.start();
    source.emit([...sim.masters]);
    await waitFor(() => sim.requests.length === 1);
    const t0 = Date.now();
    await poller.close();
    assert.ok(Date.now() - t0 < 2000, "close does not wait for the fetch timeout");
    assert.equal(source.closed, true);
    assert.equal(lines.filter((l) => l.level === "error").length, 0, "a cancelled reload is not a failure");
    assert.equal(poller.stats().failures, 0);
    await poller.reloadNow();
    assert.equal(sim.requests.length, 1, "nothing runs after close");
  } finally {
    await sim.close();
  }
});

Deno.test("poller: the failure line goes to the mesos logger by default", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r: LogRecord) => records.push(r) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      { category: ["mesos-dns"], lowestLevel: "debug", sinks: ["mem"] },
    ],
  });
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(["127.0.0.1:5050"]),
    fetch: () => Promise.reject(new Error("HTTP 500 from http://127.0.0.1:5050/master/state")),
    build,
    holder: new SnapshotHolder(),
    refreshSeconds: 3600,
  });
  try {
    poller.start();
    await poller.reloadNow();
    await poller.reloadNow();
    const errs = records.filter((r) => r.level === "error");
    assert.equal(errs.length, 2);
    assert.deepEqual(errs[0].category, ["mesos-dns", "mesos"]);
    assert.equal(errs[0].properties.error, "HTTP 500 from http://127.0.0.1:5050/master/state");
  } finally {
    await poller.close();
    await reset();
  }
});

Deno.test("poller: a state dropping more than dropWarnPercent of the records is published with a loud warning", async () => {
  const sim = await startSimulator({ generate: { frameworks: 1, agents: 2, tasks: 30, seed: 9 } });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  const poller = new StatePoller({
    leaderSource: new StaticLeaderSource(sim.masters),
    fetch: (m, s) => fetcher.fetch(m, s),
    build,
    holder,
    refreshSeconds: 3600,
    dropWarnPercent: 50,
    log,
  });
  const warnings = () => lines.filter((l) => l.level === "warn" && l.text.startsWith("LARGE RECORD DROP"));
  try {
    poller.start();
    await waitFor(() => holder.current() !== undefined);
    const running = sim.cluster.runningTasks();
    assert.ok(countRecords(holder.current()!.records) >= 10);

    // One task less: a small drop, no warning.
    sim.killTask(running[0].id);
    await poller.reloadNow();
    assert.equal(warnings().length, 0);

    // Most of them at once: published anyway, with one loud line saying how much.
    for (const t of running.slice(1, -3)) sim.killTask(t.id);
    const prev = countRecords(holder.current()!.records);
    await poller.reloadNow();
    const now = countRecords(holder.current()!.records);
    assert.equal(now, countRecords(build(sim.state())), "the new state is served");
    assert.ok(now > 0 && now < prev / 2);
    assert.equal(warnings().length, 1);
    const pct = Math.round(((prev - now) / prev) * 100);
    assert.equal(
      warnings()[0].text,
      `LARGE RECORD DROP: the new state from ${sim.masters[0]} has ${pct}% fewer records than the last one ` +
        `(${prev} -> ${now}), more than RecordsDropWarnPercent=50; serving it anyway. ` +
        "If those tasks did not really go away, check that master.",
    );
    assert.equal(poller.stats().largeDrops, 1);
    assert.equal(lines.filter((l) => l.level === "error").length, 0);
  } finally {
    await poller.close();
    await sim.close();
  }
  // 0 never warns.
  const quiet = captureLog();
  const rs = (n: number) => {
    const b = new RecordSetBuilder("mesos");
    for (let i = 0; i < n; i++) b.add("A", `t${i}.mesos.`, "10.0.0.1");
    return b.build(null);
  };
  let size = 10;
  const off = new StatePoller({
    leaderSource: new StaticLeaderSource(["127.0.0.1:5050"]),
    fetch: () => Promise.resolve({ state: { leader: "master@127.0.0.1:5050" }, from: "127.0.0.1:5050" }),
    build: () => rs(size),
    holder: new SnapshotHolder(),
    refreshSeconds: 3600,
    dropWarnPercent: 0,
    log: quiet.log,
  });
  try {
    off.start();
    await off.reloadNow();
    size = 1;
    await off.reloadNow();
    assert.equal(off.stats().largeDrops, 0);
    assert.equal(quiet.lines.filter((l) => l.level === "warn").length, 0);
  } finally {
    await off.close();
  }
});

Deno.test("poller: a failed reload is retried after retryDelaysMs, without waiting for the timer", async () => {
  let calls = 0;
  const source = new ManualLeaderSource();
  const holder = new SnapshotHolder();
  const { log, lines } = captureLog();
  const poller = new StatePoller({
    leaderSource: source,
    fetch: (masters) => {
      calls++;
      // A newly elected leader that needs a moment before it serves its state.
      if (calls <= 2) return Promise.reject(new Error(`HTTP 503 Service Unavailable from ${masters[0]}`));
      return Promise.resolve({ state: { leader: `master@${masters[0]}` }, from: masters[0] });
    },
    build,
    holder,
    refreshSeconds: 3600,
    retryDelaysMs: [10, 20],
    log,
  });
  try {
    poller.start();
    source.emit(["10.0.0.2:5050"]);
    await waitFor(() => holder.current() !== undefined, { timeoutMs: 2000, message: "no retry" });
    assert.equal(calls, 3);
    assert.equal(poller.stats().failures, 2);
    assert.equal(lines.filter((l) => l.level === "error").length, 2, "each failed attempt logged once");
    assert.match(lines.filter((l) => l.level === "info").at(-1)!.text, /again after 2 failed reload\(s\)/);
  } finally {
    await poller.close();
  }
  // A retry still pending is cancelled by close() (the test's timer sanitizer checks).
  const pending = new StatePoller({
    leaderSource: new StaticLeaderSource(["127.0.0.1:5050"]),
    fetch: () => Promise.reject(new Error("down")),
    build,
    holder: new SnapshotHolder(),
    refreshSeconds: 3600,
    retryDelaysMs: [60_000],
    log: captureLog().log,
  });
  pending.start();
  await waitFor(() => pending.stats().failures === 1);
  await pending.close();
});
