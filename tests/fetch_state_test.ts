/**
 * Tests of src/mesos/fetch_state.ts over real sockets against the simulator: every fixture
 * fetched back equal, request headers and credentials, the leader-follow rule (SPEC §4.2),
 * falling through to other masters, and each fault rejected with a clear error.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import {
  basicAuthorization,
  createStateFetcher,
  parseLeader,
  StateFetcher,
  StateFetchError,
  type StateFetchErrorKind,
} from "../src/mesos/fetch_state.ts";
import type { MesosState } from "../src/mesos/state_types.ts";
import { checkStateShape, projectState } from "../src/mesos/state_schema.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const SECRET = "s3cr3t-Pa55";
const BASIC = `Basic ${btoa(`dns:${SECRET}`)}`;

async function fixtureFiles(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(FIXTURES)) if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  return names.sort();
}

async function rejectsWith(
  p: Promise<unknown>,
  kind: StateFetchErrorKind,
  message: RegExp,
): Promise<StateFetchError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StateFetchError, `not a StateFetchError: ${err}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, message);
    assert.ok(!err.message.includes(SECRET) && !err.message.includes(btoa(`dns:${SECRET}`)), err.message);
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

function taskCount(s: MesosState): number {
  return (s.frameworks ?? []).reduce((n, f) => n + (f.tasks?.length ?? 0), 0);
}

Deno.test("every fixture is served and fetched back as it reads (the fields read, tasks slim)", async () => {
  const names = await fixtureFiles();
  assert.ok(names.length >= 7);
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  for (const name of names) {
    const file = new URL(name, FIXTURES).pathname;
    const original = JSON.parse(await Deno.readTextFile(file)) as MesosState;
    assert.equal(checkStateShape(original), null, name);
    const sim = await startSimulator({ file, rewriteLeader: true });
    try {
      const { state, from } = await fetcher.fetch(sim.masters);
      assert.equal(from, sim.masters[0]);
      assert.equal(state.leader, sim.pid(0));
      const back = { ...state, leader: original.leader, pid: original.pid } as MesosState;
      assert.deepEqual(back, projectState(original), name);
    } finally {
      await sim.close();
    }
  }
});

Deno.test("a generated cluster is fetched with its fields", async () => {
  const sim = await startSimulator({ generate: { frameworks: 3, agents: 4, tasks: 50, seed: 11 } });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  try {
    const { state } = await fetcher.fetch(sim.masters);
    assert.deepEqual(state, projectState(sim.state()));
    assert.equal(state.slaves?.length, 4);
    assert.equal(state.frameworks?.length, 3);
    assert.ok(taskCount(state) >= 45);
  } finally {
    await sim.close();
  }
});

Deno.test("request: path, headers, basic credentials, one connection per request", async () => {
  const sim = await startSimulator();
  const fetcher = new StateFetcher({ timeoutMs: 5000, authorization: basicAuthorization("dns", SECRET) });
  try {
    await fetcher.fetch(sim.masters);
    await fetcher.fetch(sim.masters);
    assert.equal(sim.requests.length, 2);
    for (const r of sim.requests) {
      assert.equal(r.method, "GET");
      assert.equal(r.path, "/master/state");
      assert.equal(r.headers["content-type"], "application/json");
      assert.equal(r.headers["user-agent"], "Mesos-DNS");
      assert.equal(r.headers["connection"], "close");
      assert.equal(r.headers["authorization"], BASIC);
    }
  } finally {
    await sim.close();
  }
});

Deno.test("leader-follow: a non-leader's view on the same host leads to the leader's port", async () => {
  const sim = await startSimulator({ masters: 3, leader: 2 });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  try {
    const { state, from } = await fetcher.fetch([sim.masters[0]]);
    assert.equal(from, sim.masters[2]);
    assert.equal(state.leader, sim.pid(2));
    assert.ok(taskCount(state) > 0, "the leader's full state, not the non-leader's empty view");
    assert.deepEqual(sim.requests.map((r) => r.master), [0, 2]);
  } finally {
    await sim.close();
  }
});

Deno.test("leader-follow (SPEC §4.2 step 4): another host, asked port re-used, credentials kept", async () => {
  const sim = await startSimulator({ masters: 3, hosts: "loopbacks", leader: 1 });
  const fetcher = new StateFetcher({ timeoutMs: 5000, authorization: basicAuthorization("dns", SECRET) });
  try {
    assert.match(sim.masters[2], /^127\.0\.0\.3:/);
    const { state, from } = await fetcher.fetch([sim.masters[2]]);
    assert.equal(from, sim.masters[1]);
    assert.ok(taskCount(state) > 0);
    assert.deepEqual(sim.requests.map((r) => r.master), [2, 1]);
    assert.ok(sim.requests.every((r) => r.headers["authorization"] === BASIC));
  } finally {
    await sim.close();
  }
});

Deno.test("redirects (Mesos >= 1.1 non-leaders): followed; credentials only to known masters", async () => {
  const sim = await startSimulator({ masters: 2, nonLeader: "redirect", leader: 1 });
  const fetcher = new StateFetcher({ timeoutMs: 5000, authorization: basicAuthorization("dns", SECRET) });
  try {
    // The leader is not in the list: it gets no credentials.
    let got = await fetcher.fetch([sim.masters[0]]);
    assert.equal(got.from, sim.masters[1]);
    assert.ok(taskCount(got.state) > 0);
    assert.deepEqual(sim.requests.map((r) => [r.master, r.headers["authorization"]]), [[0, BASIC], [
      1,
      undefined,
    ]]);
    // Known from the masters list: credentials go along.
    sim.clearRequests();
    got = await fetcher.fetch(["", sim.masters[0], sim.masters[1]]);
    assert.equal(got.from, sim.masters[1]);
    assert.deepEqual(sim.requests.map((r) => [r.master, r.headers["authorization"]]), [[0, BASIC], [
      1,
      BASIC,
    ]]);
    // Redirect loops end.
    const loop = new StateFetcher({
      timeoutMs: 5000,
      fetchFn: () =>
        Promise.resolve(new Response(null, { status: 307, headers: { location: "/master/state" } })),
    });
    await rejectsWith(loop.fetch(["127.0.0.1:9"]), "redirect", /too many redirects/);
  } finally {
    await sim.close();
  }
});

Deno.test("a non-leader naming a leader that is down fails that attempt", async () => {
  const sim = await startSimulator({ masters: 3 });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  try {
    await sim.stopMaster(0);
    // Masters 1 and 2 answer, but their views name master 0, which is down.
    const esc = (m: string) => m.replaceAll(".", "\\.");
    const down = esc(sim.masters[0]);
    await rejectsWith(
      fetcher.fetch([sim.masters[0], sim.masters[1], sim.masters[2]]),
      "all-failed",
      new RegExp(
        `^all 3 masters failed: connection refused to ${down}; ${
          esc(sim.masters[1])
        }: connection refused to ${down}; ` +
          `${esc(sim.masters[2])}: connection refused to ${down}$`,
      ),
    );
    assert.deepEqual(sim.requests.map((r) => r.master), [1, 2]);
  } finally {
    await sim.close();
  }
});

Deno.test("fall-through: a down leader is skipped, the next master answers", async () => {
  const sim = await startSimulator({ masters: 2, leader: 1 });
  const fetcher = new StateFetcher({ timeoutMs: 5000 });
  try {
    await sim.stopMaster(0);
    const { from, state } = await fetcher.fetch([sim.masters[0], sim.masters[1]]);
    assert.equal(from, sim.masters[1]);
    assert.ok(taskCount(state) > 0);
    // An unknown leader ("") is skipped; entries that are not host:port too.
    assert.equal((await fetcher.fetch(["", "nonsense", sim.masters[1]])).from, sim.masters[1]);
    await rejectsWith(fetcher.fetch([]), "no-masters", /no masters given/);
    await rejectsWith(fetcher.fetch(["", "nonsense"]), "no-masters", /no usable master/);
    await rejectsWith(fetcher.fetch([sim.masters[0]]), "connect", /^connection refused to 127\.0\.0\.1:\d+$/);
    await sim.stopMaster(1);
    await rejectsWith(
      fetcher.fetch([sim.masters[0], sim.masters[1]]),
      "all-failed",
      /^all 2 masters failed: connection refused to .*; connection refused to /,
    );
  } finally {
    await sim.close();
  }
});

Deno.test("each fault is rejected with a clear error", async () => {
  const sim = await startSimulator({ slowMs: 3000 });
  const fetcher = new StateFetcher({ timeoutMs: 300, authorization: basicAuthorization("dns", SECRET) });
  const m = sim.masters;
  try {
    const cases: Array<[Parameters<typeof sim.setFault>[1], StateFetchErrorKind, RegExp]> = [
      [
        "http500",
        "http-status",
        /^HTTP 500 Internal Server Error from http:\/\/127\.0\.0\.1:\d+\/master\/state$/,
      ],
      ["garbage", "invalid-json", /^invalid JSON from http:\/\/127\.0\.0\.1:\d+\/master\/state: /],
      ["wrong-shape", "bad-shape", /^malformed state: state\.frameworks should be an array, got object/],
      ["no-leader", "no-leader", /^fetched state does not contain leader information/],
      ["truncated", "body", /^truncated or broken body from http:/],
      ["hang", "timeout", /^timeout after 300ms fetching http:\/\/127\.0\.0\.1:\d+\/master\/state$/],
      ["slow", "timeout", /^timeout after 300ms fetching /],
    ];
    for (const [kind, errKind, re] of cases) {
      sim.setFault(0, kind);
      await rejectsWith(fetcher.fetch(m), errKind, re);
    }
    sim.setFault(0, null);
    assert.ok(taskCount((await fetcher.fetch(m)).state) > 0);
    await sim.stopMaster(0);
    await rejectsWith(fetcher.fetch(m), "connect", /^connection refused to 127\.0\.0\.1:\d+$/);
  } finally {
    await sim.close();
  }
});

Deno.test("bodies over the size cap are rejected; a cancelled fetch says so", async () => {
  const sim = await startSimulator();
  try {
    const small = new StateFetcher({ timeoutMs: 5000, maxBodyBytes: 1000 });
    await rejectsWith(small.fetch(sim.masters), "too-large", /is larger than 1000 bytes/);
    const chunked = new StateFetcher({
      maxBodyBytes: 10,
      fetchFn: () =>
        Promise.resolve(
          new Response(new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array(64)), c.close()) })),
        ),
    });
    await rejectsWith(chunked.fetch(["127.0.0.1:9"]), "too-large", /larger than 10 bytes/);
    sim.setFault(0, "hang");
    const ac = new AbortController();
    const p = new StateFetcher({ timeoutMs: 5000 }).fetch(sim.masters, ac.signal);
    ac.abort();
    await rejectsWith(p, "aborted", /cancelled/);
  } finally {
    await sim.close();
  }
});

Deno.test("HTTPS with CACertFile, through createStateFetcher", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => null);
    if (!gen?.success) {
      console.log("openssl not available: HTTPS test skipped");
      return;
    }
    const tls = {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
    const sim = await startSimulator({ tls });
    const config = {
      MesosHTTPSOn: true,
      StateTimeoutSeconds: 5,
      CACertFile: `${dir}/cert.pem`,
      CertFile: "",
      KeyFile: "",
      MesosAuthentication: "basic" as const,
      MesosCredentials: { Principal: "dns", Secret: SECRET },
    };
    const fetcher = await createStateFetcher(config);
    const plain = await createStateFetcher({ ...config, MesosHTTPSOn: false });
    try {
      const { state, from } = await fetcher.fetch(sim.masters);
      assert.equal(from, sim.masters[0]);
      assert.ok(taskCount(state) > 0);
      assert.equal(sim.requests[0].headers["authorization"], BASIC);
      // Plain HTTP to a TLS port fails cleanly, and says what to check.
      await rejectsWith(
        plain.fetch(sim.masters),
        "connect",
        /^127\.0\.0\.1:\d+ did not answer HTTP \(does the master serve HTTPS\? set MesosHTTPSOn\)$/,
      );
    } finally {
      fetcher.close();
      plain.close();
      await sim.close();
    }
    await assert.rejects(createStateFetcher({ ...config, MesosAuthentication: "iam" }), /IAM/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseLeader and checkStateShape", () => {
  assert.deepEqual(parseLeader("master@10.0.0.1:5050"), { host: "10.0.0.1", port: "5050" });
  assert.deepEqual(parseLeader(' "master@[2001:db8::1]:5050" '), { host: "2001:db8::1", port: "5050" });
  assert.equal(parseLeader("master10.0.0.1:5050"), null);
  assert.equal(parseLeader("a@b@10.0.0.1:5050"), null);
  assert.equal(parseLeader("master@10.0.0.1"), null);
  assert.equal(parseLeader(""), null);
  assert.equal(parseLeader(42), null);

  const ok = { leader: "master@1.2.3.4:5050" };
  assert.equal(checkStateShape(ok), null);
  assert.equal(checkStateShape({ ...ok, frameworks: null, slaves: null }), null);
  assert.match(checkStateShape([ok])!, /expected a JSON object, got an array/);
  assert.match(checkStateShape(null)!, /got null/);
  assert.match(checkStateShape({})!, /does not contain leader/);
  assert.match(checkStateShape({ leader: "" })!, /does not contain leader/);
  assert.match(checkStateShape({ leader: 5 })!, /leader should be string, got number/);
  assert.match(checkStateShape({ ...ok, slaves: [{ pid: 5 }] })!, /state\.slaves\[0\]\.pid should be string/);
  assert.match(checkStateShape({ ...ok, frameworks: [null] })!, /state\.frameworks\[0\] should be an object/);
  assert.match(
    checkStateShape({ ...ok, frameworks: [{ tasks: [{ resources: { ports: [31000] } }] }] })!,
    /frameworks\[0\]\.tasks\[0\]\.resources\.ports should be string, got array/,
  );
  assert.match(
    checkStateShape({ ...ok, frameworks: [{ tasks: [{ statuses: [{ timestamp: "1" }] }] }] })!,
    /statuses\[0\]\.timestamp should be number/,
  );
  assert.match(
    checkStateShape({
      ...ok,
      frameworks: [{ tasks: [{ discovery: { ports: { ports: [{ number: 80.5 }] } } }] }],
    })!,
    /number should be integer/,
  );
  assert.equal(checkStateShape({ ...ok, frameworks: [{ tasks: [{ unknown: [1], labels: null }] }] }), null);
});
