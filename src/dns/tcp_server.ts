/**
 * The DNS TCP listener (owns: accepting connections up to a cap, 2-byte length framing,
 * several and pipelined queries per connection with replies written whole and in the
 * order they are ready, back-pressure on clients that do not read their replies, the
 * first-query and idle timeouts, closing on bad frames after the replies before them).
 */
import { logger } from "../log.ts";
import type { Responder } from "./respond.ts";
import { HEADER_LEN } from "./wire.ts";

const log = logger("dns");

export interface TcpServiceOptions {
  /** Close a connection with no complete query for this long (default 8000 ms). */
  idleTimeoutMs?: number;
  /** Connections beyond this many are closed at once (default 1000). */
  maxConnections?: number;
  /** Close a new connection that sends no complete query for this long (default 2000 ms, at most idle). */
  firstQueryTimeoutMs?: number;
}

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

  /** Queues one framed reply; writes never interleave. */
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

/** Serves DNS over TCP on an already bound listener. */
export function serveTcp(
  listener: Deno.TcpListener,
  responder: Responder,
  opts: TcpServiceOptions = {},
): TcpService {
  const idleMs = opts.idleTimeoutMs ?? 8000;
  const maxConns = opts.maxConnections ?? 1000;
  const firstMs = Math.min(opts.firstQueryTimeoutMs ?? 2000, idleMs);
  const conns = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  let closed = false;

  const handle = async (c: Connection): Promise<void> => {
    // One frame is at most 2 + 65535 bytes; partial frames accumulate here.
    const acc = new Uint8Array(2 + 65535);
    let have = 0;
    c.resetIdle(firstMs);
    try {
      reading: while (!c.closed) {
        // Back-pressure: a client that does not read its replies stops being read.
        while (
          !c.closed && (c.unwritten > MAX_UNWRITTEN_BYTES || c.pending.size >= MAX_PENDING_PER_CONNECTION)
        ) {
          await (c.unwritten > MAX_UNWRITTEN_BYTES ? c.flushed() : Promise.race(c.pending));
        }
        if (c.closed) break;
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
          const reply = responder.respond(acc.subarray(2, 2 + len), "tcp");
          if (reply instanceof Promise) {
            const p = reply.then((r) => {
              if (r) c.send(r);
            }).catch((e) => {
              log.error("forwarded TCP query failed: {e}", { e: String(e) });
            });
            c.pending.add(p);
            p.finally(() => c.pending.delete(p));
          } else if (reply) {
            c.send(reply);
          }
          acc.copyWithin(0, 2 + len, have);
          have -= 2 + len;
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
