// The UDP worker's collection after a zone swap: a young-generation collection when only the
// top layer is new (every update), a full one when the base layer changed (a whole build) and
// every SWAPS_PER_FULL_COLLECTION swaps or when the main thread asks (the zones replaced hold much
// shared memory: `zone_garbage.ts`), none for the first zone.
import assert from "node:assert/strict";
import { FlatZone } from "../src/dns/flat_zone.ts";
import { buildZoneAnswers, updateZoneAnswers } from "../src/dns/zone_answers.ts";
import { collectionAfterSwap, SWAPS_PER_FULL_COLLECTION } from "../src/dns/zone_swap_collection.ts";
import { droppedZoneBytes, zoneBuffers, ZoneGarbage } from "../src/dns/zone_garbage.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { testConfig } from "./helpers/test_config.ts";
import { Responder } from "../src/dns/respond.ts";
import { Forwarder } from "../src/dns/forwarder.ts";

function records(round: number) {
  const b = new RecordSetBuilder("mesos");
  for (let i = 0; i < 50; i++) b.add("A", `task-${i}.marathon.mesos.`, `10.0.${round}.${i}`);
  return b.build(null);
}

Deno.test("zone swap: a new top layer gets a young collection, a new base a full one", () => {
  const config = testConfig();
  const holder = new SnapshotHolder();
  const base = buildZoneAnswers(holder.publish(records(0)), config);
  const changed = ["task-1.marathon.mesos."];
  const update = updateZoneAnswers(base, holder.publish(records(1), new Date()), config, changed);
  const again = updateZoneAnswers(update, holder.publish(records(2), new Date()), config, changed);
  const rebuilt = buildZoneAnswers(holder.publish(records(3)), config);
  // As the worker gets them: new objects over the shared arrays of each message.
  const [z0, z1, z2, z3] = [base, update, again, rebuilt].map((z) => new FlatZone(z.flat.parts));

  assert.equal(collectionAfterSwap(undefined, z0, 0), "none");
  assert.equal(collectionAfterSwap(z0, z1, 0), "young");
  assert.equal(collectionAfterSwap(z1, z2, 5), "young");
  assert.equal(collectionAfterSwap(z2, z3, 0), "full");
  assert.equal(collectionAfterSwap(z3, undefined, 0), "full");
  assert.equal(collectionAfterSwap(z1, z2, SWAPS_PER_FULL_COLLECTION - 2), "young");
  assert.equal(collectionAfterSwap(z1, z2, SWAPS_PER_FULL_COLLECTION - 1), "full");
  // The layer numbers say which base a zone is over, whatever its serial.
  assert.equal(z1.baseLayer, z0.baseLayer);
  assert.notEqual(z3.baseLayer, z0.baseLayer);
});

Deno.test("zone garbage: a swap drops the buffers the new zone does not read; a full collection is due past the limit", () => {
  const config = testConfig();
  const holder = new SnapshotHolder();
  const base = buildZoneAnswers(holder.publish(records(0)), config);
  const changed = ["task-1.marathon.mesos."];
  // A top layer that goes on from the previous one's buffers, and one that starts afresh.
  const top1 = updateZoneAnswers(base, holder.publish(records(1), new Date()), config, changed);
  const goOn = updateZoneAnswers(top1, holder.publish(records(2), new Date()), config, changed);
  const fresh = updateZoneAnswers(goOn, holder.publish(records(3), new Date()), config, changed, {
    freshTopBytes: 0,
  });
  const rebuilt = buildZoneAnswers(holder.publish(records(4)), config);
  const bytes = (z: typeof base) => [...zoneBuffers(z.flat.parts)].reduce((n, b) => n + b.byteLength, 0);
  const topMessages = (z: typeof base) => z.flat.parts.top!.messages.buffer.byteLength;

  // The base is read by every layered zone: a new top layer drops none of it.
  assert.equal(droppedZoneBytes(base.flat.parts, top1.flat.parts), 0);
  // Going on keeps the previous top layer's answers (only its smaller arrays are dropped);
  // starting afresh drops them.
  assert.ok(zoneBuffers(goOn.flat.parts).has(top1.flat.parts.top!.messages.buffer));
  assert.ok(
    droppedZoneBytes(top1.flat.parts, goOn.flat.parts) <= bytes(top1) - bytes(base) - topMessages(top1),
  );
  assert.ok(!zoneBuffers(fresh.flat.parts).has(goOn.flat.parts.top!.messages.buffer));
  assert.ok(droppedZoneBytes(goOn.flat.parts, fresh.flat.parts) >= topMessages(goOn));
  // A zone built whole drops all of the previous one.
  assert.equal(droppedZoneBytes(fresh.flat.parts, rebuilt.flat.parts), bytes(fresh));

  const wholeZone = bytes(fresh);
  const garbage = new ZoneGarbage(wholeZone + 1);
  assert.equal(garbage.swapped(undefined, base.flat.parts), false);
  assert.equal(garbage.swapped(fresh.flat.parts, rebuilt.flat.parts), false);
  assert.equal(garbage.dropped, wholeZone);
  assert.equal(garbage.swapped(goOn.flat.parts, fresh.flat.parts), true);
  assert.equal(garbage.dropped, 0);
});

Deno.test("zone swap: the main thread's ask for a full collection is followed", () => {
  const config = testConfig();
  const holder = new SnapshotHolder();
  const base = buildZoneAnswers(holder.publish(records(0)), config);
  const next = updateZoneAnswers(base, holder.publish(records(1), new Date()), config, [
    "task-1.marathon.mesos.",
  ]);
  const [z0, z1] = [base, next].map((z) => new FlatZone(z.flat.parts));
  assert.equal(collectionAfterSwap(z0, z1, 0, false), "young");
  assert.equal(collectionAfterSwap(z0, z1, 0, true), "full");
  assert.equal(collectionAfterSwap(undefined, z1, 0, true), "none");
});

Deno.test("responder: tells the zone listeners when the zones it replaced hold enough shared memory", () => {
  const holder = new SnapshotHolder();
  holder.publish(records(0));
  const config = testConfig();
  const zoneBytes = (() => {
    const z = buildZoneAnswers(holder.current()!, config);
    return [...zoneBuffers(z.flat.parts)].reduce((n, b) => n + b.byteLength, 0);
  })();
  // Each whole record set replaces the whole zone: a full collection is due every third swap.
  const responder = new Responder({
    config,
    holder,
    forwarder: new Forwarder(config),
    zoneGarbageBytes: Math.floor(2.5 * zoneBytes),
  });
  const due: boolean[] = [];
  responder.onZone(() => due.push(responder.zoneGarbageDue));
  try {
    for (let round = 1; round <= 6; round++) holder.publish(records(round));
    assert.deepEqual(due, [false, false, true, false, false, true]);
  } finally {
    responder.close();
  }
});
