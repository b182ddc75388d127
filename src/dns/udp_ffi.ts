/**
 * The Linux UDP fast path (owns: running the DNS address's UDP service on worker threads,
 * each with its own socket (SO_REUSEPORT when there are several) and receive buffer,
 * that wait in `poll` and answer plain in-zone queries from the shared flat zone and
 * cached outside names from the shared forward cache with `recvmmsg`/`sendmmsg` batches
 * (udp_ffi_worker.ts), keeping every worker's zone current, answering on the main thread
 * whatever a worker hands over (forwarding, errors, the general path), and deciding
 * whether this can run here).
 *
 * The sockets: Deno binds the address first (so binding errors and port 0 are the
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
  setReceiveBuffer,
  sockaddrFor,
} from "./libc.ts";
import type { ForwardCache } from "./forward_cache.ts";
import { parseQuery } from "./query.ts";
import { MIN_REPLY_BUFFER, type Responder } from "./respond.ts";
import { CONTROL, type ToMain, unpackHandOffs, type WorkerInit } from "./udp_ffi_protocol.ts";
import { serveUdp, type UdpService } from "./udp_server.ts";
import type { DnsCounterSlots } from "../metrics/dns_counters.ts";

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
  /** Worker threads, each with its own socket on the address (SO_REUSEPORT); default 1. */
  workers?: number;
  /** Receive buffer (bytes) asked for each socket; 0 or undefined: the kernel default. */
  receiveBuffer?: number;
  /** The forwarded-answer cache the workers answer from (none: they hand outside names over). */
  cache?: ForwardCache;
  /** Datagrams per recvmmsg/sendmmsg call (default 32). */
  batch?: number;
  /** Batches drained per wake-up before the worker looks at its eventfd again (default 16). */
  maxBatches?: number;
  /**
   * Most requests one worker has handed to the main thread and not yet answered (default
   * 1024): beyond it, a flood of requests only the main thread answers (forwarded names,
   * malformed packets) is dropped instead of queued without bound.
   */
  maxHandedOver?: number;
  /** The worker's module (default `udp_ffi_worker.ts`; a test points it at one that fails). */
  workerModule?: URL;
  /** Where the workers count the queries they answer: worker n writes region n (0 is the main thread's). */
  counters?: DnsCounterSlots;
  /**
   * Whether the workers forward outside names themselves (default true; when every such
   * name goes to the same resolvers): the first attempt, to the first resolver, with no
   * hand-off to the main thread. False: the main thread forwards every one.
   */
  forwardInWorker?: boolean;
}

/** Counters of the fast path, summed over its workers (tests, metrics). */
export interface FfiUdpStats {
  /** Worker threads (each with its own socket). */
  workers: number;
  /** Times the workers' poll reported a socket readable. */
  wakes: number;
  /** recvmmsg calls that returned datagrams, and how many they returned. */
  batches: number;
  batched: number;
  /** Datagrams received by each worker. */
  perWorker: number[];
  /** Requests dropped because the main thread had `maxHandedOver` waiting. */
  dropped: number;
  /** Datagrams dropped at once as not requests (too short, or responses). */
  junk: number;
  /** The receive buffer each socket got, as the kernel reports it (undefined: not set). */
  receiveBuffer: number | undefined;
}

/** A running fast-path UDP service. */
export interface FfiUdpService extends UdpService {
  readonly stats: Readonly<FfiUdpStats>;
}

/**
 * Serves DNS at `conn`'s address with the fast path (`conn` is closed and replaced by
 * the fast path's own sockets, one per worker). Throws FfiUnavailableError when it cannot
 * run here or the socket's descriptor cannot be identified; `conn` is then untouched and
 * can be served by the portable `serveUdp`.
 */
export function serveUdpFfi(
  conn: Deno.DatagramConn,
  responder: Responder,
  opts: FfiUdpOptions = {},
): FfiUdpService {
  const reason = ffiUdpUnavailable();
  if (reason) throw new FfiUnavailableError(reason);
  const libc = openLibc();
  const count = Math.max(1, Math.floor(opts.workers ?? 1));
  const opened: number[] = [];
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
    const eventFds: number[] = [];
    for (let i = 0; i < count; i++) {
      const eventFd = libc.symbols.eventfd(0, EFD_NONBLOCK_CLOEXEC);
      if (eventFd < 0) throw new FfiUnavailableError("eventfd failed");
      eventFds.push(eventFd);
      opened.push(eventFd);
    }
    conn.close();
    const fds: number[] = [];
    let granted: number | undefined;
    try {
      for (let i = 0; i < count; i++) {
        const fd = bindUdpSocket(libc, addr, v6only, count > 1);
        fds.push(fd);
        opened.push(fd);
        if (opts.receiveBuffer && opts.receiveBuffer > 0) {
          granted = setReceiveBuffer(libc, fd, opts.receiveBuffer);
        }
      }
    } catch (e) {
      // Lost the address in the instant between the two binds (another process took it).
      throw new Error(`UDP fast path: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new FfiUdpServer(addr, responder, libc, fds, eventFds, granted, opts);
  } catch (e) {
    for (const fd of opened) libc.symbols.close(fd);
    libc.close();
    throw e;
  }
}

/** One worker thread and its socket, eventfd and control block. */
interface WorkerSlot {
  readonly fd: number;
  readonly eventFd: number;
  readonly control: Int32Array;
  readonly worker: Worker;
  readonly closed: Promise<void>;
  done(): void;
}

class FfiUdpServer implements FfiUdpService {
  readonly #addr: Deno.NetAddr;
  readonly #errno: Deno.UnsafePointerView;
  readonly #responder: Responder;
  readonly #libc: Libc;
  readonly #slots: WorkerSlot[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #unsubscribe: () => void;
  readonly #receiveBuffer: number | undefined;
  readonly #forwardInWorker: boolean;
  readonly #cache: ForwardCache | undefined;
  /** Where handed-over requests are answered. */
  readonly #scratch = new Uint8Array(MIN_REPLY_BUFFER.udp);
  readonly #one = new BigUint64Array([1n]);
  #generation = 1;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** The portable engine, when a worker failed. */
  #portable: UdpService | undefined;
  /** The sockets and the eventfds are closed (after the workers stopped or failed). */
  #fdClosed = false;

  constructor(
    addr: Deno.NetAddr,
    responder: Responder,
    libc: Libc,
    fds: number[],
    eventFds: number[],
    receiveBuffer: number | undefined,
    opts: FfiUdpOptions,
  ) {
    this.#addr = addr;
    this.#errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
    this.#responder = responder;
    this.#libc = libc;
    this.#receiveBuffer = receiveBuffer;
    this.#forwardInWorker = opts.forwardInWorker !== false;
    this.#cache = opts.cache;
    const module = (opts.workerModule ?? new URL("./udp_ffi_worker.ts", import.meta.url)).href;
    fds.forEach((fd, i) => {
      const control = new Int32Array(new SharedArrayBuffer(CONTROL.size * 4));
      let done: () => void = () => {};
      const closed = new Promise<void>((resolve) => done = resolve);
      const worker = new Worker(module, { type: "module" });
      const slot: WorkerSlot = { fd, eventFd: eventFds[i], control, worker, closed, done: () => done() };
      this.#slots.push(slot);
      worker.onmessage = (e: MessageEvent<ToMain>) => this.#onMessage(slot, e.data);
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#fallBack(e.message);
      };
      Atomics.store(control, CONTROL.generation, this.#generation);
      const init: WorkerInit = {
        kind: "init",
        fd,
        eventFd: eventFds[i],
        control,
        zone: responder.zone?.flat.parts,
        generation: this.#generation,
        cache: opts.cache?.parts,
        thread: i + 1,
        forward: this.#forwardInWorker ? responder.workerForwarding : undefined,
        plain: responder.plainPath,
        setTC: responder.setTruncateBit,
        batch: Math.max(1, opts.batch ?? 32),
        maxBatches: Math.max(1, opts.maxBatches ?? 16),
        maxHandedOver: Math.max(1, opts.maxHandedOver ?? 1024),
        counters: opts.counters?.buffer,
        counterRegion: i + 1,
        rateLimit: responder.rateLimit,
        forwardAllow: responder.forwardAllow,
      };
      worker.postMessage(init);
    });
    this.#unsubscribe = responder.onZone((zone) => {
      if (this.#closed) return;
      const generation = ++this.#generation;
      for (const slot of this.#slots) {
        Atomics.store(slot.control, CONTROL.generation, generation);
        slot.worker.postMessage({
          kind: "zone",
          zone: zone.flat.parts,
          generation,
          plain: responder.plainPath,
          setTC: responder.setTruncateBit,
          forward: this.#forwardInWorker ? responder.workerForwarding : undefined,
          collect: responder.zoneGarbageDue,
        });
        this.#signal(slot);
      }
    });
  }

  get stats(): FfiUdpStats {
    const sum = (k: number) => this.#slots.reduce((n, s) => n + Atomics.load(s.control, k), 0);
    return {
      workers: this.#slots.length,
      wakes: sum(CONTROL.wakes),
      batches: sum(CONTROL.batches),
      batched: sum(CONTROL.batched),
      perWorker: this.#slots.map((s) => Atomics.load(s.control, CONTROL.batched)),
      dropped: sum(CONTROL.dropped),
      junk: sum(CONTROL.junk),
      receiveBuffer: this.#receiveBuffer,
    };
  }

  /** Wakes a worker from its poll. */
  #signal(slot: WorkerSlot): void {
    if (this.#fdClosed) return;
    this.#libc.symbols.write(slot.eventFd, new Uint8Array(this.#one.buffer), 8n);
  }

  #onMessage(slot: WorkerSlot, msg: ToMain): void {
    switch (msg.kind) {
      case "requests":
        unpackHandOffs(msg.data, (req, addr) => this.#answer(slot.fd, req, addr));
        Atomics.sub(slot.control, CONTROL.handedOver, msg.count);
        return;
      case "timeouts":
        // The worker asked the first upstream in vain: on with the next ones.
        unpackHandOffs(msg.data, (req, addr) => this.#answer(slot.fd, req, addr, 1));
        Atomics.sub(slot.control, CONTROL.handedOver, msg.count);
        return;
      case "truncated": {
        // The worker's UDP attempt came back truncated or too large: retry over TCP here.
        let req: Uint8Array | undefined;
        let addr: Uint8Array | undefined;
        unpackHandOffs(msg.data, (bytes, from) => {
          if (!req) {
            req = bytes.slice();
            addr = from.slice();
            return;
          }
          if (!this.#closed) this.#later(slot.fd, this.#responder.retryTruncated(req, bytes.slice()), addr!);
          req = undefined;
        });
        return;
      }
      case "stores": {
        let req: Uint8Array | undefined;
        unpackHandOffs(msg.data, (bytes) => {
          if (!req) {
            req = bytes;
            return;
          }
          this.#store(req, bytes);
          req = undefined;
        });
        return;
      }
      case "send":
        unpackHandOffs(msg.data, (reply, addr) => this.#later(slot.fd, Promise.resolve(reply), addr));
        return;
      case "failed":
        this.#fallBack(msg.error);
        slot.done();
        return;
      case "closed":
        slot.done();
        return;
      case "started":
        log.debug("UDP fast path worker started");
        return;
    }
  }

  /** Caches a reply a worker relayed. */
  #store(req: Uint8Array, reply: Uint8Array): void {
    const r = parseQuery(req);
    if (this.#cache && r.kind === "query") this.#cache.store(req, r.query, reply);
  }

  /**
   * Answers a request a worker handed over, on this thread's responder, from that
   * worker's socket; `skipUpstreams`: resolvers the worker already tried.
   */
  #answer(fd: number, req: Uint8Array, addr: Uint8Array, skipUpstreams = 0): void {
    if (this.#closed) return;
    const reply = skipUpstreams > 0
      ? this.#responder.respondAfterWorker(req, this.#scratch, addr, skipUpstreams)
      : this.#responder.respondInto(req, "udp", this.#scratch, req.length, addr);
    if (typeof reply !== "number") this.#later(fd, reply, addr);
    else if (reply > 0 && !this.#sendNow(fd, this.#scratch, reply, addr)) {
      this.#later(fd, Promise.resolve(this.#scratch.slice(0, reply)), addr);
    }
  }

  /** Sends `len` bytes of `bytes` to the socket address `to`; false when the socket would block. */
  #sendNow(fd: number, bytes: Uint8Array, len: number, to: Uint8Array): boolean {
    while (true) {
      const r = this.#libc.symbols.sendto(fd, bytes, BigInt(len), MSG_DONTWAIT, to, to.length);
      if (r >= 0) return true;
      const e = this.#errno.getInt32();
      if (e === EINTR) continue;
      if (e !== EAGAIN) log.debug("UDP send failed (os error {e})", { e });
      return e !== EAGAIN;
    }
  }

  /** A worker could not run: the portable engine serves the address from now on. */
  #fallBack(error: string): void {
    if (this.#portable || this.#closed) return;
    log.error("UDP fast path worker failed; serving UDP with the portable engine: {error}", { error });
    for (const slot of this.#slots) slot.worker.terminate();
    this.#closeFd();
    this.#portable = serveUdp(Deno.listenDatagram({ ...this.#addr, transport: "udp" }), this.#responder);
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    for (const slot of this.#slots) {
      this.#libc.symbols.close(slot.fd);
      this.#libc.symbols.close(slot.eventFd);
    }
  }

  /**
   * Sends a reply that is not ready yet (forwarded) or that the socket would not take at
   * once; a full send buffer is retried every millisecond for a while, then the reply is
   * dropped (as a full socket buffer drops datagrams).
   */
  #later(fd: number, reply: Promise<Uint8Array | null>, to: Uint8Array): void {
    const p = reply.then(async (r) => {
      for (let tries = 0; r && !this.#closed && !this.#portable && tries < 200; tries++) {
        if (this.#sendNow(fd, r, r.length, to)) return;
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
      for (const slot of this.#slots) {
        Atomics.store(slot.control, CONTROL.closing, 1);
        this.#signal(slot);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(this.#slots.map((s) => s.closed)),
        new Promise((r) => timer = setTimeout(r, 2000)),
      ]);
      clearTimeout(timer);
      this.#closed = true;
      for (const slot of this.#slots) slot.worker.terminate();
      await this.#portable?.close();
      await Promise.all([...this.#pending]);
      this.#closeFd();
      this.#libc.close();
    })();
    return this.#closing;
  }
}

/**
 * Asks for a receive buffer of `bytes` on the socket of `conn` (for the portable engine)
 * through libc; returns what the kernel reports, or undefined when FFI cannot run here or
 * the socket's descriptor cannot be identified.
 */
export function setPortableReceiveBuffer(conn: Deno.DatagramConn, bytes: number): number | undefined {
  if (ffiUdpUnavailable()) return undefined;
  const libc = openLibc();
  try {
    const fd = findUdpSocket(libc, conn.addr as Deno.NetAddr);
    return fd === undefined ? undefined : setReceiveBuffer(libc, fd, bytes);
  } finally {
    libc.close();
  }
}
