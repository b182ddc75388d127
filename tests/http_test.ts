/**
 * Tests for the HTTP API (src/http/): real requests over a free port against a
 * hand-built record set published to a SnapshotHolder; exact Go-formatted bodies.
 */
import assert from "node:assert/strict";
import type { Config } from "../src/config/types.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { axfrResponse, dispatch } from "../src/http/routes.ts";
import { RecordStore } from "../src/records/store.ts";
import { generateDocument, Rng } from "../scripts/sim/cluster.ts";
import { deltaReady, randomChange } from "./helpers/random_deltas.ts";
import { startHttpServer } from "../src/http/server.ts";
import { VERSION } from "../src/version.ts";
import { testConfig } from "./helpers/test_config.ts";

const LOAD_TIME = new Date("2024-01-02T03:04:05Z");
const SERIAL = Math.floor(LOAD_TIME.getTime() / 1000);

function sampleRecords(): RecordSet {
  const b = new RecordSetBuilder("mesos");
  b.add("A", "leader.mesos.", "1.2.3.4");
  b.add("A", "ns1.mesos.", "127.0.0.1");
  b.add("A", "nginx.marathon.mesos.", "10.0.0.1");
  b.add("A", "nginx.marathon.mesos.", "10.0.0.2");
  b.add("AAAA", "nginx.marathon.mesos.", "fd00::1");
  b.add("A", "nginx-abc-s1.marathon.slave.mesos.", "10.0.0.1");
  b.add("AAAA", "nginx-abc-s1.marathon.slave.mesos.", "fd00::1");
  b.add("AAAA", "v6only.mesos.", "fd00::9");
  b.add("SRV", "_leader._tcp.mesos.", "leader.mesos.:5050");
  b.add("SRV", "_nginx._tcp.marathon.mesos.", "nginx-abc-s1.marathon.slave.mesos.:31000");
  b.add("SRV", "_nginx._tcp.marathon.mesos.", "nginx-abc-s1.marathon.slave.mesos.:31001");
  b.add("SRV", "_orphan._tcp.mesos.", "nowhere.mesos.:1");
  return b.build([
    { tasks: [], name: "metronome" },
    {
      tasks: [{
        name: "nginx",
        id: "nginx.48dc",
        records: [
          { name: "nginx.marathon.mesos.", host: "10.0.0.1", rtype: "A" },
          {
            name: "_nginx._tcp.marathon.mesos.",
            host: "nginx-abc-s1.marathon.slave.mesos.:31000",
            rtype: "SRV",
          },
        ],
      }, { name: "quiet", id: "quiet.1", records: null }],
      name: "marathon",
    },
  ]);
}

interface Harness {
  holder: SnapshotHolder;
  get(path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: string }>;
  port: number;
}

async function withServer(
  opts: { config?: Config; publish?: boolean; metrics?: () => string },
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const holder = new SnapshotHolder();
  if (opts.publish !== false) holder.publish(sampleRecords(), LOAD_TIME);
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    config: opts.config ?? testConfig(),
    holder,
    metrics: opts.metrics,
  });
  try {
    await fn({
      holder,
      port: server.port,
      get: async (path, init) => {
        const res = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
        const body = await res.text();
        return { status: res.status, type: res.headers.get("content-type"), body };
      },
    });
  } finally {
    await server.close();
  }
}

Deno.test("http: /v1/version is byte-exact Go output", async () => {
  await withServer({ publish: false }, async ({ get }) => {
    const r = await get("/v1/version");
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/json");
    assert.equal(
      r.body,
      `{\n  "Service": "Mesos-DNS",\n  "URL": "https://github.com/mesosphere/mesos-dns",\n  "Version": "${VERSION}"\n }`,
    );
    // Trailing slash is tolerated as by the original's router.
    assert.equal((await get("/v1/version/")).status, 200);
  });
});

Deno.test("http: /v1/hosts byte-exact, A before AAAA, normalisation", async () => {
  await withServer({}, async ({ get }) => {
    const r = await get("/v1/hosts/leader.mesos");
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/json");
    assert.equal(r.body, '[\n  {\n   "host": "leader.mesos.",\n   "ip": "1.2.3.4"\n  }\n ]');

    const n = await get("/v1/hosts/NGINX.*.Marathon.Mesos.");
    assert.deepEqual(JSON.parse(n.body), [
      { host: "nginx.marathon.mesos.", ip: "10.0.0.1" },
      { host: "nginx.marathon.mesos.", ip: "10.0.0.2" },
      { host: "nginx.marathon.mesos.", ip: "fd00::1" },
    ]);
    assert.deepEqual(JSON.parse((await get("/v1/hosts/v6only.mesos")).body), [
      { host: "v6only.mesos.", ip: "fd00::9" },
    ]);
    // Any name in the store, percent-encoded segments decoded.
    assert.deepEqual(JSON.parse((await get("/v1/hosts/ns1%2Emesos")).body), [
      { host: "ns1.mesos.", ip: "127.0.0.1" },
    ]);
  });
});

Deno.test("http: /v1/hosts not found and empty-after-normalisation give the placeholder", async () => {
  await withServer({}, async ({ get }) => {
    const placeholder = '[\n  {\n   "host": "",\n   "ip": ""\n  }\n ]';
    for (const path of ["/v1/hosts/nope.mesos", "/v1/hosts/.*", "/v1/hosts/_leader._tcp.mesos"]) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.body, placeholder, path);
    }
  });
});

Deno.test("http: /v1/services byte-exact, raw service echoed, A and AAAA entries", async () => {
  await withServer({}, async ({ get }) => {
    const r = await get("/v1/services/_leader._tcp.mesos");
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      '[\n  {\n   "service": "_leader._tcp.mesos",\n   "host": "leader.mesos.",\n   "ip": "1.2.3.4",\n' +
        '   "port": "5050"\n  }\n ]',
    );
    const n = await get("/v1/services/_NGINX._tcp.marathon.mesos.");
    const svc = "_NGINX._tcp.marathon.mesos.";
    const host = "nginx-abc-s1.marathon.slave.mesos.";
    assert.deepEqual(JSON.parse(n.body), [
      { service: svc, host, ip: "10.0.0.1", port: "31000" },
      { service: svc, host, ip: "fd00::1", port: "31000" },
      { service: svc, host, ip: "10.0.0.1", port: "31001" },
      { service: svc, host, ip: "fd00::1", port: "31001" },
    ]);
  });
});

Deno.test("http: /v1/services placeholder when nothing resolves", async () => {
  await withServer({}, async ({ get }) => {
    const placeholder = '[\n  {\n   "service": "",\n   "host": "",\n   "ip": "",\n   "port": ""\n  }\n ]';
    for (
      const path of ["/v1/services/_none._tcp.mesos", "/v1/services/_orphan._tcp.mesos", "/v1/services/.*"]
    ) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.body, placeholder, path);
    }
  });
});

Deno.test("http: /v1/hosts/{host}/ports is 501", async () => {
  await withServer({}, async ({ get }) => {
    const r = await get("/v1/hosts/leader.mesos/ports");
    assert.equal(r.status, 501);
    assert.equal(r.body, "To be implemented...");
  });
});

Deno.test("http: /v1/enumerate lists frameworks, tasks and records in Go field order", async () => {
  await withServer({}, async ({ get }) => {
    const r = await get("/v1/enumerate");
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), {
      frameworks: [
        { tasks: [], name: "metronome" },
        {
          tasks: [
            {
              name: "nginx",
              id: "nginx.48dc",
              records: [
                { name: "nginx.marathon.mesos.", host: "10.0.0.1", rtype: "A" },
                {
                  name: "_nginx._tcp.marathon.mesos.",
                  host: "nginx-abc-s1.marathon.slave.mesos.:31000",
                  rtype: "SRV",
                },
              ],
            },
            { name: "quiet", id: "quiet.1", records: null },
          ],
          name: "marathon",
        },
      ],
    });
    assert.ok(
      r.body.startsWith('{\n  "frameworks": [\n   {\n    "tasks": [],\n    "name": "metronome"\n   },'),
    );
    assert.ok(r.body.includes('"name": "quiet",\n      "id": "quiet.1",\n      "records": null\n'));
  });
});

Deno.test("http: /v1/enumerate with no frameworks gives null", async () => {
  await withServer({ publish: false }, async ({ get, holder }) => {
    holder.publish(new RecordSetBuilder("mesos").build(null), LOAD_TIME);
    const r = await get("/v1/enumerate");
    assert.equal(r.body, '{\n  "frameworks": null\n }');
  });
});

Deno.test("http: /v1/axfr dumps the store with sorted keys", async () => {
  await withServer({}, async ({ get }) => {
    const r = await get("/v1/axfr");
    assert.equal(r.status, 200);
    const parsed = JSON.parse(r.body);
    assert.deepEqual(Object.keys(parsed), [
      "TTL",
      "Serial",
      "RefreshSeconds",
      "Mname",
      "Rname",
      "Domain",
      "Records",
    ]);
    assert.deepEqual(parsed, {
      TTL: 60,
      Serial: SERIAL,
      RefreshSeconds: 60,
      Mname: "ns1.mesos.",
      Rname: "root.ns1.mesos.",
      Domain: "mesos",
      Records: {
        As: {
          "leader.mesos.": ["1.2.3.4"],
          "nginx-abc-s1.marathon.slave.mesos.": ["10.0.0.1"],
          "nginx.marathon.mesos.": ["10.0.0.1", "10.0.0.2"],
          "ns1.mesos.": ["127.0.0.1"],
        },
        AAAAs: {
          "nginx-abc-s1.marathon.slave.mesos.": ["fd00::1"],
          "nginx.marathon.mesos.": ["fd00::1"],
          "v6only.mesos.": ["fd00::9"],
        },
        SRVs: {
          "_leader._tcp.mesos.": ["leader.mesos.:5050"],
          "_nginx._tcp.marathon.mesos.": [
            "nginx-abc-s1.marathon.slave.mesos.:31000",
            "nginx-abc-s1.marathon.slave.mesos.:31001",
          ],
          "_orphan._tcp.mesos.": ["nowhere.mesos.:1"],
        },
      },
    });
    const groups = JSON.parse(r.body).Records as Record<string, Record<string, unknown>>;
    for (const group of ["As", "AAAAs", "SRVs"]) {
      const keys = Object.keys(groups[group]);
      assert.deepEqual(keys, [...keys].sort(), group);
    }
    assert.ok(r.body.startsWith(`{\n  "TTL": 60,\n  "Serial": ${SERIAL},\n  "RefreshSeconds": 60,\n`));
  });
});

Deno.test("http: /v1/axfr with an empty store gives {} groups", async () => {
  await withServer({ publish: false }, async ({ get, holder }) => {
    holder.publish(new RecordSetBuilder("mesos").build([]), LOAD_TIME);
    const r = await get("/v1/axfr");
    assert.ok(r.body.endsWith('"Records": {\n   "As": {},\n   "AAAAs": {},\n   "SRVs": {}\n  }\n }'));
  });
});

Deno.test("http: EnumerationOn false makes /v1/enumerate and /v1/axfr 404", async () => {
  await withServer({ config: testConfig({ EnumerationOn: false }) }, async ({ get }) => {
    for (const path of ["/v1/enumerate", "/v1/axfr"]) {
      const r = await get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body, "404: Page Not Found");
    }
    assert.equal((await get("/v1/hosts/leader.mesos")).status, 200);
  });
});

const CONFIG_KEYS = [
  "RefreshSeconds",
  "Port",
  "Timeout",
  "StateTimeoutSeconds",
  "ZkDetectionTimeout",
  "HttpPort",
  "TTL",
  "SRVRecordDefaultWeight",
  "SOASerial",
  "SOARefresh",
  "SOARetry",
  "SOAExpire",
  "SOAMinttl",
  "SOAMname",
  "SOARname",
  "Masters",
  "ZoneResolvers",
  "Resolvers",
  "IPSources",
  "Zk",
  "Domain",
  "File",
  "Listener",
  "HTTPListener",
  "RecurseOn",
  "DnsOn",
  "HttpOn",
  "ExternalOn",
  "EnforceRFC952",
  "SetTruncateBit",
  "EnumerationOn",
  "MesosHTTPSOn",
  "CACertFile",
  "CertFile",
  "KeyFile",
  "MesosCredentials",
  "IAMConfigFile",
  "MesosAuthentication",
];

Deno.test("http: /v1/config key order, masked secret, sorted zone resolvers, current serial", async () => {
  // Keys deliberately inserted in a different order than §8.3.
  const base = testConfig({
    MesosAuthentication: "basic",
    MesosCredentials: { Principal: "principal", Secret: "s3cret<&>" },
    ZoneResolvers: { "z.example": ["10.1.1.1:53"], "a.example": ["10.2.2.2:53"] },
    SOASerial: 7,
  });
  const shuffled = Object.fromEntries(Object.entries(base).reverse()) as unknown as Config;
  await withServer({ config: shuffled, publish: false }, async ({ get, holder }) => {
    const before = await get("/v1/config");
    assert.equal(before.status, 200);
    assert.equal(before.type, "application/json");
    assert.ok(!before.body.includes("s3cret"));
    const parsed = JSON.parse(before.body);
    assert.deepEqual(Object.keys(parsed), CONFIG_KEYS);
    assert.deepEqual(parsed.MesosCredentials, { Principal: "principal", Secret: "***" });
    assert.equal(parsed.SOASerial, 7);
    assert.equal(parsed.Masters, null);
    assert.deepEqual(Object.keys(parsed.ZoneResolvers), ["a.example", "z.example"]);
    assert.ok(before.body.startsWith('{\n  "RefreshSeconds": 60,\n  "Port": 53,\n  "Timeout": 5,\n'));
    assert.ok(before.body.includes('\n  "Masters": null,\n  "ZoneResolvers": {\n   "a.example": [\n'));
    assert.ok(
      before.body.endsWith(
        '  "MesosCredentials": {\n   "Principal": "principal",\n   "Secret": "***"\n  },\n' +
          '  "IAMConfigFile": "",\n  "MesosAuthentication": "basic"\n }',
      ),
    );

    holder.publish(sampleRecords(), LOAD_TIME);
    assert.equal(JSON.parse((await get("/v1/config")).body).SOASerial, SERIAL);
  });
});

Deno.test("http: /v1/config keeps an empty secret empty", async () => {
  await withServer({ config: testConfig({ Masters: ["10.0.0.1:5050"] }) }, async ({ get }) => {
    const parsed = JSON.parse((await get("/v1/config")).body);
    assert.deepEqual(parsed.MesosCredentials, { Principal: "", Secret: "" });
    assert.deepEqual(parsed.Masters, ["10.0.0.1:5050"]);
    assert.deepEqual(parsed.ZoneResolvers, {});
  });
});

Deno.test("http: routing errors 404, 405, 406", async () => {
  await withServer({}, async ({ get }) => {
    for (const path of ["/", "/v1", "/v1/nope", "/v1/hosts/a/b", "/v1/hosts//ports", "/v1/hosts/"]) {
      const r = await get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body, "404: Page Not Found", path);
      assert.equal(r.type, "text/plain; charset=utf-8");
    }
    for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
      const r = await get("/v1/version", { method });
      assert.equal(r.status, 405, method);
      if (method !== "HEAD") assert.equal(r.body, "405: Method Not Allowed");
    }
    assert.equal((await get("/v1/nope", { method: "POST" })).status, 404);
    const bad = await get("/v1/hosts/leader.mesos", { headers: { accept: "text/html" } });
    assert.equal(bad.status, 406);
    assert.equal(bad.body, "406: Not Acceptable");
    for (
      const accept of ["*/*", "application/*", "application/json", "text/html, application/json;q=0.9", ""]
    ) {
      assert.equal((await get("/v1/version", { headers: { accept } })).status, 200, accept);
    }
  });
});

Deno.test("http: a GET with a non-JSON body is 415 (raw socket)", async () => {
  await withServer({}, async ({ port }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const req = "GET /v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n" +
        "Connection: close\r\n\r\nabc";
      await conn.write(new TextEncoder().encode(req));
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(4096);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
      const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
      assert.match(text, /^HTTP\/1\.1 415 /);
      assert.ok(text.endsWith("415: Unsupported Media Type"));
    } finally {
      conn.close();
    }
  });
});

Deno.test("http: before the first snapshot lookups are 503, version/config work, /ready flips", async () => {
  await withServer({ publish: false }, async ({ get, holder }) => {
    for (
      const path of ["/v1/hosts/leader.mesos", "/v1/services/_leader._tcp.mesos", "/v1/enumerate", "/v1/axfr"]
    ) {
      const r = await get(path);
      assert.equal(r.status, 503, path);
      assert.deepEqual(JSON.parse(r.body), { error: "no state loaded yet" });
    }
    assert.equal((await get("/v1/version")).status, 200);
    assert.equal((await get("/v1/config")).status, 200);
    assert.equal((await get("/v1/hosts/x/ports")).status, 501);
    const notReady = await get("/ready");
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.body), { ready: false });
    const health = await get("/health");
    assert.equal(health.status, 200);

    holder.publish(sampleRecords(), LOAD_TIME);
    const ready = await get("/ready");
    assert.equal(ready.status, 200);
    assert.equal(ready.body, '{"ready":true}');
    assert.equal((await get("/v1/hosts/leader.mesos")).status, 200);
    assert.equal((await get("/health")).status, 200);
  });
});

Deno.test("http: /metrics served only when a provider is given", async () => {
  await withServer({ metrics: () => "mesos_dns_up 1\n" }, async ({ get }) => {
    const r = await get("/metrics", { headers: { accept: "text/plain;version=0.0.4;q=0.3,*/*;q=0.2" } });
    assert.equal(r.status, 200);
    assert.equal(r.type, "text/plain; version=0.0.4");
    assert.equal(r.body, "mesos_dns_up 1\n");
  });
  await withServer({}, async ({ get }) => {
    assert.equal((await get("/metrics")).status, 404);
  });
});

Deno.test("http: binding a port in use rejects", async () => {
  const holder = new SnapshotHolder();
  const first = await startHttpServer({ hostname: "127.0.0.1", port: 0, config: testConfig(), holder });
  try {
    await assert.rejects(
      startHttpServer({ hostname: "127.0.0.1", port: first.port, config: testConfig(), holder }),
    );
  } finally {
    await first.close();
  }
});

Deno.test("routes: dispatch is pure and matches the socket behaviour", () => {
  const ctx = { config: testConfig(), snapshot: undefined };
  const req = { method: "GET", path: "/v1/version", accept: null, contentType: null, hasBody: false };
  assert.equal(dispatch(req, ctx).status, 200);
  assert.equal(dispatch({ ...req, hasBody: true, contentType: "application/json" }, ctx).status, 200);
  assert.equal(dispatch({ ...req, hasBody: true, contentType: "text/plain" }, ctx).status, 415);
  assert.equal(
    dispatch({ ...req, method: "POST", hasBody: true, contentType: "text/plain" }, ctx).status,
    405,
  );
  assert.equal(dispatch({ ...req, accept: "text/html" }, ctx).status, 406);
});

Deno.test("http: /v1/axfr after changes (a layered record set) dumps the records as one built whole does", () => {
  const state = deltaReady(generateDocument({ frameworks: 3, agents: 8, tasks: 120, seed: 11 }));
  state.leader = "master@10.0.0.1:5050";
  const options = {
    domain: "mesos",
    enforceRFC952: false,
    ipSources: ["netinfo", "mesos", "host"],
    soaMname: "ns1.mesos.",
  };
  const store = new RecordStore({ options, nameServerIPs: ["198.51.100.53"] });
  const holder = new SnapshotHolder();
  holder.publish(store.snapshot(state, ["10.0.0.1:5050"], new Map()).records, LOAD_TIME);
  const rng = new Rng(5);
  let snap = holder.current()!;
  for (let step = 1; step <= 10; step++) {
    const up = store.delta(randomChange(state, rng, step));
    if (up) snap = holder.publish(up.records, LOAD_TIME, undefined, up.changes);
  }
  const text = (r: RecordSet) => {
    const body = axfrResponse({ ...snap, records: r }, testConfig()).body;
    return typeof body === "string" ? body : [...body].join("");
  };
  const whole = new RecordSetBuilder("mesos");
  for (
    const [type, map] of [["A", snap.records.a], ["AAAA", snap.records.aaaa], [
      "SRV",
      snap.records.srv,
    ]] as const
  ) {
    for (const [name, values] of map) for (const v of values) whole.add(type, name, v);
  }
  // Changes since the last merge are a layer over the store's base: not a Map.
  assert.ok(!(snap.records.a instanceof Map));
  const got = JSON.parse(text(snap.records)).Records;
  assert.deepEqual(got, JSON.parse(text(whole.build(null))).Records);
  assert.ok(Object.keys(got.As).length > 100);
});
