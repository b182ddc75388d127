/**
 * `deno task sim`: the Mesos master simulator's command line (owns: flags, the one JSON
 * "ready" line on stdout, logging control actions on stderr, stopping on SIGINT/SIGTERM).
 * The masters themselves live in scripts/sim/master_server.ts.
 *
 *   deno run --allow-net --allow-read scripts/mesos_sim.ts [options]
 *
 *   --file PATH              serve this state document (e.g. tests/fixtures/mesos-dns-fake.json)
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
 *   --tls-cert F --tls-key F serve HTTPS with this certificate
 *   --tls                    serve HTTPS with a certificate made now by `openssl` (a fresh CA, a
 *                            server certificate for 127.0.0.1-3, ::1, localhost, a client certificate);
 *                            the ready line names the files (`caCertFile`, `clientCertFile`, ...)
 *   --principal P --secret S require HTTP basic authentication on the master endpoints
 *   --iam                    require IAM tokens: make a service account key pair now, write an
 *                            IAM config file for mesos-dns (`iamConfigFile` in the ready line)
 *   --iam-uid U --iam-public-key F   the same for an existing account (PEM public key)
 *   --zk zk://H:P[,H:P]/PATH elect the leader through ZooKeeper: every master registers its
 *                            znode as Mesos does; --leader only picks who registers first
 *   --heartbeat-seconds S    HEARTBEAT interval of the operator API event streams (default 15)
 *   --no-operator-api        masters without the v1 operator API (/api/v1 answers 404)
 *
 * When ready it prints one line on stdout, for example
 *   {"masters":["127.0.0.1:5050","127.0.0.1:40211"],"leader":0,"control":"http://127.0.0.1:40212/__sim"}
 * and then only logs (on stderr) until stopped. Files it made are removed when it stops.
 */
import { parseArgs } from "node:util";
import {
  type HostMode,
  type NonLeaderMode,
  type SimulatorOptions,
  startSimulator,
} from "./sim/master_server.ts";
import { generateServiceAccountKeys, IAM_LOGIN_PATH } from "./sim/master_auth.ts";
import { generateTestPki } from "./sim/tls_cert.ts";

const USAGE =
  "usage: mesos_sim.ts [--file PATH [--rewrite-leader] | --frameworks F --agents A --tasks N --seed S] " +
  "[--masters K] [--port P] [--leader I|none] [--non-leader view|redirect] [--hosts ports|loopbacks] " +
  "[--control-port P] [--slow-ms MS] [--tls-cert FILE --tls-key FILE | --tls] [--principal P --secret S] " +
  "[--iam | --iam-uid U --iam-public-key FILE] [--zk zk://host:port/path] [--heartbeat-seconds S] " +
  "[--no-operator-api]";

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
      tls: { type: "boolean", default: false },
      principal: { type: "string" },
      secret: { type: "string" },
      iam: { type: "boolean", default: false },
      "iam-uid": { type: "string" },
      "iam-public-key": { type: "string" },
      zk: { type: "string" },
      "heartbeat-seconds": { type: "string" },
      "no-operator-api": { type: "boolean", default: false },
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
if (v.tls && v["tls-cert"] !== undefined) fail("--tls makes its own certificate; not with --tls-cert");
if ((v.principal === undefined) !== (v.secret === undefined)) fail("--principal and --secret go together");
if ((v["iam-uid"] === undefined) !== (v["iam-public-key"] === undefined)) {
  fail("--iam-uid and --iam-public-key go together");
}
if (v.iam && v["iam-uid"] !== undefined) fail("--iam makes its own account; not with --iam-uid");
if (v.zk !== undefined && !v.zk.startsWith("zk://")) fail("--zk must be zk://host:port[,host:port]/path");

const opts: SimulatorOptions = {
  masters: int("masters", v.masters, 1),
  port: int("port", v.port, 5050),
  leader: v.leader === "none" ? null : int("leader", v.leader, 0),
  nonLeader: nonLeader as NonLeaderMode,
  hosts: hosts as HostMode,
  controlPort: int("control-port", v["control-port"], 0),
  slowMs: int("slow-ms", v["slow-ms"], 10_000),
  log,
  operatorApi: !v["no-operator-api"],
};
if (v["heartbeat-seconds"] !== undefined) {
  const hb = Number(v["heartbeat-seconds"]);
  if (!(hb > 0)) fail(`--heartbeat-seconds must be a number > 0, got ${v["heartbeat-seconds"]}`);
  opts.heartbeatSeconds = hb;
}
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
if (v.zk !== undefined) opts.zk = v.zk;
if (v.principal !== undefined && v.secret !== undefined) {
  opts.auth = { basic: { principal: v.principal, secret: v.secret } };
}

/** Fails clearly when a permission an option needs was not granted. */
async function need(desc: Deno.PermissionDescriptor, option: string, flag: string): Promise<void> {
  if ((await Deno.permissions.query(desc)).state !== "granted") {
    fail(`${option} needs ${flag} (or run it with deno run -A)`);
  }
}
if (v.tls) {
  await need({ name: "run", command: "openssl" }, "--tls", "--allow-run=openssl");
  await need({ name: "write" }, "--tls", "--allow-write");
}
if (v.iam) await need({ name: "write" }, "--iam", "--allow-write");

/** Files made for this run, removed on stop. */
const madeDirs: string[] = [];
/** Extra fields of the ready line. */
const files: Record<string, string> = {};
let sim;
try {
  if (v.tls) {
    const pki = await generateTestPki();
    madeDirs.push(pki.dir);
    opts.tls = { cert: pki.cert, key: pki.key };
    files.caCertFile = pki.caCertFile;
    files.clientCertFile = pki.clientCertFile;
    files.clientKeyFile = pki.clientKeyFile;
  }
  let iamPrivateKey: string | undefined;
  if (v.iam) {
    const keys = await generateServiceAccountKeys();
    iamPrivateKey = keys.privateKey;
    opts.auth = { ...opts.auth, iam: { uid: "mesos-dns", publicKey: keys.publicKey } };
  } else if (v["iam-uid"] !== undefined && v["iam-public-key"] !== undefined) {
    opts.auth = {
      ...opts.auth,
      iam: { uid: v["iam-uid"], publicKey: Deno.readTextFileSync(v["iam-public-key"]) },
    };
  }
  sim = await startSimulator(opts);
  if (iamPrivateKey !== undefined) {
    const dir = await Deno.makeTempDir({ prefix: "mesos-sim-iam-" });
    madeDirs.push(dir);
    files.iamConfigFile = `${dir}/iam.json`;
    // The login endpoint on the control port (it stays up while masters stop), else master 0.
    const login = sim.control ? sim.control.replace(/\/__sim$/, IAM_LOGIN_PATH) : sim.url(0, IAM_LOGIN_PATH);
    await Deno.writeTextFile(
      files.iamConfigFile,
      JSON.stringify({ uid: "mesos-dns", private_key: iamPrivateKey, login_endpoint: login }, null, 2),
      { mode: 0o600 },
    );
  }
} catch (err) {
  await sim?.close();
  for (const dir of madeDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
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
    `${sim.cluster.runningTasks().length} running tasks; control ${sim.control}` +
    `${sim.zk ? `; ZooKeeper ${sim.zk}` : ""}${opts.tls ? "; HTTPS" : ""}` +
    `${opts.auth?.basic ? "; basic auth" : ""}${opts.auth?.iam ? "; IAM" : ""}`,
);
console.log(JSON.stringify({
  masters: sim.masters,
  leader: sim.leaderIndex,
  control: sim.control,
  ...(sim.zk ? { zk: sim.zk } : {}),
  ...files,
}));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sim.close();
  for (const dir of madeDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
