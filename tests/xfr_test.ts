/**
 * Zone transfers end to end with real clients: `dig` asks AXFR and IXFR over TCP (refused
 * outside `AXFRAllow`, the whole zone in several compressed messages, the incremental
 * answer after a task is killed and another launched in the simulator), and a real Knot
 * secondary (Debian `knot`) transfers the zone, answers like the server, and follows a
 * change after our NOTIFY, through IXFR. Skipped when dig or knotd is missing.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { type App, startApp } from "../src/app.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { dig } from "./helpers/mesos_dns_process.ts";
import { knotInstalled, startKnotSecondary } from "./helpers/knot_secondary.ts";
import { waitFor } from "./helpers/wait.ts";
import { freeDnsPort } from "../scripts/bench/ports.ts";

const digInstalled = (() => {
  try {
    return Deno.statSync("/usr/bin/dig").isFile;
  } catch {
    return false;
  }
})();

const localResolve = (hosts: readonly string[]) => Promise.resolve(new Map(hosts.map((h) => [h, []])));

async function start(masters: string, ...flags: string[]): Promise<App> {
  const outcome = await parseCommandLine([
    `--masters=${masters}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httpon=false",
    "--externalon=false",
    ...flags,
  ]);
  if (outcome.kind !== "run") throw new Error(`bad command line: ${JSON.stringify(outcome)}`);
  const app = await startApp(outcome.config, { resolveHosts: localResolve, interfaceIPs: () => [] });
  await waitFor(() => app.holder.current() !== undefined, { message: "state never loaded" });
  return app;
}

/** dig's records (answer section of a query, or every record of a transfer) as normalised lines. */
function records(out: string): string[] {
  return out.split("\n").filter((l) => l !== "" && !l.startsWith(";")).map((l) => l.split(/\s+/).join(" "));
}

function status(out: string): string {
  return /status: ([A-Z]+)/.exec(out)?.[1] ?? "no reply";
}

/** `name type value` triples of the A, AAAA and SRV records DNS serves from a record set. */
function served(rs: RecordSet): Set<string> {
  const out = new Set<string>();
  for (const [type, map] of [["A", rs.a], ["AAAA", rs.aaaa], ["SRV", rs.srv]] as const) {
    for (const [name, values] of map) {
      if (name !== name.toLowerCase() || name.split(".").some((l) => l.length > 63)) continue;
      for (const v of values) {
        if (type !== "SRV") out.add(`${name} ${type} ${v}`);
        else {
          const at = v.lastIndexOf(":");
          out.add(`${name} SRV 0 1 ${v.slice(at + 1)} ${v.slice(0, at)}`);
        }
      }
    }
  }
  return out;
}

/** The transfer's records other than SOA and NS as `name type value` (as `served` writes them). */
function transferred(lines: string[]): string[] {
  return lines.map((l) => l.split(" ")).filter((f) => f[3] !== "SOA" && f[3] !== "NS")
    .map((f) => [f[0], ...f.slice(3)].join(" "));
}

Deno.test({
  name: "AXFR and IXFR over TCP with dig: AXFRAllow, several messages, the incremental answer",
  ignore: !digInstalled,
  async fn() {
    const sim = await startSimulator({ generate: { frameworks: 4, agents: 6, tasks: 300, seed: 7 } });
    const nobody = await start(sim.masters[0]);
    const others = await start(sim.masters[0], "--axfr-allow=10.0.0.0/8,::1");
    const app = await start(sim.masters[0], "--axfr-allow=127.0.0.0/8", "--refresh-seconds=1");
    try {
      // Refused by default and outside AXFRAllow; nothing is transferred.
      for (const a of [nobody, others]) {
        const out = await dig(a.dns!.port, "mesos", "AXFR");
        assert.match(out, /Transfer failed/);
        assert.equal(records(out).length, 0);
        assert.equal(a.dns!.xfrStats.refused, 1);
      }
      assert.match(await dig(nobody.dns!.port, "mesos", "IXFR=1"), /Transfer failed/);

      // AXFR: SOA, NS, every served record, SOA, in several messages.
      const snap = app.holder.current()!;
      const out = await dig(app.dns!.port, "mesos", "AXFR");
      const lines = records(out);
      assert.match(
        lines[0],
        new RegExp(`^mesos\\. 60 IN SOA ns1\\.mesos\\. root\\.ns1\\.mesos\\. \\d+ 60 600 86400 60$`),
      );
      assert.equal(lines.at(-1), lines[0]);
      assert.ok(lines.includes("mesos. 60 IN NS ns1.mesos."));
      const serial = Number(lines[0].split(" ")[6]);
      // Reloads every second give new serials, not new records: the sim does not change here.
      assert.ok(serial >= snap.serial);
      assert.deepEqual(new Set(transferred(lines)), served(app.holder.current()!.records));
      const xfr = /XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)/.exec(out);
      assert.ok(xfr, out.slice(-300));
      assert.ok(Number(xfr[2]) > 1, `several messages (${xfr[0]})`);
      assert.ok(Number(xfr[3]) / Number(xfr[2]) < 65535);
      // Compression: far fewer bytes than the records with every name written out in full.
      const wire = (name: string) => name.length + 1;
      const full = lines.reduce((n, l) => {
        const f = l.split(" ");
        const rdata = f[3] === "A"
          ? 4
          : f[3] === "AAAA"
          ? 16
          : f[3] === "SRV"
          ? 6 + wire(f[7])
          : f[3] === "NS"
          ? wire(f[4])
          : wire(f[4]) + wire(f[5]) + 20;
        return n + wire(f[0]) + 10 + rdata;
      }, 0);
      assert.ok(Number(xfr[3]) < 0.7 * full, `${xfr[3]} bytes for ${full} bytes uncompressed`);

      // The client is current: the SOA alone (RFC 1995 §2).
      // (A reload each second may publish a new serial meanwhile: then ask again.)
      let same: string[] = [];
      for (let i = 0; i < 5; i++) {
        const cur = app.holder.current()!.serial;
        same = records(await dig(app.dns!.port, "mesos", `IXFR=${cur}`));
        if (app.holder.current()!.serial === cur) break;
      }
      assert.ok(same.length === 1 && same[0].includes(" SOA "), same.join("\n"));

      // A change in the simulator: the incremental answer lists exactly what went and came.
      const before = app.holder.current()!;
      const victim = sim.cluster.runningTasks().find((t) => !t.name.includes(":"))!;
      sim.killTask(victim.id);
      sim.launchTask({ name: "xfr-probe" });
      await waitFor(() => app.holder.current()!.records.a.has("xfr-probe.marathon.mesos."), {
        message: "the launched task never got records",
      });
      const after = app.holder.current()!;
      const incr = await dig(app.dns!.port, "mesos", `IXFR=${before.serial}`);
      const il = records(incr);
      const soaSerials = il.filter((l) => l.split(" ")[3] === "SOA").map((l) => Number(l.split(" ")[6]));
      assert.equal(soaSerials[0], soaSerials.at(-1));
      assert.equal(soaSerials[1], before.serial, "the first difference starts at the client's serial");
      assert.ok(soaSerials[0] >= after.serial);
      // Replay the differences over the old records: the result is the new zone.
      const zone = served(before.records);
      // Inside the first and last SOA: SOA(from), deletions, SOA(to), additions, for each step.
      let deleting = false;
      for (const l of il.slice(1, -1)) {
        const f = l.split(" ");
        if (f[3] === "SOA") {
          deleting = !deleting;
          continue;
        }
        const rr = [f[0], ...f.slice(3)].join(" ");
        if (deleting) assert.ok(zone.delete(rr), `deleted ${rr} was in the zone`);
        else zone.add(rr);
      }
      assert.deepEqual(zone, served(app.holder.current()!.records));
      assert.ok([...zone].some((r) => r.startsWith("xfr-probe.marathon.mesos. A ")));
      assert.ok(app.dns!.xfrStats.ixfrIncremental >= 1);
      assert.match(incr, /XFR size/);

      // A serial older than the journal: the whole zone (AXFR form).
      const old = records(await dig(app.dns!.port, "mesos", "IXFR=1000"));
      assert.ok(old.includes("mesos. 60 IN NS ns1.mesos."));
      assert.equal(app.dns!.xfrStats.ixfrFull, 1);
    } finally {
      await app.close();
      await others.close();
      await nobody.close();
      await sim.close();
    }
  },
});

/** What a server answers for a question: status, AA and sorted answer records (TTL left out). */
function view(out: string): string {
  const answers = out.split("\n;; ANSWER SECTION:\n")[1]?.split("\n\n")[0] ?? "";
  const lines = answers.split("\n").filter((l) => l !== "").map((l) => {
    const f = l.split(/\s+/);
    return [f[0], ...f.slice(2)].join(" ");
  });
  return `${status(out)} aa=${/flags:[^;]* aa/.test(out)} ${lines.sort().join(" | ")}`;
}

/** Asks every question in one `dig` run (batch mode); the views in question order. */
async function views(port: number, questions: readonly (readonly [string, string])[]): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".dig" });
  try {
    await Deno.writeTextFile(file, questions.map(([n, t]) => `${n} ${t}`).join("\n") + "\n");
    const out = await dig(port, "+tries=3", "+norec", "-f", file);
    const replies = out.split(";; Got answer:").slice(1);
    assert.equal(replies.length, questions.length, out.slice(0, 2000));
    return replies.map(view);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name: "a real Knot secondary transfers the zone, answers like us, follows a change after NOTIFY (IXFR)",
  ignore: !digInstalled || !knotInstalled(),
  async fn() {
    const sim = await startSimulator({ generate: { frameworks: 4, agents: 6, tasks: 120, seed: 11 } });
    // Both ports are chosen first: Knot is told ours (its primary), we are told Knot's (NOTIFY).
    const port = freeDnsPort();
    const knot = await startKnotSecondary("mesos", port);
    let app: App | undefined;
    try {
      app = await start(
        sim.masters[0],
        `--port=${port}`,
        "--refresh-seconds=1",
        "--axfr-allow=127.0.0.1",
        `--notify-secondaries=127.0.0.1:${knot.port}`,
      );
      const a = app;
      const serialOf = async (p: number) => Number((await dig(p, "+short", "mesos", "SOA")).split(" ")[2]);
      // Knot has nothing until our first NOTIFY makes it transfer.
      await waitFor(async () => await serialOf(knot.port) === a.holder.current()!.serial, {
        timeoutMs: 10_000,
        intervalMs: 100,
        message: `Knot never served our serial ${a.holder.current()!.serial}:\n${knot.log()}`,
      });
      assert.ok(a.dns!.notifyStats!.acked >= 1, "Knot acknowledged our NOTIFY");
      assert.ok(a.dns!.xfrStats.axfr + a.dns!.xfrStats.ixfrFull >= 1);

      // Knot answers like us: names of every kind, several types, NODATA and NXDOMAIN.
      const rs = a.holder.current()!.records;
      const pick = (m: ReadonlyMap<string, readonly string[]>, n: number) =>
        [...m.keys()].filter((k) => k === k.toLowerCase()).filter((_, i) => i % 7 === 0).slice(0, n);
      const questions: [string, string][] = [
        ["mesos.", "NS"],
        ["leader.mesos.", "A"],
        ["master.mesos.", "A"],
        ["slave.mesos.", "A"],
        ["_leader._tcp.mesos.", "SRV"],
        ["missing.mesos.", "A"],
        ["nothing.here.marathon.mesos.", "SRV"],
        ["leader.mesos.", "AAAA"],
        ...pick(rs.a, 12).map((n): [string, string] => [n, "A"]),
        ...pick(rs.aaaa, 4).map((n): [string, string] => [n, "AAAA"]),
        ...pick(rs.srv, 8).map((n): [string, string] => [n, "SRV"]),
        ...pick(rs.srv, 3).map((n): [string, string] => [n, "A"]),
      ];
      assert.ok(rs.aaaa.size > 0, "the generated cluster has IPv6 tasks");
      const [ours, theirs] = await Promise.all([views(port, questions), views(knot.port, questions)]);
      questions.forEach(([name, type], i) => assert.equal(theirs[i], ours[i], `${name} ${type}`));
      const nx = ours.filter((v) => v.startsWith("NXDOMAIN")).length;
      assert.ok(nx >= 2, "NXDOMAIN compared too");

      // A change: kill a task, launch one; NOTIFY brings Knot the new data, by IXFR.
      const before = a.holder.current()!;
      const victim = sim.cluster.runningTasks().find((t) => !t.name.includes(":"))!;
      sim.killTask(victim.id);
      sim.launchTask({ name: "knot-probe" });
      const t0 = Date.now();
      await waitFor(
        async () => (await views(knot.port, [["knot-probe.marathon.mesos.", "A"]]))[0].startsWith("NOERROR"),
        {
          timeoutMs: 10_000,
          intervalMs: 50,
          message: `Knot never answered the launched task:\n${knot.log()}`,
        },
      );
      const followMs = Date.now() - t0;
      const after = a.holder.current()!;
      // A name the killed task alone had is gone on both.
      const gone = [...before.records.a.keys()].find((n) =>
        !after.records.a.has(n) && n === n.toLowerCase() && n.split(".").every((l) => l.length <= 63)
      );
      assert.ok(gone, "the killed task had a name of its own");
      await waitFor(async () => (await views(knot.port, [[gone, "A"]]))[0].startsWith("NXDOMAIN"), {
        message: `Knot still answers ${gone}`,
      });
      const probe = [["knot-probe.marathon.mesos.", "A"], ["knot-probe.marathon.slave.mesos.", "A"]] as const;
      assert.deepEqual(await views(knot.port, probe), await views(port, probe));
      assert.ok(
        a.dns!.xfrStats.ixfrIncremental >= 1,
        `IXFR answered incrementally: ${JSON.stringify(a.dns!.xfrStats)}`,
      );
      assert.match(knot.log(), /IXFR/);
      console.log(
        `Knot followed the change in ${followMs} ms; ${JSON.stringify(a.dns!.xfrStats)}, NOTIFY ${
          JSON.stringify(a.dns!.notifyStats)
        }`,
      );
    } finally {
      await app?.close();
      await knot.stop();
      await sim.close();
    }
  },
});
