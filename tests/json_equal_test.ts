/** Deep equality of JSON-like values (src/records/json_equal.ts). */
import assert from "node:assert/strict";
import { jsonEqual } from "../src/records/json_equal.ts";

Deno.test("jsonEqual: same keys and values at every depth; order of keys aside, order of items kept", () => {
  const task = { id: "a", statuses: [{ state: "TASK_RUNNING", labels: [{ key: "k", value: "v" }] }], n: 1 };
  assert.ok(jsonEqual(task, structuredClone(task)));
  assert.ok(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }));
  assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!jsonEqual({ a: 1, b: undefined }, { a: 1, c: undefined }), "a key with undefined is a key");
  assert.ok(jsonEqual({ a: undefined }, { a: undefined }));
  assert.ok(!jsonEqual({ a: { b: "1" } }, { a: { b: 1 } }));
  assert.ok(!jsonEqual([], {}));
  assert.ok(!jsonEqual(null, {}));
  assert.ok(!jsonEqual({ s: [{ x: 1 }] }, { s: [{ x: 2 }] }));
});
