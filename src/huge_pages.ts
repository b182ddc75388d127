/**
 * Transparent huge pages for large buffers (owns: asking Linux to back a large buffer with
 * 2 MiB pages, `madvise(MADV_HUGEPAGE)`, where the kernel leaves that to the program).
 *
 * Where transparent huge pages are set to `madvise` (the default of many distributions), memory
 * gets 4 KiB pages unless the program asks, and each page costs a fault when it is first
 * written. On a virtual machine a fault is expensive: about 3.7 ms per MiB of fresh memory on
 * the machine this was measured on, against 0.1–0.2 ms per MiB with huge pages. mesos-dns writes
 * a few large buffers once per state: a fetched `/master/state` (91 MB at 100,000 tasks), an
 * event stream's SUBSCRIBED record (147 MB) and a whole build's DNS answers (87 MB). Those are
 * advised (their callers ask).
 *
 * It needs Linux and `--allow-ffi` (libc's `madvise`); anywhere else, or when the kernel says
 * no (`never`), nothing changes. Only whole 2 MiB pages inside a buffer are advised, so no
 * memory outside it is affected; at most two partial huge pages per buffer are not.
 */
import { withLibc } from "./dns/libc.ts";

/** Buffers smaller than this are not advised (a few pages of faults cost less than the call). */
export const HUGE_PAGE_MIN_BYTES = 8 << 20;

const HUGE_PAGE = 2n << 20n;
const MADV_HUGEPAGE = 14;

const MADVISE = { madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" } } as const;

/**
 * Asks for huge pages for `bytes` bytes from the start of `buf`'s memory (for a growable
 * SharedArrayBuffer: its reservation, `maxByteLength`, which the pages committed later keep).
 * True if the kernel took the advice; false where it was not given (small, not Linux, no FFI).
 */
export function adviseHugePages(buf: Uint8Array, bytes = buf.byteLength): boolean {
  if (bytes < HUGE_PAGE_MIN_BYTES) return false;
  return withLibc(MADVISE, false, (libc) => {
    const ptr = Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>);
    if (ptr === null) return false;
    const at = BigInt(Deno.UnsafePointer.value(ptr));
    const start = (at + HUGE_PAGE - 1n) & ~(HUGE_PAGE - 1n);
    const end = (at + BigInt(bytes)) & ~(HUGE_PAGE - 1n);
    if (end <= start) return false;
    return libc.madvise(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE) === 0;
  });
}
