/**
 * The zone's answers in flat shared memory (owns: the layout that the main thread and
 * the UDP worker both read: the name index, each name's answer per query type, and each
 * precomputed answer's bytes with its rotation data; `FlatZoneWriter` collects the
 * answers as the builder makes them and writes the layout, `FlatZone` reads it and
 * renders answers in rotation).
 *
 * Every array is on a SharedArrayBuffer, so posting `parts` to a worker shares the zone
 * instead of copying it. The rotation counters are written by both threads without
 * locks; a lost update only repeats one rotation.
 */
import { NameIndex, type NameIndexParts, sharedBytes, sharedInt32 } from "./name_index.ts";
import { copyBytes, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_NS, TYPE_SOA, TYPE_SRV } from "./wire.ts";

/** Offset of the target name inside an SRV RR whose owner is a 2-byte pointer. */
export const SRV_TARGET_IN_RR = 2 + 10 + 6;

/** The answer kinds stored per name, in slot order. */
const KINDS = 6;
const KIND_A = 0;
const KIND_AAAA = 1;
const KIND_SRV = 2;
const KIND_ANY = 3;
const KIND_SOA = 4;
const KIND_NS = 5;

/** The slot of `qtype` among a name's answers, or -1 for types the zone never has. */
function kindOf(qtype: number): number {
  switch (qtype) {
    case TYPE_A:
      return KIND_A;
    case TYPE_AAAA:
      return KIND_AAAA;
    case TYPE_SRV:
      return KIND_SRV;
    case TYPE_ANY:
      return KIND_ANY;
    case TYPE_SOA:
      return KIND_SOA;
    case TYPE_NS:
      return KIND_NS;
    default:
      return -1;
  }
}

/** A name's answers per type: numbers `FlatZoneWriter.add` returned. */
export interface NameAnswers {
  a?: number;
  aaaa?: number;
  srv?: number;
  any?: number;
  soa?: number;
  ns?: number;
}

/** The shared arrays of a flat zone (post them to a worker; `new FlatZone(parts)` there). */
export interface FlatZoneParts {
  index: NameIndexParts;
  /** Name number × 6 kinds → answer number + 1 (0: none). */
  entries: Int32Array;
  /** Answer number × 3: message offset, message length, offset of its rotation data in `meta`. */
  answers: Int32Array;
  /** Per answer: n (records rotated), n + 1 answer starts, then 2p, then p patch pairs. */
  meta: Int32Array;
  /** Per answer: the next rotation to serve. */
  rotation: Int32Array;
  /** Every answer's bytes. */
  messages: Uint8Array;
  /** The zone apex in wire form, lower-cased. */
  apexWire: Uint8Array;
  /** The SOA for negative answers without its owner (TYPE … RDATA). */
  negativeSoa: Uint8Array;
  /** [header byte 3 for zone replies, serial (as int32)]. */
  scalars: Int32Array;
}

/** Reads a flat zone: lookups by wire name or by string, and answers rendered in rotation. */
export class FlatZone {
  readonly index: NameIndex;
  readonly #entries: Int32Array;
  readonly #answers: Int32Array;
  readonly #meta: Int32Array;
  readonly #rotation: Int32Array;
  readonly #messages: Uint8Array;
  readonly apexWire: Uint8Array;
  readonly negativeSoa: Uint8Array;
  /** Header byte 3 for zone replies (RA per `RecurseOn`). */
  readonly flags3: number;

  constructor(readonly parts: FlatZoneParts) {
    this.index = new NameIndex(parts.index);
    this.#entries = parts.entries;
    this.#answers = parts.answers;
    this.#meta = parts.meta;
    this.#rotation = parts.rotation;
    this.#messages = parts.messages;
    this.apexWire = parts.apexWire;
    this.negativeSoa = parts.negativeSoa;
    this.flags3 = parts.scalars[0];
  }

  /** How many names exist in the zone. */
  get size(): number {
    return this.#entries.length / KINDS;
  }

  /** The answer number for name number `name` and `qtype`, or -1 (NODATA). */
  answer(name: number, qtype: number): number {
    const k = kindOf(qtype);
    return k < 0 ? -1 : this.#entries[name * KINDS + k] - 1;
  }

  /** The length of answer `id` (every rotation has the same length). */
  length(id: number): number {
    return this.#answers[id * 3 + 1];
  }

  /** Writes the next rotation of answer `id` at the start of `out`; returns its length. */
  renderInto(id: number, out: Uint8Array): number {
    const n = this.#meta[this.#answers[id * 3 + 2]];
    let k = 0;
    if (n > 1) {
      k = this.#rotation[id];
      this.#rotation[id] = k + 1 >= n ? 0 : k + 1;
    }
    return this.#render(id, k < n ? k : 0, out);
  }

  /** Rotation `k` of answer `id` as a new array. */
  render(id: number, k: number): Uint8Array {
    const out = new Uint8Array(this.length(id));
    this.#render(id, k, out);
    return out;
  }

  #render(id: number, k: number, out: Uint8Array): number {
    const msgAt = this.#answers[id * 3];
    const len = this.#answers[id * 3 + 1];
    const msgs = this.#messages;
    if (k === 0) {
      copyBytes(out, 0, msgs, msgAt, msgAt + len);
      return len;
    }
    // Answer k first, the order kept cyclic: [header+question][k..n)[0..k)[additional].
    const meta = this.#meta;
    const m = this.#answers[id * 3 + 2];
    const n = meta[m];
    const starts = m + 1;
    const first = meta[starts];
    const end = meta[starts + n];
    const cut = meta[starts + k];
    copyBytes(out, 0, msgs, msgAt, msgAt + first);
    copyBytes(out, first, msgs, msgAt + cut, msgAt + end);
    copyBytes(out, first + (end - cut), msgs, msgAt + first, msgAt + cut);
    copyBytes(out, end, msgs, msgAt + end, msgAt + len);
    // Additional records whose owner points into a moved SRV target follow it.
    const p = starts + n + 1;
    const pairs = meta[p];
    for (let i = p + 1; i < p + 1 + pairs; i += 2) {
      const at = meta[i];
      const srv = meta[i + 1];
      const moved = srv >= k ? meta[starts + srv] - (cut - first) : meta[starts + srv] + (end - cut);
      const ptr = 0xc000 | (moved + SRV_TARGET_IN_RR);
      out[at] = ptr >> 8;
      out[at + 1] = ptr & 0xff;
    }
    return len;
  }
}

/**
 * Collects precomputed answers as they are built (each copied in at once, so the builder
 * keeps no object per answer), then writes the flat zone into shared memory.
 */
export class FlatZoneWriter {
  #messages = new Uint8Array(1 << 20);
  #length = 0;
  /** Per answer: message offset, message length, offset in `#meta`. */
  readonly #answers: number[] = [];
  readonly #meta: number[] = [];

  /**
   * Adds an answer: `message` is its template (rotation 0), `answerStarts` the offset of
   * each answer RR plus the end of the answer section, `patches` pairs (offset of an
   * owner pointer, index of the SRV answer it points into). Returns its number.
   */
  add(message: Uint8Array, answerStarts: readonly number[], patches: readonly number[]): number {
    if (this.#length + message.length > this.#messages.length) {
      const bigger = new Uint8Array(Math.max(this.#messages.length * 2, this.#length + message.length));
      bigger.set(this.#messages.subarray(0, this.#length));
      this.#messages = bigger;
    }
    this.#messages.set(message, this.#length);
    const id = this.#answers.length / 3;
    this.#answers.push(this.#length, message.length, this.#meta.length);
    this.#length += message.length;
    const n = answerStarts.length - 1;
    this.#meta.push(n < 0 ? 0 : n);
    for (const x of answerStarts) this.#meta.push(x);
    this.#meta.push(patches.length);
    for (const x of patches) this.#meta.push(x);
    return id;
  }

  /**
   * The flat zone: `names` maps every existing name (lower-cased, no trailing dot) to its
   * answers' numbers.
   */
  finish(
    names: ReadonlyMap<string, NameAnswers>,
    apexWire: Uint8Array,
    negativeSoa: Uint8Array,
    flags3: number,
    serial: number,
  ): FlatZone {
    const list = [...names.keys()];
    const { index, kept } = NameIndex.build(list);
    const entries = sharedInt32(kept.length * KINDS);
    kept.forEach((pos, n) => {
      const e = names.get(list[pos])!;
      const ids = [e.a, e.aaaa, e.srv, e.any, e.soa, e.ns];
      for (let k = 0; k < KINDS; k++) {
        const id = ids[k];
        if (id !== undefined) entries[n * KINDS + k] = id + 1;
      }
    });
    const ints = (xs: readonly number[]) => {
      const out = sharedInt32(xs.length);
      out.set(xs);
      return out;
    };
    const shared = (b: Uint8Array) => {
      const out = sharedBytes(b.length);
      out.set(b);
      return out;
    };
    const scalars = sharedInt32(2);
    scalars[0] = flags3;
    scalars[1] = serial | 0;
    return new FlatZone({
      index: index.parts,
      entries,
      answers: ints(this.#answers),
      meta: ints(this.#meta),
      rotation: sharedInt32(this.#answers.length / 3),
      messages: shared(this.#messages.subarray(0, this.#length)),
      apexWire: shared(apexWire),
      negativeSoa: shared(negativeSoa),
      scalars,
    });
  }
}
