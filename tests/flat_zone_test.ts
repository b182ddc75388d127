/**
 * The flat zone's renderings (src/dns/flat_zone.ts): a name with more records than a
 * reply can hold is cut to what fits without rendering it whole, and the cut is the same,
 * rotation by rotation, as rendering whole and cutting at record boundaries.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dnsPacket } from "../src/dns/packet.ts";
import { buildZoneAnswers } from "../src/dns/zone_answers.ts";
import { questionWire, truncateMessage, TYPE_A, TYPE_SRV } from "../src/dns/wire.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { testConfig } from "./helpers/test_config.ts";

function zoneWithBigNames(n: number) {
  const b = new RecordSetBuilder("mesos");
  for (let i = 0; i < n; i++) {
    const target = `web-${i}-abcde-s${i % 7}.marathon.slave.mesos.`;
    b.add("A", "web.marathon.mesos.", `10.1.${i >> 8}.${i & 0xff}`);
    b.add("SRV", "_web._tcp.marathon.mesos.", `${target}:${31000 + i}`);
    b.add("A", target, `10.2.${i >> 8}.${i & 0xff}`);
  }
  b.add("SRV", "_small._tcp.marathon.mesos.", "web-1-abcde-s1.marathon.slave.mesos.:80");
  b.add("SRV", "_small._tcp.marathon.mesos.", "web-2-abcde-s2.marathon.slave.mesos.:80");
  const snap = new SnapshotHolder().publish(b.build(null));
  return buildZoneAnswers(snap, testConfig()).flat;
}

Deno.test("a reply cut to size holds the same records as the whole rendering cut at record boundaries", () => {
  const flat = zoneWithBigNames(300);
  for (
    const [name, qtype] of [["web.marathon.mesos", TYPE_A], ["_web._tcp.marathon.mesos", TYPE_SRV]] as const
  ) {
    const id = flat.answer(flat.findName(name), qtype);
    assert.ok(id >= 0, name);
    const question = questionWire(name, qtype)!;
    // Each rendering serves the next rotation: 0, 1, 2, ... across the sizes below.
    let rotation = 0;
    for (const room of [512 - 11, 1232, 4096 - 11]) {
      const out = new Uint8Array(65535);
      // The question is the caller's to write: the cut leaves it as it is.
      out.set(question, 12);
      for (let k = 0; k < 305; k++) {
        const len = flat.renderAnswersCut(id, out, room);
        assert.ok(len > 0 && len <= room, `${name} room ${room}: cut length ${len}`);
        const expected = truncateMessage(flat.render(id, rotation++ % 300, question), room, false);
        assert.deepEqual(out.subarray(0, len), expected, `${name} room ${room} rotation ${k}`);
        // Answers only: the cut drops every additional record.
        assert.equal((out[10] << 8) | out[11], 0);
        assert.ok(((out[6] << 8) | out[7]) > 1 && ((out[6] << 8) | out[7]) < 300);
      }
    }
  }
});

Deno.test("a reply whose answer records fit is not cut here (the caller renders it whole)", () => {
  const flat = zoneWithBigNames(300);
  const small = flat.answer(flat.findName("_small._tcp.marathon.mesos"), TYPE_SRV);
  assert.equal(flat.renderAnswersCut(small, new Uint8Array(65535), 512 - 11), -1);
  // All 300 SRV records fit over TCP; their additional records do not all fit in 20,000 bytes.
  const big = flat.answer(flat.findName("_web._tcp.marathon.mesos"), TYPE_SRV);
  assert.equal(flat.renderAnswersCut(big, new Uint8Array(65535), 65535), -1);
});

Deno.test("an SRV answer past compression range names each additional record's owner in full, as its target", () => {
  const flat = zoneWithBigNames(300);
  const name = "_web._tcp.marathon.mesos";
  const id = flat.answer(flat.findName(name), TYPE_SRV);
  const question = questionWire(name, TYPE_SRV)!;
  const bytes = flat.render(id, 7, question);
  const msg = dnsPacket.decode(Buffer.from(bytes));
  assert.equal(msg.answers?.length, 300);
  // Over 16 KiB of SRV records (owner pointer, fields, target in full): the owners past them
  // cannot be pointers to the targets, so each is written in full (its wire length + 14).
  const wire = (n: string) => n.length + 2;
  // deno-lint-ignore no-explicit-any
  const srvBytes = msg.answers!.reduce((sum, a) => sum + 2 + 10 + 6 + wire((a as any).data.target), 0);
  assert.ok(srvBytes > 0x4000);
  const fullOwners = msg.additionals!.reduce((sum, a) => sum + wire(a.name) + 10 + 4, 0);
  assert.equal(bytes.length, 12 + question.length + srvBytes + fullOwners);
  // deno-lint-ignore no-explicit-any
  const targets = new Set(msg.answers!.map((a) => (a as any).data.target as string));
  assert.equal(msg.additionals?.length, 300);
  for (const ar of msg.additionals!) {
    assert.ok(targets.has(ar.name), ar.name);
    const i = Number(/^web-(\d+)-/.exec(ar.name)![1]);
    assert.equal(ar.type, "A");
    assert.equal((ar as { data?: unknown }).data, `10.2.${i >> 8}.${i & 0xff}`);
  }
});
