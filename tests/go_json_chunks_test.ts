/**
 * Tests of the piecewise Go JSON writer (src/http/go_json.ts `goMarshalIndentChunks`,
 * `GoLazySlice`) and of the large HTTP bodies sent with it (issue #6): the pieces join to
 * exactly `goMarshalIndent`'s text, are made only when asked for, and `/v1/enumerate` and
 * `/v1/axfr` of a large record set come over a real socket byte for byte as one string would.
 */
import assert from "node:assert/strict";
import {
  GoLazyList,
  GoLazySlice,
  goMarshalIndent,
  goMarshalIndentChunks,
  type GoValue,
} from "../src/http/go_json.ts";
import { enumerateResponse } from "../src/http/routes.ts";
import { RecordStore } from "../src/records/store.ts";
import { generateDocument } from "../scripts/sim/cluster.ts";
import { startHttpServer } from "../src/http/server.ts";
import { type EnumFramework, RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { testConfig } from "./helpers/test_config.ts";

/** A value with every kind of node, big enough to span many pieces. */
function sample(n: number): GoValue {
  const m = new Map<string, GoValue>();
  for (let i = 0; i < n; i++) m.set(`k${(i * 7919) % n}<&>`, [String(i), i % 3 === 0 ? null : i]);
  return {
    a: 1,
    empty: [],
    emptyLazy: new GoLazySlice(0, () => 1),
    emptyMap: new Map(),
    nested: { deep: [{ x: "y" }, [[], {}]] },
    lazy: new GoLazySlice(n, (i) => ({ i, s: `v${i}\u2028`, inner: new GoLazySlice(i % 4, (j) => j) })),
    map: m,
    list: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, host: "10.0.0.1", rtype: "A" })),
  };
}

Deno.test("go_json chunks: the pieces join to exactly goMarshalIndent's text", () => {
  for (const v of [null, 3, "s", [], {}, new Map(), new GoLazySlice(0, () => 1), [1, [2, [3]]], sample(5)]) {
    assert.equal([...goMarshalIndentChunks(v, " ", " ", 1)].join(""), goMarshalIndent(v));
  }
  const big = sample(3000);
  const whole = goMarshalIndent(big);
  for (const size of [1, 100, 4096, 1 << 20]) {
    assert.equal([...goMarshalIndentChunks(big, " ", " ", size)].join(""), whole, `chunk size ${size}`);
  }
  assert.equal([...goMarshalIndentChunks(big, "", "\t", 512)].join(""), goMarshalIndent(big, "", "\t"));
});

Deno.test("go_json chunks: pieces have about the asked size; lazy elements are made on demand", () => {
  let made = 0;
  const v = new GoLazySlice(10_000, (i) => {
    made++;
    return { index: i, name: `task-${i}` };
  });
  const it = goMarshalIndentChunks(v, " ", " ", 4096);
  const first = it.next();
  assert.equal(first.done, false);
  assert.ok(first.value!.length >= 4096 && first.value!.length < 4096 + 200, `${first.value!.length}`);
  assert.ok(made < 200, `only the first piece's elements are made, not ${made}`);
  const rest = [...it];
  assert.equal(made, 10_000);
  for (const piece of rest.slice(0, -1)) assert.ok(piece.length >= 4096 && piece.length < 4096 + 200);
  assert.throws(() => [...goMarshalIndentChunks(new GoLazySlice(1, () => NaN))], TypeError);
});

/** A record set like a 3,000-task cluster's (three frameworks, a few records per task). */
function largeRecords() {
  const b = new RecordSetBuilder("mesos");
  const frameworks: EnumFramework[] = [];
  for (const fw of ["marathon", "jenkins", "empty"]) {
    const ef: EnumFramework = { tasks: [], name: fw };
    frameworks.push(ef);
    if (fw === "empty") continue;
    for (let i = 0; i < 1500; i++) {
      const ip = `10.${i >> 8}.${i & 255}.${fw.length}`;
      const records = [
        { name: `app${i % 50}.${fw}.mesos.`, host: ip, rtype: "A" as const },
        { name: `app${i % 50}-${i}.${fw}.mesos.`, host: ip, rtype: "A" as const },
        {
          name: `_app${i % 50}._tcp.${fw}.mesos.`,
          host: `app${i % 50}-${i}.${fw}.mesos.:${31000 + i}`,
          rtype: "SRV" as const,
        },
      ];
      for (const r of records) b.add(r.rtype, r.name, r.host);
      ef.tasks.push({
        name: `app${i % 50}`,
        id: `app${i % 50}.${i}`,
        records: i % 100 === 7 ? null : records,
      });
    }
  }
  return b.build(frameworks);
}

Deno.test("http: large /v1/enumerate and /v1/axfr stream the exact Go text", async () => {
  const holder = new SnapshotHolder();
  const records = largeRecords();
  const snap = holder.publish(records, new Date("2024-01-02T03:04:05Z"));
  const config = testConfig();
  const server = await startHttpServer({ hostname: "127.0.0.1", port: 0, config, holder });
  try {
    const expectEnum = goMarshalIndent({
      frameworks: records.frameworks!.map((fw) => ({
        tasks: fw.tasks.map((t) => ({
          name: t.name,
          id: t.id,
          records: t.records && t.records.map((r) => ({ name: r.name, host: r.host, rtype: r.rtype })),
        })),
        name: fw.name,
      })),
    });
    const expectAxfr = goMarshalIndent({
      TTL: config.TTL,
      Serial: snap.serial,
      RefreshSeconds: config.RefreshSeconds,
      Mname: config.SOAMname,
      Rname: config.SOARname,
      Domain: config.Domain,
      Records: { As: records.a, AAAAs: records.aaaa, SRVs: records.srv } as GoValue,
    });
    for (const [path, expected] of [["/v1/enumerate", expectEnum], ["/v1/axfr", expectAxfr]]) {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      const body = await res.text();
      assert.ok(body.length > 300_000, `${path} is large (${body.length})`);
      assert.equal(body, expected, path);
    }
    // A client that goes away mid-body does not disturb the server.
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/enumerate`);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(await fetch(`http://127.0.0.1:${server.port}/v1/axfr`).then((r) => r.text()), expectAxfr);
  } finally {
    await server.close();
  }
});

Deno.test("go_json chunks: a lazy list of unknown length is written as the same array would be", () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i, inner: [i, `s${i}`] }));
  for (const n of [0, 1, 2, 500]) {
    const list = () => new GoLazyList(items(n)[Symbol.iterator]());
    for (const size of [1, 64, 1 << 20]) {
      assert.equal(
        [...goMarshalIndentChunks({ a: list(), b: [list(), list()] }, " ", " ", size)].join(""),
        goMarshalIndent({ a: items(n), b: [items(n), items(n)] }),
        `${n} items, pieces of ${size}`,
      );
    }
    assert.equal(goMarshalIndent(list()), goMarshalIndent(items(n)));
  }
});

Deno.test("http: the record store's /v1/enumerate, made task by task as it is written, is the text of the whole view", () => {
  const state = generateDocument({ frameworks: 3, agents: 8, tasks: 400, seed: 12 });
  state.leader = "master@10.0.0.1:5050";
  const store = new RecordStore({
    options: {
      domain: "mesos",
      enforceRFC952: false,
      ipSources: ["netinfo", "mesos", "host"],
      soaMname: "ns1.mesos.",
      healthAware: false,
    },
    nameServerIPs: ["198.51.100.53"],
  });
  const rs = store.snapshot(state, ["10.0.0.1:5050"], new Map()).records;
  // A task added twice to another app's names, so that some records are listed by one task only.
  const up = store.delta({ tasks: [{ ...state.frameworks![0].tasks![0], id: "copy.1" }] })!.records;
  for (const records of [rs, up]) {
    assert.ok(records.enumerateLazily);
    const whole = { ...records, enumerateLazily: undefined, frameworks: records.frameworks };
    const want = [...(enumerateResponse(whole).body as Iterable<string>)].join("");
    const body = enumerateResponse(records).body as Iterable<string>;
    // Twice: each reading of the body starts afresh.
    assert.equal([...body].join(""), want);
    assert.equal([...body].join(""), want);
    assert.ok(want.length > 50_000);
  }
});
