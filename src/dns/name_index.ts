/**
 * The byte-keyed name table (owns: finding a zone entry straight from the question
 * name's wire bytes, letter case ignored, without making a string). Built once per
 * publish from the zone's lower-cased names; a query costs one hash over the name
 * bytes (computed while the question is read, `hashNameByte`) and one byte compare.
 * Open addressing with linear probing in a power-of-two table at most half full.
 */
import { nameToWire } from "./wire.ts";

/** FNV-1a offset basis: the hash of an empty name. */
export const NAME_HASH_START = 0x811c9dc5;

/** Adds one wire byte, lower-cased, to a running FNV-1a hash. */
export function hashNameByte(h: number, c: number): number {
  return Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193);
}

/** FNV-1a over the wire bytes `b[from, to)`, lower-cased. */
export function hashWireName(b: Uint8Array, from: number, to: number): number {
  let h = NAME_HASH_START;
  for (let i = from; i < to; i++) h = hashNameByte(h, b[i]);
  return h;
}

/** Lower-cased wire names → values; looked up by a name inside a request. */
export class NameIndex<T> {
  /** Slot → entry number + 1 (0: empty). */
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #hashes: Int32Array;
  readonly #offsets: Int32Array;
  readonly #keys: Uint8Array;
  readonly #values: T[];

  /**
   * Indexes every entry whose name (lower-case, no trailing dot) can be written in wire
   * form; names that cannot (a label over 63 octets) cannot be asked either. The first of
   * two equal names wins.
   */
  constructor(entries: Iterable<[string, T]>) {
    const wires: Uint8Array[] = [];
    const values: T[] = [];
    let total = 0;
    for (const [name, value] of entries) {
      const w = nameToWire(name);
      if (!w) continue;
      wires.push(w);
      values.push(value);
      total += w.length;
    }
    let size = 16;
    while (size < wires.length * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    this.#hashes = new Int32Array(wires.length);
    this.#offsets = new Int32Array(wires.length + 1);
    this.#keys = new Uint8Array(total);
    this.#values = [];
    let at = 0;
    for (let i = 0; i < wires.length; i++) {
      const w = wires[i];
      const h = hashWireName(w, 0, w.length);
      if (this.#find(w, 0, w.length, h) >= 0) continue;
      const n = this.#values.length;
      this.#keys.set(w, at);
      this.#offsets[n] = at;
      at += w.length;
      this.#offsets[n + 1] = at;
      this.#hashes[n] = h;
      this.#values.push(values[i]);
      let s = h & this.#mask;
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
      this.#slots[s] = n + 1;
    }
  }

  /** How many names are indexed. */
  get size(): number {
    return this.#values.length;
  }

  /**
   * The value for the uncompressed wire name `b[from, to)` (any letter case) whose
   * `hashWireName` is `hash`, or undefined.
   */
  get(b: Uint8Array, from: number, to: number, hash: number): T | undefined {
    const n = this.#find(b, from, to, hash);
    return n < 0 ? undefined : this.#values[n];
  }

  #find(b: Uint8Array, from: number, to: number, hash: number): number {
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
      while (i < len) {
        const c = b[from + i];
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== keys[at + i]) break;
        i++;
      }
      if (i === len) return n;
    }
  }
}
