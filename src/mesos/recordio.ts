/**
 * RecordIO decoding (owns: splitting the Mesos operator API's stream `<length>\n<bytes>...`
 * into records as bytes arrive, in pieces of any size). No I/O; a large record's buffer is
 * advised huge pages (huge_pages.ts).
 */
import { adviseHugePages } from "../huge_pages.ts";

/** A stream that is not RecordIO (e.g. a plain JSON or HTML answer). */
export class RecordIOError extends Error {
  override name = "RecordIOError";
}

/**
 * Feed bytes with `push`; it returns the complete records (their bytes) they finish. A record
 * is copied once into a buffer of its announced length as its pieces arrive (a snapshot of a
 * large cluster is hundreds of megabytes in pieces of a few kilobytes).
 */
export class RecordIODecoder {
  /** The digits of a length line read so far. */
  #head = "";
  /** Length of the record being read, or -1 while reading a length line. */
  #want = -1;
  /** The record being read (`#want` bytes), or undefined before its first byte. */
  #record: Uint8Array | undefined;
  #filled = 0;
  readonly #maxRecord: number;

  /** `maxRecordBytes`: a larger announced record is an error (default 256 MiB). */
  constructor(maxRecordBytes = 256 * 1024 * 1024) {
    this.#maxRecord = maxRecordBytes;
  }

  /** Bytes received and not yet part of a returned record. */
  get pending(): number {
    return this.#want < 0 ? this.#head.length : this.#filled;
  }

  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length || (this.#want === 0)) {
      if (this.#want < 0) {
        const nl = bytes.indexOf(10, at);
        const end = nl < 0 ? bytes.length : nl;
        if (nl < 0 && this.#head.length + (end - at) > 20) {
          throw new RecordIOError("no record length at the start of a record");
        }
        for (let i = at; i < end; i++) {
          const b = bytes[i];
          if (b < 48 || b > 57) throw new RecordIOError("record length is not a decimal number");
          this.#head += String.fromCharCode(b);
        }
        if (nl < 0) break;
        if (this.#head === "") throw new RecordIOError("empty record length");
        const n = Number(this.#head);
        if (n > this.#maxRecord) {
          throw new RecordIOError(`record of ${n} bytes is larger than ${this.#maxRecord}`);
        }
        this.#head = "";
        this.#want = n;
        this.#filled = 0;
        at = nl + 1;
        continue;
      }
      const want = this.#want;
      if (this.#filled === 0 && bytes.length - at >= want) {
        // The whole record is in this piece: copied out of it at once.
        out.push(bytes.slice(at, at + want));
        at += want;
        this.#want = -1;
        continue;
      }
      if (this.#record === undefined) {
        this.#record = new Uint8Array(want);
        adviseHugePages(this.#record);
      }
      const take = Math.min(want - this.#filled, bytes.length - at);
      this.#record.set(bytes.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled < want) break;
      out.push(this.#record);
      this.#record = undefined;
      this.#filled = 0;
      this.#want = -1;
    }
    return out;
  }
}

/** Encodes one record (the simulator and tests write streams with it). */
export function encodeRecord(text: string): string {
  return `${new TextEncoder().encode(text).length}\n${text}`;
}
