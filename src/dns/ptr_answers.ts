/**
 * Precomputed PTR answers (owns: turning the PTR targets of a snapshot, src/records/ptr.ts,
 * into complete wire replies kept in one buffer, and answering a PTR question from them).
 * Built once per publish when `PTROn` is set; a query costs one map lookup and a copy.
 * Only the exact reverse names of known addresses are answered (authoritatively: AA);
 * other reverse names are not ours and go where any outside name goes (forwarding).
 */
import type { Config } from "../config/types.ts";
import { ptrTargets } from "../records/ptr.ts";
import type { Snapshot } from "../records/snapshot.ts";
import { type AskedQuestion, finishReply } from "./zone_reply.ts";
import {
  ByteWriter,
  CLASS_IN,
  FLAG_AA,
  FLAG_QR,
  FLAG_RA,
  HEADER_LEN,
  OPT_LEN,
  truncateMessage,
  TYPE_PTR,
} from "./wire.ts";

/** PTR replies by reverse name (lower case, no trailing dot). */
export interface PtrAnswers {
  readonly size: number;
  /**
   * Writes the reply for `name` to `req` into `out` (ID, RD/CD, question as asked, OPT)
   * and returns its length, or 0 when the name is not one of ours.
   */
  write(
    name: string,
    req: Uint8Array,
    q: AskedQuestion,
    limit: number,
    setTC: boolean,
    out: Uint8Array,
  ): number;
}

/** Builds the PTR replies of a snapshot's addresses. */
export function buildPtrAnswers(snap: Snapshot, cfg: Config): PtrAnswers {
  const targets = ptrTargets(snap.records, { domain: cfg.Domain, soaMname: cfg.SOAMname });
  const w = new ByteWriter(64 * 1024);
  const at = new Map<string, number>();
  const ttl = cfg.TTL >>> 0;
  for (const [rev, target] of targets) {
    const start = w.len;
    w.u16(0); // reply length, patched below
    w.u16(0); // ID
    w.u8(FLAG_QR | FLAG_AA);
    w.u8(cfg.RecurseOn ? FLAG_RA : 0);
    w.u16(1);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    if (!w.name(rev)) {
      w.len = start;
      continue;
    }
    w.u16(TYPE_PTR);
    w.u16(CLASS_IN);
    w.u16(0xc000 | HEADER_LEN);
    w.u16(TYPE_PTR);
    w.u16(CLASS_IN);
    w.u32(ttl);
    const lenAt = w.len;
    w.u16(0);
    if (!w.name(target.slice(0, -1))) {
      w.len = start;
      continue;
    }
    w.setU16(lenAt, w.len - lenAt - 2);
    w.setU16(start, w.len - start - 2);
    at.set(rev, start);
  }
  const buf = w.buf;
  return {
    size: at.size,
    write(name, req, q, limit, setTC, out) {
      const start = at.get(name);
      if (start === undefined) return 0;
      const len = (buf[start] << 8) | buf[start + 1];
      let body = buf.subarray(start + 2, start + 2 + len);
      const optLen = q.edns ? OPT_LEN : 0;
      if (len + optLen > limit) body = truncateMessage(body.slice(), limit - optLen, setTC);
      out.set(body);
      return finishReply(out, body.length, req, q);
    },
  };
}
