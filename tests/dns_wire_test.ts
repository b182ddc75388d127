/**
 * Pure pieces of the DNS server: request parsing (the OPT of a request without a
 * question too), wire helpers, truncation, matching an upstream reply's question, the
 * responder writing replies into a reused caller buffer (byte for byte what `respond`
 * returns, whatever the buffer held before), and the time to precompute the answers
 * for a large cluster (10,000 tasks).
 */
import assert from "node:assert/strict";
import { Forwarder } from "../src/dns/forwarder.ts";
import { parseQuery } from "../src/dns/query.ts";
import { MIN_REPLY_BUFFER, Responder } from "../src/dns/respond.ts";
import { questionOf, sameQuestion } from "../src/dns/upstream_udp.ts";
import { nameToWire, questionWire, truncateMessage } from "../src/dns/wire.ts";
import { ipv4Bytes, ipv4Number, ipv6Bytes, parseIP } from "../src/net/ip.ts";
import { buildZoneAnswers } from "../src/dns/zone_answers.ts";
import { writeAnswer } from "../src/dns/zone_reply.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { buildQuery, decode } from "./helpers/dns_client.ts";
import { sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";

Deno.test("parseQuery: lower-cased name, type, class, EDNS", () => {
  const r = parseQuery(buildQuery("WeB.Marathon.MESOS.", "SRV", { id: 5, edns: 1400 }));
  assert.equal(r.kind, "query");
  if (r.kind !== "query") return;
  const q = r.query;
  assert.equal(q.id, 5);
  assert.equal(q.name, "web.marathon.mesos");
  assert.equal(q.qtype, 33);
  assert.equal(q.qclass, 1);
  assert.equal(q.qnameEnd, 12 + 20);
  assert.equal(q.qEnd, 12 + 24);
  assert.deepEqual(q.edns, { udpSize: 1400, version: 0, dnssecOk: false });
  const root = parseQuery(buildQuery(".", "NS"));
  assert.ok(root.kind === "query" && root.query.name === "");
});

Deno.test("parseQuery: a dot or backslash inside a label cannot alias another name", () => {
  // One label "a.mesos" (with a dot byte) must not look like the two labels a, mesos.
  const req = new Uint8Array([
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    7,
    ...new TextEncoder().encode("a.mesos"),
    0,
    0,
    1,
    0,
    1,
  ]);
  const r = parseQuery(req);
  assert.ok(r.kind === "query");
  assert.equal(r.query.name, "a\\046mesos");
});

Deno.test("parseQuery: drops, FORMERR and NOTIMP", () => {
  assert.equal(parseQuery(new Uint8Array(11)).kind, "drop");
  const resp = buildQuery("a.mesos.", "A");
  resp[2] |= 0x80;
  assert.equal(parseQuery(resp).kind, "drop");
  const twoOpt = buildQuery("a.mesos.", "A", { edns: 512 });
  const opt = twoOpt.subarray(twoOpt.length - 11);
  const doubled = new Uint8Array([...twoOpt, ...opt]);
  doubled[11] = 2;
  const r = parseQuery(doubled);
  assert.ok(r.kind === "error" && r.rcode === 1);
  const truncated = parseQuery(buildQuery("a.mesos.", "A").subarray(0, 20));
  assert.ok(truncated.kind === "error" && truncated.rcode === 1);
  const notify = buildQuery("a.mesos.", "SOA");
  notify[2] = 4 << 3;
  const n = parseQuery(notify);
  assert.ok(n.kind === "error" && n.rcode === 4 && n.query?.name === "a.mesos");
});

Deno.test("parseQuery: the OPT of a request without a question is read for the error reply", () => {
  // QDCOUNT 0, ARCOUNT 1: an OPT advertising 1232 bytes with DO set.
  const req = new Uint8Array([0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 0]);
  const r = parseQuery(req);
  assert.ok(r.kind === "error");
  assert.equal(r.rcode, 1);
  assert.equal(r.query, undefined);
  assert.deepEqual(r.edns, { udpSize: 1232, version: 0, dnssecOk: true });
  // Without the OPT: none to echo; a cut-off OPT: none either.
  const bare = parseQuery(req.subarray(0, 12).map((b, i) => i === 11 ? 0 : b));
  assert.ok(bare.kind === "error" && bare.edns === undefined);
  const cut = parseQuery(req.subarray(0, 20));
  assert.ok(cut.kind === "error" && cut.edns === undefined);
  // Another opcode with a question and an OPT: NOTIMP, OPT read.
  const notify = buildQuery("a.mesos.", "SOA", { edns: 1400 });
  notify[2] = 4 << 3;
  const n = parseQuery(notify);
  assert.ok(n.kind === "error" && n.rcode === 4 && n.edns?.udpSize === 1400);
});

Deno.test("questionOf and sameQuestion: name case-insensitive, type and class exact", () => {
  const q = buildQuery("www.Example.org.", "A");
  const question = questionOf(q)!;
  assert.equal(question.length, "www.Example.org".length + 2 + 4);
  const reply = q.slice();
  assert.ok(sameQuestion(reply, question));
  for (let i = 12; i < 12 + question.length - 4; i++) {
    if (reply[i] >= 0x61 && reply[i] <= 0x7a) reply[i] -= 0x20;
  }
  assert.ok(sameQuestion(reply, question), "WWW.EXAMPLE.ORG matches");
  const otherType = q.slice();
  otherType[12 + question.length - 3] = 28;
  assert.ok(!sameQuestion(otherType, question), "AAAA is another question");
  const otherName = q.slice();
  otherName[13] = 0x78;
  assert.ok(!sameQuestion(otherName, question));
  const noQuestion = q.slice(0, 12);
  assert.ok(!sameQuestion(noQuestion, question));
  const qd0 = q.slice();
  qd0[5] = 0;
  assert.ok(!sameQuestion(qd0, question), "QDCOUNT 0");
  // Type 65 (0x41) and 97 (0x61) must not compare equal by case folding.
  const t65 = buildQuery("a.org.", "HTTPS");
  const t97 = t65.slice();
  t97[t97.length - 3] = 97;
  assert.ok(!sameQuestion(t97, questionOf(t65)!));
  assert.equal(questionOf(q.subarray(0, 14)), undefined);
});

Deno.test("respondInto writes the same reply as respond into a dirty, reused buffer", async () => {
  const holder = new SnapshotHolder();
  holder.publish(sampleRecords());
  const config = testConfig();
  const forwarder = new Forwarder(config);
  const responder = new Responder({ config, holder, forwarder });
  try {
    const udp = new Uint8Array(MIN_REPLY_BUFFER.udp);
    const tcp = new Uint8Array(MIN_REPLY_BUFFER.tcp);
    const noQuestionOpt = new Uint8Array([
      0,
      9,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      41,
      4,
      208,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    const requests: Uint8Array[] = [
      buildQuery("chronos.marathon.mesos.", "A", { id: 1 }),
      buildQuery("ChRoNoS.marathon.mesos.", "A", { id: 2, edns: 1232 }),
      buildQuery("missing.mesos.", "A", { id: 3 }),
      buildQuery("missing.mesos.", "A", { id: 4, edns: 1232 }),
      buildQuery("chronos.marathon.mesos.", "AAAA", { id: 5, cd: true }),
      buildQuery("mesos.", "SOA", { id: 6 }),
      buildQuery("www.example.org.", "A", { id: 7 }),
      buildQuery("mesos.", "AXFR", { id: 8 }),
      buildQuery("leader.*.mesos.", "A", { id: 9 }),
      noQuestionOpt,
      new Uint8Array([0, 10, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 1, 2]),
    ];
    for (const req of requests) {
      for (const [out, transport] of [[udp, "udp"], [tcp, "tcp"]] as const) {
        const want = responder.respond(req, transport);
        assert.ok(want instanceof Uint8Array);
        out.fill(0xa5);
        const n = responder.respondInto(req, transport, out);
        assert.equal(typeof n, "number");
        assert.deepEqual(out.subarray(0, n as number), want, `${transport} reply to request ${req[1]}`);
      }
    }
    // Truncation into the buffer: the 60-record answer cut to 512 bytes over UDP.
    udp.fill(0xff);
    const n = responder.respondInto(buildQuery("big.marathon.mesos.", "A"), "udp", udp) as number;
    assert.ok(n <= 512 && (udp[2] & 0x02) !== 0);
    assert.ok(decode(udp.slice(0, n)).answers!.length > 0);
    // A dropped request writes nothing; a buffer too small for the transport is refused.
    const response = buildQuery("a.mesos.", "A");
    response[2] |= 0x80;
    assert.equal(responder.respondInto(response, "udp", udp), 0);
    assert.throws(() => responder.respondInto(requests[0], "tcp", udp), RangeError);
  } finally {
    responder.close();
    await forwarder.close();
  }
});

Deno.test("wire helpers: names and addresses", () => {
  assert.deepEqual([...nameToWire("ab.c.")!], [2, 97, 98, 1, 99, 0]);
  assert.deepEqual([...nameToWire("")!], [0]);
  assert.equal(nameToWire("a..b"), undefined);
  assert.equal(nameToWire("x".repeat(64) + ".mesos"), undefined);
  assert.equal(nameToWire("é.mesos"), undefined);
  assert.deepEqual([...ipv4Bytes("10.0.255.1")!], [10, 0, 255, 1]);
  assert.equal(ipv4Number("10.0.255.1"), 0x0a00ff01);
  assert.equal(ipv4Number("255.255.255.255"), 0xffffffff);
  for (
    const bad of [
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "1..2.3",
      "a.b.c.d",
      " 1.2.3.4",
      "1234.1.1.1",
      "01.2.3.4",
    ]
  ) {
    assert.equal(ipv4Bytes(bad), undefined, bad);
    assert.equal(ipv4Number(bad), -1, bad);
  }
  assert.deepEqual([...ipv6Bytes("2001:db8::1")!], [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...ipv6Bytes("::")!], new Array(16).fill(0));
  assert.deepEqual([...ipv6Bytes("::ffff:1.2.3.4")!].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", ":", "1.2.3.4", "fe80::1%eth0"]) {
    assert.equal(ipv6Bytes(bad), undefined, bad);
  }
});

Deno.test("truncateMessage: whole records only, OPT kept, TC set", () => {
  const b = new RecordSetBuilder("mesos");
  for (let i = 0; i < 40; i++) b.add("A", "many.mesos.", `10.0.0.${i}`);
  const holder = new SnapshotHolder();
  const zone = buildZoneAnswers(holder.publish(b.build(null)), testConfig());
  const full = zone.flat.render(
    zone.flat.answer(zone.flat.findName("many.mesos"), 1),
    0,
    questionWire("many.mesos", 1)!,
  );
  assert.equal(full.length, 12 + 12 + 4 + 40 * 16);
  const cut = truncateMessage(full, 200, true);
  assert.ok(cut.length <= 200);
  const m = decode(cut);
  assert.equal(m.answers?.length, Math.floor((200 - 28) / 16));
  assert.ok((cut[2] & 0x02) !== 0);
  assert.equal(truncateMessage(full, 2000, true), full, "fits: unchanged");
  // With an OPT record at the end: it survives the cut.
  const withOpt = new Uint8Array([...full, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
  withOpt[11] = 1;
  const cutOpt = truncateMessage(withOpt, 200, true);
  assert.ok(cutOpt.length <= 200);
  const mo = decode(cutOpt);
  assert.equal(mo.answers?.length, Math.floor((200 - 28 - 11) / 16));
  assert.deepEqual(mo.additionals?.map((a) => a.type), ["OPT"]);
  const noTc = truncateMessage(full, 200, false);
  assert.equal(noTc[2] & 0x02, 0);
});

Deno.test("precomputing answers for 10,000 tasks: every name indexed, SRV answers with their glue", () => {
  const b = new RecordSetBuilder("mesos");
  for (let t = 0; t < 10000; t++) {
    const app = `app${t % 1000}`;
    const ip = `10.${(t >> 16) & 255}.${(t >> 8) & 255}.${t & 255}`;
    const agent = `192.168.${(t >> 8) & 15}.${t & 255}`;
    const uniq = `${app}-x${t}-s${t % 50}`;
    b.add("A", `${app}.marathon.mesos.`, ip);
    b.add("A", `${uniq}.marathon.mesos.`, ip);
    b.add("A", `${app}.marathon.slave.mesos.`, agent);
    b.add("A", `${uniq}.marathon.slave.mesos.`, agent);
    b.add("SRV", `_${app}._tcp.marathon.mesos.`, `${uniq}.marathon.mesos.:${31000 + (t % 1000)}`);
    b.add("SRV", `_${app}._tcp.marathon.slave.mesos.`, `${uniq}.marathon.slave.mesos.:${31000 + (t % 1000)}`);
    b.add("SRV", `_${app}._udp.marathon.slave.mesos.`, `${uniq}.marathon.slave.mesos.:${31000 + (t % 1000)}`);
  }
  const snap = new SnapshotHolder().publish(b.build(null));
  const zone = buildZoneAnswers(snap, testConfig());
  assert.ok(zone.flat.size > 25000);
  const flat = zone.flat;
  const srv = decode(
    flat.render(
      flat.answer(flat.findName("_app7._tcp.marathon.mesos"), 33),
      0,
      questionWire("_app7._tcp.marathon.mesos", 33)!,
    ),
  );
  assert.equal(srv.answers?.length, 10);
  assert.equal(srv.additionals?.length, 10);
});

Deno.test("ipv4Number agrees with parseIP on every octet form", () => {
  for (
    const s of ["0.0.0.0", "1.2.3.4", "10.0.255.1", "255.255.255.255", "01.2.3.4", "1.2.3.04", "1.2.3.256"]
  ) {
    const p = parseIP(s);
    const expected = p?.kind === "A" ? p.text.split(".").reduce((n, o) => n * 256 + Number(o), 0) : -1;
    assert.equal(ipv4Number(s), expected, s);
  }
});

Deno.test("_tcp and _udp twins with the same SRV values share one stored answer; replies name the name asked", () => {
  const b = new RecordSetBuilder("mesos");
  for (let t = 0; t < 3; t++) {
    b.add("A", `web-x${t}.marathon.mesos.`, `10.0.0.${t + 1}`);
    for (const proto of ["_tcp", "_udp"]) {
      b.add("SRV", `_web.${proto}.marathon.mesos.`, `web-x${t}.marathon.mesos.:${31000 + t}`);
    }
  }
  // Not twins: different values.
  b.add("SRV", "_db._tcp.marathon.mesos.", "web-x0.marathon.mesos.:5432");
  b.add("SRV", "_db._udp.marathon.mesos.", "web-x1.marathon.mesos.:5432");
  const holder = new SnapshotHolder();
  const snap = holder.publish(b.build(null));
  const config = testConfig();
  const flat = buildZoneAnswers(snap, config).flat;
  const idOf = (name: string) => flat.answer(flat.findName(name), 33);
  assert.equal(idOf("_web._udp.marathon.mesos"), idOf("_web._tcp.marathon.mesos"), "one answer for both");
  assert.notEqual(idOf("_db._udp.marathon.mesos"), idOf("_db._tcp.marathon.mesos"));
  const responder = new Responder({ config, holder, forwarder: new Forwarder(config) });
  try {
    const ask = (name: string) => {
      const reply = responder.respond(buildQuery(name, "SRV"), "udp");
      assert.ok(reply instanceof Uint8Array, name);
      return decode(reply);
    };
    for (const name of ["_web._tcp.marathon.mesos", "_web._udp.marathon.mesos", "_WEB._Udp.marathon.mesos"]) {
      const m = ask(name);
      assert.equal(m.answers?.length, 3, name);
      for (const rr of m.answers ?? []) assert.equal(rr.name, name, `owner of ${name}`);
      assert.deepEqual(
        (m.answers ?? []).map((rr) => ((rr as { data?: { port: number } }).data)!.port).sort(),
        [31000, 31001, 31002],
      );
      assert.equal(m.additionals?.length, 3, `${name}: the targets' addresses`);
    }
    // The `.*` form is answered by re-encoding the stored answer: its records are the asked twin's.
    const wild = ask("_web._udp.marathon.*.mesos");
    assert.equal(wild.answers?.length, 3);
    for (const rr of wild.answers ?? []) assert.equal(rr.name, "_web._udp.marathon.mesos");
  } finally {
    responder.close();
  }
});

Deno.test("a reply whose answers fit but whose additional records do not is cut after them, with the question as asked", () => {
  const b = new RecordSetBuilder("mesos");
  for (let i = 0; i < 6; i++) {
    const target = `a-rather-long-target-name-number-${i}.marathon.slave.mesos.`;
    b.add("SRV", "_web._tcp.marathon.mesos.", `${target}:${31000 + i}`);
    b.add("A", target, `10.0.0.${i + 1}`);
    b.add("AAAA", target, `fd00::${i + 1}`);
  }
  const zone = buildZoneAnswers(new SnapshotHolder().publish(b.build(null)), testConfig());
  const id = zone.flat.answer(zone.flat.findName("_web._tcp.marathon.mesos"), 33);
  // Whole, it is larger than a plain UDP reply; its six answers alone fit.
  assert.ok(zone.flat.length(id) > 512);
  const req = buildQuery("_WEB._tcp.Marathon.mesos.", "SRV", { id: 4242 });
  const r = parseQuery(req);
  assert.equal(r.kind, "query");
  if (r.kind !== "query") return;
  const out = new Uint8Array(65535).fill(0xee);
  const len = writeAnswer(zone.flat, id, req, r.query, 512, true, out);
  assert.ok(len <= 512, `${len}`);
  const msg = decode(out.subarray(0, len));
  assert.equal(msg.id, 4242);
  assert.deepEqual(msg.questions, [{ name: "_WEB._tcp.Marathon.mesos", type: "SRV", class: "IN" }]);
  assert.equal(msg.answers?.length, 6);
  assert.ok((msg.additionals?.length ?? 0) < 12);
  for (const rr of msg.answers ?? []) assert.equal(rr.name, "_WEB._tcp.Marathon.mesos");
});
