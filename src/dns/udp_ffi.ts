/**
 * The Linux UDP fast path (owns: running the DNS socket's UDP service on a worker thread
 * that waits in `poll` and answers plain in-zone queries from the shared flat zone with
 * `recvmmsg`/`sendmmsg` batches (udp_ffi_worker.ts), keeping that worker's zone current,
 * answering on the main thread whatever the worker hands over (forwarding, errors, the
 * general path), and deciding whether this can run here).
 *
 * The socket: Deno binds the address first (so binding errors and port 0 are the
 * portable engine's), then the fast path closes Deno's socket and binds its own at the
 * same address with libc. Deno's event loop would otherwise be woken for every datagram
 * on a socket it watches, and take a core from the worker on a small machine. Replies
 * from the main thread go out with `sendto` on the same socket.
 *
 * Why: a `Deno.listenDatagram` loop costs ~20 µs of CPU per datagram before any DNS
 * work, and every answer waits for the event loop; a thread that blocks in the kernel
 * and does only the one lookup per query answers as soon as it is woken, with no
 * allocation and no garbage collection on its path. The socket stays Deno's (bound on
 * the main thread and closed there). If the worker cannot start, the portable engine
 * serves the address instead.
 */
import { logger } from "../log.ts";
import {
  AF_INET6,
  bindUdpSocket,
  EAGAIN,
  EFD_NONBLOCK_CLOEXEC,
  EINTR,
  findUdpSocket,
  getIntOption,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  type Libc,
  MSG_DONTWAIT,
  openLibc,
  platformUnsupported,
  sockaddrFor,
} from "./libc.ts";
import { MIN_REPLY_BUFFER, type Responder } from "./respond.ts";
import { CONTROL, type ToMain, unpackHandOffs, type WorkerInit } from "./udp_ffi_protocol.ts";
import { serveUdp, type UdpService } from "./udp_server.ts";

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
  /** Batches drained per wake-up before the worker looks at its eventfd again (default 16). */
  maxBatches?: number;
  /**
   * Most requests handed to the main thread and not yet answered (default 1024): beyond
   * it, a flood of requests only the main thread answers (forwarded names, malformed
   * packets) is dropped instead of queued without bound.
   */
  maxHandedOver?: number;
  /** The worker's module (default `udp_ffi_worker.ts`; a test points it at one that fails). */
  workerModule?: URL;
}

/** Counters of the fast path (tests, metrics). */
export interface FfiUdpStats {
  /** Times the worker's poll reported the socket readable. */
  wakes: number;
  /** recvmmsg calls that returned datagrams, and how many they returned. */
  batches: number;
  batched: number;
  /** Requests dropped because the main thread had `maxHandedOver` waiting. */
  dropped: number;
}

/** A running fast-path UDP service. */
export interface FfiUdpService extends UdpService {
  readonly stats: Readonly<FfiUdpStats>;
}

/**
 * Serves DNS at `conn`'s address with the fast path (`conn` is closed and replaced by
 * the fast path's own socket). Throws FfiUnavailableError when it cannot run here or the
 * socket's descriptor cannot be identified; `conn` is then untouched and can be served
 * by the portable `serveUdp`.
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
    const addr = conn.addr as Deno.NetAddr;
    const denoFd = findUdpSocket(libc, addr);
    const sa = sockaddrFor(addr.hostname, addr.port);
    if (denoFd === undefined || !sa) {
      throw new FfiUnavailableError("cannot identify the UDP socket's descriptor");
    }
    const v6only = (sa[0] | (sa[1] << 8)) === AF_INET6
      ? getIntOption(libc, denoFd, IPPROTO_IPV6, IPV6_V6ONLY)
      : undefined;
    const eventFd = libc.symbols.eventfd(0, EFD_NONBLOCK_CLOEXEC);
    if (eventFd < 0) throw new FfiUnavailableError("eventfd failed");
    conn.close();
    let fd: number;
    try {
      fd = bindUdpSocket(libc, addr, v6only);
    } catch (e) {
      // Lost the address in the instant between the two binds (another process took it).
      libc.symbols.close(eventFd);
      throw new Error(`UDP fast path: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new FfiUdpServer(addr, responder, libc, fd, eventFd, opts);
  } catch (e) {
    libc.close();
    throw e;
  }
}

class FfiUdpServer implements FfiUdpService {
  readonly #addr: Deno.NetAddr;
  readonly #fd: number;
  readonly #errno: Deno.UnsafePointerView;
  readonly #responder: Responder;
  readonly #libc: Libc;
  readonly #eventFd: number;
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL.size * 4));
  readonly #worker: Worker;
  readonly #pending = new Set<Promise<void>>();
  readonly #unsubscribe: () => void;
  /** Where handed-over requests are answered. */
  readonly #scratch = new Uint8Array(MIN_REPLY_BUFFER.udp);
  readonly #one = new BigUint64Array([1n]);
  #generation = 1;
  #closing: Promise<void> | undefined;
  #closed = false;
  #workerDone: () => void = () => {};
  readonly #workerClosed: Promise<void>;
  /** The portable engine, when the worker failed. */
  #portable: UdpService | undefined;
  /** The socket and the eventfd are closed (after the worker stopped or failed). */
  #fdClosed = false;

  constructor(
    addr: Deno.NetAddr,
    responder: Responder,
    libc: Libc,
    fd: number,
    eventFd: number,
    opts: FfiUdpOptions,
  ) {
    this.#addr = addr;
    this.#fd = fd;
    this.#errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
    this.#responder = responder;
    this.#libc = libc;
    this.#eventFd = eventFd;
    this.#workerClosed = new Promise((resolve) => this.#workerDone = resolve);
    this.#worker = new Worker((opts.workerModule ?? new URL("./udp_ffi_worker.ts", import.meta.url)).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<ToMain>) => this.#onMessage(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fallBack(e.message);
    };
    Atomics.store(this.#control, CONTROL.generation, this.#generation);
    const init: WorkerInit = {
      kind: "init",
      fd,
      eventFd,
      control: this.#control,
      zone: responder.zone?.flat.parts,
      generation: this.#generation,
      plain: responder.plainPath,
      setTC: responder.setTruncateBit,
      batch: Math.max(1, opts.batch ?? 32),
      maxBatches: Math.max(1, opts.maxBatches ?? 16),
      maxHandedOver: Math.max(1, opts.maxHandedOver ?? 1024),
    };
    this.#worker.postMessage(init);
    this.#unsubscribe = responder.onZone((zone) => {
      if (this.#closed) return;
      const generation = ++this.#generation;
      Atomics.store(this.#control, CONTROL.generation, generation);
      this.#worker.postMessage({
        kind: "zone",
        zone: zone.flat.parts,
        generation,
        plain: responder.plainPath,
        setTC: responder.setTruncateBit,
      });
      this.#signal();
    });
  }

  get stats(): FfiUdpStats {
    return {
      wakes: Atomics.load(this.#control, CONTROL.wakes),
      batches: Atomics.load(this.#control, CONTROL.batches),
      batched: Atomics.load(this.#control, CONTROL.batched),
      dropped: Atomics.load(this.#control, CONTROL.dropped),
    };
  }

  /** Wakes the worker from its poll. */
  #signal(): void {
    if (this.#fdClosed) return;
    this.#libc.symbols.write(this.#eventFd, new Uint8Array(this.#one.buffer), 8n);
  }

  #onMessage(msg: ToMain): void {
    switch (msg.kind) {
      case "requests":
        unpackHandOffs(msg.data, (req, addr) => this.#answer(req, addr));
        Atomics.sub(this.#control, CONTROL.handedOver, msg.count);
        return;
      case "send":
        unpackHandOffs(msg.data, (reply, addr) => this.#later(Promise.resolve(reply), addr));
        return;
      case "failed":
        this.#fallBack(msg.error);
        this.#workerDone();
        return;
      case "closed":
        this.#workerDone();
        return;
      case "started":
        log.debug("UDP fast path worker started");
        return;
    }
  }

  /** Answers a request the worker handed over, on this thread's responder. */
  #answer(req: Uint8Array, addr: Uint8Array): void {
    if (this.#closed) return;
    const reply = this.#responder.respondInto(req, "udp", this.#scratch);
    if (typeof reply !== "number") this.#later(reply, addr);
    else if (reply > 0 && !this.#sendNow(this.#scratch, reply, addr)) {
      this.#later(Promise.resolve(this.#scratch.slice(0, reply)), addr);
    }
  }

  /** Sends `len` bytes of `bytes` to the socket address `to`; false when the socket would block. */
  #sendNow(bytes: Uint8Array, len: number, to: Uint8Array): boolean {
    while (true) {
      const r = this.#libc.symbols.sendto(this.#fd, bytes, BigInt(len), MSG_DONTWAIT, to, to.length);
      if (r >= 0) return true;
      const e = this.#errno.getInt32();
      if (e === EINTR) continue;
      if (e !== EAGAIN) log.debug("UDP send failed (os error {e})", { e });
      return e !== EAGAIN;
    }
  }

  /** The worker could not run: the portable engine serves the address from now on. */
  #fallBack(error: string): void {
    if (this.#portable || this.#closed) return;
    log.error("UDP fast path worker failed; serving UDP with the portable engine: {error}", { error });
    this.#worker.terminate();
    this.#closeFd();
    this.#portable = serveUdp(Deno.listenDatagram({ ...this.#addr, transport: "udp" }), this.#responder);
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    this.#libc.symbols.close(this.#fd);
    this.#libc.symbols.close(this.#eventFd);
  }

  /**
   * Sends a reply that is not ready yet (forwarded) or that the socket would not take at
   * once; a full send buffer is retried every millisecond for a while, then the reply is
   * dropped (as a full socket buffer drops datagrams).
   */
  #later(reply: Promise<Uint8Array | null>, to: Uint8Array): void {
    const p = reply.then(async (r) => {
      for (let tries = 0; r && !this.#closed && !this.#portable && tries < 200; tries++) {
        if (this.#sendNow(r, r.length, to)) return;
        await new Promise((res) => setTimeout(res, 1));
      }
    }).catch((e) => {
      log.error("forwarded UDP query failed: {e}", { e: String(e) });
    });
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unsubscribe();
      Atomics.store(this.#control, CONTROL.closing, 1);
      this.#signal();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#workerClosed, new Promise((r) => timer = setTimeout(r, 2000))]);
      clearTimeout(timer);
      this.#closed = true;
      this.#worker.terminate();
      await this.#portable?.close();
      await Promise.all([...this.#pending]);
      this.#closeFd();
      this.#libc.close();
    })();
    return this.#closing;
  }
}
