/**
 * The byte-keyed name table (owns: finding a name's number straight from the question
 * name's wire bytes, letter case ignored, without making a string). Built once per
 * publish from the zone's lower-cased names; a query costs one hash over the name bytes
 * (computed while the question is read, `hashNameByte`) and one byte compare. Open
 * addressing with linear probing in a power-of-two table at most half full. The tables
 * live in shared memory, so the UDP worker reads the same index as the main thread.
 */
import { nameToWire } from "./wire.ts";

/** FNV-1a offset basis: the hash of an empty name. */
export const NAME_HASH_START = 0x811c9dc5;

/** An ASCII byte with A–Z lower-cased (DNS names compare case-insensitively). */
export function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Adds one wire byte, lower-cased, to a running FNV-1a hash. */
export function hashNameByte(h: number, c: number): number {
  return Math.imul(h ^ lowerAscii(c), 0x01000193);
}

/** FNV-1a over the wire bytes `b[from, to)`, lower-cased. */
export function hashWireName(b: Uint8Array, from: number, to: number): number {
  let h = NAME_HASH_START;
  for (let i = from; i < to; i++) h = hashNameByte(h, b[i]);
  return h;
}

/** The typed arrays of a `NameIndex` (on shared memory; can be posted to a worker as is). */
export interface NameIndexParts {
  /** Slot → name number + 1 (0: empty); the length is a power of two. */
  slots: Int32Array;
  /** Name number → its hash. */
  hashes: Int32Array;
  /** Name number → where its wire form starts in `keys` (one more entry: the end). */
  offsets: Int32Array;
  /** The lower-cased wire names, one after another. */
  keys: Uint8Array;
}

/** A typed array of `n` elements on a SharedArrayBuffer. */
export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/** A byte array of `n` bytes on a SharedArrayBuffer. */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.max(1, n)));
}

/** Lower-cased wire names → their numbers (0, 1, ... in the order they were given). */
export class NameIndex {
  readonly parts: NameIndexParts;
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #hashes: Int32Array;
  readonly #offsets: Int32Array;
  readonly #keys: Uint8Array;

  constructor(parts: NameIndexParts) {
    this.parts = parts;
    this.#slots = parts.slots;
    this.#mask = parts.slots.length - 1;
    this.#hashes = parts.hashes;
    this.#offsets = parts.offsets;
    this.#keys = parts.keys;
  }

  /**
   * Indexes `names` (lower-case, no trailing dot). Names that cannot be written in wire
   * form (a label over 63 octets) cannot be asked either, and the second of two equal
   * names adds nothing: `kept[n]` is the position in `names` of the name numbered n.
   */
  static build(names: readonly string[]): { index: NameIndex; kept: number[] } {
    const wires: Uint8Array[] = [];
    const positions: number[] = [];
    let total = 0;
    names.forEach((name, i) => {
      const w = nameToWire(name);
      if (!w) return;
      wires.push(w);
      positions.push(i);
      total += w.length;
    });
    let size = 16;
    while (size < wires.length * 2) size *= 2;
    const parts: NameIndexParts = {
      slots: sharedInt32(size),
      hashes: sharedInt32(wires.length),
      offsets: sharedInt32(wires.length + 1),
      keys: sharedBytes(total),
    };
    const index = new NameIndex(parts);
    const kept: number[] = [];
    let at = 0;
    for (let i = 0; i < wires.length; i++) {
      const w = wires[i];
      const h = hashWireName(w, 0, w.length);
      if (index.find(w, 0, w.length, h) >= 0) continue;
      const n = kept.length;
      parts.keys.set(w, at);
      parts.offsets[n] = at;
      at += w.length;
      parts.offsets[n + 1] = at;
      parts.hashes[n] = h;
      kept.push(positions[i]);
      let s = h & index.#mask;
      while (parts.slots[s] !== 0) s = (s + 1) & index.#mask;
      parts.slots[s] = n + 1;
    }
    return { index, kept };
  }

  /**
   * Indexes `count` distinct lower-cased wire names laid out one after another in
   * `keys[offsets[n], offsets[n + 1])`; name n gets number n. The arrays are copied to
   * shared memory (unless they are there already, at their exact length).
   */
  static fromWires(keys: Uint8Array, offsets: Int32Array, count: number): NameIndex {
    const steps = NameIndex.fromWiresSteps(keys, offsets, count);
    let r = steps.next();
    while (!r.done) r = steps.next();
    return r.value;
  }

  /** `fromWires` in steps of a few thousand names (see `zoneBuild`). */
  static *fromWiresSteps(keys: Uint8Array, offsets: Int32Array, count: number): Generator<void, NameIndex> {
    let size = 16;
    while (size < count * 2) size *= 2;
    const total = offsets[count];
    // Arrays already on shared memory at their exact length are taken as they are.
    const own = keys.buffer instanceof SharedArrayBuffer && keys.length === Math.max(1, total) &&
      offsets.buffer instanceof SharedArrayBuffer && offsets.length === count + 1;
    const parts: NameIndexParts = {
      slots: sharedInt32(size),
      hashes: sharedInt32(count),
      offsets: own ? offsets : sharedInt32(count + 1),
      keys: own ? keys : sharedBytes(total),
    };
    if (!own) {
      parts.keys.set(keys.subarray(0, total));
      parts.offsets.set(offsets.subarray(0, count + 1));
    }
    const mask = size - 1;
    for (let n = 0; n < count; n++) {
      if ((n & 4095) === 4095) yield;
      const h = hashWireName(keys, offsets[n], offsets[n + 1]);
      parts.hashes[n] = h;
      let s = h & mask;
      while (parts.slots[s] !== 0) s = (s + 1) & mask;
      parts.slots[s] = n + 1;
    }
    return new NameIndex(parts);
  }

  /**
   * The number of the uncompressed wire name `b[from, to)` (any letter case) whose
   * `hashWireName` is `hash`, or -1.
   */
  find(b: Uint8Array, from: number, to: number, hash: number): number {
    const len = to - from;
    const keys = this.#keys;
    const h = hash | 0;
    for (let s = h & this.#mask;; s = (s + 1) & this.#mask) {
      const n = this.#slots[s] - 1;
      if (n < 0) return -1;
      if (this.#hashes[n] !== h) continue;
      const at = this.#offsets[n];
      if (this.#offsets[n + 1] - at !== len) continue;
      let i = 0;
      while (i < len && lowerAscii(b[from + i]) === keys[at + i]) i++;
      if (i === len) return n;
    }
  }

  /** The number of `name` (lower-case, no trailing dot), or -1. */
  findName(name: string): number {
    const w = nameToWire(name);
    return w ? this.find(w, 0, w.length, hashWireName(w, 0, w.length)) : -1;
  }
}
