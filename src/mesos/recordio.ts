/**
 * RecordIO decoding (owns: splitting the Mesos operator API's stream `<length>\n<bytes>...`
 * into records as bytes arrive, in pieces of any size). Pure; no I/O.
 */

/** A stream that is not RecordIO (e.g. a plain JSON or HTML answer). */
export class RecordIOError extends Error {
  override name = "RecordIOError";
}

const decoder = new TextDecoder();

/** Feed bytes with `push`; it returns the complete records (as text) they finish. */
export class RecordIODecoder {
  #buf: Uint8Array = new Uint8Array(0);
  /** Length of the record being read, or -1 while reading a length line. */
  #want = -1;
  readonly #maxRecord: number;

  /** `maxRecordBytes`: a larger announced record is an error (default 256 MiB). */
  constructor(maxRecordBytes = 256 * 1024 * 1024) {
    this.#maxRecord = maxRecordBytes;
  }

  /** Bytes received and not yet part of a returned record. */
  get pending(): number {
    return this.#buf.length;
  }

  push(bytes: Uint8Array): string[] {
    this.#buf = this.#buf.length === 0 ? bytes : concat(this.#buf, bytes);
    const out: string[] = [];
    while (true) {
      if (this.#want < 0) {
        const nl = this.#buf.indexOf(10);
        if (nl < 0) {
          if (this.#buf.length > 20) throw new RecordIOError("no record length at the start of a record");
          this.#checkDigits(this.#buf.length);
          break;
        }
        this.#checkDigits(nl);
        if (nl === 0) throw new RecordIOError("empty record length");
        const n = Number(decoder.decode(this.#buf.subarray(0, nl)));
        if (n > this.#maxRecord) {
          throw new RecordIOError(`record of ${n} bytes is larger than ${this.#maxRecord}`);
        }
        this.#want = n;
        this.#buf = this.#buf.subarray(nl + 1);
      }
      if (this.#buf.length < this.#want) break;
      out.push(decoder.decode(this.#buf.subarray(0, this.#want)));
      this.#buf = this.#buf.subarray(this.#want);
      this.#want = -1;
    }
    if (this.#buf.length === 0) this.#buf = new Uint8Array(0);
    return out;
  }

  #checkDigits(end: number): void {
    for (let i = 0; i < end; i++) {
      const b = this.#buf[i];
      if (b < 48 || b > 57) throw new RecordIOError("record length is not a decimal number");
    }
  }
}

/** Encodes one record (the simulator and tests write streams with it). */
export function encodeRecord(text: string): string {
  return `${new TextEncoder().encode(text).length}\n${text}`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
