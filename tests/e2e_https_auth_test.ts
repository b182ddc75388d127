/**
 * End to end: talking to secured masters, and bad state documents.
 * - mesos-dns as real processes against simulated masters serving HTTPS with a certificate
 *   made at run time (scripts/sim/tls_cert.ts): trusted through `CACertFile`; a wrong CA
 *   refused with a clear log line; basic authentication accepted; a wrong password
 *   reported, and never logged (not even at -v=2); the IAM token flow over the same HTTPS.
 * - A master that demands a client certificate (`openssl s_server -Verify`): served with
 *   `CertFile`/`KeyFile`, refused without.
 * - The whole service in-process: every bad response kind (not JSON, truncated, wrong shape,
 *   too large, HTTP 500, no leader) keeps the last records, and each failure is logged and counted.
 */
import assert from "node:assert/strict";
import { configure, type LogRecord } from "@logtape/logtape";
import { startApp } from "../src/app.ts";
import { resetLogging } from "../src/log.ts";
import { createStateFetcher, StateFetchError } from "../src/mesos/fetch_state.ts";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { generateServiceAccountKeys, IAM_LOGIN_PATH } from "../scripts/sim/master_auth.ts";
import { generateTestPki, type TestPki } from "../scripts/sim/tls_cert.ts";
import { dig, type MesosDnsProcess, startMesosDns } from "./helpers/mesos_dns_process.ts";
import { testConfig } from "./helpers/test_config.ts";
import { waitFor } from "./helpers/wait.ts";
import { freePorts } from "./helpers/zookeeper.ts";

const SECRET = "Op3n-S3same!";
const WRONG = "wr0ng-Pa55word";

function common(master: string): string[] {
  return [
    `--masters=${master}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httplistener=127.0.0.1",
    "--httpport=0",
    "--externalon=false",
    "--refresh-seconds=60",
    "--mesos-https-on",
  ];
}

async function status(proc: MesosDnsProcess, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${proc.httpPort}${path}`);
  await res.body?.cancel();
  return res.status;
}

async function metricsText(proc: MesosDnsProcess): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${proc.httpPort}/metrics`)).text();
}

Deno.test("e2e HTTPS: CA file, basic auth, IAM; a wrong CA and a wrong password reported, secrets never logged", async () => {
  const pki = await generateTestPki();
  const wrongPki = await generateTestPki();
  const keys = await generateServiceAccountKeys();
  const sim = await startSimulator({
    tls: pki,
    auth: {
      basic: { principal: "dns", secret: SECRET },
      iam: { uid: "mesos-dns", publicKey: keys.publicKey },
    },
    generate: { frameworks: 1, agents: 2, tasks: 4, seed: 2 },
  });
  const iamFile = `${pki.dir}/iam.json`;
  await Deno.writeTextFile(
    iamFile,
    JSON.stringify({
      uid: "mesos-dns",
      private_key: keys.privateKey,
      login_endpoint: sim.url(0, IAM_LOGIN_PATH),
    }),
  );
  const basic = ["--mesos-authentication=basic", "--mesos-credentials.principal=dns"];
  const procs: MesosDnsProcess[] = [];
  try {
    const started = await Promise.allSettled([
      startMesosDns([
        ...common(sim.masters[0]),
        `--ca-cert-file=${pki.caCertFile}`,
        ...basic,
        `--mesos-credentials.secret=${SECRET}`,
      ]),
      startMesosDns([
        ...common(sim.masters[0]),
        `--ca-cert-file=${pki.caCertFile}`,
        ...basic,
        `--mesos-credentials.secret=${WRONG}`,
        "-v=2",
      ]),
      startMesosDns([
        ...common(sim.masters[0]),
        `--ca-cert-file=${wrongPki.caCertFile}`,
        ...basic,
        `--mesos-credentials.secret=${SECRET}`,
      ]),
      startMesosDns([
        ...common(sim.masters[0]),
        `--ca-cert-file=${pki.caCertFile}`,
        "--mesos-authentication=iam",
        `--iam-config-file=${iamFile}`,
        "-v=2",
      ]),
    ]);
    for (const s of started) if (s.status === "fulfilled") procs.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const [good, badPassword, badCA, iam] = procs;

    // Trusted through CACertFile, basic credentials accepted.
    await good.waitReady();
    assert.equal((await dig(good.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
    const basicHeader = `Basic ${btoa(`dns:${SECRET}`)}`;
    assert.ok(sim.requests.some((r) => r.headers["authorization"] === basicHeader));
    // The records came through the event stream (the default StateSource), over the same TLS
    // client and with the same credentials as the state fetch.
    await waitFor(async () => (await metricsText(good)).includes("mesos_dns_stream_connected 1"), {
      message: "the basic-auth server is not subscribed",
    });
    assert.ok(
      sim.requests.some((r) =>
        r.path === "/api/v1" && r.method === "POST" && r.headers["authorization"] === basicHeader
      ),
      "SUBSCRIBE over HTTPS with basic credentials",
    );
    const cfg = await good.getJson("/v1/config") as { MesosCredentials: Record<string, string> };
    assert.deepEqual(cfg.MesosCredentials, { Principal: "dns", Secret: "***" });

    // The IAM token flow over the same HTTPS client.
    await iam.waitReady();
    assert.equal((await dig(iam.dnsPort, "+short", "leader.mesos")).trim(), "127.0.0.1");
    assert.ok(sim.auth!.logins >= 1);
    assert.ok(sim.requests.some((r) => /^token=[0-9a-f-]{36}$/.test(r.headers["authorization"] ?? "")));
    await waitFor(async () => (await metricsText(iam)).includes("mesos_dns_stream_connected 1"), {
      message: "the IAM server is not subscribed",
    });
    assert.ok(
      sim.requests.some((r) =>
        r.path === "/api/v1" && r.method === "POST" &&
        /^token=[0-9a-f-]{36}$/.test(r.headers["authorization"] ?? "")
      ),
      "SUBSCRIBE over HTTPS with an IAM token",
    );

    // A wrong password: reported, never shown (in any form), no records served.
    await waitFor(() => /the master refused our credentials/.test(badPassword.output()), {
      message: "no log line for the refused credentials",
    });
    assert.match(
      badPassword.output(),
      /ERROR: .* state fetch failed, no records loaded yet: HTTP 401 Unauthorized from https:\/\/127\.0\.0\.1:\d+\/master\/state: the master refused our credentials \(check MesosCredentials/,
    );
    assert.equal(await status(badPassword, "/ready"), 503);
    assert.match(await dig(badPassword.dnsPort, "leader.mesos"), /status: SERVFAIL/);

    // A CA that did not sign the master's certificate: refused, and the log says why.
    await waitFor(() => /not trusted/.test(badCA.output()), {
      message: "no log line for the untrusted certificate",
    });
    assert.match(
      badCA.output(),
      /ERROR: .* state fetch failed, no records loaded yet: TLS: the certificate of 127\.0\.0\.1:\d+ is not trusted \(UnknownIssuer\); check CACertFile/,
    );
    assert.equal(await status(badCA, "/ready"), 503);

    const keyBody = keys.privateKey.split("\n")[5];
    for (const p of procs) {
      const out = p.output();
      for (const secret of [SECRET, WRONG, btoa(`dns:${SECRET}`), btoa(`dns:${WRONG}`), keyBody]) {
        assert.ok(!out.includes(secret), `a secret was logged:\n${out}`);
      }
    }
  } finally {
    for (const p of procs) await p.stop();
    await sim.close();
    await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(wrongPki.dir, { recursive: true });
  }
});

/** `openssl s_server` serving `www/` over TLS and demanding a client certificate from `pki`'s CA. */
async function mutualTlsServer(pki: TestPki, state: unknown) {
  await Deno.mkdir(`${pki.dir}/www/master`, { recursive: true });
  await Deno.writeTextFile(`${pki.dir}/www/master/state`, JSON.stringify(state));
  const [port] = freePorts(1);
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      pki.certFile,
      "-key",
      pki.keyFile,
      "-CAfile",
      pki.caCertFile,
      "-Verify",
      "1",
      "-WWW",
      "-quiet",
    ],
    cwd: `${pki.dir}/www`,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  }, { message: "openssl s_server did not listen" });
  return {
    master: `127.0.0.1:${port}`,
    async close() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

Deno.test("e2e HTTPS: a master demanding a client certificate gets CertFile/KeyFile", async () => {
  const pki = await generateTestPki();
  const state = { leader: "master@127.0.0.1:5050", frameworks: [], slaves: [] };
  const server = await mutualTlsServer(pki, state);
  const base = {
    MesosHTTPSOn: true,
    StateTimeoutSeconds: 5,
    CACertFile: pki.caCertFile,
    MesosAuthentication: "" as const,
    MesosCredentials: { Principal: "", Secret: "" },
  };
  const withCert = await createStateFetcher({
    ...base,
    CertFile: pki.clientCertFile,
    KeyFile: pki.clientKeyFile,
  });
  const without = await createStateFetcher({ ...base, CertFile: "", KeyFile: "" });
  try {
    const { state: got } = await withCert.fetchFrom(server.master);
    assert.deepEqual(got, state);
    await assert.rejects(without.fetchFrom(server.master), (e: unknown) => {
      assert.ok(e instanceof StateFetchError);
      assert.equal(e.kind, "tls");
      assert.match(e.message, /^TLS handshake with 127\.0\.0\.1:\d+ failed: .*CertificateRequired/);
      return true;
    });
  } finally {
    withCert.close();
    without.close();
    await server.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("e2e: every bad response kind keeps the last records; each failure logged and counted", async () => {
  const lines: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r: LogRecord) => lines.push(r) },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      { category: ["mesos-dns"], lowestLevel: "debug", sinks: ["mem"] },
    ],
  });
  const sim = await startSimulator({ generate: { frameworks: 1, agents: 2, tasks: 6, seed: 8 } });
  const task = sim.launchTask({ name: "keeper", network: "host" });
  const fw = sim.state().frameworks!.find((f) => f.tasks?.some((t) => t.id === task))!.name!;
  const cap = new TextEncoder().encode(JSON.stringify(sim.state())).length + 4000;
  const app = await startApp(
    testConfig({
      Masters: [sim.masters[0]],
      RefreshSeconds: 60,
      StateTimeoutSeconds: 2,
      Listener: "127.0.0.1",
      Port: 0,
      HTTPListener: "127.0.0.1",
      HttpPort: 0,
      ExternalOn: false,
      // Faults of /master/state are what this test is about.
      StateSource: "poll",
    }),
    { interfaceIPs: () => ["127.0.0.1"], maxStateBodyBytes: cap },
  );
  const text = (r: LogRecord) => r.message.map(String).join("");
  const metric = async (name: string) => {
    const body = await (await fetch(`http://127.0.0.1:${app.http!.port}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\d+)`, "m").exec(body)?.[1]);
  };
  try {
    await waitFor(() => app.holder.current() !== undefined, { message: "first state" });
    let good = app.holder.current()!;
    const name = `keeper.${fw}.mesos`;
    assert.notEqual((await dig(app.dns!.port, "+short", name)).trim(), "");

    const expectKept = async (kind: string, cause: () => void, message: RegExp) => {
      const failures = app.poller.stats().failures;
      cause();
      await app.poller.reloadNow();
      assert.equal(app.holder.current(), good, `${kind}: the last good records stay`);
      assert.ok(app.poller.stats().failures > failures, `${kind}: counted`);
      assert.match(app.poller.stats().lastError ?? "", message, kind);
      const logged = lines.filter((r) => r.level === "error" && message.test(text(r)));
      assert.ok(logged.length > 0, `${kind}: logged`);
      assert.match(
        text(logged.at(-1)!),
        /^state fetch failed, keeping previous records \(last good \d+s ago\): /,
      );
      assert.ok(
        (await metric("mesos_dns_state_reload_failures_total")) >= failures + 1,
        `${kind}: in /metrics`,
      );
      assert.notEqual((await dig(app.dns!.port, "+short", name)).trim(), "", `${kind}: still served`);
    };
    await expectKept("not JSON", () => sim.setFault(0, "garbage"), /invalid JSON from http:/);
    await expectKept("truncated", () => sim.setFault(0, "truncated"), /truncated or broken body from http:/);
    await expectKept(
      "wrong shape",
      () => sim.setFault(0, "wrong-shape"),
      /malformed state: state\.frameworks should be an array/,
    );
    await expectKept(
      "HTTP 500",
      () => sim.setFault(0, "http500"),
      /HTTP 500 Internal Server Error from http:/,
    );
    await expectKept(
      "no leader",
      () => sim.setFault(0, "no-leader"),
      /fetched state does not contain leader information/,
    );

    // A good state again replaces the records; the counter matches the failures.
    sim.setFault(0, null);
    sim.launchTask({ name: "newcomer" });
    await app.poller.reloadNow();
    assert.notEqual(app.holder.current(), good);
    assert.equal(app.poller.stats().consecutiveFailures, 0);
    assert.equal(await metric("mesos_dns_state_reload_failures_total"), app.poller.stats().failures);
    good = app.holder.current()!;

    // The cluster grows past the body cap: that state is refused whole.
    await expectKept(
      "too large",
      () => {
        for (let i = 0; i < 20; i++) sim.launchTask({ name: `filler-${i}`, ports: 3, discovery: true });
      },
      new RegExp(`state body from http://127\\.0\\.0\\.1:\\d+/master/state is larger than ${cap} bytes`),
    );
  } finally {
    await app.close();
    await sim.close();
    await resetLogging();
  }
});
