/**
 * What mesos-dns reads of a `/master/state` document (owns: the one description of the
 * fields read and their JSON types, SPEC §4.4; the shape check built from it; and reading a
 * document's bytes into those fields, tasks slim, `readState`).
 *
 * A field's type is checked when the field is present and not null; unknown fields are
 * ignored. Arrays of objects must not hold null elements. `any` fields are kept without a
 * type check (their readers check what they read).
 */
import type { MesosState, MesosTask } from "./state_types.ts";
import { slimTask } from "../records/task_slim.ts";
import { runAll } from "../work_slices.ts";
import {
  arrayOf,
  JsonScanError,
  type LeafType,
  object,
  type ObjectSchema,
  project,
  scanJsonSteps,
  type Schema,
  SchemaMismatch,
} from "./json_scan.ts";

const labels = arrayOf({ key: "string", value: "string" });

/** A task: the fields its records are derived from (SPEC §6), kept slim (`slimTask`). */
const TASK = object(
  {
    id: "string",
    name: "string",
    framework_id: "string",
    slave_id: "string",
    state: "string",
    resources: object({ ports: "string" }),
    labels,
    statuses: arrayOf({
      state: "string",
      timestamp: "number",
      healthy: "any",
      labels,
      container_status: object({
        network_infos: arrayOf({ ip_address: "string", ip_addresses: arrayOf({ ip_address: "string" }) }),
      }),
    }),
    discovery: object({
      visibility: "string",
      name: "string",
      ports: object({ ports: arrayOf({ number: "integer", name: "string", protocol: "string" }) }),
    }),
  },
  (t) => slimTask(t as MesosTask),
  (t) => taskFits(t),
);

/** The whole document (`leader` is checked on its own: it must be a non-empty string). */
export const STATE_SCHEMA: ObjectSchema = object({
  leader: "any",
  pid: "any",
  hostname: "any",
  frameworks: arrayOf({
    id: "string",
    name: "string",
    pid: "string",
    hostname: "string",
    // Read in steps: a large state lets other work run while it is read (`readStateSteps`).
    tasks: { items: TASK, steps: true },
  }, true),
  slaves: arrayOf({ id: "string", hostname: "string", pid: "string" }, true),
});

/** Whether `v` is a JSON object (not an array, not null). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A parsed state that passed `checkStateShape`, reduced to what `readState` hands over. */
export function projectState(doc: unknown): MesosState {
  return project(doc, STATE_SCHEMA) as MesosState;
}

// ---------------------------------------------------------------------------------------------
// Shape check

/**
 * Checks a value; returns its first problem or null. `path` says where the value is, for the
 * message; it is null on the first pass over a state, which builds no path strings at all
 * (issue #6: a large state has a million values), and only a state with a problem is
 * checked again with paths to describe it.
 */
type Check = (v: unknown, path: string | null) => string | null;

function expected(path: string | null, what: string, v: unknown): string {
  const got = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  return `malformed state: ${path} should be ${what}, got ${got}`;
}

const LEAF_CHECKS: Record<LeafType, Check> = {
  string: (v, path) =>
    v === undefined || v === null || typeof v === "string" ? null : expected(path, "string", v),
  number: (v, path) =>
    v === undefined || v === null || (typeof v === "number" && Number.isFinite(v))
      ? null
      : expected(path, "number", v),
  integer: (v, path) =>
    v === undefined || v === null || (typeof v === "number" && Number.isInteger(v))
      ? null
      : expected(path, "integer", v),
  any: () => null,
};

/** The check of `schema`, made once (closures, so a large state costs no lookups per value). */
function compile(schema: Schema): Check {
  if (typeof schema === "string") return LEAF_CHECKS[schema];
  if ("fields" in schema) {
    const keys = Object.keys(schema.fields).filter((k) => schema.fields[k] !== "any");
    const checks = keys.map((k) => compile(schema.fields[k]));
    return (v, path) => {
      if (v === undefined || v === null) return null;
      if (!isObject(v)) return expected(path, "an object", v);
      for (let i = 0; i < keys.length; i++) {
        const p = checks[i](v[keys[i]], path === null ? null : `${path}.${keys[i]}`);
        if (p) return p;
      }
      return null;
    };
  }
  const item = compile(schema.items);
  return (v, path) => {
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) return expected(path, "an array", v);
    for (let i = 0; i < v.length; i++) {
      const at = path === null ? null : `${path}[${i}]`;
      const p = v[i] === null || v[i] === undefined ? expected(at, "an object", v[i]) : item(v[i], at);
      if (p) return p;
    }
    return null;
  };
}

const stateCheck = compile(STATE_SCHEMA);
const taskCheck = compile(TASK);

/** Whether a task fits its schema (checked before it is made slim, so `checkStateShape` would pass it). */
function taskFits(t: unknown): boolean {
  return taskCheck(t, null) === null;
}

/**
 * Checks that `doc` is a master state with the types mesos-dns reads (SPEC §4.4): an
 * object with a non-empty string `leader`, and `frameworks`/`slaves` (if present) arrays of
 * objects whose consumed fields have the right JSON types. Missing or null fields are fine,
 * unknown fields are ignored. Returns a one-line description of the first problem, or null.
 */
export function checkStateShape(doc: unknown): string | null {
  if (!isObject(doc)) {
    return `malformed state: expected a JSON object, got ${
      doc === null ? "null" : Array.isArray(doc) ? "an array" : typeof doc
    }`;
  }
  const leader = doc.leader;
  if (leader !== undefined && leader !== null && typeof leader !== "string") {
    return expected("leader", "string", leader);
  }
  if (typeof leader !== "string" || leader === "") return "fetched state does not contain leader information";
  return stateCheck(doc, null) === null ? null : stateCheck(doc, "state");
}

/**
 * The state in `bytes` (UTF-8 JSON) with only the fields mesos-dns reads, tasks slim:
 * `project(JSON.parse(text), STATE_SCHEMA)` if it passes `checkStateShape`, else the problem
 * that `checkStateShape` names. Throws `SyntaxError` when the bytes are not JSON.
 */
export function readState(bytes: Uint8Array): StateRead {
  return runAll(readStateSteps(bytes));
}

/** What `readState` gives: the state, or why there is none. */
export type StateRead = { state: MesosState; problem: null } | { state: null; problem: string };

/** `readState` in steps (`runSliced`): the tasks and agents are read a few hundred at a time. */
export function* readStateSteps(bytes: Uint8Array): Generator<void, StateRead> {
  let doc: unknown;
  try {
    doc = yield* scanJsonSteps(bytes, STATE_SCHEMA);
  } catch (err) {
    if (!(err instanceof JsonScanError) && !(err instanceof SchemaMismatch)) throw err;
    doc = undefined;
  }
  if (doc !== undefined && checkStateShape(doc) === null) return { state: doc as MesosState, problem: null };
  // Not a state the scan takes: the whole document, parsed and checked, says why in the words of
  // JSON.parse and checkStateShape (or, if the scan was wrong to refuse it, is taken).
  const whole = JSON.parse(new TextDecoder().decode(bytes));
  const problem = checkStateShape(whole);
  return problem === null ? { state: projectState(whole), problem: null } : { state: null, problem };
}
