/**
 * Zone replies into a caller's buffer (owns: a precomputed answer with the request's ID,
 * RD/CD, question as asked and OPT patched in, cut to the size limit when needed; the
 * NXDOMAIN/NODATA reply with the zone SOA; and `answerPlain`, the whole allocation-free
 * path for a plain in-zone query). Pure functions of the flat zone and the request, so
 * the main thread's responder and the UDP worker answer the same way.
 */
import type { FlatZone } from "./flat_zone.ts";
import { lowerAscii } from "./name_index.ts";
import { type EdnsInfo, isZoneClass, type PlainQuery } from "./query.ts";
import {
  copyBytes,
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  HEADER_LEN,
  MAX_TCP_MESSAGE,
  MAX_UDP_PAYLOAD,
  MIN_UDP_PAYLOAD,
  OPT_LEN,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  truncateMessage,
  TYPE_AXFR,
  TYPE_IXFR,
  writeOpt,
  writeU16,
} from "./wire.ts";

/** The parts of a read question that the reply writers use. */
export interface AskedQuestion {
  /** Offset just after the question name, and after the question. */
  qnameEnd: number;
  qEnd: number;
  edns: EdnsInfo | undefined;
}

/** The largest reply for a request with `edns` over UDP (RFC 6891 §6.2.5), or over TCP. */
export function replyLimit(tcp: boolean, edns: EdnsInfo | undefined): number {
  if (tcp) return MAX_TCP_MESSAGE;
  return edns ? Math.min(MAX_UDP_PAYLOAD, Math.max(MIN_UDP_PAYLOAD, edns.udpSize)) : MIN_UDP_PAYLOAD;
}

/**
 * Finishes a zone reply whose body (`bodyLen` bytes, header counts included) is at the
 * start of `out`: the request's ID, RD and CD, the question as asked, and an OPT when the
 * request had one. Returns the reply's length.
 */
export function finishReply(out: Uint8Array, bodyLen: number, req: Uint8Array, q: AskedQuestion): number {
  copyBytes(out, HEADER_LEN, req, HEADER_LEN, q.qEnd);
  out[0] = req[0];
  out[1] = req[1];
  out[2] |= req[2] & FLAG_RD;
  out[3] |= req[3] & FLAG_CD;
  if (!q.edns) return bodyLen;
  writeOpt(out, bodyLen, 0, q.edns.dnssecOk);
  writeU16(out, 10, ((out[10] << 8) | out[11]) + 1);
  return bodyLen + OPT_LEN;
}

/**
 * Writes answer `id` of the zone (its next rotation) as the reply to `req` into `out`;
 * a reply over `limit` is cut at a record boundary (TC per `setTC`). Returns the length.
 */
export function writeAnswer(
  zone: FlatZone,
  id: number,
  req: Uint8Array,
  q: AskedQuestion,
  limit: number,
  setTC: boolean,
  out: Uint8Array,
): number {
  const optLen = q.edns ? OPT_LEN : 0;
  let bodyLen = zone.length(id);
  if (bodyLen + optLen > limit) {
    // More answer records than fit (a large app's names over UDP): only what fits is copied.
    const cutLen = zone.renderAnswersCut(id, out, limit - optLen);
    if (cutLen >= 0) {
      if (setTC) out[2] |= FLAG_TC;
      return finishReply(out, cutLen, req, q);
    }
    // Only additional records left out (rare): render aside (with the question, which the
    // cut reads past), cut, and copy what fits.
    const full = new Uint8Array(bodyLen);
    copyBytes(full, HEADER_LEN, req, HEADER_LEN, q.qEnd);
    zone.renderInto(id, full);
    const cut = truncateMessage(full, limit - optLen, setTC);
    bodyLen = cut.length;
    out.set(cut);
  } else {
    zone.renderInto(id, out);
  }
  return finishReply(out, bodyLen, req, q);
}

/**
 * NXDOMAIN or NODATA (`rcode` NOERROR) into `out`: the question as asked and the zone
 * SOA in authority, its owner a pointer to the apex labels inside the question name.
 * Returns the length.
 */
export function writeNegative(
  zone: FlatZone,
  req: Uint8Array,
  q: AskedQuestion,
  rcode: number,
  limit: number,
  setTC: boolean,
  out: Uint8Array,
): number {
  const soa = zone.negativeSoa;
  out[0] = req[0];
  out[1] = req[1];
  out[2] = FLAG_QR | FLAG_AA | (req[2] & FLAG_RD);
  out[3] = zone.flags3 | (req[3] & FLAG_CD) | rcode;
  writeU16(out, 4, 1);
  writeU16(out, 6, 0);
  writeU16(out, 8, 1);
  writeU16(out, 10, q.edns ? 1 : 0);
  copyBytes(out, HEADER_LEN, req, HEADER_LEN, q.qEnd);
  const apexAt = q.qnameEnd - zone.apexWire.length;
  let pos = q.qEnd;
  writeU16(out, pos, 0xc000 | apexAt);
  out.set(soa, pos + 2);
  pos += 2 + soa.length;
  if (q.edns) {
    writeOpt(out, pos, 0, q.edns.dnssecOk);
    pos += OPT_LEN;
  }
  if (pos > limit) {
    const cut = truncateMessage(out.slice(0, pos), limit, setTC);
    out.set(cut);
    pos = cut.length;
  }
  return pos;
}

/** Whether the question name of `req` is the zone's apex or below it (letter case ignored). */
function inZone(zone: FlatZone, req: Uint8Array, q: PlainQuery): boolean {
  return underApex(zone.apexWire, req, q.qnameEnd);
}

/**
 * Whether the question name of `req` (ending at `qnameEnd`) is `apex` (lower-cased wire
 * form) or below it, letters in any case.
 */
export function underApex(apex: Uint8Array, req: Uint8Array, qnameEnd: number): boolean {
  // The name ends with the apex labels, and they start at a label boundary.
  const apexAt = qnameEnd - apex.length;
  if (apexAt < HEADER_LEN) return false;
  for (let i = 0; i < apex.length; i++) if (lowerAscii(req[apexAt + i]) !== apex[i]) return false;
  let pos = HEADER_LEN;
  while (pos < apexAt) pos += req[pos] + 1;
  return pos === apexAt;
}

/**
 * The allocation-free path for a request `scanPlainQuery` read into `q`: a question of
 * class IN or ANY and a type other than AXFR/IXFR, without escaped bytes, whose name is
 * in the zone's table, or else is in the zone without wildcard labels (NXDOMAIN), gets
 * its reply written into `out` (the length is returned). Returns -1 for anything else,
 * which the general path must answer. Every name in the table is in the zone, so a hit
 * needs no further check.
 */
export function answerPlain(
  zone: FlatZone,
  req: Uint8Array,
  q: PlainQuery,
  tcp: boolean,
  setTC: boolean,
  out: Uint8Array,
): number {
  if (q.oddBytes !== 0 || !isZoneClass(q.qclass) || q.qtype === TYPE_AXFR || q.qtype === TYPE_IXFR) return -1;
  const limit = replyLimit(tcp, q.edns);
  const name = zone.find(req, HEADER_LEN, q.qnameEnd, q.hash);
  if (name >= 0) {
    const id = zone.answer(name, q.qtype);
    if (id >= 0) return writeAnswer(zone, id, req, q, limit, setTC, out);
    return writeNegative(zone, req, q, RCODE_NOERROR, limit, setTC, out);
  }
  // Not in the table: NXDOMAIN for a name in the zone; `.*` names and names outside the
  // zone (forwarding, REFUSED) are the general path's.
  if (q.starLabels !== 0 || !inZone(zone, req, q)) return -1;
  return writeNegative(zone, req, q, RCODE_NXDOMAIN, limit, setTC, out);
}
