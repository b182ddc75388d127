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
import { hashWireName, NameIndex, type NameIndexParts, sharedBytes, sharedInt32 } from "./name_index.ts";
import { SharedAppendBytes, SharedIntList } from "./shared_append.ts";
import {
  copyBytes,
  HEADER_LEN,
  nameToWire,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_NS,
  TYPE_SOA,
  TYPE_SRV,
} from "./wire.ts";

/** Offset of the target name inside an SRV RR whose owner is a 2-byte pointer. */
export const SRV_TARGET_IN_RR = 2 + 10 + 6;

/**
 * Int32 per answer in `answers`: where its bytes are in `messages`, its length as a
 * reply, where its rotation data is in `meta`, and where its question ends.
 */
const ANSWER_INTS = 4;

/** Layers made in this process so far: each layer's number (`FlatZone.baseLayer`). */
let layersMade = 0;

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

/** The shared arrays of one layer of a flat zone. */
export interface FlatLayerParts {
  index: NameIndexParts;
  /** Name number × 6 kinds → answer number + 1 (0: none). */
  entries: Int32Array;
  /** Name number → `NAME_EXISTS` (a top layer's 0: the name was removed). */
  flags: Uint8Array;
  /**
   * Answer number × 4 (`ANSWER_INTS`): offset of its bytes in `messages`, its length as a
   * reply, offset of its rotation data in `meta`, and the end of its question. Offsets in
   * `meta` are offsets in the reply.
   */
  answers: Int32Array;
  /** Per answer: n (records rotated), n + 1 answer starts, then 2p, then p patch pairs. */
  meta: Int32Array;
  /** Per answer: the next rotation to serve. */
  rotation: Int32Array;
  /**
   * Every answer's bytes: its header, then the reply from the end of its question on. The
   * question itself is not stored: a reply takes it from the request, and the stored name
   * (or a `_tcp`/`_udp` twin sharing the answer) has the same length.
   */
  messages: Uint8Array;
  /** The zone apex in wire form, lower-cased. */
  apexWire: Uint8Array;
  /** The SOA for negative answers without its owner (TYPE … RDATA). */
  negativeSoa: Uint8Array;
  /** [header byte 3 for zone replies, serial (as int32), the layer's number in this process]. */
  scalars: Int32Array;
}

/**
 * The shared arrays of a flat zone (post them to a worker; `new FlatZone(parts)` there):
 * a base layer with every name, and optionally a small top layer with the names changed
 * since the base was built (their new answers, or a tombstone), the apex and the SOA.
 */
export interface FlatZoneParts extends FlatLayerParts {
  top?: FlatLayerParts;
}

/** `flags` bit: the name exists (a tombstone in a top layer has it clear). */
export const NAME_EXISTS = 1;

/** One layer: its name index and arrays. */
class Layer {
  readonly index: NameIndex;
  readonly entries: Int32Array;
  readonly flags: Uint8Array;
  readonly answers: Int32Array;
  readonly meta: Int32Array;
  readonly rotation: Int32Array;
  readonly messages: Uint8Array;

  constructor(parts: FlatLayerParts) {
    this.index = new NameIndex(parts.index);
    this.entries = parts.entries;
    this.flags = parts.flags;
    this.answers = parts.answers;
    this.meta = parts.meta;
    this.rotation = parts.rotation;
    this.messages = parts.messages;
  }
}

/**
 * Reads a flat zone: lookups by wire name or by string, and answers rendered in rotation.
 * With a top layer, a name is looked up there first (one more probe, usually a miss in a
 * small table); name and answer numbers past the base's count are the top layer's.
 */
export class FlatZone {
  /** The base layer's index (names of the top layer are not in it: use `find`). */
  readonly index: NameIndex;
  readonly #base: Layer;
  readonly #top: Layer | undefined;
  readonly #baseNames: number;
  readonly #baseAnswers: number;
  readonly apexWire: Uint8Array;
  readonly negativeSoa: Uint8Array;
  /** Header byte 3 for zone replies (RA per `RecurseOn`). */
  readonly flags3: number;
  /** The SOA serial of the newest layer. */
  readonly serial: number;
  /** The base layer's number in the process that made it: zones over the same base have the same one. */
  readonly baseLayer: number;

  constructor(readonly parts: FlatZoneParts) {
    this.#base = new Layer(parts);
    this.index = this.#base.index;
    this.#top = parts.top ? new Layer(parts.top) : undefined;
    this.#baseNames = parts.entries.length / KINDS;
    this.#baseAnswers = parts.answers.length / ANSWER_INTS;
    const newest = parts.top ?? parts;
    this.apexWire = newest.apexWire;
    this.negativeSoa = newest.negativeSoa;
    this.flags3 = newest.scalars[0];
    this.serial = newest.scalars[1] >>> 0;
    this.baseLayer = parts.scalars[2];
  }

  /** How many names the base layer holds. */
  get size(): number {
    return this.#baseNames;
  }

  /** How many names the top layer holds (changed names and tombstones; 0 without one). */
  get topSize(): number {
    return this.#top ? this.#top.entries.length / KINDS : 0;
  }

  /**
   * The number of the uncompressed wire name `b[from, to)` (any letter case) whose
   * `hashWireName` is `hash`, or -1 when the name does not exist.
   */
  find(b: Uint8Array, from: number, to: number, hash: number): number {
    const top = this.#top;
    if (top !== undefined) {
      const n = top.index.find(b, from, to, hash);
      if (n >= 0) return (top.flags[n] & NAME_EXISTS) !== 0 ? this.#baseNames + n : -1;
    }
    return this.#base.index.find(b, from, to, hash);
  }

  /** The number of `name` (lower-case, no trailing dot), or -1. */
  findName(name: string): number {
    const w = nameToWire(name);
    return w ? this.find(w, 0, w.length, hashWireName(w, 0, w.length)) : -1;
  }

  /** The answer number for name number `name` and `qtype`, or -1 (NODATA). */
  answer(name: number, qtype: number): number {
    const k = kindOf(qtype);
    if (k < 0) return -1;
    if (name < this.#baseNames) return this.#base.entries[name * KINDS + k] - 1;
    const id = this.#top!.entries[(name - this.#baseNames) * KINDS + k] - 1;
    return id < 0 ? -1 : id + this.#baseAnswers;
  }

  /**
   * Where the records that answer `id` rotates are stored: record k is
   * `bytes[starts[k] + shift, starts[k + 1] + shift)` (`starts` has one more entry: the end).
   * The zone's builder copies records from there that an update keeps.
   */
  rotatedRecords(id: number): { bytes: Uint8Array; shift: number; starts: Int32Array } {
    let l = this.#base;
    if (id >= this.#baseAnswers) {
      l = this.#top!;
      id -= this.#baseAnswers;
    }
    const a = id * ANSWER_INTS;
    const m = l.answers[a + 2];
    return {
      bytes: l.messages,
      shift: l.answers[a] + HEADER_LEN - l.answers[a + 3],
      starts: l.meta.subarray(m + 1, m + 2 + l.meta[m]),
    };
  }

  /** The length of answer `id` (every rotation has the same length). */
  length(id: number): number {
    return id < this.#baseAnswers
      ? this.#base.answers[id * ANSWER_INTS + 1]
      : this.#top!.answers[(id - this.#baseAnswers) * ANSWER_INTS + 1];
  }

  /**
   * Writes the next rotation of answer `id` at the start of `out`, all but its question
   * (`out` keeps what it had there: the caller writes the question as asked); returns its length.
   */
  renderInto(id: number, out: Uint8Array): number {
    let l = this.#base;
    if (id >= this.#baseAnswers) {
      l = this.#top!;
      id -= this.#baseAnswers;
    }
    const n = l.meta[l.answers[id * ANSWER_INTS + 2]];
    let k = 0;
    if (n > 1) {
      k = l.rotation[id];
      l.rotation[id] = k + 1 >= n ? 0 : k + 1;
    }
    return render(l, id, k < n ? k : 0, out);
  }

  /**
   * When the answer records of answer `id` do not all fit in `room` bytes (a name with many
   * records asked over UDP): writes its next rotation cut to what fits (header, question,
   * then whole answer records in rotation order; no additional records; counts patched) at
   * the start of `out` and returns the length, copying no more than that (the question
   * left to the caller, as in `renderInto`). Otherwise -1 (the caller renders it whole).
   * The same bytes as rendering whole and cutting.
   */
  renderAnswersCut(id: number, out: Uint8Array, room: number): number {
    let l = this.#base;
    if (id >= this.#baseAnswers) {
      l = this.#top!;
      id -= this.#baseAnswers;
    }
    const meta = l.meta;
    const a = id * ANSWER_INTS;
    const m = l.answers[a + 2];
    const n = meta[m];
    if (n < 2) return -1;
    const starts = m + 1;
    const first = meta[starts];
    if (meta[starts + n] <= room) return -1;
    const k = l.rotation[id];
    l.rotation[id] = k + 1 >= n ? 0 : k + 1;
    const msgs = l.messages;
    const msgAt = l.answers[a];
    const qEnd = l.answers[a + 3];
    // Reply offset v (at or past the question's end) is stored at `v + shift`.
    const shift = msgAt + HEADER_LEN - qEnd;
    copyBytes(out, 0, msgs, msgAt, msgAt + HEADER_LEN);
    copyBytes(out, qEnd, msgs, qEnd + shift, first + shift);
    let pos = first;
    let count = 0;
    for (let j = 0; j < n; j++) {
      const r = k + j < n ? k + j : k + j - n;
      const from = meta[starts + r];
      const to = meta[starts + r + 1];
      if (pos + (to - from) > room) break;
      copyBytes(out, pos, msgs, from + shift, to + shift);
      pos += to - from;
      count++;
    }
    out[6] = count >> 8;
    out[7] = count & 0xff;
    out.fill(0, 8, 12);
    return pos;
  }

  /**
   * Rotation `k` of answer `id` as a new array, with `question` (the name in wire form,
   * type and class, as a request has it) as its question.
   */
  render(id: number, k: number, question: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.length(id));
    out.set(question, HEADER_LEN);
    if (id >= this.#baseAnswers) render(this.#top!, id - this.#baseAnswers, k, out);
    else render(this.#base, id, k, out);
    return out;
  }
}

/**
 * Writes rotation `k` of answer `id` of layer `l` at the start of `out`, all but the
 * question (`out[HEADER_LEN, question end)` is left as it is); returns its length.
 */
function render(l: Layer, id: number, k: number, out: Uint8Array): number {
  const a = id * ANSWER_INTS;
  const msgAt = l.answers[a];
  const len = l.answers[a + 1];
  const qEnd = l.answers[a + 3];
  const msgs = l.messages;
  // Reply offset v (at or past the question's end) is stored at `v + shift`.
  const shift = msgAt + HEADER_LEN - qEnd;
  copyBytes(out, 0, msgs, msgAt, msgAt + HEADER_LEN);
  if (k === 0) {
    copyBytes(out, qEnd, msgs, qEnd + shift, len + shift);
    return len;
  }
  // Answer k first, the order kept cyclic: [header+question][k..n)[0..k)[additional].
  const meta = l.meta;
  const m = l.answers[a + 2];
  const n = meta[m];
  const starts = m + 1;
  const first = meta[starts];
  const end = meta[starts + n];
  const cut = meta[starts + k];
  copyBytes(out, qEnd, msgs, qEnd + shift, first + shift);
  copyBytes(out, first, msgs, cut + shift, end + shift);
  copyBytes(out, first + (end - cut), msgs, first + shift, cut + shift);
  copyBytes(out, end, msgs, end + shift, len + shift);
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

/**
 * Writes `name` (its first `end` characters; a trailing dot is ignored; `""` = root) in
 * uncompressed wire form at `out[at]` (room for `end + 2` bytes), lower-cased if `lower`;
 * returns where it ends, or -1 if it is not a valid ASCII name (empty or long labels, over
 * 255 octets).
 */
export function writeWireName(
  out: Uint8Array,
  at: number,
  name: string,
  end = name.length,
  lower = false,
): number {
  let n = end;
  if (n > 1 && name.charCodeAt(n - 1) === 0x2e) n--;
  if (n === 0) {
    out[at] = 0;
    return at + 1;
  }
  if (n + 2 > 255) return -1;
  let lenAt = at;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) return -1;
      out[lenAt] = label;
      lenAt = at + 1 + i;
      label = 0;
    } else {
      if (c > 0x7f || ++label > 63) return -1;
      out[at + 1 + i] = lower && c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
  }
  if (label === 0) return -1;
  out[lenAt] = label;
  out[at + n + 1] = 0;
  return at + n + 2;
}

/** The kind slots, for `FlatZoneWriter.setAnswer`. */
export const SLOT = {
  a: KIND_A,
  aaaa: KIND_AAAA,
  srv: KIND_SRV,
  any: KIND_ANY,
  soa: KIND_SOA,
  ns: KIND_NS,
} as const;

/**
 * Collects the names and precomputed answers of one layer as they are built (each answer
 * copied in at once, numbers in int32 lists, so the builder keeps no object per name or
 * answer), straight into the shared arrays of the layer (`shared_append.ts`): finishing
 * only indexes the names.
 */
export class FlatZoneWriter {
  readonly #messages: SharedAppendBytes;
  /** Per answer: message offset, message length, offset in `#meta`. */
  readonly #answers: SharedIntList;
  readonly #meta: SharedIntList;
  /** The names added with `addName`, at their numbers (`addNewName` leaves holes). */
  readonly #names: string[] = [];
  readonly #numbers = new Map<string, number>();
  #count = 0;
  /** The names in wire form, one after another, and where each starts (one more: the end). */
  readonly #keys: SharedAppendBytes;
  readonly #offsets: SharedIntList;
  /** Per name: KINDS answer numbers + 1. */
  readonly #entries: SharedIntList;
  /** Per name: its flags (`NAME_EXISTS`). */
  readonly #flags: SharedAppendBytes;

  /**
   * `expectedNames`: about how many names the layer will hold (sizes the reservations).
   * `continues`: a finished writer whose answers this layer goes on appending to, so that
   * names of its layer can be taken over without copying their answers (`reuseName`).
   */
  constructor(expectedNames = 1024, continues?: FlatZoneWriter) {
    const n = Math.max(16, expectedNames);
    this.#messages = continues ? continues.#messages : new SharedAppendBytes(n * 256);
    this.#answers = continues ? continues.#answers : new SharedIntList(n * ANSWER_INTS);
    this.#meta = continues ? continues.#meta : new SharedIntList(n * 8);
    this.#keys = new SharedAppendBytes(n * 48);
    this.#offsets = new SharedIntList(n + 1);
    this.#offsets.push(0);
    this.#entries = new SharedIntList(n * KINDS);
    this.#flags = new SharedAppendBytes(n);
  }

  /** How many names have been added. */
  get names(): number {
    return this.#count;
  }

  /** Bytes of answers written (with those of the writers it continues: some no longer in use). */
  get messageBytes(): number {
    return this.#messages.length;
  }

  /** The number of `name` if it was added with `addName`, else undefined. */
  numberOf(name: string): number | undefined {
    return this.#numbers.get(name);
  }

  /** The name numbered `n`, if it was added with `addName`. */
  nameAt(n: number): string | undefined {
    return this.#names[n];
  }

  /**
   * Adds a name (lower-case, encodable; a trailing dot is ignored in its wire form) without
   * answers or flags; returns its number.
   */
  addName(name: string): number {
    const n = this.addNewName(name);
    this.#names[n] = name;
    this.#numbers.set(name, n);
    return n;
  }

  /**
   * `addName` for a name the caller knows is not in the layer, and will not look up by
   * `numberOf` or `nameAt`: the layer keeps no string or map entry for it (a whole build's
   * hundreds of thousands of names).
   */
  addNewName(name: string): number {
    const n = this.#count++;
    const keys = this.#keys;
    const out = keys.ensure(name.length + 2);
    const end = writeWireName(out, keys.length, name);
    if (end < 0) throw new Error(`zone name ${JSON.stringify(name)} cannot be written in wire form`);
    keys.length = end;
    this.#offsets.push(end);
    const entries = this.#entries;
    entries.ensure(KINDS);
    entries.length += KINDS; // committed pages of a new buffer are zero
    this.#flags.ensure(1);
    this.#flags.length++;
    return n;
  }

  /** Sets answer `id` (from `add`) for name `n` in `slot` (`SLOT`). */
  setAnswer(n: number, slot: number, id: number | undefined): void {
    if (id !== undefined) this.#entries.data[n * KINDS + slot] = id + 1;
  }

  /** Adds `bits` (`NAME_EXISTS`) to name `n`'s flags. */
  setFlags(n: number, bits: number): void {
    this.#flags.data[n] |= bits;
  }

  /**
   * Adds an answer: `message[0, len)` is its reply (rotation 0; its question, which ends at
   * `qEnd`, is not read), `starts[0, nStarts)` the offset of each answer RR plus the end of
   * the answer section, `patches[0, nPatches)` pairs (offset of an owner pointer, index of
   * the SRV answer it points into). Returns its number. An answer stored already (`copyName`)
   * has its header at `message[headerAt]` and its bytes from `qEnd` on at `message[restAt]`.
   */
  add(
    message: Uint8Array,
    len: number,
    qEnd: number,
    starts: ArrayLike<number>,
    nStarts: number,
    patches: ArrayLike<number>,
    nPatches: number,
    headerAt = 0,
    restAt = qEnd,
  ): number {
    const messages = this.#messages;
    const at = messages.length;
    const stored = HEADER_LEN + len - qEnd;
    const into = messages.ensure(stored);
    copyBytes(into, at, message, headerAt, headerAt + HEADER_LEN);
    copyBytes(into, at + HEADER_LEN, message, restAt, restAt + len - qEnd);
    messages.length = at + stored;
    const answers = this.#answers;
    const id = answers.length / ANSWER_INTS;
    const a = answers.ensure(ANSWER_INTS);
    const meta = this.#meta;
    a[id * ANSWER_INTS] = at;
    a[id * ANSWER_INTS + 1] = len;
    a[id * ANSWER_INTS + 2] = meta.length;
    a[id * ANSWER_INTS + 3] = qEnd;
    answers.length += ANSWER_INTS;
    const m = meta.ensure(nStarts + nPatches + 2);
    let i = meta.length;
    m[i++] = nStarts > 0 ? nStarts - 1 : 0;
    for (let k = 0; k < nStarts; k++) m[i++] = starts[k];
    m[i++] = nPatches;
    for (let k = 0; k < nPatches; k++) m[i++] = patches[k];
    meta.length = i;
    return id;
  }

  /**
   * Copies name `n` of `layer` (its answers, bytes and rotation data, and its flags) into
   * this layer under the name `name`; returns its new number.
   */
  copyName(layer: FlatLayerParts, n: number, name: string): number {
    const to = this.#numbers.get(name) ?? this.addName(name);
    for (let k = 0; k < KINDS; k++) {
      const id = layer.entries[n * KINDS + k] - 1;
      if (id < 0) continue;
      const at = layer.answers[id * ANSWER_INTS];
      const len = layer.answers[id * ANSWER_INTS + 1];
      const m = layer.answers[id * ANSWER_INTS + 2];
      const qEnd = layer.answers[id * ANSWER_INTS + 3];
      const count = layer.meta[m];
      const from = layer.messages;
      if (count === 0) {
        // Nothing to rotate: the rotation data is never read.
        this.setAnswer(to, k, this.add(from, len, qEnd, [], 0, [], 0, at, at + HEADER_LEN));
        continue;
      }
      const starts = layer.meta.subarray(m + 1, m + 2 + count);
      const pairs = layer.meta[m + 2 + count];
      const patches = layer.meta.subarray(m + 3 + count, m + 3 + count + pairs);
      this.setAnswer(
        to,
        k,
        this.add(from, len, qEnd, starts, count + 1, patches, pairs, at, at + HEADER_LEN),
      );
    }
    this.setFlags(to, layer.flags[n]);
    return to;
  }

  /**
   * Takes name `n` of `layer` into this layer under the name `name`, its answers shared, not
   * copied: `layer` must be the layer of a writer this one continues. Returns its new number.
   */
  reuseName(layer: FlatLayerParts, n: number, name: string): number {
    const to = this.#numbers.get(name) ?? this.addName(name);
    for (let k = 0; k < KINDS; k++) {
      const id = layer.entries[n * KINDS + k] - 1;
      if (id >= 0) this.setAnswer(to, k, id);
    }
    this.setFlags(to, layer.flags[n]);
    return to;
  }

  /** The layer's shared arrays. */
  finish(apexWire: Uint8Array, negativeSoa: Uint8Array, flags3: number, serial: number): FlatLayerParts {
    const steps = this.finishSteps(apexWire, negativeSoa, flags3, serial);
    let r = steps.next();
    while (!r.done) r = steps.next();
    return r.value;
  }

  /** `finish` in steps of a few thousand names. */
  *finishSteps(
    apexWire: Uint8Array,
    negativeSoa: Uint8Array,
    flags3: number,
    serial: number,
  ): Generator<void, FlatLayerParts> {
    const count = this.#count;
    const flags = this.#flags.view();
    const index = yield* NameIndex.fromWiresSteps(this.#keys.view(), this.#offsets.view(), count);
    yield;
    const shared = (b: Uint8Array) => {
      const out = sharedBytes(b.length);
      out.set(b);
      return out;
    };
    const scalars = sharedInt32(3);
    scalars[0] = flags3;
    scalars[1] = serial | 0;
    scalars[2] = ++layersMade;
    return {
      index: index.parts,
      entries: count === 0 ? sharedInt32(0) : this.#entries.view(),
      flags: count === 0 ? sharedBytes(0) : flags,
      answers: this.#answers.view(),
      meta: this.#meta.view(),
      rotation: sharedInt32(this.#answers.length / ANSWER_INTS),
      messages: this.#messages.view(),
      apexWire: shared(apexWire),
      negativeSoa: shared(negativeSoa),
      scalars,
    };
  }
}
