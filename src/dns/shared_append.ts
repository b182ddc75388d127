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

/** Address space reserved for an array of `hint` bytes: room for 4× the hint, at least 1 MiB. */
function reservation(hint: number): number {
  return Math.min(2 ** 32, Math.max(1 << 20, Math.ceil(hint) * 4));
}

/** A growable SharedArrayBuffer of `bytes` bytes, able to grow to `max`. */
function growable(bytes: number, max: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes, { maxByteLength: Math.max(bytes, max) });
}

/** The new committed size for `need` bytes in `sab` (doubling, within its maximum), or -1 if it cannot hold them. */
function grownSize(sab: SharedArrayBuffer, need: number): number {
  if (need > sab.maxByteLength) return -1;
  return Math.min(sab.maxByteLength, Math.max(need, sab.byteLength * 2, 4096));
}

/** Bytes appended one after another; `bytes` is a fixed-length view of what is committed. */
export class SharedAppendBytes {
  #sab: SharedArrayBuffer;
  /** The committed bytes (a new view after `ensure` grew them). */
  bytes: Uint8Array;
  /** Bytes in use. */
  length = 0;

  /** `hint`: the expected final size in bytes. */
  constructor(hint: number) {
    this.#sab = growable(Math.min(Math.max(1024, Math.ceil(hint / 8)), 1 << 20), reservation(hint));
    this.bytes = new Uint8Array(this.#sab, 0, this.#sab.byteLength);
  }

  /** Makes room for `n` more bytes after `length`; returns `bytes` (possibly a new view). */
  ensure(n: number): Uint8Array {
    const need = this.length + n;
    if (need <= this.bytes.length) return this.bytes;
    const size = grownSize(this.#sab, need);
    if (size >= 0) {
      this.#sab.grow(size);
    } else {
      const bigger = growable(Math.max(need, this.#sab.byteLength * 2), reservation(need));
      new Uint8Array(bigger).set(this.bytes.subarray(0, this.length));
      this.#sab = bigger;
    }
    this.bytes = new Uint8Array(this.#sab, 0, this.#sab.byteLength);
    return this.bytes;
  }

  /** The bytes in use, as a fixed-length view on shared memory (no copy; at least one byte long). */
  view(): Uint8Array {
    if (this.length === 0) this.ensure(1);
    return new Uint8Array(this.#sab, 0, Math.max(1, this.length));
  }
}

/** An append-only list of int32 on shared memory. */
export class SharedIntList {
  #sab: SharedArrayBuffer;
  /** The committed elements (a new view after growing). */
  data: Int32Array;
  length = 0;

  /** `hint`: the expected final number of elements. */
  constructor(hint: number) {
    const bytes = Math.max(4, Math.ceil(hint)) * 4;
    this.#sab = growable(Math.min(Math.max(1024, bytes >> 3) & ~3, 1 << 20), reservation(bytes));
    this.data = new Int32Array(this.#sab, 0, this.#sab.byteLength >> 2);
  }

  push(v: number): void {
    if (this.length === this.data.length) this.ensure(1);
    this.data[this.length++] = v;
  }

  /** Makes room for `n` more elements after `length`; returns `data` (possibly a new view). */
  ensure(n: number): Int32Array {
    const need = (this.length + n) * 4;
    if (need <= this.#sab.byteLength) return this.data;
    const size = grownSize(this.#sab, need);
    if (size >= 0) {
      this.#sab.grow(size & ~3);
    } else {
      const bigger = growable(Math.max(need, this.#sab.byteLength * 2), reservation(need));
      new Int32Array(bigger).set(this.data.subarray(0, this.length));
      this.#sab = bigger;
    }
    this.data = new Int32Array(this.#sab, 0, this.#sab.byteLength >> 2);
    return this.data;
  }

  /** The elements in use, as a fixed-length view on shared memory (no copy; at least one element long). */
  view(): Int32Array {
    if (this.length === 0) this.ensure(1);
    return new Int32Array(this.#sab, 0, Math.max(1, this.length));
  }
}
