/**
 * File descriptors of this process (owns: counting the open descriptors and reading their soft
 * limit through libc, `opendir("/proc/self/fd")` and `getrlimit(RLIMIT_NOFILE)`).
 *
 * Deno lets a program read `/proc/self` only with `--allow-all`; the `start` task and the binary
 * grant `--allow-ffi` instead (the UDP fast path), which reaches libc. Linux only (x86_64,
 * aarch64: the same constants and `struct dirent64` layout). libc is opened for each reading
 * and closed after it (a scrape now and then; nothing held open).
 */
import { withLibc } from "../dns/libc.ts";

const SYMBOLS = {
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir64: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

const RLIMIT_NOFILE = 7;
/** Where `d_name` starts in `struct dirent64` (after d_ino, d_off, d_reclen, d_type). */
const D_NAME = 19;
const DOT = 0x2e;

/** The descriptors open in this process (the one the count itself opens left out); NaN if unknown. */
export function openFds(): number {
  return withLibc(SYMBOLS, NaN, (libc) => {
    const dir = libc.opendir(new TextEncoder().encode("/proc/self/fd\0"));
    if (dir === null) return NaN;
    let n = 0;
    try {
      for (let entry = libc.readdir64(dir); entry !== null; entry = libc.readdir64(dir)) {
        const view = new Deno.UnsafePointerView(entry);
        const a = view.getUint8(D_NAME);
        const b = view.getUint8(D_NAME + 1);
        const c = view.getUint8(D_NAME + 2);
        // "." and ".." are not descriptors.
        if (a === DOT && (b === 0 || (b === DOT && c === 0))) continue;
        n++;
      }
    } finally {
      libc.closedir(dir);
    }
    return n - 1;
  });
}

/** The soft limit on open descriptors (`RLIM_INFINITY`: +Inf); NaN if unknown. */
export function maxFds(): number {
  return withLibc(SYMBOLS, NaN, (libc) => {
    const limits = new BigUint64Array(2);
    if (libc.getrlimit(RLIMIT_NOFILE, limits) !== 0) return NaN;
    return limits[0] === 0xffffffffffffffffn ? Infinity : Number(limits[0]);
  });
}
