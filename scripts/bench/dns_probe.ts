/**
 * Small DNS client for the bench (owns: one UDP query with a deadline, and comparing
 * two servers' answers for a sample of query lines). Used to see that a server is up,
 * that Knot loaded the zone the bench wrote, and that both servers give the same data.
 */
import { Buffer } from "node:buffer";
import { dnsPacket } from "../../src/dns/packet.ts";

/** The decoded parts of a reply that the bench compares. */
export interface ProbeReply {
  rcode: string;
  /** Answer records as sorted `TYPE data` strings. */
  answers: string[];
  /** SOA serial from the answer or authority section, if any. */
  serial?: number;
}

/** Sends one query over UDP (EDNS 4096, so large answers are not cut) and decodes the reply. */
export async function udpQuery(
  port: number,
  name: string,
  type: string,
  timeoutMs = 1000,
): Promise<ProbeReply> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    // deno-lint-ignore no-explicit-any
    questions: [{ name, type: type as any, class: "IN" }],
    // deno-lint-ignore no-explicit-any
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, options: [] } as any],
  });
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const timer = setTimeout(() => sock.close(), timeoutMs);
  try {
    await sock.send(new Uint8Array(query), { transport: "udp", hostname: "127.0.0.1", port });
    while (true) {
      const [data] = await sock.receive();
      // deno-lint-ignore no-explicit-any
      const msg = dnsPacket.decode(Buffer.from(data)) as any;
      if (msg.id !== id) continue;
      // deno-lint-ignore no-explicit-any
      const all = [...(msg.answers ?? []), ...(msg.authorities ?? [])] as any[];
      const soa = all.find((r) => r.type === "SOA");
      return {
        rcode: msg.rcode,
        // deno-lint-ignore no-explicit-any
        answers: (msg.answers ?? []).map((r: any) => `${r.type} ${JSON.stringify(r.data)}`).sort(),
        serial: soa?.data?.serial,
      };
    }
  } catch (e) {
    throw new Error(`no reply to ${name} ${type} from port ${port} within ${timeoutMs} ms (${e})`);
  } finally {
    clearTimeout(timer);
    try {
      sock.close();
    } catch { /* closed by the timer */ }
  }
}

/**
 * Asks both servers every `name TYPE` line of `lines` and returns a description of each
 * difference in rcode or answer data (empty when they agree).
 */
export async function compareServers(
  ours: number,
  reference: number,
  lines: readonly string[],
): Promise<string[]> {
  const diffs: string[] = [];
  for (const line of lines) {
    const [name, type] = line.split(" ");
    const [a, b] = await Promise.all([udpQuery(ours, name, type), udpQuery(reference, name, type)]);
    if (a.rcode !== b.rcode || a.answers.join("|") !== b.answers.join("|")) {
      diffs.push(
        `${line}: ours ${a.rcode} [${a.answers.join(", ")}], reference ${b.rcode} [${b.answers.join(", ")}]`,
      );
    }
  }
  return diffs;
}
