/**
 * A small DNS test client (owns: building queries with dns-packet, exchanging them with a
 * server over UDP or TCP with a deadline, and decoding the replies).
 */
import { Buffer } from "node:buffer";
import { type Answer, dnsPacket, type Packet } from "../../src/dns/packet.ts";

export type { Answer, Packet };

export interface QueryOptions {
  id?: number;
  /** Recursion desired (default true). */
  rd?: boolean;
  /** Checking disabled (default false). */
  cd?: boolean;
  /** Add an OPT RR advertising this UDP payload size. */
  edns?: number;
  /** With `edns`: set the DO bit. */
  dnssecOk?: boolean;
  /** Query class (default IN). */
  qclass?: string;
}

let nextId = 1;

/** Encodes a query for `name`/`type` (name sent exactly as given, case kept). */
export function buildQuery(name: string, type: string, opts: QueryOptions = {}): Uint8Array {
  const flags = (opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) |
    (opts.cd ? dnsPacket.CHECKING_DISABLED : 0);
  const packet: Packet = {
    type: "query",
    id: opts.id ?? (nextId++ & 0xffff),
    flags,
    // deno-lint-ignore no-explicit-any
    questions: [{ name, type: type as any, class: (opts.qclass ?? "IN") as any }],
  };
  if (opts.edns !== undefined) {
    packet.additionals = [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: opts.edns,
        flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
        options: [],
        // deno-lint-ignore no-explicit-any
      } as any,
    ];
  }
  return new Uint8Array(dnsPacket.encode(packet));
}

/** Decodes a reply. */
export function decode(bytes: Uint8Array): Packet & { id: number; flags: number; rcode: string } {
  // deno-lint-ignore no-explicit-any
  return dnsPacket.decode(Buffer.from(bytes)) as any;
}

/** Header fields read straight from the bytes. */
export function header(bytes: Uint8Array) {
  return {
    id: (bytes[0] << 8) | bytes[1],
    qr: (bytes[2] & 0x80) !== 0,
    opcode: (bytes[2] >> 3) & 0x0f,
    aa: (bytes[2] & 0x04) !== 0,
    tc: (bytes[2] & 0x02) !== 0,
    rd: (bytes[2] & 0x01) !== 0,
    ra: (bytes[3] & 0x80) !== 0,
    cd: (bytes[3] & 0x10) !== 0,
    rcode: bytes[3] & 0x0f,
    qdcount: (bytes[4] << 8) | bytes[5],
    ancount: (bytes[6] << 8) | bytes[7],
    nscount: (bytes[8] << 8) | bytes[9],
    arcount: (bytes[10] << 8) | bytes[11],
  };
}

/**
 * A UDP client socket bound to 127.0.0.1; `exchange` sends a datagram to `port` and waits
 * up to `timeoutMs` for the next datagram (undefined on timeout).
 */
export class UdpClient {
  readonly #sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });

  async send(port: number, msg: Uint8Array): Promise<void> {
    await this.#sock.send(msg, { transport: "udp", hostname: "127.0.0.1", port });
  }

  /** The next datagram, or undefined after `timeoutMs`. */
  async receive(timeoutMs = 2000): Promise<Uint8Array | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), timeoutMs));
    const got = this.#sock.receive().then(([d]) => d);
    try {
      const r = await Promise.race([got, timeout]);
      if (r === undefined) {
        // Abandon the pending receive by closing the socket.
        this.close();
        await got.catch(() => {});
      }
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  async exchange(port: number, msg: Uint8Array, timeoutMs = 2000): Promise<Uint8Array | undefined> {
    await this.send(port, msg);
    return await this.receive(timeoutMs);
  }

  close(): void {
    try {
      this.#sock.close();
    } catch { /* already closed */ }
  }
}

/** Sends one query over UDP from a fresh socket and returns the raw reply (throws on timeout). */
export async function udpExchange(port: number, msg: Uint8Array, timeoutMs = 2000): Promise<Uint8Array> {
  const c = new UdpClient();
  try {
    const r = await c.exchange(port, msg, timeoutMs);
    if (!r) throw new Error(`no UDP reply within ${timeoutMs} ms`);
    return r;
  } finally {
    c.close();
  }
}

/** Reads exactly `n` bytes, or returns undefined if the connection ends first. */
async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await conn.read(out.subarray(off));
    if (r === null) return undefined;
    off += r;
  }
  return out;
}

/** A TCP client connection speaking 2-byte length framing. */
export class TcpClient {
  private constructor(readonly conn: Deno.TcpConn) {}

  static async connect(port: number): Promise<TcpClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new TcpClient(conn);
  }

  /** Writes raw bytes (for framing tests). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Writes one framed message. */
  async send(msg: Uint8Array): Promise<void> {
    const framed = new Uint8Array(msg.length + 2);
    framed[0] = msg.length >> 8;
    framed[1] = msg.length & 0xff;
    framed.set(msg, 2);
    await this.writeRaw(framed);
  }

  /** Reads one framed message; undefined when the server closed the connection. */
  async receive(): Promise<Uint8Array | undefined> {
    const len = await readExact(this.conn, 2);
    if (!len) return undefined;
    return await readExact(this.conn, (len[0] << 8) | len[1]);
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** Sends one query over a fresh TCP connection and returns the raw reply. */
export async function tcpExchange(port: number, msg: Uint8Array): Promise<Uint8Array> {
  const c = await TcpClient.connect(port);
  try {
    await c.send(msg);
    const r = await c.receive();
    if (!r) throw new Error("TCP connection closed without a reply");
    return r;
  } finally {
    c.close();
  }
}

/** Queries `name`/`type` over UDP and decodes the reply. */
export async function queryUdp(port: number, name: string, type: string, opts: QueryOptions = {}) {
  const raw = await udpExchange(port, buildQuery(name, type, opts));
  return { raw, msg: decode(raw), h: header(raw) };
}

/** Queries `name`/`type` over TCP and decodes the reply. */
export async function queryTcp(port: number, name: string, type: string, opts: QueryOptions = {}) {
  const raw = await tcpExchange(port, buildQuery(name, type, opts));
  return { raw, msg: decode(raw), h: header(raw) };
}
