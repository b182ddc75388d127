/**
 * What the main thread and the UDP worker say to each other (owns: the message shapes
 * and the layout of the shared control block). No behaviour.
 */
import type { FlatZoneParts } from "./flat_zone.ts";

/** Int32 slots of the shared control block. */
export const CONTROL = {
  /** 1 once the main thread asks the worker to stop. */
  closing: 0,
  /** The generation of the newest zone posted (the worker waits for its message). */
  generation: 1,
  /** Times `poll` reported the socket readable. */
  wakes: 2,
  /** recvmmsg calls that returned datagrams, and how many they returned. */
  batches: 3,
  batched: 4,
  /** Requests handed to the main thread and not yet answered there (the worker adds, main subtracts). */
  handedOver: 5,
  /** Requests the worker dropped because `handedOver` was at its bound. */
  dropped: 6,
  size: 8,
} as const;

/** Everything the worker needs to start. */
export interface WorkerInit {
  kind: "init";
  /** The DNS socket (owned by the main thread's Deno.DatagramConn). */
  fd: number;
  /** Signalled (8-byte write) when a message is posted or the worker should stop. */
  eventFd: number;
  /** The shared control block (`CONTROL`). */
  control: Int32Array;
  zone: FlatZoneParts | undefined;
  generation: number;
  /** Whether in-zone queries may be answered in the worker (false: hand everything over). */
  plain: boolean;
  setTC: boolean;
  batch: number;
  maxBatches: number;
  /** Most requests waiting on the main thread; more are dropped (the main thread is saturated). */
  maxHandedOver: number;
}

export type ToWorker = WorkerInit | { kind: "zone"; zone: FlatZoneParts | undefined; generation: number };

/** A datagram and the socket address it came from or goes to. */
export interface HandOff {
  bytes: Uint8Array;
  addr: Uint8Array;
}

export type ToMain =
  | { kind: "started" }
  /**
   * Requests the worker does not answer (forwarding, errors, the general path), packed
   * by `packHandOff` into one transferred buffer.
   */
  | { kind: "requests"; count: number; data: Uint8Array }
  /** Replies the socket would not take at once. */
  | { kind: "send"; list: HandOff[] }
  | { kind: "failed"; error: string }
  | { kind: "closed" };

/**
 * Appends a request and its sender's socket address to `buf` at `at` as
 * [length u16][address length u8][address][request]; returns the new end, or -1 when
 * `buf` is too small.
 */
export function packHandOff(
  buf: Uint8Array,
  at: number,
  addr: Uint8Array,
  req: Uint8Array,
  len: number,
): number {
  const end = at + 3 + addr.length + len;
  if (end > buf.length) return -1;
  buf[at] = len >>> 8;
  buf[at + 1] = len & 0xff;
  buf[at + 2] = addr.length;
  buf.set(addr, at + 3);
  for (let i = 0; i < len; i++) buf[at + 3 + addr.length + i] = req[i];
  return end;
}

/** Calls `fn` with each request and address `packHandOff` wrote into `data`. */
export function unpackHandOffs(data: Uint8Array, fn: (req: Uint8Array, addr: Uint8Array) => void): void {
  let at = 0;
  while (at + 3 <= data.length) {
    const len = (data[at] << 8) | data[at + 1];
    const addrLen = data[at + 2];
    const reqAt = at + 3 + addrLen;
    if (reqAt + len > data.length) return;
    fn(data.subarray(reqAt, reqAt + len), data.subarray(at + 3, reqAt));
    at = reqAt + len;
  }
}
