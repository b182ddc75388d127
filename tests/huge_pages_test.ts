// Huge pages for large buffers (src/huge_pages.ts): an advised buffer, a growable shared buffer
// advised over its reservation, a whole zone's shared arrays and an event stream record are backed by
// 2 MiB pages once written (AnonHugePages of their mappings in /proc/self/smaps), where the kernel's
// transparent huge pages are `madvise` or `always`; small buffers and an update's layer are not advised.
import assert from "node:assert/strict";
import { adviseHugePages, HUGE_PAGE_MIN_BYTES } from "../src/huge_pages.ts";
import { SharedAppendBytes } from "../src/dns/shared_append.ts";
import { RecordIODecoder } from "../src/mesos/recordio.ts";

const MB = 1 << 20;

/** The kernel's transparent huge page mode (`always`, `madvise`, `never`), or undefined. */
function thpMode(): string | undefined {
  try {
    const text = Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled");
    return /\[(\w+)\]/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** AnonHugePages (kB) of the mappings that hold `buf` (an advised range is a mapping of its own). */
function hugeKbIn(buf: Uint8Array): number {
  const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
  const end = start + BigInt(buf.byteLength);
  let inside = false;
  let kb = 0;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) inside = BigInt(`0x${range[1]}`) < end && start < BigInt(`0x${range[2]}`);
    else if (inside && line.startsWith("AnonHugePages:")) kb += Number(line.split(/\s+/)[1]);
  }
  return kb;
}

/** Writes one byte per 4 KiB page (the faults that back the buffer). */
function touch(buf: Uint8Array): void {
  for (let i = 0; i < buf.length; i += 4096) buf[i] = 1;
}

const mode = thpMode();
const linux = Deno.build.os === "linux" && mode !== undefined;

Deno.test("huge pages: buffers below the minimum are not advised", () => {
  assert.equal(adviseHugePages(new Uint8Array(HUGE_PAGE_MIN_BYTES - 1)), false);
  assert.equal(adviseHugePages(new Uint8Array(32 * MB), HUGE_PAGE_MIN_BYTES - 1), false);
});

Deno.test({
  name: "huge pages: a large advised buffer is backed by huge pages once written, an unadvised one is not",
  ignore: !linux || mode === "never",
  fn() {
    const plain = new Uint8Array(32 * MB);
    const advised = new Uint8Array(32 * MB);
    assert.equal(adviseHugePages(advised), true);
    touch(plain);
    touch(advised);
    // At least half of it: the partial 2 MiB pages at each end, and any the kernel could not
    // find whole, stay small.
    assert.ok(hugeKbIn(advised) >= 16 * 1024, `AnonHugePages ${hugeKbIn(advised)} kB`);
    if (mode === "madvise") assert.equal(hugeKbIn(plain), 0);
  },
});

Deno.test({
  name: "huge pages: a growable shared buffer advised over its reservation keeps the advice as it grows",
  ignore: !linux || mode === "never",
  fn() {
    const sab = new SharedArrayBuffer(MB, { maxByteLength: 64 * MB });
    assert.equal(adviseHugePages(new Uint8Array(sab), sab.maxByteLength), true);
    for (let size = 2 * MB; size <= 32 * MB; size *= 2) sab.grow(size);
    const view = new Uint8Array(sab);
    touch(view);
    assert.ok(hugeKbIn(view) >= 16 * 1024, `AnonHugePages ${hugeKbIn(view)} kB`);
  },
});

Deno.test({
  name:
    "huge pages: a whole zone's shared arrays and a large event stream record get them, an update's layer not",
  ignore: !linux || mode === "never",
  fn() {
    // A zone's answer bytes (the build sizes them from the names it expects).
    const answers = new SharedAppendBytes(32 * MB);
    const data = answers.ensure(32 * MB);
    touch(data);
    assert.ok(hugeKbIn(data) >= 16 * 1024, `answers: AnonHugePages ${hugeKbIn(data)} kB`);
    // An update's layer, expected small, that grows large: not advised (it is replaced soon).
    if (mode === "madvise") {
      const layer = new SharedAppendBytes(MB);
      const grown = layer.ensure(32 * MB);
      touch(grown);
      assert.equal(hugeKbIn(grown), 0);
    }
    // A SUBSCRIBED record announced at 32 MB, arriving in pieces.
    const decoder = new RecordIODecoder();
    const want = 32 * MB;
    assert.deepEqual(decoder.push(new TextEncoder().encode(`${want}\n`)), []);
    const piece = new Uint8Array(MB).fill(0x20);
    let records: Uint8Array[] = [];
    for (let sent = 0; sent < want; sent += piece.length) records = decoder.push(piece);
    assert.equal(records.length, 1);
    assert.ok(hugeKbIn(records[0]) >= 16 * 1024, `record: AnonHugePages ${hugeKbIn(records[0])} kB`);
  },
});
