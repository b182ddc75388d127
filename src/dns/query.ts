/**
 * Fast request parsing (owns: reading the header, the first question and the EDNS OPT
 * record of a DNS request straight from the bytes, without a general decoder).
 */
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
      let c = b[i];
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
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

/** True if `qclass` may be answered from the zone (IN or ANY, SPEC §10.10). */
export function isZoneClass(qclass: number): boolean {
  return qclass === CLASS_IN || qclass === CLASS_ANY;
}
