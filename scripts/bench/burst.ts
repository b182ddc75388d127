/**
 * The `burst` bench scenario (owns: "one client sends 500 queries back to back, then
 * another client asks one: is the second answered?", with plain queries, EDNS queries
 * and malformed datagrams, `rounds` times each, against each server). The burst is sent
 * with libc `sendto` in a loop (Deno's asynchronous sends would let the server drain
 * between datagrams), so the bench needs `--allow-ffi`.
 */
import { AF_INET, openLibc, SOCK_DGRAM, sockaddrFor } from "../../src/dns/libc.ts";
import { udpQuery } from "./dns_probe.ts";
import { dnsPacket } from "../../src/dns/packet.ts";

export interface BurstTarget {
  label: string;
  port: number;
  /** A name the server answers itself (a probe must get NOERROR). */
  name: string;
}

export interface BurstPoint {
  server: string;
  kind: "plain" | "EDNS" | "malformed";
  answered: number;
  rounds: number;
}

function query(name: string, id: number, edns: boolean): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    // deno-lint-ignore no-explicit-any
    questions: [{ name, type: "A" as any, class: "IN" }],
    // deno-lint-ignore no-explicit-any
    ...(edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0 } as any] } : {}),
  }));
}

/** Half shorter than a DNS header, half a header announcing a question that is not there. */
export function malformed(i: number): Uint8Array {
  if (i % 2 === 0) return new Uint8Array([i & 0xff, 1, 2, 3, 4]);
  const m = new Uint8Array(14);
  m[1] = i & 0xff;
  m[5] = 1;
  m[12] = 40;
  return m;
}

/** Sends `msgs` to 127.0.0.1:port back to back from one socket. */
export function blast(port: number, msgs: readonly Uint8Array[]): void {
  const libc = openLibc();
  try {
    const fd = libc.symbols.socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw new Error("socket() failed");
    const to = sockaddrFor("127.0.0.1", port)!;
    for (const m of msgs) libc.symbols.sendto(fd, m, BigInt(m.length), 0, to, to.length);
    libc.symbols.close(fd);
  } finally {
    libc.close();
  }
}

/** Runs every kind of burst against every target; `size` datagrams per burst. */
export async function runBurstScenario(
  targets: readonly BurstTarget[],
  o: { rounds: number; size: number; progress(line: string): void },
): Promise<BurstPoint[]> {
  const points: BurstPoint[] = [];
  for (const t of targets) {
    for (const kind of ["plain", "EDNS", "malformed"] as const) {
      const burst = Array.from(
        { length: o.size },
        (_, i) => kind === "malformed" ? malformed(i) : query(t.name, i, kind === "EDNS"),
      );
      let answered = 0;
      for (let r = 0; r < o.rounds; r++) {
        blast(t.port, burst);
        try {
          if ((await udpQuery(t.port, t.name, "A", 1000)).rcode === "NOERROR") answered++;
        } catch { /* lost */ }
        // Let the server finish the burst before the next round.
        await new Promise((res) => setTimeout(res, 50));
      }
      o.progress(`burst ${kind}, ${t.label}: ${answered}/${o.rounds} probes answered`);
      points.push({ server: t.label, kind, answered, rounds: o.rounds });
    }
  }
  return points;
}

/** The scenario's report section. */
export function burstReport(points: readonly BurstPoint[], size: number): string[] {
  const servers = [...new Set(points.map((p) => p.server))];
  const cell = (s: string, k: string) => {
    const p = points.find((x) => x.server === s && x.kind === k);
    return p ? `${p.answered}/${p.rounds}` : "–";
  };
  const ours = points.filter((p) => p.server.startsWith("mesos-dns"));
  const met = ours.length > 0 && ours.every((p) => p.answered === p.rounds);
  return [
    "## burst: one client's burst, then another client's query",
    "",
    `Each round: ${size} datagrams back to back from one socket (libc sendto), then one query from another ` +
    "socket (1 s deadline); the table counts the rounds whose probe was answered. The probe asks a name the " +
    "server answers itself (leader.mesos for mesos-dns and the original, a name of Knot's zone for Knot).",
    "",
    "| server | plain | EDNS | malformed |",
    "| --- | ---: | ---: | ---: |",
    ...servers.map((s) => `| ${s} | ${cell(s, "plain")} | ${cell(s, "EDNS")} | ${cell(s, "malformed")} |`),
    "",
    `Target (issue #13): mesos-dns answers every probe: ${met ? "met" : "NOT met"}`,
  ];
}
