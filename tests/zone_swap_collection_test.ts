// The UDP worker's collection after a zone swap: a young-generation collection when only the
// top layer is new (every update), a full one when the base layer changed (a whole build) and
// every SWAPS_PER_FULL_COLLECTION swaps, none for the first zone.
import assert from "node:assert/strict";
import { FlatZone } from "../src/dns/flat_zone.ts";
import { buildZoneAnswers, updateZoneAnswers } from "../src/dns/zone_answers.ts";
import { collectionAfterSwap, SWAPS_PER_FULL_COLLECTION } from "../src/dns/zone_swap_collection.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { testConfig } from "./helpers/test_config.ts";

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
