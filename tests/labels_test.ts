// Naming rules: the label functions (SPEC §5.1), `frag` (§5.2) and the task hash (§5.3).
import assert from "node:assert/strict";
import { frag, labelFunction, rfc1123, rfc952 } from "../src/records/labels.ts";
import { createHash } from "node:crypto";
import { sha1First32, taskHash, zbase32 } from "../src/records/task_hash.ts";

// Every example row of SPEC §5.1: [input, RFC1123, RFC952 (undefined = not given)].
const LABEL_ROWS: Array<[string, string, string | undefined]> = [
  ["4abc123", "4abc123", "abc123"],
  ["-4abc123", "4abc123", "abc123"],
  ["a.b.c.d.e", "a-b-c-d-e", "a-b-c-d-e"],
  ["a.c.d_de.", "a-c-d-de", "a-c-d-de"],
  ["---a---b", "a---b", "a---b"],
  ["89fdgsf---gs7-fgs--d7fddg---123", "89fdgsf---gs7-fgs--d7fddg---123", "fdgsf---gs7-fgs--d7fddg1"],
  [
    "chronos with a space AND MIXED CASE-2.0.1",
    "chronoswithaspaceandmixedcase-2-0-1",
    "chronoswithaspaceandmixe",
  ],
  ["hello" + "-".repeat(56) + "f", "hello" + "-".repeat(56) + "f", "hellof"],
  ["hello" + "-".repeat(58) + "f", "hellof", "hellof"],
  [
    "fd%gsf---gs7-f$gs--d7fddg123456789012345678901234567890123456789-123",
    "fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891",
    undefined,
  ],
  ["", "", ""],
  ["-", "", ""],
];

Deno.test("labels: every SPEC §5.1 example row, RFC1123 and RFC952", () => {
  for (const [input, want1123, want952] of LABEL_ROWS) {
    assert.equal(rfc1123(input), want1123, `RFC1123(${JSON.stringify(input)})`);
    if (want952 !== undefined) assert.equal(rfc952(input), want952, `RFC952(${JSON.stringify(input)})`);
  }
});

Deno.test("labels: the 62-char row is unchanged and the 64-char row is cut and refilled", () => {
  assert.equal(("hello" + "-".repeat(56) + "f").length, 62);
  assert.equal(("hello" + "-".repeat(58) + "f").length, 64);
});

Deno.test("labels: character mapping", () => {
  assert.equal(rfc1123("ABC_def.GHI-jkl"), "abc-def-ghi-jkl");
  assert.equal(rfc1123("a b$c@d!e/f:g"), "abcdefg");
  assert.equal(rfc1123("café-ünïcode"), "caf-ncode"); // non-ASCII letters are deleted, not folded
  assert.equal(rfc1123("日本語"), "");
  assert.equal(rfc1123("a\u{1F600}b"), "ab");
  assert.equal(rfc1123("__x__"), "x");
  assert.equal(rfc952("123"), "");
  assert.equal(rfc952("-1-2-a3"), "a3");
  assert.equal(rfc1123("-1-2-a3"), "1-2-a3");
});

Deno.test("labels: the refill is not re-trimmed (result may end in '-')", () => {
  // RFC952: first 24 chars are "a" + 23 hyphens → head "a"; tail "b-" refills to "ab-".
  assert.equal(rfc952("a" + "-".repeat(23) + "b-"), "ab-");
  assert.equal(rfc1123("a" + "-".repeat(62) + "b-"), "ab-");
  // The refill takes at most size - len(head) characters.
  assert.equal(rfc952("abc" + "-".repeat(21) + "-" + "x".repeat(30)), "abc" + "x".repeat(21));
  // Exactly maxlen characters, no trailing hyphen: unchanged.
  assert.equal(rfc952("a".repeat(24)), "a".repeat(24));
  assert.equal(rfc952("a".repeat(30)), "a".repeat(24));
  assert.equal(rfc1123("b".repeat(63)), "b".repeat(63));
  assert.equal(rfc1123("b".repeat(64)), "b".repeat(63));
  // Trailing hyphens with nothing after them are simply dropped.
  assert.equal(rfc1123("abc---"), "abc");
});

Deno.test("labels: labelFunction picks by EnforceRFC952", () => {
  assert.equal(labelFunction(false)("4abc123"), "4abc123");
  assert.equal(labelFunction(true)("4abc123"), "abc123");
});

Deno.test("frag: every SPEC §5.2 example", () => {
  assert.equal(frag("a..c", rfc1123), "a.c");
  assert.equal(frag(".abc", rfc1123), "abc");
  assert.equal(frag("(@ host . com", rfc1123), "host.com");
  assert.equal(frag("MiXeDcase.CoM", rfc1123), "mixedcase.com");
  assert.equal(frag("pod_123$abc.marathon-0.6.0-dev.mesos", rfc1123), "pod-123abc.marathon-0.6.0-dev.mesos");
  assert.equal(frag("pod_123$abc.marathon-0.6.0-dev.mesos", rfc952), "pod-123abc.marathon-0.dev.mesos");
  assert.equal(frag("marathon.prod", rfc1123), "marathon.prod");
  assert.equal(frag("", rfc1123), "");
  assert.equal(frag("...", rfc1123), "");
  assert.equal(
    frag("chronos with a space AND MIXED CASE-2.0.1", rfc1123),
    "chronoswithaspaceandmixedcase-2.0.1",
  );
  assert.equal(frag("chronos with a space AND MIXED CASE-2.0.1", rfc952), "chronoswithaspaceandmixe");
  assert.equal(frag("marathon-0.6.0-SNAPSHOT", rfc1123), "marathon-0.6.0-snapshot");
  assert.equal(frag("mesos-execute instance", rfc1123), "mesos-executeinstance");
  assert.equal(frag("no pid", rfc1123), "nopid");
});

Deno.test("task hash: SPEC §5.3 examples", () => {
  assert.equal(taskHash("test"), "iffe9");
  assert.equal(taskHash("liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5"), "4dfjd");
  assert.equal(taskHash("nginx.1e3d5f9a-1234"), "xif5u");
  assert.equal(taskHash("x").length, 5);
  assert.equal(taskHash(""), zbase32(new Uint8Array(sha1Empty)).slice(0, 5));
});

// SHA-1 of the empty string, for the cross-check above.
const sha1Empty = "da39a3ee5e6b4b0d3255bfef95601890afd80709".match(/../g)!.map((h) => parseInt(h, 16));

Deno.test("zbase32: known vectors", () => {
  // From the z-base-32 description: a single 0 byte and 0xF0 with 8 bits.
  assert.equal(zbase32(new Uint8Array([0])), "yy");
  assert.equal(zbase32(new Uint8Array([0xf0, 0xbf, 0xc7])), "6n9hq");
  assert.equal(zbase32(new Uint8Array([0xd4, 0x7a, 0x04])), "4t7ye");
  assert.equal(zbase32(new Uint8Array([])), "");
  // 20-byte digest → 32 characters.
  assert.equal(zbase32(new Uint8Array(20)).length, 32);
});

Deno.test("task hash: the in-code SHA-1 agrees with node:crypto on every padding length and UTF-8", () => {
  const ids = ["", "é✓日本".repeat(30), "x".repeat(1000)];
  for (let n = 50; n < 140; n++) ids.push("t".repeat(n));
  for (const id of ids) {
    const d = createHash("sha1").update(id, "utf8").digest();
    assert.equal(
      sha1First32(id),
      ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0,
      `length ${id.length}`,
    );
  }
});
