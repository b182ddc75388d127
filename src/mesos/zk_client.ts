/**
 * A small ZooKeeper client over `Deno.connect` (owns: the session — connect handshake,
 * pings, receive timeout, fail-over between servers, session expiry and renewal —
 * and the few operations Mesos leader detection needs: getChildren2 and getData with
 * watches, create, delete, close).
 *
 * Semantics, kept deliberately simple:
 * - One connection at a time; servers are tried in a shuffled round-robin order; after a
 *   full round of failures (or of sessions that dropped at once) the client waits
 *   `retryDelayMs` before the next round.
 * - The negotiated session timeout T drives a ping every T/3 of idleness and a receive
 *   timeout of 2T/3 (a hung or unreachable server is dropped, as the Java client does).
 * - When a server reports the session expired, the client starts a fresh session
 *   (state "expired", then "connected" again). Ephemeral nodes of the old session are gone.
 * - Watches do not survive a disconnection: they are dropped and callers re-read (and
 *   re-watch) when the state becomes "connected" again.
 * - Requests made while not connected fail at once with a connection-loss `ZkError`.
 */
import { logger } from "../log.ts";
import {
  type Acl,
  createBody,
  decodeConnectResponse,
  decodeReply,
  decodeWatchEvent,
  deleteBody,
  encodeConnectRequest,
  encodeRequest,
  ErrorCode,
  errorName,
  EventType,
  type JuteReader,
  Op,
  OPEN_ACL,
  pathWatchBody,
  splitFrames,
  type WatchEvent,
  Xid,
} from "./zk_jute.ts";

export type { WatchEvent } from "./zk_jute.ts";
export { CreateMode, ErrorCode, EventType } from "./zk_jute.ts";

const log = logger("zookeeper");

/** One ZooKeeper server address. */
export interface ZkServer {
  host: string;
  port: number;
}

/** Connection states reported to `onState`. */
export type ZkState = "connected" | "disconnected" | "expired" | "closed";

/** Options of a `ZkClient`. */
export interface ZkClientOptions {
  /** The ensemble (at least one server). */
  servers: readonly ZkServer[];
  /** Requested session timeout; the server may negotiate it into its own bounds. Default 60 s. */
  sessionTimeoutMs?: number;
  /** Pause after every server failed once in a row. Default 1000 ms. */
  retryDelayMs?: number;
  /** Limit for TCP connect plus handshake on one server. Default T/servers, within 1–10 s. */
  connectTimeoutMs?: number;
  /** Try servers in the given order instead of a shuffled one. */
  noShuffle?: boolean;
  /** Called on every state change. */
  onState?: (state: ZkState) => void;
  /** Resume this existing session instead of creating one (as the Java client allows). */
  session?: { id: bigint; password: Uint8Array };
}

/** A failed ZooKeeper operation; `code` is the server's (or a local) error code. */
export class ZkError extends Error {
  constructor(readonly code: number, readonly path?: string) {
    super(`zookeeper: ${errorName(code)}${path ? ` (${path})` : ""}`);
    this.name = "ZkError";
  }
}

/** Called once when a watch set by a read fires. */
export type Watcher = (event: WatchEvent) => void;

interface Pending {
  xid: number;
  path: string;
  /** Runs synchronously on success, before any later frame is handled (watch registration). */
  onOk?: () => void;
  /** exists(): the server sets the watch even when the node is missing. */
  okOnNoNode: boolean;
  resolve: (body: JuteReader) => void;
  reject: (e: Error) => void;
}

/** Outcome of one connection attempt. */
type Attempt = "established" | "failed" | "expired";

function formatServer(s: ZkServer): string {
  return s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A ZooKeeper session that reconnects until closed. */
export class ZkClient {
  private readonly servers: ZkServer[];
  private readonly requestedTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly connectTimeoutMs: number;
  private readonly onState?: (state: ZkState) => void;

  private sessionIdValue = 0n;
  private password: Uint8Array = new Uint8Array(16);
  private lastZxid = 0n;
  private negotiatedTimeoutMs = 0;

  private conn: Deno.TcpConn | null = null;
  private current: ZkServer | null = null;
  private connected = false;
  private closed = false;
  private nextXid = 1;
  private pending: Pending[] = [];
  private childWatchers = new Map<string, Set<Watcher>>();
  private dataWatchers = new Map<string, Set<Watcher>>();
  private writeChain: Promise<void> = Promise.resolve();
  private lastSend = 0;
  private lastRecv = 0;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private connecting: AbortController | null = null;
  private connectedWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(options: ZkClientOptions) {
    if (options.servers.length === 0) throw new Error("zookeeper: no servers given");
    this.servers = options.noShuffle ? [...options.servers] : shuffled(options.servers);
    this.requestedTimeoutMs = options.sessionTimeoutMs ?? 60_000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ??
      Math.min(10_000, Math.max(1000, Math.floor(this.requestedTimeoutMs / this.servers.length)));
    this.onState = options.onState;
    if (options.session) {
      this.sessionIdValue = options.session.id;
      this.password = options.session.password.slice();
    }
  }

  /** Starts connecting (idempotent). */
  connect(): void {
    if (this.loop || this.closed) return;
    this.loop = this.run();
  }

  /** True while a session is established on a live connection. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** The server (`host:port`) of the live connection, or null. */
  get connectedServer(): string | null {
    return this.connected && this.current ? formatServer(this.current) : null;
  }

  /** The current session id (0 before the first session). */
  get sessionId(): bigint {
    return this.sessionIdValue;
  }

  /** The current session's password (with `sessionId`, lets another client resume the session). */
  get sessionPassword(): Uint8Array {
    return this.password.slice();
  }

  /** The session timeout the server granted (0 before the first session). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /** Resolves once connected (at once if already); rejects if the client is closed first. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closed) return Promise.reject(new ZkError(ErrorCode.connectionLoss));
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  /** Lists the children of `path`; `watcher` fires once when they change (or the node goes). */
  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    const onOk = watcher && (() => addWatcher(this.childWatchers, path, watcher));
    const body = await this.request(Op.getChildren2, path, pathWatchBody(path, watcher !== undefined), onOk);
    return body.strings();
  }

  /** Reads the data of `path` (null when the node has none); `watcher` fires once on change. */
  async getData(path: string, watcher?: Watcher): Promise<Uint8Array | null> {
    const onOk = watcher && (() => addWatcher(this.dataWatchers, path, watcher));
    const body = await this.request(Op.getData, path, pathWatchBody(path, watcher !== undefined), onOk);
    return body.buffer();
  }

  /**
   * Tells whether `path` exists; `watcher` fires once when it is created, changed or
   * deleted (the watch is set whether or not the node exists).
   */
  async exists(path: string, watcher?: Watcher): Promise<boolean> {
    const onOk = watcher && (() => addWatcher(this.dataWatchers, path, watcher));
    try {
      await this.request(Op.exists, path, pathWatchBody(path, watcher !== undefined), onOk, false, true);
      return true;
    } catch (e) {
      if (e instanceof ZkError && e.code === ErrorCode.noNode) return false;
      throw e;
    }
  }

  /** Creates `path` and returns the created path (with the sequence suffix for sequential modes). */
  async create(
    path: string,
    data: Uint8Array,
    mode: number,
    acl: readonly Acl[] = OPEN_ACL,
  ): Promise<string> {
    const body = await this.request(Op.create, path, createBody(path, data, acl, mode));
    return body.string();
  }

  /** Deletes `path` (any version unless `version` is given). */
  async delete(path: string, version = -1): Promise<void> {
    await this.request(Op.delete, path, deleteBody(path, version));
  }

  /** Ends the session (ephemeral nodes go away), stops reconnecting and releases everything. */
  async close(): Promise<void> {
    if (this.closed) {
      await this.loop;
      return;
    }
    this.closed = true;
    if (this.connected) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reply = this.request(Op.closeSession, "", undefined, undefined, true).catch(() => {});
      await Promise.race([reply, new Promise<void>((r) => timer = setTimeout(r, 1000))]);
      clearTimeout(timer);
    }
    this.dropConnection();
    this.connecting?.abort();
    this.wake?.();
    await this.loop;
    for (const w of this.connectedWaiters.splice(0)) w.reject(new ZkError(ErrorCode.connectionLoss));
    this.onState?.("closed");
  }

  // ---- internals ----

  private request(
    op: number,
    path: string,
    body?: Parameters<typeof encodeRequest>[2],
    onOk?: () => void,
    evenIfClosing = false,
    okOnNoNode = false,
  ): Promise<JuteReader> {
    if (!this.connected || !this.conn || (this.closed && !evenIfClosing)) {
      return Promise.reject(new ZkError(ErrorCode.connectionLoss, path || undefined));
    }
    const xid = this.nextXid++;
    const frame = encodeRequest(xid, op, body);
    return new Promise((resolve, reject) => {
      this.pending.push({ xid, path, onOk, okOnNoNode, resolve, reject });
      this.send(frame);
    });
  }

  private send(frame: Uint8Array): void {
    const conn = this.conn;
    if (!conn) return;
    this.lastSend = Date.now();
    this.writeChain = this.writeChain.then(async () => {
      try {
        let off = 0;
        while (off < frame.length) off += await conn.write(frame.subarray(off));
      } catch (e) {
        log.debug("write failed: {error}", { error: String(e) });
        if (this.conn === conn) this.dropConnection();
      }
    });
  }

  private dropConnection(): void {
    const conn = this.conn;
    this.conn = null;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }

  private async run(): Promise<void> {
    let failures = 0;
    let index = 0;
    while (!this.closed) {
      const server = this.servers[index % this.servers.length];
      index++;
      const started = Date.now();
      const attempt = await this.session(server);
      if (this.closed) break;
      // A session that dropped at once counts as a failure, so a flapping server cannot make
      // the client reconnect in a tight loop (at most one round per retryDelayMs).
      const flapped = attempt === "established" && Date.now() - started < this.retryDelayMs;
      failures = attempt === "failed" || flapped ? failures + 1 : 0;
      if (failures >= this.servers.length) {
        failures = 0;
        await this.pause(this.retryDelayMs);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** One connection attempt, kept up until the connection ends. */
  private async session(server: ZkServer): Promise<Attempt> {
    const name = formatServer(server);
    let conn: Deno.TcpConn;
    const abort = new AbortController();
    this.connecting = abort;
    const connectTimer = setTimeout(() => abort.abort(), this.connectTimeoutMs);
    try {
      conn = await Deno.connect({ hostname: server.host, port: server.port, signal: abort.signal });
    } catch (e) {
      log.debug("{server}: connect failed: {error}", { server: name, error: String(e) });
      return "failed";
    } finally {
      clearTimeout(connectTimer);
      this.connecting = null;
    }
    if (this.closed) {
      conn.close();
      return "failed";
    }
    this.conn = conn;
    this.current = server;
    this.writeChain = Promise.resolve();
    let buffered: Uint8Array = new Uint8Array(0);
    let handshakeDone = false;
    let established = false;
    // Until the handshake completes this timer guards it; afterwards the keep-alive tick does.
    const handshakeTimer = setTimeout(() => {
      if (!handshakeDone && this.conn === conn) this.dropConnection();
    }, this.connectTimeoutMs);
    let tick: ReturnType<typeof setInterval> | undefined;
    try {
      this.send(encodeConnectRequest({
        lastZxidSeen: this.lastZxid,
        timeoutMs: this.requestedTimeoutMs,
        sessionId: this.sessionIdValue,
        password: this.password,
      }));
      const chunk = new Uint8Array(64 * 1024);
      while (this.conn === conn) {
        const n = await conn.read(chunk);
        if (n === null) break;
        this.lastRecv = Date.now();
        buffered = concat(buffered, chunk.subarray(0, n));
        const { frames, rest } = splitFrames(buffered);
        buffered = rest;
        for (const frame of frames) {
          if (!handshakeDone) {
            handshakeDone = true;
            clearTimeout(handshakeTimer);
            const resp = decodeConnectResponse(frame);
            if (resp.timeoutMs <= 0) {
              this.expire(name);
              return "expired";
            }
            this.establish(resp.sessionId, resp.password, resp.timeoutMs, name);
            established = true;
            const t = this.negotiatedTimeoutMs;
            tick = setInterval(() => this.keepAlive(conn, t), Math.max(50, Math.floor(t / 6)));
          } else {
            this.handleReply(frame);
          }
        }
      }
    } catch (e) {
      if (this.conn === conn) {
        log.debug("{server}: connection error: {error}", { server: name, error: String(e) });
      }
    } finally {
      clearTimeout(handshakeTimer);
      clearInterval(tick);
      if (this.conn === conn) this.dropConnection();
      await this.writeChain;
      this.lost(name, established);
    }
    return established ? "established" : "failed";
  }

  private establish(sessionId: bigint, password: Uint8Array, timeoutMs: number, name: string): void {
    const renewed = this.sessionIdValue !== 0n && this.sessionIdValue === sessionId;
    this.sessionIdValue = sessionId;
    this.password = password;
    this.negotiatedTimeoutMs = timeoutMs;
    this.connected = true;
    log.info("{what} session 0x{id} on {server} (timeout {timeout} ms)", {
      what: renewed ? "resumed" : "new",
      id: sessionId.toString(16),
      server: name,
      timeout: timeoutMs,
    });
    for (const w of this.connectedWaiters.splice(0)) w.resolve();
    this.onState?.("connected");
  }

  private expire(name: string): void {
    log.warn("session 0x{id} expired (reported by {server}); starting a new one", {
      id: this.sessionIdValue.toString(16),
      server: name,
    });
    this.sessionIdValue = 0n;
    this.password = new Uint8Array(16);
    this.onState?.("expired");
  }

  /** Cleans up after a connection ended. */
  private lost(name: string, wasEstablished: boolean): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.current = null;
    for (const p of this.pending.splice(0)) {
      p.reject(new ZkError(ErrorCode.connectionLoss, p.path || undefined));
    }
    this.childWatchers.clear();
    this.dataWatchers.clear();
    if (wasEstablished && wasConnected && !this.closed) {
      log.info("disconnected from {server}", { server: name });
      this.onState?.("disconnected");
    }
  }

  private keepAlive(conn: Deno.TcpConn, timeoutMs: number): void {
    if (this.conn !== conn) return;
    const now = Date.now();
    if (now - this.lastRecv >= Math.floor(timeoutMs * 2 / 3)) {
      log.warn("no reply from {server} for {ms} ms, dropping the connection", {
        server: this.current ? formatServer(this.current) : "?",
        ms: now - this.lastRecv,
      });
      this.dropConnection();
      return;
    }
    if (now - this.lastSend >= Math.floor(timeoutMs / 3)) this.send(encodeRequest(Xid.ping, Op.ping));
  }

  private handleReply(frame: Uint8Array): void {
    const reply = decodeReply(frame);
    if (reply.xid === Xid.ping) return;
    if (reply.xid === Xid.notification) {
      this.dispatch(decodeWatchEvent(reply.body));
      return;
    }
    const head = this.pending.shift();
    if (!head || head.xid !== reply.xid) {
      throw new Error(`zookeeper: reply xid ${reply.xid} does not match request ${head?.xid ?? "none"}`);
    }
    if (reply.zxid > 0n) this.lastZxid = reply.zxid;
    if (reply.err === ErrorCode.noNode && head.okOnNoNode) head.onOk?.();
    if (reply.err !== ErrorCode.ok) {
      head.reject(new ZkError(reply.err, head.path || undefined));
    } else {
      head.onOk?.();
      head.resolve(reply.body);
    }
  }

  private dispatch(event: WatchEvent): void {
    const fire = (map: Map<string, Set<Watcher>>) => {
      const set = map.get(event.path);
      if (!set) return;
      map.delete(event.path);
      for (const w of set) {
        try {
          w(event);
        } catch (e) {
          log.error("watcher failed: {error}", { error: String(e) });
        }
      }
    };
    switch (event.type) {
      case EventType.nodeChildrenChanged:
        fire(this.childWatchers);
        break;
      case EventType.nodeDeleted:
        fire(this.dataWatchers);
        fire(this.childWatchers);
        break;
      case EventType.nodeDataChanged:
      case EventType.nodeCreated:
        fire(this.dataWatchers);
        break;
    }
  }
}

function addWatcher(map: Map<string, Set<Watcher>>, path: string, watcher: Watcher): void {
  let set = map.get(path);
  if (!set) map.set(path, set = new Set());
  set.add(watcher);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
