/**
 * `HealthAware` (the original's issue #310) end to end: the simulator serves the real DC/OS
 * fixture whose running task `integration-test-proxy-to-minuteman-vip-…` reports
 * `healthy: false`; with the key off it is served like every task, with the key on its
 * names are gone over DNS (real `dig`: NXDOMAIN) and from `/v1/axfr`, while the task without
 * a health check keeps its records. Plus the predicate's rules on hand-made statuses.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { type App, startApp } from "../src/app.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import { servesTask } from "../src/records/task_health.ts";
import type { MesosTask } from "../src/mesos/state_types.ts";
import { dig } from "./helpers/mesos_dns_process.ts";
import { waitFor } from "./helpers/wait.ts";

const FIXTURE = new URL("./fixtures/dcos-mesos_state-docker-discovery-0.28.json", import.meta.url).pathname;
const localResolve = (hosts: readonly string[]) => Promise.resolve(new Map(hosts.map((h) => [h, []])));

interface Enumerate {
  frameworks: {
    tasks: { name: string; records: { name: string; host: string; rtype: string }[] | null }[];
  }[];
}

async function start(masters: string, healthAware: boolean): Promise<App> {
  const outcome = await parseCommandLine([
    `--masters=${masters}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httplistener=127.0.0.1",
    "--httpport=0",
    "--externalon=false",
    `--health-aware=${healthAware}`,
  ]);
  if (outcome.kind !== "run") throw new Error("bad command line");
  const app = await startApp(outcome.config, { resolveHosts: localResolve, interfaceIPs: () => [] });
  await waitFor(() => app.holder.current() !== undefined, { message: "state never loaded" });
  return app;
}

function status(text: string): string {
  return /status: ([A-Z]+)/.exec(text)?.[1] ?? "no reply";
}

Deno.test("HealthAware: the fixture's unhealthy task disappears only with the key on", async () => {
  const sim = await startSimulator({ file: FIXTURE, rewriteLeader: true });
  const off = await start(sim.masters[0], false);
  const on = await start(sim.masters[0], true);
  try {
    const en = await (await fetch(`http://127.0.0.1:${off.http!.port}/v1/enumerate`)).json() as Enumerate;
    const tasks = en.frameworks.flatMap((f) => f.tasks);
    const sick = tasks.find((t) => t.name.startsWith("integration-test-proxy-to-minuteman"));
    const well = tasks.find((t) => t.name.startsWith("integration-test-app-with-minuteman"));
    assert.ok(sick?.records && well?.records, "both tasks served without HealthAware");
    const onEnum = await (await fetch(`http://127.0.0.1:${on.http!.port}/v1/enumerate`)).json() as Enumerate;
    const onNames = onEnum.frameworks.flatMap((f) => f.tasks).map((t) => t.name);
    assert.ok(!onNames.includes(sick.name), "the unhealthy task is not listed with HealthAware");
    assert.ok(onNames.includes(well.name), "the task without a health check is still listed");

    // DNS answers lower-case names whose labels fit (the task name here is 72 characters long).
    const served = (r: { name: string }) =>
      r.name === r.name.toLowerCase() && r.name.split(".").every((l) => l.length <= 63);
    const sickA = sick.records.filter((r) => r.rtype === "A" && served(r));
    assert.ok(sickA.length >= 2, "the unhealthy task has A records");
    for (const r of sickA) {
      assert.match(
        await dig(off.dns!.port, r.name, "A"),
        new RegExp(`IN\\s+A\\s+${r.host.replaceAll(".", "\\.")}`),
      );
      assert.equal(status(await dig(on.dns!.port, r.name, "A")), "NXDOMAIN", r.name);
    }
    for (const r of well.records.filter((r) => r.rtype === "A" && served(r))) {
      assert.equal(status(await dig(on.dns!.port, r.name, r.rtype)), "NOERROR", r.name);
      assert.match(await dig(on.dns!.port, "+short", r.name, "A"), /\d+\.\d+\.\d+\.\d+/);
    }
    for (const r of sick.records.filter((r) => r.rtype === "SRV" && served(r))) {
      assert.match(await dig(off.dns!.port, "+short", r.name, "SRV"), /\S/, r.name);
      assert.equal(await dig(on.dns!.port, "+short", r.name, "SRV"), "", r.name);
    }
  } finally {
    await on.close();
    await off.close();
    await sim.close();
  }
});

Deno.test("HealthAware predicate: the latest status decides; no healthy field means no health check", () => {
  const task = (statuses: MesosTask["statuses"]): MesosTask => ({ state: "TASK_RUNNING", statuses });
  assert.equal(servesTask(task([{ state: "TASK_RUNNING", timestamp: 1, healthy: false }]), false), true);
  assert.equal(servesTask(task([{ state: "TASK_RUNNING", timestamp: 1, healthy: false }]), true), false);
  assert.equal(servesTask(task([{ state: "TASK_RUNNING", timestamp: 1 }]), true), true);
  assert.equal(servesTask(task(undefined), true), true);
  // Recovered: a later status says healthy (TASK_UPDATED from the stream appends it last).
  assert.equal(
    servesTask(task([{ timestamp: 1, healthy: false }, { timestamp: 2, healthy: true }]), true),
    true,
  );
  // Failing now: the newest by timestamp wins, wherever it is listed.
  assert.equal(
    servesTask(task([{ timestamp: 3, healthy: false }, { timestamp: 2, healthy: true }]), true),
    false,
  );
  // Equal timestamps: the last listed is the latest.
  assert.equal(
    servesTask(task([{ timestamp: 5, healthy: true }, { timestamp: 5, healthy: false }]), true),
    false,
  );
});
