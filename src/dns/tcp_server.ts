/**
 * The DNS TCP listener (owns: accepting connections up to a cap, 2-byte length framing,
 * several and pipelined queries per connection with replies written whole and in the
 * order they are ready, back-pressure on clients that do not read their replies, the
 * first-query and idle timeouts, closing on bad frames after the replies before them).
 * A connection's read buffer starts small and grows only as far as the bytes a client
 * has actually sent for one frame, so idle and slow-loris connections cost little.
 */
import { logger } from "../log.ts";
import { writeSockaddr } from "./libc.ts";
import { MIN_REPLY_BUFFER, type Responder } from "./respond.ts";
import { HEADER_LEN } from "./wire.ts";
import { ZoneTransfer } from "./xfr.ts";

const log = logger("dns");

export interface TcpServiceOptions {
  /** Close a connection with no complete query for this long (default 8000 ms). */
  idleTimeoutMs?: number;
  /** Connections beyond this many are closed at once (default 1000). */
  maxConnections?: number;
  /** Close a new connection that sends no complete query for this long (default 2000 ms, at most idle). */
  firstQueryTimeoutMs?: number;
  /** Answers AXFR and IXFR requests for the domain (without it they go to the responder: REFUSED). */
  transfer?: ZoneTransfer;
}

/** A connection's first read buffer: most queries are well under this. */
const INITIAL_READ_BUFFER = 512;
/** After a frame, a read buffer grown beyond this is given back (reset to the initial size). */
const KEEP_READ_BUFFER = 4096;
/** The largest frame: the length prefix and a 65535-byte message. */
const MAX_FRAME = 2 + 65535;

/** Stop reading from a connection while this many reply bytes wait to be written. */
const MAX_UNWRITTEN_BYTES = 64 * 1024;
/** Stop reading from a connection while this many of its forwarded queries are in flight. */
const MAX_PENDING_PER_CONNECTION = 32;

/** A running TCP service; `close` stops it and waits for every connection to end. */
export interface TcpService {
  close(): Promise<void>;
}

class Connection {
  closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writes: Promise<void> = Promise.resolve();
  /** Reply bytes queued and not yet written. */
  unwritten = 0;
  readonly pending = new Set<Promise<void>>();

  constructor(readonly conn: Deno.Conn, readonly idleMs: number) {}

  resetIdle(ms = this.idleMs): void {
    if (this.closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.close(), ms);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#timer);
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** Queues one reply (copied into its frame at once); writes never interleave. */
  send(reply: Uint8Array): void {
    if (this.closed) return;
    const framed = new Uint8Array(reply.length + 2);
    framed[0] = reply.length >>> 8;
    framed[1] = reply.length & 0xff;
    framed.set(reply, 2);
    this.unwritten += framed.length;
    this.#writes = this.#writes.then(async () => {
      let off = 0;
      while (off < framed.length && !this.closed) off += await this.conn.write(framed.subarray(off));
    }).finally(() => {
      this.unwritten -= framed.length;
    }).catch((e) => {
      if (!this.closed) log.debug("TCP write failed: {e}", { e: String(e) });
      this.close();
    });
  }

  /** Resolves when every queued reply has been written (or the connection is closed). */
  flushed(): Promise<void> {
    return this.#writes;
  }
}

/**
 * Sends a zone transfer's messages in order, waiting while the client has not read what
 * was written (back-pressure) and yielding to the event loop every few messages.
 */
async function sendTransfer(c: Connection, messages: Iterable<Uint8Array>): Promise<void> {
  let n = 0;
  for (const m of messages) {
    if (c.closed) return;
    c.send(m);
    if (c.unwritten > MAX_UNWRITTEN_BYTES) await c.flushed();
    else if (++n % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    c.resetIdle();
  }
}

/** Serves DNS over TCP on an already bound listener. */
export function serveTcp(
  listener: Deno.TcpListener,
  responder: Responder,
  opts: TcpServiceOptions = {},
): TcpService {
  const idleMs = opts.idleTimeoutMs ?? 8000;
  const maxConns = opts.maxConnections ?? 1000;
  const firstMs = Math.min(opts.firstQueryTimeoutMs ?? 2000, idleMs);
  const transfer = opts.transfer;
  const conns = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  /** Replies are written here, then copied into their frame (shared: `respondInto` is synchronous). */
  const out = new Uint8Array(MIN_REPLY_BUFFER.tcp);
  let closed = false;

  const handle = async (c: Connection): Promise<void> => {
    // Partial frames accumulate here. The buffer doubles only when a frame fills it (up
    // to that frame's size), so a client holds at most about twice what it has sent.
    let acc = new Uint8Array(INITIAL_READ_BUFFER);
    let have = 0;
    const from = c.conn.remoteAddr as Deno.NetAddr;
    const remote = from.hostname;
    c.resetIdle(firstMs);
    // The client as a socket address, for `ForwardAllow` (once per connection).
    const sa = new Uint8Array(28);
    const client = responder.needsClient && writeSockaddr(sa, 0, from.hostname, from.port) > 0
      ? sa
      : undefined;
    try {
      reading: while (!c.closed) {
        // Back-pressure: a client that does not read its replies stops being read.
        while (
          !c.closed && (c.unwritten > MAX_UNWRITTEN_BYTES || c.pending.size >= MAX_PENDING_PER_CONNECTION)
        ) {
          await (c.unwritten > MAX_UNWRITTEN_BYTES ? c.flushed() : Promise.race(c.pending));
        }
        if (c.closed) break;
        if (have === acc.length) {
          // An incomplete frame fills the buffer (one complete frame would have been taken).
          const frame = (acc[0] << 8 | acc[1]) + 2;
          const grown = new Uint8Array(Math.min(acc.length * 2, frame, MAX_FRAME));
          grown.set(acc);
          acc = grown;
        }
        const n = await c.conn.read(acc.subarray(have));
        if (n === null) break;
        have += n;
        while (have >= 2) {
          const len = (acc[0] << 8) | acc[1];
          if (len < HEADER_LEN) {
            // The replies to the good queries before it are still written, then the connection closes.
            log.debug("closing TCP connection after a bad frame of {len} bytes", { len });
            break reading;
          }
          if (have < 2 + len) break;
          c.resetIdle();
          const frame = acc.subarray(2, 2 + len);
          if (transfer && ZoneTransfer.isTransferRequest(frame)) {
            const messages = transfer.answer(frame, remote);
            if (messages) {
              // Nothing else on this connection meanwhile: the transfer's messages go out in a
              // row, made as the client takes them, with other work let in between.
              await sendTransfer(c, messages);
              acc.copyWithin(0, 2 + len, have);
              have -= 2 + len;
              continue;
            }
          }
          const reply = responder.respondInto(frame, "tcp", out, len, client);
          if (typeof reply !== "number") {
            const p = reply.then((r) => {
              if (r) c.send(r);
            }).catch((e) => {
              log.error("forwarded TCP query failed: {e}", { e: String(e) });
            });
            c.pending.add(p);
            p.finally(() => c.pending.delete(p));
          } else if (reply > 0) {
            c.send(out.subarray(0, reply));
          }
          acc.copyWithin(0, 2 + len, have);
          have -= 2 + len;
        }
        if (acc.length > KEEP_READ_BUFFER && have <= INITIAL_READ_BUFFER) {
          const small = new Uint8Array(INITIAL_READ_BUFFER);
          small.set(acc.subarray(0, have));
          acc = small;
        }
      }
    } catch (e) {
      if (!c.closed) log.debug("TCP read failed: {e}", { e: String(e) });
    }
    // The client may half-close after its queries: finish the replies in progress first.
    await Promise.all([...c.pending]);
    await c.flushed();
    c.close();
  };

  const acceptLoop = async (): Promise<void> => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closed || e instanceof Deno.errors.BadResource) return;
        log.warn("TCP accept failed: {e}", { e: String(e) });
        continue;
      }
      if (conns.size >= maxConns) {
        log.debug("too many TCP connections; closing a new one");
        conn.close();
        continue;
      }
      // Replies are written whole: do not let Nagle hold back the next one.
      conn.setNoDelay(true);
      const c = new Connection(conn, idleMs);
      conns.add(c);
      const t = handle(c).finally(() => {
        conns.delete(c);
        tasks.delete(t);
      });
      tasks.add(t);
    }
  };

  const accepting = acceptLoop();

  return {
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const c of conns) c.close();
      await accepting;
      await Promise.all([...tasks]);
    },
  };
}
