/**
 * Task id hash (owns: SPEC §5.3 `H`: the first 5 characters of the z-base-32 encoding
 * of SHA-1 over the UTF-8 bytes of the task id, used in canonical task names).
 */
import { createHash } from "node:crypto";

const ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769";

/** z-base-32 encoding (MSB-first 5-bit groups, no padding) of `bytes`. */
export function zbase32(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ZBASE32[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += ZBASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** The 5-character task hash of a task id (`test` → `iffe9`). */
export function taskHash(taskId: string): string {
  const d = createHash("sha1").update(taskId, "utf8").digest();
  // First 25 bits of the digest = first five 5-bit groups.
  const top = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
  let out = "";
  for (let shift = 27; shift >= 7; shift -= 5) out += ZBASE32[(top >>> shift) & 31];
  return out;
}
