/** Tests for src/http/go_json.ts: byte-exact Go `json.MarshalIndent(v, " ", " ")` output. */
import assert from "node:assert/strict";
import { compareUtf8, goMarshalIndent, goQuote } from "../src/http/go_json.ts";

Deno.test("go_json: scalars", () => {
  assert.equal(goMarshalIndent(null), "null");
  assert.equal(goMarshalIndent(true), "true");
  assert.equal(goMarshalIndent(false), "false");
  assert.equal(goMarshalIndent(60), "60");
  assert.equal(goMarshalIndent(4294967295), "4294967295");
  assert.equal(goMarshalIndent(-3), "-3");
  assert.equal(goMarshalIndent(1.5), "1.5");
  assert.equal(goMarshalIndent(-0), "0");
  assert.equal(goMarshalIndent(1e21), "1e+21");
  assert.equal(goMarshalIndent(1e-7), "1e-7");
  assert.equal(goMarshalIndent(0.000001), "0.000001");
  assert.equal(goMarshalIndent("x"), '"x"');
});

Deno.test("go_json: non-finite numbers and undefined fields are rejected", () => {
  assert.throws(() => goMarshalIndent(NaN), TypeError);
  assert.throws(() => goMarshalIndent(Infinity), TypeError);
  assert.throws(() => goMarshalIndent({ a: undefined } as unknown as { a: null }), TypeError);
});

Deno.test("go_json: string escaping follows Go (HTML-safe, \\u00XX for other controls)", () => {
  assert.equal(goQuote("a<b>&c"), '"a\\u003cb\\u003e\\u0026c"');
  assert.equal(goQuote('q"b\\'), '"q\\"b\\\\"');
  assert.equal(goQuote("\n\r\t"), '"\\n\\r\\t"');
  assert.equal(goQuote("\u0001\b\f\u001f"), '"\\u0001\\u0008\\u000c\\u001f"');
  assert.equal(goQuote("\u2028\u2029"), '"\\u2028\\u2029"');
  assert.equal(goQuote("\u007f é 😀"), '"\u007f é 😀"');
  assert.equal(goQuote("a\ud800b"), '"a\\ufffdb"');
  assert.equal(goQuote("\udc00"), '"\\ufffd"');
});

Deno.test("go_json: nested layout with one-space prefix and indent, no trailing newline", () => {
  const v = { a: 1, b: [1, 2], c: {}, d: [], e: null, f: { g: "h" } };
  const expected = [
    "{",
    '  "a": 1,',
    '  "b": [',
    "   1,",
    "   2",
    "  ],",
    '  "c": {},',
    '  "d": [],',
    '  "e": null,',
    '  "f": {',
    '   "g": "h"',
    "  }",
    " }",
  ].join("\n");
  assert.equal(goMarshalIndent(v), expected);
  assert.equal(goMarshalIndent([]), "[]");
  assert.equal(goMarshalIndent({}), "{}");
  assert.equal(goMarshalIndent(new Map()), "{}");
});

Deno.test("go_json: other prefix and indent", () => {
  assert.equal(goMarshalIndent([1, { a: true }], "", "\t"), '[\n\t1,\n\t{\n\t\t"a": true\n\t}\n]');
  assert.equal(goMarshalIndent({ a: [] }, ">", "  "), '{\n>  "a": []\n>}');
});

Deno.test("go_json: struct fields keep their order, map keys are sorted by byte order", () => {
  assert.equal(goMarshalIndent({ z: 1, a: 2 }), '{\n  "z": 1,\n  "a": 2\n }');
  const m = new Map([["b", 1], ["a", 2], ["B", 3], ["a<", 4]]);
  assert.equal(goMarshalIndent(m), '{\n  "B": 3,\n  "a": 2,\n  "a\\u003c": 4,\n  "b": 1\n }');
});

Deno.test("go_json: compareUtf8 orders by code point (supplementary after U+FFFF)", () => {
  assert.ok(compareUtf8("\uffff", "😀") < 0);
  assert.ok(compareUtf8("😀", "\uffff") > 0);
  assert.ok(compareUtf8("a", "ab") < 0);
  assert.equal(compareUtf8("x", "x"), 0);
  const sorted = ["😀", "\uffff", "b", "A"].sort(compareUtf8);
  assert.deepEqual(sorted, ["A", "b", "\uffff", "😀"]);
});
