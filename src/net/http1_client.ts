/**
 * A small HTTP/1.1 client over `Deno.connect` / `Deno.connectTls` (owns: one request per
 * connection, the status line and headers, bodies framed by Content-Length, chunked encoding
 * or the end of the connection, TLS with given CAs and client certificate, and abort).
 *
 * Why: Deno's `fetch` refuses the Fetch standard's "bad ports" (6000, 6665-6669, ...), which
 * Go's client, and so the original Mesos-DNS, reaches; and the operator-API event stream
 * wants a body it reads as bytes arrive, with its own idle watch. Redirects are not followed
 * (the caller decides whom to trust). `http1Fetch` wraps it in `fetch`'s signature so code
 * written for `fetch` can use it where `fetch` cannot go (`fetchFor`).
 */

export interface Http1TlsOptions {
  /** Extra trusted CA certificates (PEM); the system roots otherwise. */
  caCerts?: string[];
  /** Client certificate and key (PEM). */
  cert?: string;
  key?: string;
}

export interface Http1Request {
  method?: string;
  url: URL | string;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  /** Aborts connecting, the headers and the body; the reason is what the caller sees. */
  signal?: AbortSignal;
  tls?: Http1TlsOptions;
  /** Largest status line plus headers accepted (default 64 KiB). */
  maxHeaderBytes?: number;
}

export interface Http1Response {
  status: number;
  statusText: string;
  headers: Headers;
  /** The decoded body (chunked framing removed); cancelling it closes the connection. */
  body: ReadableStream<Uint8Array>;
  /** Closes the connection (the body then ends with an error if still read). */
  close(): void;
}

/** A response that does not follow HTTP/1.x framing. */
export class Http1ProtocolError extends Error {
  override name = "Http1ProtocolError";
}

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/**
 * Ports the Fetch standard forbids (https://fetch.spec.whatwg.org/#port-blocking), so Deno's
 * `fetch` refuses them; Go's HTTP client does not.
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  0,
  1,
  7,
  9,
  11,
  13,
  15,
  17,
  19,
  20,
  21,
  22,
  23,
  25,
  37,
  42,
  43,
  53,
  69,
  77,
  79,
  87,
  95,
  101,
  102,
  103,
  104,
  109,
  110,
  111,
  113,
  115,
  117,
  119,
  123,
  135,
  137,
  139,
  143,
  161,
  179,
  389,
  427,
  465,
  512,
  513,
  514,
  515,
  526,
  530,
  531,
  532,
  540,
  548,
  554,
  556,
  563,
  587,
  601,
  636,
  989,
  990,
  993,
  995,
  1719,
  1720,
  1723,
  2049,
  3659,
  4045,
  4190,
  5060,
  5061,
  6000,
  6566,
  6665,
  6666,
  6667,
  6668,
  6669,
  6679,
  6697,
  10080,
]);

/** True when `fetch` refuses the URL's port. */
export function isFetchBadPort(url: URL): boolean {
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  return FETCH_BAD_PORTS.has(port);
}

/** Sends one request on a new connection and resolves when the headers have arrived. */
export async function http1Request(req: Http1Request): Promise<Http1Response> {
  const url = typeof req.url === "string" ? new URL(req.url) : req.url;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`unsupported scheme ${url.protocol}`);
  }
  const signal = req.signal;
  signal?.throwIfAborted();
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const https = url.protocol === "https:";
  const port = url.port === "" ? (https ? 443 : 80) : Number(url.port);

  let conn: Deno.Conn | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  };
  const onAbort = () => close();
  signal?.addEventListener("abort", onAbort, { once: true });
  const fail = (err: unknown): never => {
    close();
    signal?.removeEventListener("abort", onAbort);
    if (signal?.aborted) throw signal.reason;
    throw err;
  };
  try {
    const connecting: Promise<Deno.Conn> = https
      ? Deno.connectTls({
        hostname,
        port,
        ...(req.tls?.caCerts ? { caCerts: req.tls.caCerts } : {}),
        ...(req.tls?.cert && req.tls?.key ? { cert: req.tls.cert, key: req.tls.key } : {}),
      })
      : Deno.connect({ hostname, port, transport: "tcp" });
    conn = await abortable(connecting, signal, (c) => c.close());
    if (closed) throw signal?.reason ?? new Error("aborted");
    if (https) await (conn as Deno.TlsConn).handshake();
  } catch (err) {
    fail(err);
  }
  const c = conn!;
  try {
    const method = (req.method ?? "GET").toUpperCase();
    const headers = new Headers(req.headers);
    const defaultPort = https ? 443 : 80;
    if (!headers.has("host")) {
      headers.set("host", port === defaultPort ? url.host : `${url.hostname}:${port}`);
    }
    const body = typeof req.body === "string" ? encoder.encode(req.body) : req.body;
    if (body !== undefined) headers.set("content-length", String(body.byteLength));
    else if (method === "POST" || method === "PUT") headers.set("content-length", "0");
    if (!headers.has("connection")) headers.set("connection", "close");
    let head = `${method} ${url.pathname || "/"}${url.search} HTTP/1.1\r\n`;
    headers.forEach((v, k) => (head += `${k}: ${v}\r\n`));
    head += "\r\n";
    const headBytes = encoder.encode(head);
    await writeAll(c, body ? concat(headBytes, body) : headBytes);

    const reader = new ByteReader(c);
    const parsed = await reader.readHead(req.maxHeaderBytes ?? 64 * 1024);
    const noBody = method === "HEAD" || parsed.status === 204 || parsed.status === 304 ||
      (parsed.status >= 100 && parsed.status < 200);
    const te = parsed.headers.get("transfer-encoding")?.toLowerCase() ?? "";
    const cl = parsed.headers.get("content-length");
    let source: BodySource;
    if (noBody) source = { kind: "length", remaining: 0 };
    else if (te.includes("chunked")) source = { kind: "chunked", remaining: 0, done: false };
    else if (cl !== null) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) throw new Http1ProtocolError(`bad Content-Length ${cl}`);
      source = { kind: "length", remaining: n };
    } else source = { kind: "close" };
    if (source.kind === "length" && source.remaining === 0) {
      // Nothing more to read: the connection is done now (no reader needs to come).
      close();
      signal?.removeEventListener("abort", onAbort);
    }
    const stream = new ReadableStream<Uint8Array>({
      pull: async (ctrl) => {
        try {
          const chunk = await reader.readBody(source);
          if (chunk === null) {
            close();
            signal?.removeEventListener("abort", onAbort);
            ctrl.close();
          } else ctrl.enqueue(chunk);
        } catch (err) {
          close();
          signal?.removeEventListener("abort", onAbort);
          ctrl.error(signal?.aborted ? signal.reason : err);
        }
      },
      cancel: () => {
        close();
        signal?.removeEventListener("abort", onAbort);
      },
    }, { highWaterMark: 0 });
    return {
      status: parsed.status,
      statusText: parsed.statusText,
      headers: parsed.headers,
      body: stream,
      close,
    };
  } catch (err) {
    return fail(err);
  }
}

/**
 * `fetch`'s signature over `http1Request` (no redirects followed: a 3xx is returned as it
 * is, as with `redirect: "manual"`). `init.client` is ignored; TLS settings come from `tls`.
 */
export function http1Fetch(tls?: Http1TlsOptions): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? new URL(input.url) : new URL(String(input));
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new TypeError("http1Fetch sends only string or Uint8Array bodies");
    }
    const res = await http1Request({
      method: init?.method ?? "GET",
      url,
      headers: init?.headers,
      body: body ?? undefined,
      signal: init?.signal ?? undefined,
      tls,
    });
    const nullBody = res.status === 101 || res.status === 204 || res.status === 205 || res.status === 304;
    if (nullBody) await res.body.cancel();
    if (res.status < 200 || res.status > 599) {
      await res.body.cancel();
      throw new Http1ProtocolError(`unexpected HTTP status ${res.status}`);
    }
    return new Response(nullBody ? null : res.body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}

/**
 * A `fetch` that goes through `http1Fetch` for the ports `fetch` refuses, and through `base`
 * (with its client, TLS settings and error messages) everywhere else.
 */
export function fetchFor(base: typeof fetch, tls?: Http1TlsOptions): typeof fetch {
  const own = http1Fetch(tls);
  return (input, init) => {
    const url = input instanceof Request ? new URL(input.url) : new URL(String(input));
    return isFetchBadPort(url) ? own(input, init) : base(input, init);
  };
}

// ---------------------------------------------------------------------------------------------

type BodySource =
  | { kind: "length"; remaining: number }
  | { kind: "chunked"; remaining: number; done: boolean }
  | { kind: "close" };

/** Waits for `p`, or rejects with the signal's reason; a late result is released with `drop`. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, drop: (v: T) => void): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) {
        try {
          drop(v);
        } catch { /* ignore */ }
      } else resolve(v);
    }, (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** How much to read for `remaining` body bytes: large bodies (a big cluster's state) in reads of up to 1 MiB. */
function readSize(remaining: number): number {
  return Math.min(Math.max(remaining, 64 * 1024), 1024 * 1024);
}

/** Buffered reads from a connection: lines for the head and chunk sizes, bytes for bodies. */
class ByteReader {
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  constructor(private readonly conn: Deno.Conn) {}

  /** Reads more bytes (up to `size`) into the buffer; false at the end of the connection. */
  async #fill(size = 64 * 1024): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(size);
    const n = await this.conn.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#buf = this.#buf.length === 0 ? chunk.subarray(0, n) : concat(this.#buf, chunk.subarray(0, n));
    return true;
  }

  /** One CRLF-terminated line (without the CRLF), or null at EOF before any byte. */
  async #line(max: number): Promise<string | null> {
    let from = 0;
    while (true) {
      const i = indexOfCrlf(this.#buf, from);
      if (i >= 0) {
        const line = latin1.decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.subarray(i + 2);
        return line;
      }
      if (this.#buf.length > max) throw new Http1ProtocolError(`line longer than ${max} bytes`);
      from = Math.max(0, this.#buf.length - 1);
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new Http1ProtocolError("connection closed in the middle of a line");
      }
    }
  }

  async readHead(max: number): Promise<{ status: number; statusText: string; headers: Headers }> {
    let used = 0;
    let status = 0;
    let statusText = "";
    // Skip interim 1xx responses (100 Continue).
    while (true) {
      const line = await this.#line(max);
      if (line === null) throw new Http1ProtocolError("connection closed before the response");
      used += line.length + 2;
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line);
      if (!m) throw new Http1ProtocolError(`invalid HTTP version parsed: not an HTTP/1.x response`);
      status = Number(m[1]);
      statusText = m[2] ?? "";
      const headers = new Headers();
      while (true) {
        const h = await this.#line(max - used);
        if (h === null) throw new Http1ProtocolError("connection closed in the response headers");
        used += h.length + 2;
        if (used > max) throw new Http1ProtocolError(`response headers larger than ${max} bytes`);
        if (h === "") break;
        const colon = h.indexOf(":");
        if (colon <= 0) throw new Http1ProtocolError(`malformed header line`);
        try {
          headers.append(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
        } catch {
          throw new Http1ProtocolError(`malformed header ${h.slice(0, colon).trim()}`);
        }
      }
      if (status >= 100 && status < 200 && status !== 101) continue;
      return { status, statusText, headers };
    }
  }

  /** The next piece of the body, or null at its end. */
  async readBody(src: BodySource): Promise<Uint8Array | null> {
    if (src.kind === "length") {
      if (src.remaining === 0) return null;
      if (this.#buf.length === 0 && !(await this.#fill(readSize(src.remaining)))) {
        throw new Http1ProtocolError(`connection closed with ${src.remaining} body bytes missing`);
      }
      return this.#take(src, Math.min(src.remaining, this.#buf.length));
    }
    if (src.kind === "close") {
      if (this.#buf.length === 0 && !(await this.#fill())) return null;
      const out = this.#buf;
      this.#buf = new Uint8Array(0);
      return out;
    }
    if (src.done) return null;
    if (src.remaining === 0) {
      const sizeLine = await this.#line(4096);
      if (sizeLine === null) throw new Http1ProtocolError("connection closed before the last chunk");
      const size = parseInt(sizeLine.split(";")[0].trim(), 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new Http1ProtocolError(`bad chunk size`);
      if (size === 0) {
        // Trailers, up to the empty line.
        while (true) {
          const t = await this.#line(64 * 1024);
          if (t === null || t === "") break;
        }
        src.done = true;
        return null;
      }
      src.remaining = size;
    }
    if (this.#buf.length === 0 && !(await this.#fill(readSize(src.remaining)))) {
      throw new Http1ProtocolError("connection closed in the middle of a chunk");
    }
    const out = this.#take(src, Math.min(src.remaining, this.#buf.length));
    if (src.remaining === 0) {
      const end = await this.#line(2);
      if (end !== "") throw new Http1ProtocolError("chunk not followed by CRLF");
    }
    return out;
  }

  #take(src: { remaining: number }, n: number): Uint8Array {
    // The whole buffer is handed over as it is (nothing else holds it); a part is copied.
    const whole = n === this.#buf.length;
    const out = whole ? this.#buf : this.#buf.slice(0, n);
    this.#buf = whole ? new Uint8Array(0) : this.#buf.subarray(n);
    src.remaining -= n;
    return out;
  }
}

function indexOfCrlf(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === CRLF[0] && buf[i + 1] === CRLF[1]) return i;
  return -1;
}
