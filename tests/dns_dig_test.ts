/**
 * `dig` as a real client against the DNS server: A, SRV with additionals, NXDOMAIN with
 * the SOA, and the TC→TCP fallback, on each UDP engine. Skipped when `dig` is not installed.
 */
import assert from "node:assert/strict";
import { startDnsServer } from "../src/dns/server.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { BIG_COUNT, sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";

function hasDig(): boolean {
  try {
    return Deno.statSync("/usr/bin/dig").isFile;
  } catch {
    return false;
  }
}

async function dig(port: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  return text;
}

/** The records of one section of dig's output, as whitespace-separated fields. */
function section(text: string, name: string): string[][] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`;; ${name} SECTION:`));
  if (start < 0) return [];
  const out: string[][] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === "" || l.startsWith(";")) break;
    out.push(l.trim().split(/\s+/));
  }
  return out;
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  test({
    name: "dig: A, SRV, NXDOMAIN and the TC→TCP fallback",
    ignore: !hasDig(),
    async fn() {
      const holder = new SnapshotHolder();
      const snap = holder.publish(sampleRecords());
      const config = testConfig({ DNSUDPEngine: engine });
      const server = await startDnsServer({ hostname: "127.0.0.1", port: 0, config, holder });
      try {
        assert.equal(server.udpEngine, engine);
        const a = await dig(server.port, ["chronos.marathon.mesos", "A"]);
        assert.match(a, /status: NOERROR/);
        assert.match(a, /flags: qr aa rd ra;/);
        assert.deepEqual(section(a, "ANSWER"), [["chronos.marathon.mesos.", "60", "IN", "A", "1.2.3.11"]]);

        const srv = await dig(server.port, ["_car-store._udp.marathon.mesos", "SRV"]);
        const answers = section(srv, "ANSWER").map((f) => f.slice(3).join(" ")).sort();
        assert.deepEqual(answers, [
          "SRV 0 1 31364 car-store-zinaz-0.marathon.slave.mesos.",
          "SRV 0 1 31365 car-store-zinaz-0.marathon.slave.mesos.",
        ]);
        assert.deepEqual(section(srv, "ADDITIONAL").map((f) => f.slice(3).join(" ")), [
          "A 1.2.3.11",
          "AAAA fd00::11",
        ]);

        const nx = await dig(server.port, ["missing.mesos", "A"]);
        assert.match(nx, /status: NXDOMAIN/);
        assert.deepEqual(section(nx, "AUTHORITY"), [[
          "mesos.",
          "60",
          "IN",
          "SOA",
          "ns1.mesos.",
          "root.ns1.mesos.",
          String(snap.serial),
          "60",
          "600",
          "86400",
          "60",
        ]]);

        // Without EDNS the answer does not fit 512 bytes: dig gets TC and retries over TCP.
        const big = await dig(server.port, ["+noedns", "big.marathon.mesos", "A"]);
        assert.match(big, /Truncated, retrying in TCP mode/);
        assert.equal(section(big, "ANSWER").length, BIG_COUNT);
      } finally {
        await server.close();
      }
    },
  });
}
