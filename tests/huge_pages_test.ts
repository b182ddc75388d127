// Huge pages for large buffers (src/huge_pages.ts): an advised buffer, a growable shared buffer
// advised over its reservation, a whole zone's shared arrays and an event stream record are backed by
// 2 MiB pages once written (AnonHugePages of their mappings in /proc/self/smaps), where the kernel's
// transparent huge pages are `madvise` or `always`; small buffers and an update's layer are not advised.
import assert from "node:assert/strict";
import { adviseHugePages, HUGE_PAGE_MIN_BYTES } from "../src/huge_pages.ts";
import { SharedAppendBytes } from "../src/dns/shared_append.ts";
import { RecordIODecoder } from "../src/mesos/recordio.ts";

const MB = 1 << 20;
/**
 * The large buffers' size: above glibc's largest mmap threshold (32 MiB on 64-bit), so that
 * malloc maps them fresh, as it does the fetched state and a SUBSCRIBED record. A smaller one may
 * come from memory malloc recycles, whose pages are there already (no faults to save).
 */
const SIZE = 64 * MB;
/** At least this much of a `SIZE` buffer is in huge pages (the partial ones at its ends are not). */
const HUGE_KB = SIZE / 2 / 1024;

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
  return smapsKbIn(buf, "AnonHugePages:");
}

/** A field (kB) of /proc/self/smaps summed over the mappings that hold `buf`. */
function smapsKbIn(buf: Uint8Array, field: string): number {
  const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
  const end = start + BigInt(buf.byteLength);
  let inside = false;
  let kb = 0;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) inside = BigInt(`0x${range[1]}`) < end && start < BigInt(`0x${range[2]}`);
    else if (inside && line.startsWith(field)) kb += Number(line.split(/\s+/)[1]);
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
    const plain = new Uint8Array(SIZE);
    const advised = new Uint8Array(SIZE);
    assert.equal(adviseHugePages(advised), true);
    const before = smapsKbIn(advised, "Rss:");
    touch(plain);
    touch(advised);
    assert.ok(
      hugeKbIn(advised) >= HUGE_KB,
      `AnonHugePages ${hugeKbIn(advised)} kB (resident before: ${before} kB)`,
    );
    if (mode === "madvise") assert.equal(hugeKbIn(plain), 0);
  },
});

Deno.test({
  name: "huge pages: a growable shared buffer advised over its reservation keeps the advice as it grows",
  ignore: !linux || mode === "never",
  fn() {
    const sab = new SharedArrayBuffer(MB, { maxByteLength: 2 * SIZE });
    assert.equal(adviseHugePages(new Uint8Array(sab), sab.maxByteLength), true);
    for (let size = 2 * MB; size <= SIZE; size *= 2) sab.grow(size);
    const view = new Uint8Array(sab);
    touch(view);
    assert.ok(hugeKbIn(view) >= HUGE_KB, `AnonHugePages ${hugeKbIn(view)} kB`);
  },
});

Deno.test({
  name:
    "huge pages: a whole zone's shared arrays and a large event stream record get them, an update's layer not",
  ignore: !linux || mode === "never",
  fn() {
    // A zone's answer bytes (the build sizes them from the names it expects).
    const answers = new SharedAppendBytes(SIZE);
    const data = answers.ensure(SIZE);
    touch(data);
    assert.ok(hugeKbIn(data) >= HUGE_KB, `answers: AnonHugePages ${hugeKbIn(data)} kB`);
    // An update's layer, expected small, that grows large: not advised (it is replaced soon).
    if (mode === "madvise") {
      const layer = new SharedAppendBytes(MB);
      const grown = layer.ensure(SIZE);
      touch(grown);
      assert.equal(hugeKbIn(grown), 0);
    }
    // A SUBSCRIBED record announced at 32 MB, arriving in pieces.
    const decoder = new RecordIODecoder();
    const want = SIZE;
    assert.deepEqual(decoder.push(new TextEncoder().encode(`${want}\n`)), []);
    const piece = new Uint8Array(MB).fill(0x20);
    let records: Uint8Array[] = [];
    for (let sent = 0; sent < want; sent += piece.length) records = decoder.push(piece);
    assert.equal(records.length, 1);
    assert.ok(hugeKbIn(records[0]) >= HUGE_KB, `record: AnonHugePages ${hugeKbIn(records[0])} kB`);
  },
});
