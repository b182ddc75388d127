/** Tests of src/work_pacer.ts: work after slow work waits for a pause, merged; fast work never waits. */
import assert from "node:assert/strict";
import { WorkPacer } from "../src/work_pacer.ts";
import { waitFor } from "./helpers/wait.ts";

Deno.test("work pacer: after fast work the next runs at once; after slow work the newest request runs once, after the pause", async () => {
  const pacer = new WorkPacer(10, 1);
  const ran: string[] = [];
  try {
    pacer.run(() => ran.push("a"));
    pacer.took(5); // fast: no pause
    pacer.run(() => ran.push("b"));
    assert.deepEqual(ran, ["a", "b"]);
    pacer.took(40); // slow: a pause of 40 ms
    pacer.run(() => ran.push("c"));
    pacer.run(() => ran.push("d"));
    assert.deepEqual(ran, ["a", "b"], "nothing runs during the pause");
    await waitFor(() => ran.length === 3, { timeoutMs: 5000 });
    assert.deepEqual(ran, ["a", "b", "d"], "the newest request, once");
    pacer.run(() => ran.push("e"));
    assert.deepEqual(ran, ["a", "b", "d", "e"], "after the pause, at once again");
  } finally {
    pacer.close();
  }
});

Deno.test("work pacer: closing drops the pause and what waits for it", () => {
  // Deno's test sanitizer fails the test if a timer is left behind: the pause's is cleared.
  const pacer = new WorkPacer(0, 1);
  let ran = 0;
  pacer.took(20);
  pacer.run(() => ran++);
  pacer.close();
  pacer.took(20); // closed: no new pause
  pacer.run(() => ran++); // no pause: at once
  assert.equal(ran, 1);
});
