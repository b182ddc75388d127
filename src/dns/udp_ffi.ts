/**
 * The Linux UDP fast path (owns: serving a bound `Deno.DatagramConn` in batches through
 * libc — each time Deno reports the socket readable, the loop drains it with
 * `recvmmsg` (up to `batch` datagrams per call, without blocking) and answers with one
 * `sendmmsg` — and deciding whether this can run here).
 *
 * Why: a `Deno.listenDatagram` loop costs ~20 µs of CPU per datagram before any DNS
 * work; draining with recvmmsg/sendmmsg costs a few µs. The socket stays Deno's (bound,
 * waited on and closed by Deno), so binding, readiness and shutdown are the portable
 * engine's; only the bulk receive and send go through FFI. Everything runs on the main
 * isolate with the same `Responder` as TCP, so answers change at the same instant on
 * both; the responder writes each zone reply straight into its calloc'd send slot.
 * Forwarded queries and replies the socket cannot take at once are sent through Deno.
 * The loop drains at most `maxBatches` batches per readiness report and gives the event
 * loop a turn at least every `yieldMs` while busy, so HTTP, TCP, reloads and forwarding
 * keep being served under a UDP flood.
 */
import { logger } from "../log.ts";
import {
  address,
  EAGAIN,
  EINTR,
  findUdpSocket,
  IOVEC_SIZE,
  type Libc,
  MMSGHDR_SIZE,
  MSG_DONTWAIT,
  MSG_IOV,
  MSG_IOVLEN,
  MSG_LEN,
  MSG_NAME,
  MSG_NAMELEN,
  netAddrOf,
  openLibc,
  platformUnsupported,
  SOCKADDR_STORAGE_SIZE,
  writeSockaddr,
} from "./libc.ts";
import type { Responder } from "./respond.ts";
import type { UdpService } from "./udp_server.ts";

const log = logger("dns");

/** The fast path cannot run here (platform, permission, libc, or the socket was not found). */
export class FfiUnavailableError extends Error {
  override name = "FfiUnavailableError";
}

/**
 * Why the fast path cannot run in this process, or undefined if it may: Linux on
 * x86_64/aarch64, `--allow-ffi` granted, and libc loadable.
 */
export function ffiUdpUnavailable(): string | undefined {
  const platform = platformUnsupported();
  if (platform) return platform;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return "no --allow-ffi permission";
  try {
    openLibc().close();
  } catch (e) {
    return `cannot load libc: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

export interface FfiUdpOptions {
  /** Datagrams per recvmmsg/sendmmsg call (default 32). */
  batch?: number;
  /** Batches drained per readiness report (default 8). */
  maxBatches?: number;
  /** Busy milliseconds after which the loop gives the event loop a turn (default 1). */
  yieldMs?: number;
}

/** Counters of the fast path (tests, metrics). */
export interface FfiUdpStats {
  /** Times Deno reported the socket readable (one datagram each). */
  wakes: number;
  /** recvmmsg calls that returned datagrams, and how many they returned. */
  batches: number;
  batched: number;
}

/** A running fast-path UDP service. */
export interface FfiUdpService extends UdpService {
  readonly stats: Readonly<FfiUdpStats>;
}

/** Largest datagram received or sent whole. */
const SLOT = 65536;

/** The calloc'd block: both message vectors, their addresses and buffers. */
class Buffers {
  readonly base: Deno.PointerObject;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly rMsg: number;
  readonly rName: number;
  readonly rData: number;
  readonly sMsg: number;
  readonly sIov: number;
  readonly sName: number;
  readonly sData: number;
  readonly rMsgPtr: Deno.PointerObject;
  /** sendmmsg vector pointers from entry k on. */
  readonly sMsgPtrs: Deno.PointerObject[];
  /** The send data slots, as views the responder writes replies into. */
  readonly sSlots: Uint8Array[];
  /** The receive data slots, as views the responder reads requests from. */
  readonly rSlots: Uint8Array[];

  constructor(readonly libc: Libc, readonly batch: number) {
    let off = 0;
    const take = (n: number) => {
      const at = off;
      off += n;
      return at;
    };
    this.rMsg = take(batch * MMSGHDR_SIZE);
    const rIov = take(batch * IOVEC_SIZE);
    this.rName = take(batch * SOCKADDR_STORAGE_SIZE);
    this.sMsg = take(batch * MMSGHDR_SIZE);
    this.sIov = take(batch * IOVEC_SIZE);
    this.sName = take(batch * SOCKADDR_STORAGE_SIZE);
    off = Math.ceil(off / 4096) * 4096;
    this.rData = take(batch * SLOT);
    this.sData = take(batch * SLOT);
    // calloc: zeroed (msg_control must be NULL), and not moved by the garbage collector.
    const p = libc.symbols.calloc(1n, BigInt(off));
    if (!p) throw new Error(`calloc(${off}) failed`);
    this.base = p;
    this.u8 = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, off));
    this.dv = new DataView(this.u8.buffer);
    const base = address(p);
    const dv = this.dv;
    const receive = [this.rMsg, rIov, this.rName, this.rData];
    const send = [this.sMsg, this.sIov, this.sName, this.sData];
    for (const [msg, iov, name, data] of [receive, send]) {
      for (let i = 0; i < batch; i++) {
        const h = msg + i * MMSGHDR_SIZE;
        dv.setBigUint64(h + MSG_NAME, base + BigInt(name + i * SOCKADDR_STORAGE_SIZE), true);
        dv.setUint32(h + MSG_NAMELEN, SOCKADDR_STORAGE_SIZE, true);
        dv.setBigUint64(h + MSG_IOV, base + BigInt(iov + i * IOVEC_SIZE), true);
        dv.setBigUint64(h + MSG_IOVLEN, 1n, true);
        dv.setBigUint64(iov + i * IOVEC_SIZE, base + BigInt(data + i * SLOT), true);
        dv.setBigUint64(iov + i * IOVEC_SIZE + 8, BigInt(SLOT), true);
      }
    }
    const ptr = (o: number) => Deno.UnsafePointer.create(base + BigInt(o))!;
    this.rMsgPtr = ptr(this.rMsg);
    this.sMsgPtrs = Array.from({ length: batch }, (_, i) => ptr(this.sMsg + i * MMSGHDR_SIZE));
    const slots = (at: number) =>
      Array.from({ length: batch }, (_, i) => this.u8.subarray(at + i * SLOT, at + (i + 1) * SLOT));
    this.sSlots = slots(this.sData);
    this.rSlots = slots(this.rData);
  }

  free(): void {
    this.libc.symbols.free(this.base);
  }
}

/**
 * Serves DNS on `conn` with the fast path. Throws FfiUnavailableError when it cannot
 * run here or the socket's descriptor cannot be identified; `conn` is then untouched
 * and can be served by the portable `serveUdp`.
 */
export function serveUdpFfi(
  conn: Deno.DatagramConn,
  responder: Responder,
  opts: FfiUdpOptions = {},
): FfiUdpService {
  const reason = ffiUdpUnavailable();
  if (reason) throw new FfiUnavailableError(reason);
  const libc = openLibc();
  try {
    const fd = findUdpSocket(libc, conn.addr as Deno.NetAddr);
    if (fd === undefined) throw new FfiUnavailableError("cannot identify the UDP socket's descriptor");
    return new FfiUdpServer(conn, responder, libc, fd, opts);
  } catch (e) {
    libc.close();
    throw e;
  }
}

class FfiUdpServer implements FfiUdpService {
  readonly stats: FfiUdpStats = { wakes: 0, batches: 0, batched: 0 };
  readonly #conn: Deno.DatagramConn;
  readonly #responder: Responder;
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #b: Buffers;
  readonly #maxBatches: number;
  readonly #yieldMs: number;
  readonly #errno: Deno.UnsafePointerView;
  readonly #pending = new Set<Promise<void>>();
  readonly #running: Promise<void>;
  /** Replies queued in the send vector. */
  #queued = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #channel = new MessageChannel();
  #resume: () => void = () => {};

  constructor(conn: Deno.DatagramConn, responder: Responder, libc: Libc, fd: number, opts: FfiUdpOptions) {
    this.#conn = conn;
    this.#responder = responder;
    this.#libc = libc;
    this.#fd = fd;
    this.#b = new Buffers(libc, Math.max(1, opts.batch ?? 32));
    this.#maxBatches = Math.max(1, opts.maxBatches ?? 8);
    this.#yieldMs = opts.yieldMs ?? 1;
    this.#errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
    this.#channel.port1.onmessage = () => this.#resume();
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    const first = new Uint8Array(SLOT);
    let errors = 0;
    let lastYield = performance.now();
    while (!this.#closed) {
      let data: Uint8Array;
      let addr: Deno.Addr;
      try {
        // Deno waits for readiness; the rest of what is queued is drained below.
        [data, addr] = await this.#conn.receive(first);
        errors = 0;
      } catch (e) {
        if (this.#closed) return;
        log.debug("UDP receive failed: {e}", { e: String(e) });
        if (++errors > 3) await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (this.#closed) return;
      this.stats.wakes++;
      this.#answerFirst(data, addr as Deno.NetAddr);
      this.#drain();
      this.#flush();
      const now = performance.now();
      if (now - lastYield >= this.#yieldMs) {
        await this.#yield();
        lastYield = performance.now();
      }
    }
  }

  /** Answers the datagram Deno received; its reply joins the batch when the address allows. */
  #answerFirst(req: Uint8Array, addr: Deno.NetAddr): void {
    const b = this.#b;
    const j = this.#queued;
    const reply = this.#responder.respondInto(req, "udp", b.sSlots[j]);
    if (typeof reply !== "number") {
      this.#later(reply, addr);
      return;
    }
    if (reply === 0) return;
    const nameLen = writeSockaddr(b.u8, b.sName + j * SOCKADDR_STORAGE_SIZE, addr.hostname, addr.port);
    if (nameLen === 0) {
      this.#later(Promise.resolve(b.sSlots[j].slice(0, reply)), addr);
      return;
    }
    this.#queue(reply, nameLen);
  }

  /** Receives and answers what is queued on the socket, `batch` datagrams per call. */
  #drain(): void {
    const b = this.#b;
    const { u8, dv } = b;
    for (let turn = 0; turn < this.#maxBatches; turn++) {
      const n = this.#libc.symbols.recvmmsg(this.#fd, b.rMsgPtr, b.batch, MSG_DONTWAIT, null);
      // Nothing left (EAGAIN), or an error the next Deno receive will report.
      if (n <= 0) return;
      this.stats.batches++;
      this.stats.batched += n;
      for (let i = 0; i < n; i++) {
        const h = b.rMsg + i * MMSGHDR_SIZE;
        const len = dv.getUint32(h + MSG_LEN, true);
        const nameLen = dv.getUint32(h + MSG_NAMELEN, true);
        dv.setUint32(h + MSG_NAMELEN, SOCKADDR_STORAGE_SIZE, true);
        const name = b.rName + i * SOCKADDR_STORAGE_SIZE;
        // The reply goes straight into the next free send slot.
        const reply = this.#responder.respondInto(b.rSlots[i], "udp", b.sSlots[this.#queued], len);
        if (typeof reply !== "number") {
          const to = netAddrOf(u8.subarray(name, name + nameLen));
          if (to) this.#later(reply, to);
          continue;
        }
        if (reply === 0) continue;
        u8.copyWithin(b.sName + this.#queued * SOCKADDR_STORAGE_SIZE, name, name + nameLen);
        this.#queue(reply, nameLen);
      }
      if (n < b.batch) return;
    }
  }

  /**
   * Adds the reply of `len` bytes in the next send slot to the send vector (its address
   * already copied in place); flushes when full.
   */
  #queue(len: number, nameLen: number): void {
    const b = this.#b;
    const j = this.#queued;
    b.dv.setUint32(b.sIov + j * IOVEC_SIZE + 8, len, true);
    b.dv.setUint32(b.sMsg + j * MMSGHDR_SIZE + MSG_NAMELEN, nameLen, true);
    if (++this.#queued === b.batch) this.#flush();
  }

  /** Sends the queued replies with sendmmsg; what the socket will not take now goes through Deno. */
  #flush(): void {
    const count = this.#queued;
    this.#queued = 0;
    const b = this.#b;
    let k = 0;
    while (k < count) {
      const r = this.#libc.symbols.sendmmsg(this.#fd, b.sMsgPtrs[k], count - k, 0);
      if (r > 0) {
        k += r;
        continue;
      }
      const e = this.#errno.getInt32();
      if (e === EINTR) continue;
      const h = b.sMsg + k * MMSGHDR_SIZE;
      const name = b.sName + k * SOCKADDR_STORAGE_SIZE;
      const to = netAddrOf(b.u8.subarray(name, name + b.dv.getUint32(h + MSG_NAMELEN, true)));
      if (e === EAGAIN && to) {
        // The send buffer is full: let Deno wait for room, as the portable engine does.
        const data = b.sData + k * SLOT;
        const len = b.dv.getUint32(b.sIov + k * IOVEC_SIZE + 8, true);
        this.#later(Promise.resolve(b.u8.slice(data, data + len)), to);
      } else {
        log.debug("UDP send failed (os error {e})", { e });
      }
      k++;
    }
  }

  /** Sends a reply that is not ready yet (forwarded) or cannot be batched, through Deno. */
  #later(reply: Promise<Uint8Array | null>, to: Deno.NetAddr): void {
    const p = reply.then(async (r) => {
      if (!r || this.#closed) return;
      try {
        await this.#conn.send(r, to);
      } catch (e) {
        if (!this.#closed) log.debug("UDP send failed: {e}", { e: String(e) });
      }
    }).catch((e) => {
      log.error("forwarded UDP query failed: {e}", { e: String(e) });
    });
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
  }

  /** Gives the event loop a turn (a message through a channel: a macrotask, without timer delay). */
  #yield(): Promise<void> {
    return new Promise((resolve) => {
      this.#resume = resolve;
      this.#channel.port2.postMessage(0);
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
      await this.#running;
      this.#channel.port1.close();
      this.#channel.port2.close();
      await Promise.all([...this.#pending]);
      this.#b.free();
      this.#libc.close();
    })();
    return this.#closing;
  }
}
