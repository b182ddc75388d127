/**
 * `deno task sim`: the Mesos master simulator's command line (owns: flags, the one JSON
 * "ready" line on stdout, logging control actions on stderr, stopping on SIGINT/SIGTERM).
 * The masters themselves live in scripts/sim/master_server.ts.
 *
 *   deno run --allow-net --allow-read scripts/mesos_sim.ts [options]
 *
 *   --file PATH              serve this state document (e.g. shared/fixtures/mesos-dns-fake.json)
 *   --rewrite-leader         with --file: set its leader (and pid) to the simulated leader
 *   --frameworks F --agents A --tasks N --seed S
 *                            generate a cluster instead (defaults 3, 5, 30, 1)
 *   --masters K              number of masters (default 1)
 *   --port P                 first master's port (default 5050; 0 = a free port)
 *   --leader I               index of the leading master (default 0; "none" = no leader)
 *   --non-leader view|redirect   what a non-leader answers on /master/state (default view)
 *   --hosts ports|loopbacks  all on 127.0.0.1 with one port each (default), or master i on
 *                            127.0.0.(i+1) sharing one port
 *   --control-port P         port of the control API (default 0 = a free port)
 *   --slow-ms MS             how long the `slow` fault takes to send a body (default 10000)
 *   --tls-cert F --tls-key F serve HTTPS
 *
 * When ready it prints one line on stdout, for example
 *   {"masters":["127.0.0.1:5050","127.0.0.1:40211"],"leader":0,"control":"http://127.0.0.1:40212/__sim"}
 * and then only logs (on stderr) until stopped.
 */
import { parseArgs } from "node:util";
import {
  type HostMode,
  type NonLeaderMode,
  type SimulatorOptions,
  startSimulator,
} from "./sim/master_server.ts";

const USAGE =
  "usage: mesos_sim.ts [--file PATH [--rewrite-leader] | --frameworks F --agents A --tasks N --seed S] " +
  "[--masters K] [--port P] [--leader I|none] [--non-leader view|redirect] [--hosts ports|loopbacks] " +
  "[--control-port P] [--slow-ms MS] [--tls-cert FILE --tls-key FILE]";

function fail(message: string): never {
  console.error(`mesos_sim: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function int(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}

function log(line: string): void {
  console.error(`mesos_sim: ${new Date().toISOString()} ${line}`);
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    options: {
      file: { type: "string" },
      "rewrite-leader": { type: "boolean", default: false },
      frameworks: { type: "string" },
      agents: { type: "string" },
      tasks: { type: "string" },
      seed: { type: "string" },
      masters: { type: "string" },
      port: { type: "string" },
      leader: { type: "string" },
      "non-leader": { type: "string" },
      hosts: { type: "string" },
      "control-port": { type: "string" },
      "slow-ms": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
const v = parsed.values;
if (v.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const nonLeader = v["non-leader"] ?? "view";
if (nonLeader !== "view" && nonLeader !== "redirect") fail(`--non-leader must be view or redirect`);
const hosts = v.hosts ?? "ports";
if (hosts !== "ports" && hosts !== "loopbacks") fail(`--hosts must be ports or loopbacks`);
if ((v["tls-cert"] === undefined) !== (v["tls-key"] === undefined)) {
  fail("--tls-cert and --tls-key go together");
}

const opts: SimulatorOptions = {
  masters: int("masters", v.masters, 1),
  port: int("port", v.port, 5050),
  leader: v.leader === "none" ? null : int("leader", v.leader, 0),
  nonLeader: nonLeader as NonLeaderMode,
  hosts: hosts as HostMode,
  controlPort: int("control-port", v["control-port"], 0),
  slowMs: int("slow-ms", v["slow-ms"], 10_000),
  log,
};
if (v.file !== undefined) {
  opts.file = v.file;
  opts.rewriteLeader = v["rewrite-leader"];
} else {
  opts.generate = {
    frameworks: int("frameworks", v.frameworks, 3),
    agents: int("agents", v.agents, 5),
    tasks: int("tasks", v.tasks, 30),
    seed: int("seed", v.seed, 1),
  };
}
if (v["tls-cert"] !== undefined && v["tls-key"] !== undefined) {
  opts.tls = { cert: Deno.readTextFileSync(v["tls-cert"]), key: Deno.readTextFileSync(v["tls-key"]) };
}

let sim;
try {
  sim = await startSimulator(opts);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

const leaderPid = sim.state().leader;
if (
  v.file !== undefined && !opts.rewriteLeader && typeof leaderPid === "string" &&
  !/@(127\.|\[::1\]|localhost)/.test(leaderPid)
) {
  log(
    `warning: the document's leader ${leaderPid} is not this simulator; a client that follows the leader ` +
      `(as mesos-dns does) will try to reach it. Pass --rewrite-leader to point it here.`,
  );
}
log(
  `serving ${sim.masters.length} master(s) ${sim.masters.join(", ")}; leader ${sim.leaderIndex ?? "none"}; ` +
    `${sim.cluster.runningTasks().length} running tasks; control ${sim.control}`,
);
console.log(JSON.stringify({ masters: sim.masters, leader: sim.leaderIndex, control: sim.control }));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sim.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
