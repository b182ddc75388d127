/**
 * ZooKeeper wire format (owns: the jute encoding of the few requests and replies the
 * ZooKeeper client needs, and the protocol constants). Pure: bytes in, values out.
 *
 * Every frame on the wire is a 4-byte big-endian length followed by the payload.
 * Requests are `RequestHeader {int xid, int type}` + body; replies are
 * `ReplyHeader {int xid, long zxid, int err}` + body. The session handshake has
 * no header. Strings are UTF-8 with an int length; buffers are an int length (-1 = null).
 */

/** Operation codes used by this client. */
export const Op = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  getChildren2: 12,
  ping: 11,
  closeSession: -11,
} as const;

/** Special xids the server uses for non-request replies. */
export const Xid = {
  notification: -1,
  ping: -2,
} as const;

/** Error codes (ReplyHeader.err) this code reacts to. */
export const ErrorCode = {
  ok: 0,
  connectionLoss: -4,
  noNode: -101,
  nodeExists: -110,
  sessionExpired: -112,
} as const;

const ERROR_NAMES: Record<number, string> = {
  [-1]: "system error",
  [-2]: "runtime inconsistency",
  [-3]: "data inconsistency",
  [-4]: "connection loss",
  [-5]: "marshalling error",
  [-6]: "unimplemented",
  [-7]: "operation timeout",
  [-8]: "bad arguments",
  [-100]: "api error",
  [-101]: "no node",
  [-102]: "no auth",
  [-103]: "bad version",
  [-108]: "no children for ephemerals",
  [-110]: "node exists",
  [-111]: "not empty",
  [-112]: "session expired",
  [-113]: "invalid callback",
  [-114]: "invalid acl",
  [-115]: "auth failed",
  [-118]: "session moved",
  [-119]: "not read-only",
};

/** A readable name for a ZooKeeper error code. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error ${code}`;
}

/** Watch event types (WatcherEvent.type). */
export const EventType = {
  none: -1,
  nodeCreated: 1,
  nodeDeleted: 2,
  nodeDataChanged: 3,
  nodeChildrenChanged: 4,
} as const;

/** Create modes (CreateRequest.flags). */
export const CreateMode = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
} as const;

/** The open ACL (world:anyone, all permissions). */
export const OPEN_ACL: readonly Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }];

/** One ACL entry. */
export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds a jute payload; `frame()` returns it with its length prefix. */
export class JuteWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends a 32-bit signed int. */
  int(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.len, v);
    this.len += 4;
    return this;
  }

  /** Appends a 64-bit signed long. */
  long(v: bigint): this {
    this.ensure(8);
    this.view.setBigInt64(this.len, v);
    this.len += 8;
    return this;
  }

  /** Appends a boolean (one byte). */
  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.len++] = v ? 1 : 0;
    return this;
  }

  /** Appends a length-prefixed byte buffer (`null` → length -1). */
  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  /** Appends a length-prefixed UTF-8 string. */
  string(v: string): this {
    return this.buffer(encoder.encode(v));
  }

  /** The payload with its 4-byte length prefix. */
  frame(): Uint8Array {
    const out = new Uint8Array(this.len + 4);
    new DataView(out.buffer).setInt32(0, this.len);
    out.set(this.buf.subarray(0, this.len), 4);
    return out;
  }
}

/** Reads a jute payload; throws `RangeError` when it runs past the end. */
export class JuteReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Reads a 32-bit signed int. */
  int(): number {
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a 64-bit signed long. */
  long(): bigint {
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a boolean. */
  bool(): boolean {
    if (this.pos >= this.bytes.length) throw new RangeError("jute: read past end");
    return this.bytes[this.pos++] !== 0;
  }

  /** Reads a length-prefixed buffer (`null` for length -1). */
  buffer(): Uint8Array | null {
    const n = this.int();
    if (n < 0) return null;
    if (this.pos + n > this.bytes.length) throw new RangeError("jute: buffer past end");
    const v = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Reads a length-prefixed UTF-8 string (null → ""). */
  string(): string {
    const b = this.buffer();
    return b === null ? "" : decoder.decode(b);
  }

  /** Reads a vector of strings (null → empty). */
  strings(): string[] {
    const n = this.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.string());
    return out;
  }
}

/** The session handshake the client sends first. */
export interface ConnectRequest {
  lastZxidSeen: bigint;
  timeoutMs: number;
  sessionId: bigint;
  password: Uint8Array;
}

/** Encodes the handshake (protocol version 0, not read-only). */
export function encodeConnectRequest(r: ConnectRequest): Uint8Array {
  return new JuteWriter()
    .int(0)
    .long(r.lastZxidSeen)
    .int(r.timeoutMs)
    .long(r.sessionId)
    .buffer(r.password)
    .bool(false)
    .frame();
}

/** The server's handshake reply; `timeoutMs <= 0` means the session expired. */
export interface ConnectResponse {
  timeoutMs: number;
  sessionId: bigint;
  password: Uint8Array;
}

/** Decodes the handshake reply payload (without the length prefix). */
export function decodeConnectResponse(payload: Uint8Array): ConnectResponse {
  const r = new JuteReader(payload);
  r.int(); // protocol version
  const timeoutMs = r.int();
  const sessionId = r.long();
  const password = r.buffer() ?? new Uint8Array(16);
  return { timeoutMs, sessionId, password };
}

/** Encodes a request frame: header plus an optional body writer step. */
export function encodeRequest(xid: number, op: number, body?: (w: JuteWriter) => void): Uint8Array {
  const w = new JuteWriter().int(xid).int(op);
  body?.(w);
  return w.frame();
}

/** Body of getData / getChildren2 / exists: path and watch flag. */
export function pathWatchBody(path: string, watch: boolean): (w: JuteWriter) => void {
  return (w) => w.string(path).bool(watch);
}

/** Body of create. */
export function createBody(
  path: string,
  data: Uint8Array,
  acl: readonly Acl[],
  mode: number,
): (w: JuteWriter) => void {
  return (w) => {
    w.string(path).buffer(data).int(acl.length);
    for (const a of acl) w.int(a.perms).string(a.scheme).string(a.id);
    w.int(mode);
  };
}

/** Body of delete. */
export function deleteBody(path: string, version: number): (w: JuteWriter) => void {
  return (w) => w.string(path).int(version);
}

/** A decoded reply header; `body` reads the rest of the payload. */
export interface Reply {
  xid: number;
  zxid: bigint;
  err: number;
  body: JuteReader;
}

/** Decodes a reply payload (without the length prefix). */
export function decodeReply(payload: Uint8Array): Reply {
  const body = new JuteReader(payload);
  const xid = body.int();
  const zxid = body.long();
  const err = body.int();
  return { xid, zxid, err, body };
}

/** A watch notification. */
export interface WatchEvent {
  type: number;
  state: number;
  path: string;
}

/** Decodes the WatcherEvent body of a notification reply. */
export function decodeWatchEvent(body: JuteReader): WatchEvent {
  const type = body.int();
  const state = body.int();
  const path = body.string();
  return { type, state, path };
}

/**
 * Splits complete frames off the front of `buffered`: returns their payloads and
 * the unconsumed tail. Throws on a negative or absurd length (> `maxFrame`).
 */
export function splitFrames(
  buffered: Uint8Array,
  maxFrame = 16 * 1024 * 1024,
): { frames: Uint8Array[]; rest: Uint8Array } {
  const frames: Uint8Array[] = [];
  let pos = 0;
  const view = new DataView(buffered.buffer, buffered.byteOffset, buffered.byteLength);
  while (buffered.length - pos >= 4) {
    const len = view.getInt32(pos);
    if (len < 0 || len > maxFrame) throw new RangeError(`zookeeper: bad frame length ${len}`);
    if (buffered.length - pos - 4 < len) break;
    frames.push(buffered.slice(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return { frames, rest: buffered.slice(pos) };
}
