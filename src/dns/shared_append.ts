/**
 * Append-only arrays on growable SharedArrayBuffers (owns: building a zone's shared arrays
 * in place, so that finishing a build hands out fixed-length views without copying).
 *
 * A growable SharedArrayBuffer reserves address space for its largest size and commits
 * pages as it grows: growing never copies, and pages are touched only once, when they are
 * written. Building the same arrays in ordinary buffers grown by doubling, then copying
 * them to shared memory, touches every byte two to three times, which costs more than the
 * writing itself where fresh pages are expensive (a virtual machine). The reservation is
 * sized from a hint; an array that outgrows it moves once to a larger one.
 */
import { adviseHugePages } from "../huge_pages.ts";

/** Address space reserved for an array of `hint` bytes: room for 4× the hint, at least 1 MiB. */
function reservation(hint: number): number {
  return Math.min(2 ** 32, Math.max(1 << 20, Math.ceil(hint) * 4));
}

/**
 * A growable SharedArrayBuffer of `bytes` bytes, able to grow to `max`; its first `huge` bytes
 * are advised to be backed by huge pages (`adviseHugePages`, where they are 8 MB or more).
 */
function growable(bytes: number, max: number, huge = 0): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(bytes, { maxByteLength: Math.max(bytes, max) });
  if (huge > 0) adviseHugePages(new Uint8Array(sab), Math.min(huge, sab.maxByteLength));
  return sab;
}

/** The typed arrays an append-only array can be made of. */
type Elements = Uint8Array | Int32Array;

/** Elements appended one after another; `data` is a fixed-length view of what is committed. */
class SharedAppend<T extends Elements> {
  #sab: SharedArrayBuffer;
  /** The committed elements (a new view after `ensure` grew them); beyond `length` they are zero. */
  data: T;
  /** Elements in use. */
  length = 0;

  /** `hint`: the expected final number of elements. */
  constructor(
    readonly make: (sab: SharedArrayBuffer, length: number) => T,
    readonly bytesPer: number,
    hint: number,
  ) {
    const bytes = Math.max(1, Math.ceil(hint)) * bytesPer;
    const initial = Math.min(Math.max(1024, bytes >> 3), 1 << 20);
    // Huge pages for the size expected (a whole zone's arrays), not for its room to grow, nor
    // for an array that outgrows a small hint (an update's layer, replaced a moment later: huge
    // pages there held about 50 MB more under a steady stream of changes at 100,000 tasks).
    this.#sab = growable(initial - (initial % bytesPer), reservation(bytes), bytes);
    this.data = make(this.#sab, this.#sab.byteLength / bytesPer);
  }

  /** Makes room for `n` more elements after `length`; returns `data` (possibly a new view). */
  ensure(n: number): T {
    const need = (this.length + n) * this.bytesPer;
    const sab = this.#sab;
    if (need <= sab.byteLength) return this.data;
    if (need <= sab.maxByteLength) {
      sab.grow(Math.min(sab.maxByteLength, Math.max(need, sab.byteLength * 2)));
    } else {
      this.#sab = growable(Math.max(need, sab.byteLength * 2), reservation(need));
      this.make(this.#sab, this.length).set(this.data.subarray(0, this.length));
    }
    this.data = this.make(this.#sab, this.#sab.byteLength / this.bytesPer);
    return this.data;
  }

  /** The elements in use, as a fixed-length view on shared memory (no copy; at least one element long). */
  view(): T {
    if (this.length === 0) this.ensure(1);
    return this.make(this.#sab, Math.max(1, this.length));
  }
}

/** Bytes appended one after another. */
export class SharedAppendBytes extends SharedAppend<Uint8Array> {
  /** `hint`: the expected final size in bytes. */
  constructor(hint: number) {
    super((sab, length) => new Uint8Array(sab, 0, length), 1, hint);
  }
}

/** An append-only list of int32. */
export class SharedIntList extends SharedAppend<Int32Array> {
  /** `hint`: the expected final number of elements. */
  constructor(hint: number) {
    super((sab, length) => new Int32Array(sab, 0, length), 4, hint);
  }

  push(v: number): void {
    if (this.length === this.data.length) this.ensure(1);
    this.data[this.length++] = v;
  }
}
