/**
 * Task id hash (owns: SPEC §5.3 `H`: the first 5 characters of the z-base-32 encoding
 * of SHA-1 over the UTF-8 bytes of the task id, used in canonical task names).
 */

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

const encoder = new TextEncoder();
/** The message being hashed, padded (grown for long ids). */
let block = new Uint8Array(256);
const w = new Int32Array(80);

/**
 * The first 32 bits of the SHA-1 digest (FIPS 180-4) of the UTF-8 bytes of `text`. In
 * plain code: one task id is a few dozen bytes, and a library call per task costs more
 * than the hash itself at 100,000 tasks.
 */
export function sha1First32(text: string): number {
  if (text.length * 3 + 72 > block.length) block = new Uint8Array(text.length * 3 + 72);
  const len = encoder.encodeInto(text, block).written;
  const total = ((len + 8) >>> 6) * 64 + 64;
  block.fill(0, len, total);
  block[len] = 0x80;
  const bits = len * 8;
  block[total - 4] = bits >>> 24;
  block[total - 3] = (bits >>> 16) & 0xff;
  block[total - 2] = (bits >>> 8) & 0xff;
  block[total - 1] = bits & 0xff;
  block[total - 5] = Math.floor(bits / 2 ** 32) & 0xff;
  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476, h4 = 0xc3d2e1f0 | 0;
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return h0 >>> 0;
}

/** The 5-character task hash of a task id (`test` → `iffe9`). */
export function taskHash(taskId: string): string {
  // First 25 bits of the digest = first five 5-bit groups.
  const top = sha1First32(taskId);
  let out = "";
  for (let shift = 27; shift >= 7; shift -= 5) out += ZBASE32[(top >>> shift) & 31];
  return out;
}
