/**
 * A tiny in-test upstream DNS server (owns: answering forwarded queries over UDP and TCP
 * on one port with A records, staying silent, or replying truncated over UDP and in full
 * over TCP; recording what it received; running a test against a set of them).
 */
import { Buffer } from "node:buffer";
import { type Answer, dnsPacket, type Packet } from "../../src/dns/packet.ts";

export type UpstreamMode = "answer" | "silent" | "truncate";

export interface FakeUpstreamOptions {
  mode?: UpstreamMode;
  /** How many A records a full answer carries (192.0.2.1, .2, ...; default 1). */
  answers?: number;
  /** First octets of the answer addresses (default `192.0.2`). */
  prefix?: string;
}

export interface SeenQuery {
  transport: "udp" | "tcp";
  id: number;
  name: string;
}

export interface FakeUpstream {
  readonly port: number;
  mode: UpstreamMode;
  readonly seen: SeenQuery[];
  close(): Promise<void>;
}

/** Starts the fake upstream on 127.0.0.1 (UDP and TCP on the same free port). */
export function startFakeUpstream(opts: FakeUpstreamOptions = {}): FakeUpstream {
  let tcp: Deno.TcpListener | undefined;
  let udp: Deno.DatagramConn | undefined;
  for (let i = 0; i < 10 && !udp; i++) {
    tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: tcp.addr.port, transport: "udp" });
    } catch {
      tcp.close();
    }
  }
  if (!tcp || !udp) throw new Error("fake upstream: no free port");
  const tcpL = tcp;
  const udpC = udp;
  const count = opts.answers ?? 1;
  const prefix = opts.prefix ?? "192.0.2";
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let closed = false;

  const self: FakeUpstream = {
    port: tcpL.addr.port,
    mode: opts.mode ?? "answer",
    seen: [],
    async close() {
      closed = true;
      udpC.close();
      tcpL.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.all(tasks);
    },
  };

  const reply = (query: Uint8Array, transport: "udp" | "tcp"): Uint8Array | undefined => {
    const q = dnsPacket.decode(Buffer.from(query));
    const question = q.questions?.[0];
    self.seen.push({ transport, id: q.id ?? 0, name: question?.name ?? "" });
    if (self.mode === "silent" || !question) return undefined;
    const truncated = self.mode === "truncate" && transport === "udp";
    const answers: Answer[] = truncated ? [] : Array.from({ length: count }, (_, i) => ({
      type: "A",
      name: question.name,
      ttl: 30,
      data: `${prefix}.${i + 1}`,
    }));
    const packet: Packet = {
      type: "response",
      id: q.id,
      flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED |
        (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: [question],
      answers,
    };
    return new Uint8Array(dnsPacket.encode(packet));
  };

  tasks.push((async () => {
    while (!closed) {
      try {
        const [data, addr] = await udpC.receive();
        const r = reply(data, "udp");
        if (r) await udpC.send(r, addr);
      } catch {
        if (closed) return;
      }
    }
  })());

  const serveConn = async (conn: Deno.Conn): Promise<void> => {
    const readExact = async (n: number): Promise<Uint8Array | undefined> => {
      const out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const r = await conn.read(out.subarray(off));
        if (r === null) return undefined;
        off += r;
      }
      return out;
    };
    try {
      while (true) {
        const len = await readExact(2);
        if (!len) break;
        const msg = await readExact((len[0] << 8) | len[1]);
        if (!msg) break;
        const r = reply(msg, "tcp");
        if (!r) continue;
        const framed = new Uint8Array(r.length + 2);
        framed[0] = r.length >> 8;
        framed[1] = r.length & 0xff;
        framed.set(r, 2);
        let off = 0;
        while (off < framed.length) off += await conn.write(framed.subarray(off));
      }
    } catch { /* closed */ }
    conns.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  };

  tasks.push((async () => {
    while (!closed) {
      try {
        const conn = await tcpL.accept();
        conns.add(conn);
        tasks.push(serveConn(conn));
      } catch {
        if (closed) return;
      }
    }
  })());

  return self;
}

/** Starts one fake upstream per spec, runs `fn` with them, and closes them all afterwards. */
export async function withUpstreams(
  specs: FakeUpstreamOptions[],
  fn: (ups: FakeUpstream[]) => Promise<void>,
): Promise<void> {
  const ups = specs.map((o) => startFakeUpstream(o));
  try {
    await fn(ups);
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
}
