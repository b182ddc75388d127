/**
 * Fast request parsing (owns: reading the header, the first question and the EDNS OPT
 * record of a DNS request straight from the bytes, without a general decoder; and
 * `scanPlainQuery`, the allocation-free reader for the common query shape).
 */
import { hashNameByte, lowerAscii, NAME_HASH_START } from "./name_index.ts";
import {
  CLASS_ANY,
  CLASS_IN,
  HEADER_LEN,
  RCODE_FORMERR,
  RCODE_NOTIMP,
  readU16,
  skipName,
  skipRecord,
  TYPE_OPT,
} from "./wire.ts";

/** EDNS0 information from the request's OPT record. */
export interface EdnsInfo {
  /** The client's advertised UDP payload size, as sent. */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

/** A request whose header and first question could be read. */
export interface ParsedQuery {
  id: number;
  /** Header byte 2 (QR, opcode, AA, TC, RD) and byte 3 (RA, Z, AD, CD, rcode) as sent. */
  flags2: number;
  flags3: number;
  opcode: number;
  /**
   * The first question's name: lower-cased ASCII, labels joined by `.`, no trailing dot
   * (`""` for the root). Bytes that would be ambiguous (`.`, `\`) are written as `\DDD`.
   */
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just after the first question name (the question starts at 12). */
  qnameEnd: number;
  /** Offset just after the first question (name, type, class). */
  qEnd: number;
  edns: EdnsInfo | undefined;
}

/** What to do with a request. */
export type ParseResult =
  | { kind: "query"; query: ParsedQuery }
  /** Not answerable: too short for a header, or a response (QR=1). */
  | { kind: "drop" }
  /**
   * Header readable but the rest is not: answer with `rcode`, echoing the question if
   * known. `edns` is the request's OPT (when it could be read), to echo in the reply.
   */
  | {
    kind: "error";
    rcode: number;
    id: number;
    flags2: number;
    flags3: number;
    query?: ParsedQuery;
    edns?: EdnsInfo;
  };

const DROP: ParseResult = { kind: "drop" };

/**
 * Reads the first question name at offset 12 into a lower-cased key. Returns the end
 * offset and the key, or undefined when the name is compressed, truncated or too long
 * (compression pointers cannot legitimately occur in the first question).
 */
function readQuestionName(b: Uint8Array): { end: number; name: string } | undefined {
  let pos = HEADER_LEN;
  let name = "";
  let wire = 0;
  while (true) {
    if (pos >= b.length) return undefined;
    const len = b[pos];
    if (len === 0) {
      wire += 1;
      return wire > 255 ? undefined : { end: pos + 1, name };
    }
    if (len > 63) return undefined;
    if (pos + 1 + len > b.length) return undefined;
    wire += len + 1;
    if (name.length > 0) name += ".";
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = lowerAscii(b[i]);
      if (c === 0x2e || c === 0x5c) name += c === 0x2e ? "\\046" : "\\092";
      else name += String.fromCharCode(c);
    }
    pos += len + 1;
  }
}

/** Parses a request: header, first question, and the OPT record if there is one. */
export function parseQuery(b: Uint8Array): ParseResult {
  if (b.length < HEADER_LEN) return DROP;
  const flags2 = b[2];
  const flags3 = b[3];
  if (flags2 & 0x80) return DROP;
  const id = readU16(b, 0);
  const opcode = (flags2 >>> 3) & 0x0f;
  const qdcount = readU16(b, 4);
  const err = (rcode: number, query?: ParsedQuery, edns = query?.edns): ParseResult => ({
    kind: "error",
    rcode,
    id,
    flags2,
    flags3,
    query,
    edns,
  });
  const rcodeNoQuestion = opcode !== 0 ? RCODE_NOTIMP : RCODE_FORMERR;
  if (qdcount === 0) {
    // No question, but the records may still carry an OPT to echo (RFC 6891 §7).
    const found = { edns: undefined as EdnsInfo | undefined };
    readRecords(b, HEADER_LEN, readU16(b, 6) + readU16(b, 8), readU16(b, 10), found);
    return err(rcodeNoQuestion, undefined, found.edns);
  }
  const qn = readQuestionName(b);
  if (!qn || qn.end + 4 > b.length) return err(rcodeNoQuestion);
  const query: ParsedQuery = {
    id,
    flags2,
    flags3,
    opcode,
    name: qn.name,
    qtype: readU16(b, qn.end),
    qclass: readU16(b, qn.end + 2),
    qnameEnd: qn.end,
    qEnd: qn.end + 4,
    edns: undefined,
  };
  const ancount = readU16(b, 6);
  const nscount = readU16(b, 8);
  const arcount = readU16(b, 10);
  let wellFormed = true;
  // The common query has one question and no records: nothing more to read.
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0 || arcount !== 0) {
    let pos = query.qEnd;
    for (let i = 1; i < qdcount && pos >= 0; i++) {
      pos = skipName(b, pos);
      pos = pos < 0 || pos + 4 > b.length ? -1 : pos + 4;
    }
    wellFormed = pos >= 0 && readRecords(b, pos, ancount + nscount, arcount, query);
  }
  // Other opcodes get NOTIMP (with the OPT echoed when it could be read).
  if (opcode !== 0) return err(RCODE_NOTIMP, query);
  if (!wellFormed) return err(RCODE_FORMERR, query);
  return { kind: "query", query };
}

/**
 * Walks `before` records (answer and authority) then `additional` records from `pos`,
 * setting `into.edns` from the first OPT record among the additional ones. Returns false
 * if a record runs past the end or there is more than one OPT (RFC 6891 §6.1.1).
 */
function readRecords(
  b: Uint8Array,
  pos: number,
  before: number,
  additional: number,
  into: { edns: EdnsInfo | undefined },
): boolean {
  for (let i = 0; i < before; i++) {
    pos = skipRecord(b, pos);
    if (pos < 0) return false;
  }
  for (let i = 0; i < additional; i++) {
    const start = pos;
    pos = skipRecord(b, pos);
    if (pos < 0) return false;
    if (b[start] === 0 && readU16(b, start + 1) === TYPE_OPT) {
      if (into.edns) return false;
      into.edns = {
        udpSize: readU16(b, start + 3),
        version: b[start + 6],
        dnssecOk: (b[start + 7] & 0x80) !== 0,
      };
    }
  }
  return true;
}

/**
 * What `scanPlainQuery` read (one reused object per caller; valid until its next call).
 * It has the `ParsedQuery` fields the zone answer writers use.
 */
export class PlainQuery {
  /** Offset just after the question name, and after the question. */
  qnameEnd = 0;
  qEnd = 0;
  qtype = 0;
  qclass = 0;
  /** `hashWireName` of the question name. */
  hash = 0;
  /** Labels after the first that start with `*` (the original's crude wildcard, SPEC §7.3). */
  starLabels = 0;
  /** Bytes `.` or `\` inside labels (names that only have an escaped text form). */
  oddBytes = 0;
  /** The request's OPT (version 0), or undefined; `ednsInfo` is reused for it. */
  edns: EdnsInfo | undefined = undefined;
  readonly ednsInfo: EdnsInfo = { udpSize: 0, version: 0, dnssecOk: false };
}

/**
 * Reads a request of the common shape without allocating: a query (QR 0, opcode QUERY)
 * with one uncompressed question, no answer or authority records, and at most an EDNS
 * version 0 OPT record as the only additional record; the first `len` bytes of `b` are
 * the request. Returns false for anything else, which `parseQuery` must handle.
 */
export function scanPlainQuery(b: Uint8Array, len: number, q: PlainQuery): boolean {
  if (len < HEADER_LEN + 5 || (b[2] & 0xf8) !== 0) return false;
  // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
  if (b[4] !== 0 || b[5] !== 1 || b[6] !== 0 || b[7] !== 0 || b[8] !== 0 || b[9] !== 0 || b[10] !== 0) {
    return false;
  }
  const arcount = b[11];
  if (arcount > 1) return false;
  let pos = HEADER_LEN;
  let h = NAME_HASH_START;
  let stars = 0;
  let odd = 0;
  while (true) {
    if (pos >= len) return false;
    const l = b[pos];
    h = hashNameByte(h, l);
    if (l === 0) break;
    if (l > 63) return false;
    const end = pos + 1 + l;
    if (end > len) return false;
    if (pos > HEADER_LEN && b[pos + 1] === 0x2a) stars++;
    for (let i = pos + 1; i < end; i++) {
      const c = b[i];
      if (c === 0x2e || c === 0x5c) odd++;
      h = hashNameByte(h, c);
    }
    pos = end;
  }
  const qnameEnd = pos + 1;
  if (qnameEnd - HEADER_LEN > 255 || qnameEnd + 4 > len) return false;
  q.edns = undefined;
  if (arcount === 1) {
    // The OPT record: root owner, TYPE 41, CLASS = UDP size, TTL = ext-rcode, version, flags.
    const at = qnameEnd + 4;
    if (at + 11 > len || b[at] !== 0 || b[at + 1] !== 0 || b[at + 2] !== TYPE_OPT) return false;
    if (b[at + 6] !== 0) return false;
    if (at + 11 + readU16(b, at + 9) > len) return false;
    const e = q.ednsInfo;
    e.udpSize = readU16(b, at + 3);
    e.version = 0;
    e.dnssecOk = (b[at + 7] & 0x80) !== 0;
    q.edns = e;
  }
  q.qnameEnd = qnameEnd;
  q.qEnd = qnameEnd + 4;
  q.qtype = readU16(b, qnameEnd);
  q.qclass = readU16(b, qnameEnd + 2);
  q.hash = h;
  q.starLabels = stars;
  q.oddBytes = odd;
  return true;
}

/** True if `qclass` may be answered from the zone (IN or ANY, SPEC §10.10). */
export function isZoneClass(qclass: number): boolean {
  return qclass === CLASS_IN || qclass === CLASS_ANY;
}
