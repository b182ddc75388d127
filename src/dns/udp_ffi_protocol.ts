/**
 * What the main thread and the UDP worker say to each other (owns: the message shapes
 * and the layout of the shared control block). No behaviour.
 */
import type { FlatZoneParts } from "./flat_zone.ts";
import type { ForwardCacheParts } from "./forward_cache.ts";
import type { WorkerForwardPlan } from "./worker_forwarder.ts";

/** Forwarding done by the workers themselves: the plan, and the domain whose names are never forwarded. */
export interface WorkerForwarding extends WorkerForwardPlan {
  /** The domain's apex in wire form, lower-cased. */
  apex: Uint8Array;
  /** `PTROn`: PTR questions go to the main thread (it answers the reverse names it knows). */
  ptr: boolean;
}

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
  /** Datagrams dropped at once as not a request (shorter than a header, or QR set). */
  junk: 7,
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
  /** The forwarded-answer cache (read only here), if there is one. */
  cache: ForwardCacheParts | undefined;
  /** This worker's number (1, 2, ...): its row of cache counters. */
  thread: number;
  /** Forward outside names from the worker (first attempt); undefined: hand them over. */
  forward: WorkerForwarding | undefined;
  /** Whether in-zone queries may be answered in the worker (false: hand everything over). */
  plain: boolean;
  setTC: boolean;
  batch: number;
  maxBatches: number;
  /** Most requests waiting on the main thread; more are dropped (the main thread is saturated). */
  maxHandedOver: number;
  /** The server's query counter slots (`DnsCounterSlots.buffer`) and this worker's region in them. */
  counters: SharedArrayBuffer | undefined;
  counterRegion: number;
  /** `RateLimit` / `RateLimitSlip` for the worker's own replies (undefined: off). */
  rateLimit: { perSecond: number; slip: number } | undefined;
  /** `ForwardAllow` when it does not hold everyone: only these clients get cached forwarded answers. */
  forwardAllow: readonly string[] | undefined;
}

/** A new zone, with the responder's settings at that time (they change on a configuration reload). */
export type ToWorker =
  | WorkerInit
  | {
    kind: "zone";
    zone: FlatZoneParts | undefined;
    generation: number;
    plain: boolean;
    setTC: boolean;
    forward: WorkerForwarding | undefined;
    /**
     * The zones replaced hold much shared memory: a full collection after this swap
     * (`Responder.zoneGarbageDue`).
     */
    collect: boolean;
  };

export type ToMain =
  | { kind: "started" }
  /**
   * Requests the worker does not answer (forwarding, errors, the general path), packed
   * by `HandOffs` into one transferred buffer.
   */
  | { kind: "requests"; count: number; data: Uint8Array }
  /** Replies the socket would not take at once, packed the same way. */
  | { kind: "send"; count: number; data: Uint8Array }
  /** Requests whose first upstream did not answer in time: the main thread tries the next ones. */
  | { kind: "timeouts"; count: number; data: Uint8Array }
  /** Requests (with the client's address) and the truncated or oversized UDP reply they got, in pairs. */
  | { kind: "truncated"; count: number; data: Uint8Array }
  /** Requests and the upstream replies the worker relayed, in pairs, for the main thread's cache. */
  | { kind: "stores"; count: number; data: Uint8Array }
  | { kind: "failed"; error: string }
  | { kind: "closed" };

/**
 * Datagrams with their socket addresses, packed one after another as
 * [length u16][address length u8][address][datagram] into a growing buffer, to be
 * posted as one transferred buffer (`take`) and read back with `unpackHandOffs`.
 */
export class HandOffs {
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(64 * 1024);
  #len = 0;
  /** How many datagrams are packed. */
  count = 0;

  /** Packs the first `len` bytes of `bytes` with the socket address `addr`. */
  add(bytes: Uint8Array, len: number, addr: Uint8Array): void {
    const end = this.#len + 3 + addr.length + len;
    if (end > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(this.#buf.length * 2, end));
      bigger.set(this.#buf.subarray(0, this.#len));
      this.#buf = bigger;
    }
    const buf = this.#buf;
    const at = this.#len;
    buf[at] = len >>> 8;
    buf[at + 1] = len & 0xff;
    buf[at + 2] = addr.length;
    buf.set(addr, at + 3);
    buf.set(bytes.subarray(0, len), at + 3 + addr.length);
    this.#len = end;
    this.count++;
  }

  /** A copy of what is packed (its own buffer, to transfer); empties this one. */
  take(): Uint8Array<ArrayBuffer> {
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    this.count = 0;
    return out;
  }
}

/** Calls `fn` with each datagram and socket address `HandOffs` packed into `data`. */
export function unpackHandOffs(data: Uint8Array, fn: (bytes: Uint8Array, addr: Uint8Array) => void): void {
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
