/**
 * DNS wire-format helpers (owns: the constants, a growable byte writer, name and IP
 * encoding, walking resource records, EDNS OPT bytes and truncation at RR boundaries).
 * Everything here is pure and allocation-light so the per-query path can use it.
 */

export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_SOA = 6;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const TYPE_SRV = 33;
export const TYPE_OPT = 41;
export const TYPE_IXFR = 251;
export const TYPE_AXFR = 252;
export const TYPE_ANY = 255;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
/** Extended rcode 16 (BADVERS): upper 8 bits go in the OPT TTL, lower 4 bits (0) in the header. */
export const RCODE_BADVERS = 16;

/** Byte 2 of the header. */
export const FLAG_QR = 0x80;
export const FLAG_AA = 0x04;
export const FLAG_TC = 0x02;
export const FLAG_RD = 0x01;
/** Byte 3 of the header. */
export const FLAG_RA = 0x80;
export const FLAG_CD = 0x10;

export const HEADER_LEN = 12;
/** Size of our OPT RR: root name, type, class, TTL, RDLENGTH 0. */
export const OPT_LEN = 11;
/** The UDP payload size we advertise in our OPT RR and the largest client size we honour. */
export const MAX_UDP_PAYLOAD = 4096;
export const MIN_UDP_PAYLOAD = 512;
export const MAX_TCP_MESSAGE = 65535;

const encoder = new TextEncoder();

/** A growable output buffer with big-endian writers. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  /** Starts with a new buffer of `initial` bytes, or writes into the given buffer (grown by copying). */
  constructor(initial: number | Uint8Array = 512) {
    this.buf = typeof initial === "number" ? new Uint8Array(initial) : initial;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  /**
   * Writes a dotted name (no trailing dot; `""` = root) as uncompressed labels, straight
   * from the text. Returns false, with nothing written, if it is not a valid ASCII name.
   */
  name(text: string): boolean {
    if (text === "") {
      this.u8(0);
      return true;
    }
    const n = text.length;
    if (n + 2 > 255) return false;
    this.ensure(n + 2);
    const start = this.len;
    const out = this.buf;
    const { read, written } = encoder.encodeInto(text, out.subarray(start + 1, start + 1 + n));
    if (read !== n || written !== n) return false;
    let labelEnd = start + n + 1;
    for (let i = start + n; i >= start; i--) {
      if (i === start || out[i] === 0x2e) {
        const len = labelEnd - i - 1;
        if (len === 0 || len > 63) return false;
        out[i] = len;
        labelEnd = i;
      } else if (out[i] > 0x7f) {
        return false;
      }
    }
    out[start + n + 1] = 0;
    this.len = start + n + 2;
    return true;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Overwrites a 16-bit value at an earlier position. */
  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** What was written (the buffer itself when it is exactly full, else a copy). */
  finish(): Uint8Array {
    return this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len);
  }
}

/**
 * Encodes a dotted name (trailing dot optional, `""` or `"."` = root) as uncompressed
 * wire labels. Returns undefined if a label is empty or longer than 63 bytes, or the
 * name is longer than 255 bytes, or it holds non-ASCII characters.
 */
export function nameToWire(name: string): Uint8Array | undefined {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  const w = new ByteWriter(n.length + 2);
  return w.name(n) ? w.finish() : undefined;
}

/**
 * A question in wire form (name, type, class IN), as a request holds it after its header;
 * undefined if the name cannot be encoded.
 */
export function questionWire(name: string, qtype: number): Uint8Array | undefined {
  const w = nameToWire(name);
  if (!w) return undefined;
  const q = new Uint8Array(w.length + 4);
  q.set(w);
  writeU16(q, w.length, qtype);
  writeU16(q, w.length + 2, CLASS_IN);
  return q;
}

/** Reads a big-endian 16-bit value. */
export function readU16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** Writes a big-endian 16-bit value. */
export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/**
 * Returns the offset just after the (possibly compressed) name starting at `at`, or -1
 * if the name runs past the end or uses a reserved label type.
 */
export function skipName(b: Uint8Array, at: number): number {
  let pos = at;
  while (pos < b.length) {
    const len = b[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= b.length ? pos + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    pos += len + 1;
  }
  return -1;
}

/** Returns the offset just after the resource record starting at `at`, or -1 if malformed. */
export function skipRecord(b: Uint8Array, at: number): number {
  const p = skipName(b, at);
  if (p < 0 || p + 10 > b.length) return -1;
  const end = p + 10 + readU16(b, p + 8);
  return end <= b.length ? end : -1;
}

/**
 * Copies `src[from, to)` to `dst` at `at`: byte by byte up to 1 KB, so the per-query path
 * makes no subarray object for the common answer of a few hundred bytes; `set` beyond.
 */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, to: number): void {
  const n = to - from;
  if (n > 1024) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
}

/** Writes our OPT RR at `at`: root owner, advertised payload size, extended rcode, DO bit. */
export function writeOpt(b: Uint8Array, at: number, extRcode: number, dnssecOk: boolean): void {
  b[at] = 0;
  writeU16(b, at + 1, TYPE_OPT);
  writeU16(b, at + 3, MAX_UDP_PAYLOAD);
  b[at + 5] = extRcode & 0xff;
  b[at + 6] = 0; // version
  b[at + 7] = dnssecOk ? 0x80 : 0;
  b[at + 8] = 0;
  writeU16(b, at + 9, 0);
}

/** Where a message's records are: record boundaries and where the OPT RR sits. */
interface RecordLayout {
  /** End offset of the question section. */
  questionEnd: number;
  /** End offsets of each answer/authority/additional RR, in order (OPT excluded). */
  ends: number[];
  /** Section index (0 answer, 1 authority, 2 additional) per entry of `ends`. */
  sections: number[];
  /** Bytes of the OPT RR, if any. */
  opt: Uint8Array | undefined;
}

function layout(msg: Uint8Array): RecordLayout | undefined {
  let pos = HEADER_LEN;
  const qd = readU16(msg, 4);
  for (let i = 0; i < qd; i++) {
    pos = skipName(msg, pos);
    if (pos < 0 || pos + 4 > msg.length) return undefined;
    pos += 4;
  }
  const questionEnd = pos;
  const counts = [readU16(msg, 6), readU16(msg, 8), readU16(msg, 10)];
  const ends: number[] = [];
  const sections: number[] = [];
  let opt: Uint8Array | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const start = pos;
      pos = skipRecord(msg, pos);
      if (pos < 0) return undefined;
      if (s === 2 && msg[start] === 0 && readU16(msg, start + 1) === TYPE_OPT) {
        opt = msg.slice(start, pos);
        continue;
      }
      ends.push(pos);
      sections.push(s);
    }
  }
  return { questionEnd, ends, sections, opt };
}

/**
 * Cuts a message so it is at most `limit` bytes, at a record boundary: keeps the header,
 * the question, then as many whole records (answer, authority, additional, in order) as
 * fit, then the message's OPT RR (moved to the end, always kept). TC is set when answer
 * or authority records had to go (RFC 2181 §9), unless `setTruncateBit` is false. Any
 * OPT RR is expected to sit after the other additional records or be the only one; a
 * message that cannot be walked is reduced to header + question. Returns `msg` itself
 * when it already fits.
 */
export function truncateMessage(msg: Uint8Array, limit: number, setTruncateBit: boolean): Uint8Array {
  if (msg.length <= limit) return msg;
  const lay = layout(msg);
  const qEnd = lay ? lay.questionEnd : Math.min(msg.length, HEADER_LEN);
  const optLen = lay?.opt ? lay.opt.length : 0;
  const room = limit - optLen;
  let keep = 0;
  let end = qEnd;
  if (lay) {
    while (keep < lay.ends.length && lay.ends[keep] <= room) end = lay.ends[keep++];
  }
  const counts = [0, 0, 0];
  let droppedRequired = !lay;
  if (lay) {
    for (let i = 0; i < lay.ends.length; i++) {
      if (i < keep) counts[lay.sections[i]]++;
      else if (lay.sections[i] < 2) droppedRequired = true;
    }
  }
  const out = new Uint8Array(end + optLen);
  out.set(msg.subarray(0, end));
  if (lay?.opt) {
    out.set(lay.opt, end);
    counts[2]++;
  }
  if (!lay) writeU16(out, 4, 0);
  writeU16(out, 6, counts[0]);
  writeU16(out, 8, counts[1]);
  writeU16(out, 10, counts[2]);
  if (droppedRequired && setTruncateBit) out[2] |= FLAG_TC;
  return out;
}
