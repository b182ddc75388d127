/**
 * Tests of readState (src/mesos/state_schema.ts, over src/mesos/json_scan.ts): reading a state from its bytes gives what JSON.parse,
 * checkStateShape and project give (state_schema.ts), on every fixture, a generated cluster,
 * JSON's corners, and thousands of damaged bodies.
 */
import assert from "node:assert/strict";
import { scanJson } from "../src/mesos/json_scan.ts";
import { checkStateShape, projectState, readState, STATE_SCHEMA } from "../src/mesos/state_schema.ts";
import { generateDocument } from "../scripts/sim/cluster.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const enc = new TextEncoder();

type Outcome = { state: unknown } | { problem: string } | { syntax: true };

/** What the reference path makes of `bytes`: decode, JSON.parse, checkStateShape, project. */
function reference(bytes: Uint8Array): Outcome {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { syntax: true };
  }
  const problem = checkStateShape(doc);
  return problem === null ? { state: projectState(doc) } : { problem };
}

function scanned(bytes: Uint8Array): Outcome {
  try {
    const r = readState(bytes);
    return r.problem === null ? { state: r.state } : { problem: r.problem };
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `only SyntaxError is thrown, got ${err}`);
    return { syntax: true };
  }
}

/**
 * Asserts that `readState` reads `bytes` as the reference does, and that the scan itself (not
 * the fallback that describes a problem) takes every state and refuses every non-JSON body.
 */
function same(bytes: Uint8Array, what: string): Outcome {
  const want = reference(bytes);
  assert.deepEqual(scanned(bytes), want, what);
  if ("state" in want) assert.deepEqual(scanJson(bytes, STATE_SCHEMA), want.state, `${what}: the scan alone`);
  if ("syntax" in want) {
    assert.throws(() => scanJson(bytes, STATE_SCHEMA), `${what}: the scan alone refuses it`);
  }
  return want;
}

Deno.test("every fixture and a generated cluster read as JSON.parse + project read them", async () => {
  let n = 0;
  for await (const e of Deno.readDir(FIXTURES)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const out = same(await Deno.readFile(new URL(e.name, FIXTURES)), e.name);
    assert.ok("state" in out, `${e.name} is a state`);
    n++;
  }
  assert.ok(n >= 7);
  const doc = {
    ...generateDocument({ frameworks: 4, agents: 30, tasks: 600, seed: 5 }),
    leader: "master@1.2.3.4:5050",
  };
  const out = same(enc.encode(JSON.stringify(doc, null, 1)), "generated");
  assert.ok("state" in out);
  const tasks = (out.state as { frameworks: { tasks: unknown[] }[] }).frameworks.flatMap((f) => f.tasks);
  assert.equal(tasks.length, doc.frameworks!.reduce((s, f) => s + (f.tasks?.length ?? 0), 0));
});

Deno.test("tasks are slim: unread fields and statuses are not kept", () => {
  const task = {
    id: "web.1",
    name: "web",
    slave_id: "S1",
    state: "TASK_RUNNING",
    executor_id: "",
    container: { type: "MESOS", volumes: [{ path: "/x" }] },
    resources: { cpus: 1, ports: "[31000-31000]" },
    statuses: [
      { state: "TASK_STARTING", timestamp: 1, container_status: { network_infos: [{ ip_addresses: [] }] } },
      {
        state: "TASK_RUNNING",
        timestamp: 2,
        healthy: true,
        container_status: {
          container_id: { value: "c" },
          network_infos: [{ ip_addresses: [{ ip_address: "9.0.0.1", protocol: "IPv4" }] }],
        },
      },
    ],
  };
  const doc = {
    leader: "master@1.2.3.4:5050",
    version: "1.9.0",
    frameworks: [{ id: "F", name: "m", tasks: [task] }],
  };
  const out = same(enc.encode(JSON.stringify(doc)), "slim");
  assert.deepEqual((out as { state: unknown }).state, {
    leader: "master@1.2.3.4:5050",
    frameworks: [{
      id: "F",
      name: "m",
      tasks: [{
        id: "web.1",
        name: "web",
        framework_id: undefined,
        slave_id: "S1",
        state: "TASK_RUNNING",
        resources: { ports: "[31000-31000]" },
        statuses: [{
          state: "TASK_RUNNING",
          timestamp: 2,
          labels: undefined,
          container_status: { network_infos: [{ ip_addresses: [{ ip_address: "9.0.0.1" }] }] },
          healthy: true,
        }],
        discovery: undefined,
      }],
    }],
  });
});

Deno.test("JSON's corners: escapes, Unicode, numbers, repeated keys, nesting, whitespace, a BOM", () => {
  const leader = `"leader": "master@1.2.3.4:5050"`;
  const cases: Record<string, string> = {
    "escaped key and value":
      `{${leader}, "fr\\u0061meworks": [{"n\\u0061me": "a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}]}`,
    "UTF-8 names": `{${leader}, "frameworks": [{"name": "é—😀\uFEFFx", "id": "ü"}]}`,
    "numbers":
      `{${leader}, "frameworks": [{"tasks": [{"statuses": [{"timestamp": -0}, {"timestamp": 1.5e3}, ` +
      `{"timestamp": 123456789012345678901234567890}, {"timestamp": 0.1}, {"timestamp": 1E-2}, {"timestamp": 9007199254740993}]}]}]}`,
    "repeated keys":
      `{${leader}, "slaves": [{"id": "a", "id": "b", "pid": 1, "pid": "slave(1)@1.1.1.1:5051"}], "leader": "master@5.6.7.8:5050"}`,
    "__proto__ kept as data":
      `{${leader}, "frameworks": [{"tasks": [{"discovery": {"name": "x", "__proto__": {"a": 1}, "ports": {"ports": []}}}]}]}`,
    "deep unread nesting": `{${leader}, "flags": ${"[".repeat(5000)}${"]".repeat(5000)}}`,
    "deep read nesting": `{"leader": ${"[".repeat(3000)}1${"]".repeat(3000)}}`,
    "deep nesting in a kept field": `{${leader}, "pid": ${'{"a":'.repeat(500)}1${"}".repeat(500)}}`,
    "whitespace":
      ` \t\r\n{ "leader" :\n"master@1.2.3.4:5050" , "slaves" : [ { "id" : "s" } , { } ] , "x" : [ ] , "y" : { } } \n`,
    "types checked": `{${leader}, "frameworks": [{"tasks": [{"statuses": [{"timestamp": "1"}]}]}]}`,
    "a non-object where objects go": `{${leader}, "frameworks": {"a": 1}}`,
    "a null element": `{${leader}, "slaves": [null]}`,
    "a number element": `{${leader}, "frameworks": [{"tasks": [7]}]}`,
    "no leader": `{"frameworks": []}`,
    "not an object": `[1, 2]`,
    "a string": `"x"`,
    "empty": ``,
    "literals": `{${leader}, "a": true, "b": false, "c": null, "pid": null, "hostname": true}`,
    "an empty task": `{${leader}, "frameworks": [{"tasks": [{}, {"id": "t"}]}], "slaves": [{}]}`,
    "a trailing comma in an array": `{${leader}, "slaves": [{"id": "s"},]}`,
    "a trailing comma in an object": `{${leader}, "slaves": [{"id": "s",}]}`,
    "a trailing comma in an unread object": `{${leader}, "x": {"a": 1,}}`,
  };
  for (const [what, text] of Object.entries(cases)) same(enc.encode(text), what);
  // A byte order mark before the document is ignored (as TextDecoder drops it).
  same(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(`{${leader}}`)]), "leading BOM");
  // Bytes that are not UTF-8 inside a kept string read as U+FFFD, as a decoder reads them.
  same(
    new Uint8Array([...enc.encode(`{${leader}, "hostname": "a`), 0xff, 0xe2, 0x82, ...enc.encode(`b"}`)]),
    "bad UTF-8",
  );
  same(
    new Uint8Array([...enc.encode(`{${leader}, "x": "a`), 0xff, ...enc.encode(`b"}`)]),
    "bad UTF-8 unread",
  );
  same(
    new Uint8Array([...enc.encode(`{${leader}, `), 0xff, ...enc.encode(`"x": 1}`)]),
    "bad byte outside strings",
  );
  // A \u escape takes four hex digits, not bytes a case-blind test would take for some.
  for (const byte of [0x10, 0x19, 0x47, 0x67, 0x41, 0x66]) {
    const esc = [0x5c, 0x75, 0x30, 0x30, byte, 0x31];
    for (const field of ["x", "hostname"]) {
      same(
        new Uint8Array([...enc.encode(`{${leader}, "${field}": "`), ...esc, ...enc.encode(`"}`)]),
        `a \\u escape with byte 0x${byte.toString(16)} in ${field}`,
      );
    }
  }
});

Deno.test("damaged bodies: every change to a valid state is read as JSON.parse + checkStateShape read it", () => {
  const doc = {
    ...generateDocument({ frameworks: 2, agents: 3, tasks: 6, seed: 2 }),
    leader: "master@1.2.3.4:5050",
  };
  const text = JSON.stringify(doc);
  const base = enc.encode(text);
  // A seeded generator, so a failure is reproducible.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  // JSON's own characters, letters of literals and escapes, whitespace and not (\v, \f), control
  // characters, and bytes of broken UTF-8.
  const alphabet = [
    ...enc.encode(`{}[],:"\\/ 0123456789.eE+-tfnulrsaxu\u00e9\t\n\r`),
    0x0b,
    0x0c,
    0x01,
    0x1f,
    0xff,
    0xc3,
  ];
  // Where string values start (after `:"`): replaced by a number, a read field gets the wrong type.
  const values: number[] = [];
  for (let i = text.indexOf(':"'); i >= 0; i = text.indexOf(':"', i + 1)) values.push(i + 1);
  const counts = { state: 0, problem: 0, syntax: 0 };
  for (let k = 0; k < 3000; k++) {
    const b = Array.from(base);
    const edits = 1 + rand(3);
    for (let e = 0; e < edits; e++) {
      const at = rand(b.length);
      const op = rand(5);
      if (op === 4) {
        const v = values[rand(values.length)];
        if (v >= b.length || b[v] !== 0x22) continue;
        let end = v + 1;
        while (end < b.length && b[end] !== 0x22) end++;
        b.splice(v, end + 1 - v, 0x37);
      } else if (op === 0) b.splice(at, 1);
      else if (op === 1) b.splice(at, 0, alphabet[rand(alphabet.length)]);
      else if (op === 2) b[at] = alphabet[rand(alphabet.length)];
      else b.length = at;
    }
    const out = same(new Uint8Array(b), `mutation ${k}`);
    counts["state" in out ? "state" : "problem" in out ? "problem" : "syntax"]++;
  }
  // The mutations reach all three outcomes, so each path was compared.
  assert.ok(counts.state > 100 && counts.problem > 10 && counts.syntax > 1000, JSON.stringify(counts));
});
