/**
 * The parts of zone transfer on their own: the IXFR journal's bounds and chaining, the
 * record-set difference, RFC 1982 serial comparison, the message writer's size limit, and
 * the NOTIFY sender's rate limit, coalescing and retries against a real UDP socket, and the
 * serial continuing above a secondary's at start.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dnsPacket } from "../src/dns/packet.ts";
import { Notifier } from "../src/dns/notify.ts";
import { XfrMessageWriter } from "../src/dns/xfr_messages.ts";
import { diffRecordSets, serialGreater, ZoneJournal, type ZoneRecord } from "../src/dns/xfr_zone.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { waitFor } from "./helpers/wait.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import { startApp } from "../src/app.ts";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { AddressMatcher } from "../src/net/cidr.ts";

function rs(a: Record<string, string[]>, srv: Record<string, string[]> = {}): RecordSet {
  return {
    domain: "mesos",
    a: new Map(Object.entries(a)),
    aaaa: new Map(),
    srv: new Map(Object.entries(srv)),
    frameworks: null,
  };
}

Deno.test("serialGreater follows RFC 1982 across the 2^32 wrap", () => {
  assert.equal(serialGreater(2, 1), true);
  assert.equal(serialGreater(1, 2), false);
  assert.equal(serialGreater(5, 5), false);
  assert.equal(serialGreater(3, 0xfffffff0), true); // wrapped past 2^32
  assert.equal(serialGreater(0xfffffff0, 3), false);
  assert.equal(serialGreater(1_800_000_000, 1_700_000_000), true);
});

Deno.test("diffRecordSets: removed and added values; unserved names and bad values left out", () => {
  const before = rs({
    "a.mesos.": ["1.1.1.1", "2.2.2.2"],
    "gone.mesos.": ["3.3.3.3"],
    "Up.mesos.": ["9.9.9.9"],
  });
  const after = rs({
    "a.mesos.": ["2.2.2.2", "4.4.4.4"],
    "new.mesos.": ["5.5.5.5", "bogus"],
    "x.other.": ["6.6.6.6"],
  });
  const d = diffRecordSets(before, after, "mesos");
  const text = (l: ZoneRecord[]) => l.map((r) => `${r.name} ${r.type} ${r.value}`).sort();
  assert.deepEqual(text(d.removed), ["a.mesos A 1.1.1.1", "gone.mesos A 3.3.3.3"]);
  assert.deepEqual(text(d.added), ["a.mesos A 4.4.4.4", "new.mesos A 5.5.5.5"]);
  // Limited to the names said to have changed.
  const only = diffRecordSets(before, after, "mesos", new Set(["gone.mesos."]));
  assert.deepEqual(text(only.removed), ["gone.mesos A 3.3.3.3"]);
  assert.deepEqual(only.added, []);
});

Deno.test("ZoneJournal: chained steps from a serial, bounded by steps and records, restarts on a gap", () => {
  const step = (from: number, n = 1) => ({
    from,
    to: from + 1,
    removed: [],
    added: Array.from(
      { length: n },
      (_, i) => ({ name: `t${i}.mesos`, type: "A" as const, value: "1.2.3.4" }),
    ),
  });
  const j = new ZoneJournal(3, 10);
  for (const s of [10, 11, 12, 13]) j.add(step(s));
  assert.equal(j.since(10), undefined, "the oldest step was dropped (3 steps at most)");
  assert.deepEqual(j.since(11)!.map((d) => d.from), [11, 12, 13]);
  assert.deepEqual(j.since(13)!.map((d) => d.to), [14]);
  j.add(step(14, 9)); // 9 + 1 + 1 > 10 records: older steps go
  assert.deepEqual(j.since(13)!.map((d) => d.from), [13, 14]);
  assert.equal(j.since(12), undefined);
  j.add(step(40)); // not following serial 15: the journal restarts
  assert.equal(j.since(14), undefined);
  assert.deepEqual(j.since(40)!.length, 1);
  j.add(step(41, 11)); // a step larger than the bound empties the journal
  assert.equal(j.size, 0);
});

Deno.test("XfrMessageWriter: messages under the limit, each with the question, every record once", () => {
  const question = new Uint8Array([5, ...new TextEncoder().encode("mesos"), 0, 0, 252, 0, 1]);
  const w = new XfrMessageWriter(0x1234, question, 60, 1, false, 1000);
  const n = 500;
  for (let i = 0; i < n; i++) {
    w.add({ name: `task-${i}.marathon.mesos`, type: "A", value: `10.0.${i >> 8}.${i & 255}` });
  }
  for (let i = 0; i < 50; i++) {
    w.add({
      name: `_task-${i}._tcp.marathon.mesos`,
      type: "SRV",
      value: `task-${i}.marathon.slave.mesos.:${31000 + i}`,
    });
  }
  w.add({ name: "bad.mesos", type: "A", value: "not-an-ip" });
  const messages = w.finish();
  assert.ok(messages.length > 10);
  let total = 0;
  const names = new Set<string>();
  for (const m of messages) {
    assert.ok(m.length <= 1000, `${m.length} bytes`);
    const p = dnsPacket.decode(Buffer.from(m));
    assert.equal(p.id, 0x1234);
    assert.equal(p.questions![0].name, "mesos");
    assert.equal(p.questions![0].type, "AXFR");
    for (const a of p.answers!) {
      names.add(`${a.name} ${a.type} ${JSON.stringify((a as { data?: unknown }).data)}`);
    }
    total += p.answers!.length;
  }
  assert.equal(total, n + 50);
  assert.equal(names.size, n + 50);
  assert.ok(
    names.has(
      '_task-7._tcp.marathon.mesos SRV {"priority":0,"weight":1,"port":31007,"target":"task-7.marathon.slave.mesos"}',
    ),
  );
});

/** A secondary that records the NOTIFYs it gets and acknowledges them unless told not to. */
function fakeSecondary(ack: () => boolean) {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const got: { at: number; serial: number | undefined; id: number }[] = [];
  const loop = (async () => {
    while (true) {
      let msg: Uint8Array, from: Deno.Addr;
      try {
        [msg, from] = await sock.receive();
      } catch {
        return;
      }
      const p = dnsPacket.decode(Buffer.from(msg));
      const soa = p.answers?.[0] as { data?: { serial?: number } } | undefined;
      got.push({ at: Date.now(), serial: soa?.data?.serial, id: p.id! });
      assert.equal((msg[2] >> 3) & 0x0f, 4, "opcode NOTIFY");
      assert.equal(msg[2] & 0x04, 0x04, "AA");
      assert.equal(p.questions![0].name, "mesos");
      assert.equal(p.questions![0].type, "SOA");
      if (ack()) {
        // The header and the question (`mesos` SOA IN), QR set, no answer.
        const reply = msg.slice(0, 12 + 7 + 4);
        reply[2] |= 0x80;
        reply[7] = 0;
        await sock.send(reply, from);
      }
    }
  })();
  return {
    port: (sock.addr as Deno.NetAddr).port,
    got,
    async close() {
      sock.close();
      await loop;
    },
  };
}

Deno.test("Notifier: at most one NOTIFY per interval per secondary, changes coalesced, the latest serial", async () => {
  const sec = fakeSecondary(() => true);
  let serial = 100;
  const n = new Notifier({
    domain: "mesos",
    secondaries: [`127.0.0.1:${sec.port}`],
    serial: () => serial,
    minIntervalMs: 300,
  });
  try {
    n.changed();
    await waitFor(() => sec.got.length === 1 && n.stats.acked === 1);
    for (let i = 0; i < 50; i++) {
      serial++;
      n.changed();
    }
    await waitFor(() => sec.got.length === 2 && n.stats.acked === 2);
    assert.ok(sec.got[1].at - sec.got[0].at >= 290, "the second NOTIFY waited for the interval");
    assert.equal(sec.got[0].serial, 100);
    assert.equal(sec.got[1].serial, 150, "fifty changes, one NOTIFY with the latest serial");
    await new Promise((r) => setTimeout(r, 400)); // nothing more to say: nothing more is sent
    assert.equal(sec.got.length, 2);
  } finally {
    await n.close();
    await sec.close();
  }
});

Deno.test("Notifier: retried with growing timeouts until acknowledged, then given up after the attempts", async () => {
  let acks = false;
  const sec = fakeSecondary(() => acks);
  const n = new Notifier({
    domain: "mesos",
    secondaries: [`127.0.0.1:${sec.port}`],
    serial: () => 7,
    timeoutMs: 50,
    attempts: 3,
    minIntervalMs: 10,
  });
  try {
    n.changed();
    await waitFor(() => n.stats.failed === 1, { message: "never gave up" });
    assert.equal(sec.got.length, 3);
    assert.ok(new Set(sec.got.map((g) => g.id)).size === 1, "retries repeat the same message");
    assert.ok(sec.got[2].at - sec.got[1].at > sec.got[1].at - sec.got[0].at - 5, "the wait doubles");
    acks = true;
    n.changed();
    await waitFor(() => n.stats.acked === 1);
    assert.equal(sec.got.length, 4);
  } finally {
    await n.close();
    await sec.close();
  }
});

Deno.test("AXFRAllow and NotifySecondaries: normalised, and a bad entry names the key", async () => {
  const base = ["--masters=127.0.0.1:5050", "--externalon=false"];
  const ok = await parseCommandLine([
    ...base,
    "--axfr-allow=10.1.2.3/8, 192.0.2.7,FD00::1/8",
    "--notify-secondaries=10.0.0.9,[fd00::53]:5353",
  ]);
  assert.equal(ok.kind, "run");
  if (ok.kind !== "run") return;
  assert.deepEqual(ok.config.AXFRAllow, ["10.0.0.0/8", "192.0.2.7", "fd00::/8"]);
  assert.deepEqual(ok.config.NotifySecondaries, ["10.0.0.9:53", "[fd00::53]:5353"]);
  await assert.rejects(
    parseCommandLine([...base, "--axfr-allow=10.0.0.0/33"]),
    /config key "AXFRAllow": got "10\.0\.0\.0\/33"/,
  );
  await assert.rejects(parseCommandLine([...base, "--axfr-allow=knot.example"]), /AXFRAllow/);
  await assert.rejects(
    parseCommandLine([...base, "--notify-secondaries=knot.example:53"]),
    /NotifySecondaries/,
  );
  const m = new AddressMatcher(ok.config.AXFRAllow);
  assert.ok(
    m.matches("10.200.0.1") && m.matches("192.0.2.7") && m.matches("fd12::5") && m.matches("::ffff:10.0.0.1"),
  );
  assert.ok(!m.matches("11.0.0.1") && !m.matches("192.0.2.8") && !m.matches("fe80::1"));
  assert.ok(new AddressMatcher([]).empty && !new AddressMatcher([]).matches("127.0.0.1"));
});

Deno.test("at start, serials continue above a secondary's that is ahead of the clock (RFC 1982)", async () => {
  const ahead = Math.floor(Date.now() / 1000) + 500_000; // an earlier run published many times a second
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const seen: string[] = [];
  const loop = (async () => {
    while (true) {
      let msg: Uint8Array, from: Deno.Addr;
      try {
        [msg, from] = await sock.receive();
      } catch {
        return;
      }
      const p = dnsPacket.decode(Buffer.from(msg));
      const notify = ((msg[2] >> 3) & 0x0f) === 4;
      seen.push(notify ? "NOTIFY" : `${p.questions![0].type} ${p.questions![0].name}`);
      const reply = dnsPacket.encode({
        id: p.id,
        type: "response",
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: p.questions,
        answers: notify ? [] : [{
          type: "SOA",
          name: "mesos",
          ttl: 60,
          data: {
            mname: "ns1.mesos",
            rname: "root.ns1.mesos",
            serial: ahead,
            refresh: 60,
            retry: 600,
            expire: 86400,
            minimum: 60,
          },
        }],
      });
      if (notify) reply[2] = (reply[2] & 0x87) | (4 << 3); // the reply keeps the NOTIFY opcode
      await sock.send(reply, from);
    }
  })();
  const sim = await startSimulator({ generate: { frameworks: 1, agents: 1, tasks: 3, seed: 1 } });
  const outcome = await parseCommandLine([
    `--masters=${sim.masters[0]}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httpon=false",
    "--externalon=false",
    `--notify-secondaries=127.0.0.1:${(sock.addr as Deno.NetAddr).port}`,
  ]);
  assert.equal(outcome.kind, "run");
  if (outcome.kind !== "run") return;
  const app = await startApp(outcome.config, {
    resolveHosts: (h) => Promise.resolve(new Map(h.map((x) => [x, []]))),
    interfaceIPs: () => [],
  });
  try {
    await waitFor(() => app.holder.current() !== undefined);
    assert.equal(seen[0], "SOA mesos", "the secondary's serial was asked first");
    assert.equal(app.holder.current()!.serial, ahead + 1);
    await waitFor(() => app.dns!.notifyStats!.acked >= 1, { message: "NOTIFY never acknowledged" });
  } finally {
    await app.close();
    await sim.close();
    sock.close();
    await loop;
  }
});
