/**
 * The zone's child counts (src/dns/child_counts.ts): layered maps that agree with a plain map
 * through many updates (top layers merged into new bases included), and that never change
 * once made.
 */
import assert from "node:assert/strict";
import { ChildCounts } from "../src/dns/child_counts.ts";

Deno.test("child counts: each update agrees with a plain map, and earlier maps keep their counts", () => {
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const plain = new Map<string, number>();
  for (let i = 0; i < 2000; i++) plain.set(`n${i}.mesos.`, 1 + (i % 5));
  let counts = ChildCounts.of(new Map(plain));
  const kept: { counts: ChildCounts; was: [string, number][] }[] = [];
  let merges = 0;
  for (let step = 0; step < 300; step++) {
    const changes = new Map<string, number>();
    for (let j = 0; j < 20; j++) {
      const key = `n${Math.floor(next() * 4000)}.mesos.`;
      const n = next() < 0.4 ? 0 : Math.floor(next() * 9);
      changes.set(key, n);
      if (n > 0) plain.set(key, n);
      else plain.delete(key);
    }
    const base = counts.base;
    counts = counts.with(changes);
    if (counts.base !== base) merges++;
    assert.equal(counts.size, plain.size);
    assert.deepEqual(new Map([...counts].sort()), new Map([...plain].sort()));
    for (const key of changes.keys()) assert.equal(counts.get(key), plain.get(key));
    if (step % 50 === 0) kept.push({ counts, was: [...plain].sort() });
  }
  assert.ok(merges > 0, "a top layer was merged into a new base");
  for (const { counts: c, was } of kept) assert.deepEqual([...c].sort(), was);
});
