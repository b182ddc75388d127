/**
 * The allocation-free query path: the byte-keyed name table, the plain-query reader,
 * and that the responder answers every request exactly as the general path does
 * (hand-picked questions and a few thousand mutated ones), and that it allocates nothing.
 */
import assert from "node:assert/strict";
import { Forwarder } from "../src/dns/forwarder.ts";
import { hashWireName, NameIndex } from "../src/dns/name_index.ts";
import { parseQuery, PlainQuery, scanPlainQuery } from "../src/dns/query.ts";
import { Responder } from "../src/dns/respond.ts";
import { nameToWire } from "../src/dns/wire.ts";
import type { Config } from "../src/config/types.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";

/** The wire form of `name` inside a buffer with other bytes around it. */
function embedded(name: string): { b: Uint8Array; from: number; to: number } {
  const w = nameToWire(name)!;
  const b = new Uint8Array(w.length + 7).fill(0x41);
  b.set(w, 3);
  return { b, from: 3, to: 3 + w.length };
}

Deno.test("name index: finds names in any letter case, misses others, first duplicate wins", () => {
  const names: string[] = [];
  for (let i = 0; i < 5000; i++) names.push(`task-${i}.marathon.mesos`);
  names.push("mesos", "task-7.marathon.mesos", "x".repeat(64) + ".mesos");
  const { index, kept } = NameIndex.build(names);
  assert.deepEqual(
    kept,
    names.slice(0, 5001).map((_, i) => i),
    "the duplicate and the 64-octet label are left out",
  );
  for (const [n, name] of names.slice(0, 5001).entries()) {
    for (const asked of [name, name.toUpperCase()]) {
      const { b, from, to } = embedded(asked);
      assert.equal(index.find(b, from, to, hashWireName(b, from, to)), n, asked);
    }
    assert.equal(index.findName(name), n);
  }
  for (const absent of ["task-5000.marathon.mesos", "marathon.mesos", "task-1.marathon.mesos.mesos", "sos"]) {
    const { b, from, to } = embedded(absent);
    assert.equal(index.find(b, from, to, hashWireName(b, from, to)), -1, absent);
    assert.equal(index.findName(absent), -1);
  }
  // A name with the right hash but different bytes is not confused with it.
  const { b, from, to } = embedded("task-1.marathon.mesos");
  assert.equal(index.find(b, from, to, hashWireName(embedded("task-2.marathon.mesos").b, 3, to)), -1);
  // The tables are shared memory, so a worker can read the same index.
  assert.ok(index.parts.slots.buffer instanceof SharedArrayBuffer);
});

/** The OPT the reader saw (a call, so that the type checker does not narrow it between reads). */
const ednsOf = (q: PlainQuery) => q.edns;

Deno.test("plain query reader: the common shape only, fields as the general parser reads them", () => {
  const q = new PlainQuery();
  const plain = buildQuery("Web.Marathon.mesos.", "SRV", { id: 77 });
  assert.ok(scanPlainQuery(plain, plain.length, q));
  const general = parseQuery(plain);
  assert.equal(general.kind, "query");
  if (general.kind !== "query") return;
  assert.equal(q.qnameEnd, general.query.qnameEnd);
  assert.equal(q.qEnd, general.query.qEnd);
  assert.equal(q.qtype, 33);
  assert.equal(q.qclass, 1);
  assert.equal(q.edns, undefined);
  assert.equal(q.hash, hashWireName(nameToWire("web.marathon.mesos")!, 0, q.qnameEnd - 12));

  const withOpt = buildQuery("a.mesos.", "A", { edns: 1232 });
  assert.ok(scanPlainQuery(withOpt, withOpt.length, q));
  assert.deepEqual({ ...ednsOf(q) }, { udpSize: 1232, version: 0, dnssecOk: false });
  withOpt[withOpt.length - 4] = 0x80; // the DO bit
  assert.ok(scanPlainQuery(withOpt, withOpt.length, q));
  assert.equal(ednsOf(q)?.dnssecOk, true);
  // Only the first `len` bytes are the request.
  const padded = new Uint8Array(600);
  padded.set(plain);
  assert.ok(scanPlainQuery(padded, plain.length, q));
  assert.ok(!scanPlainQuery(padded, plain.length - 1, q));

  const variant = (edit: (b: Uint8Array) => void, base = plain) => {
    const b = base.slice();
    edit(b);
    return b;
  };
  const others: Record<string, Uint8Array> = {
    "a response": variant((b) => b[2] |= 0x80),
    "opcode STATUS": variant((b) => b[2] |= 2 << 3),
    "two questions": variant((b) => b[5] = 2),
    "an answer record": variant((b) => b[7] = 1),
    "an authority record": variant((b) => b[9] = 1),
    "two additional records": variant((b) => b[11] = 2),
    "a compressed name": variant((b) => b[12] = 0xc0),
    "a label over 63": variant((b) => b[12] = 64),
    "a cut question": plain.slice(0, plain.length - 1),
    "a header only": plain.slice(0, 12),
    "EDNS version 1": variant((b) => b[b.length - 5] = 1, withOpt),
    "an additional that is not OPT": variant((b) => b[b.length - 9] = 1, withOpt),
    "an OPT with a name": variant((b) => b[b.length - 11] = 1, withOpt),
    "an OPT cut short": withOpt.slice(0, withOpt.length - 1),
  };
  for (const [what, b] of Object.entries(others)) assert.ok(!scanPlainQuery(b, b.length, q), what);
});

/** Both responders over one snapshot: the allocation-free path and the general parser only. */
function responders(config: Config, records = sampleRecords()) {
  const holder = new SnapshotHolder();
  holder.publish(records);
  const fPlain = new Forwarder(config);
  const fGeneral = new Forwarder(config);
  const plain = new Responder({ config, holder, forwarder: fPlain });
  const general = new Responder({ config, holder, forwarder: fGeneral, plainPath: false });
  return {
    plain,
    general,
    async close() {
      plain.close();
      general.close();
      await fPlain.close();
      await fGeneral.close();
    },
  };
}

/** A reply in a form that ignores the rotation of multi-record answers. */
function normalised(reply: Uint8Array): unknown {
  try {
    const m = decode(reply);
    const sorted = (rs: unknown[] | undefined) => (rs ?? []).map((r) => JSON.stringify(r)).sort();
    // A truncated answer holds the first records of the current rotation: which ones differs.
    if (reply[2] & 0x02) {
      return { length: reply.length, head: [...reply.subarray(0, 12)], questions: m.questions };
    }
    return {
      length: reply.length,
      head: [...reply.subarray(0, 12)],
      questions: m.questions,
      answers: sorted(m.answers),
      authorities: sorted(m.authorities),
      additionals: sorted(m.additionals),
    };
  } catch {
    return { undecodable: [...reply] };
  }
}

function answer(r: Responder, req: Uint8Array, out: Uint8Array): unknown {
  const n = r.respondInto(req, "udp", out);
  if (typeof n !== "number") return "forwarded";
  return n === 0 ? "dropped" : normalised(out.slice(0, n));
}

const NAMES = [
  "chronos.marathon.mesos.",
  "CHRONOS.Marathon.MESOS.",
  "web.marathon.mesos.",
  "v6only.marathon.mesos.",
  "_car-store._udp.marathon.mesos.",
  "_web._tcp.marathon.mesos.",
  "big.marathon.mesos.",
  "bogus.marathon.mesos.",
  "leader.mesos.",
  "mesos.",
  "MESOS.",
  "marathon.mesos.",
  "slave.mesos.",
  "nope.mesos.",
  "nope.marathon.mesos.",
  "chronos.*.mesos.",
  "web.marathon.*.mesos.",
  "*.mesos.",
  "a\\.b.mesos.",
  "chronos.marathon.mesos.example.",
  "xmesos.",
  "esos.",
  "example.com.",
  ".",
];
const TYPES = ["A", "AAAA", "SRV", "ANY", "SOA", "NS", "TXT", "PTR", "AXFR", "MX"];

Deno.test("responder: the allocation-free path answers exactly as the general path", async () => {
  for (const config of [testConfig(), testConfig({ RecurseOn: false, Domain: "Mesos", TTL: 7 })]) {
    const r = responders(config);
    const a = new Uint8Array(65535);
    const b = new Uint8Array(65535);
    try {
      let compared = 0;
      for (const name of NAMES) {
        for (const type of TYPES) {
          for (
            const opts of [{}, { edns: 4096 }, { edns: 100 }, { rd: false, cd: true }, { qclass: "ANY" }]
          ) {
            const req = buildQuery(name, type, { id: 4321, ...opts });
            assert.deepEqual(
              answer(r.plain, req, a),
              answer(r.general, req, b),
              `${name} ${type} ${JSON.stringify(opts)}`,
            );
            compared++;
          }
        }
        const ch = buildQuery(name, "A", { qclass: "CH" });
        assert.deepEqual(answer(r.plain, ch, a), answer(r.general, ch, b), `${name} CH`);
      }
      assert.equal(compared, NAMES.length * TYPES.length * 5);
    } finally {
      await r.close();
    }
  }
});

Deno.test("responder: mutated requests get the same answer from both paths", async () => {
  const r = responders(testConfig());
  const a = new Uint8Array(65535);
  const b = new Uint8Array(65535);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  try {
    const bases = NAMES.slice(0, 14).flatMap((
      n,
    ) => [buildQuery(n, "A"), buildQuery(n, "SRV", { edns: 1400 })]);
    let plainShaped = 0;
    const q = new PlainQuery();
    for (let i = 0; i < 4000; i++) {
      const req = bases[rand(bases.length)].slice();
      for (let k = 1 + rand(3); k > 0; k--) {
        req[rand(req.length)] = rand(4) === 0 ? rand(256) : req[rand(req.length)] ^ (1 << rand(8));
      }
      if (scanPlainQuery(req, req.length, q)) plainShaped++;
      const x = answer(r.plain, req, a);
      const y = answer(r.general, req, b);
      if (x === "forwarded" || y === "forwarded") assert.equal(x, y);
      else assert.deepEqual(x, y, `request ${[...req]}`);
    }
    assert.ok(plainShaped > 1000, `${plainShaped} of the mutated requests took the allocation-free path`);
  } finally {
    await r.close();
  }
});

Deno.test("responder: names under a ZoneResolvers zone inside the domain are still forwarded", async () => {
  const config = testConfig({
    ExternalOn: true,
    Timeout: 1,
    ZoneResolvers: { "sub.marathon.mesos": ["127.0.0.1:9"] },
  });
  const b = new RecordSetBuilder("mesos");
  b.add("A", "x.sub.marathon.mesos.", "10.0.0.1");
  b.add("A", "y.marathon.mesos.", "10.0.0.2");
  const r = responders(config, b.build(null));
  try {
    const out = new Uint8Array(65535);
    const forwarded = r.plain.respondInto(buildQuery("x.sub.marathon.mesos.", "A"), "udp", out);
    assert.equal(typeof forwarded, "object", "forwarded to the zone's resolver");
    assert.equal(answer(r.plain, buildQuery("y.marathon.mesos.", "A"), out) !== "forwarded", true);
    await r.close();
    await forwarded;
  } finally {
    await r.close();
  }
});

Deno.test("responder: a plain query allocates nothing (the heap does not move in 600,000 answers)", async () => {
  const r = responders(testConfig());
  try {
    const reqs = [
      "chronos.marathon.mesos.",
      "web.marathon.mesos.",
      "nope.mesos.",
      "_web._tcp.marathon.mesos.",
    ]
      .map((n, i) => buildQuery(n, i === 3 ? "SRV" : "A", { edns: 1232 }));
    const out = new Uint8Array(65535);
    let bytes = 0;
    const run = (n: number) => {
      for (let i = 0; i < n; i++) bytes += r.plain.respondInto(reqs[i & 3], "udp", out) as number;
    };
    run(50_000); // optimised code first
    // Garbage would make the used heap climb between collections and fall at each one:
    // 50,000 answers × even 8 bytes each would move it by 400 KB between two samples.
    const used: number[] = [];
    for (let k = 0; k < 12; k++) {
      run(50_000);
      used.push(Deno.memoryUsage().heapUsed);
    }
    assert.ok(bytes > 650_000 * 40);
    // A fall is a collection of earlier garbage (the warm-up's, or another test's), so only
    // climbs count (seen in CI: one fall of 2.5 MB between flat samples); one climb alone is
    // the runtime's own (seen: 288 KB once between samples of 232 bytes), garbage per answer
    // climbs in every step.
    const steps = used.slice(3).map((u, i) => u - used[i + 2]);
    const sorted = [...steps].sort((a, b) => a - b);
    assert.ok(
      sorted[sorted.length - 2] < 128 * 1024,
      `the used heap moved by ${steps.join(", ")} bytes between samples`,
    );
  } finally {
    await r.close();
  }
});
