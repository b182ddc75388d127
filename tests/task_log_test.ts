/**
 * The task log (src/records/task_log.ts): a Map's order under random changes, and views that
 * keep what they saw while the log changes on, through chunk copies and compactions.
 */
import assert from "node:assert/strict";
import { TaskLog } from "../src/records/task_log.ts";

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("task log: keeps a Map's order and contents under random sets and deletes", () => {
  const r = rng(7);
  const log = new TaskLog<number>();
  const map = new Map<string, number>();
  const views: { seen: number[]; view: { values(): Iterable<number> } }[] = [];
  for (let step = 0; step < 20000; step++) {
    const key = `t${Math.floor(r() * 3000)}`;
    // Deletes outweigh sets in the middle stretch, so that holes pile up and compactions happen.
    const deleting = r() < (step > 6000 && step < 14000 ? 0.7 : 0.3);
    if (deleting) {
      assert.equal(log.delete(key), map.delete(key));
    } else {
      log.set(key, step);
      map.set(key, step);
    }
    if (step % 997 === 0) views.push({ seen: [...map.values()], view: log.view() });
  }
  assert.equal(log.size, map.size);
  assert.deepEqual([...log.keys()], [...map.keys()]);
  assert.deepEqual([...log.values()], [...map.values()]);
  for (const key of ["t1", "t2", "t2999", "none"]) {
    assert.equal(log.get(key), map.get(key));
    assert.equal(log.has(key), map.has(key));
  }
  // Every view still lists what the log held when it was taken.
  assert.ok(views.length > 10);
  for (const { seen, view } of views) assert.deepEqual([...view.values()], seen);
});

Deno.test("task log: a view is not changed by a write to a chunk it holds, nor by an append to its last chunk", () => {
  const log = new TaskLog<string>();
  for (let i = 0; i < 600; i++) log.set(`k${i}`, `v${i}`);
  const before = log.view();
  log.set("k5", "changed");
  log.delete("k6");
  log.set("k600", "appended");
  const after = [...log.values()];
  assert.deepEqual([...before.values()], Array.from({ length: 600 }, (_, i) => `v${i}`));
  assert.equal(after[5], "changed");
  assert.equal(after.length, 600);
  assert.equal(after.at(-1), "appended");
  assert.ok(!after.includes("v6"));
});
