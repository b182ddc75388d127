/**
 * Every fixture through the whole pipeline: the simulator serves the real document, the
 * service (in-process, real sockets) fetches it, generates records and serves them; then
 * every name `/v1/axfr` lists is asked over DNS (TCP, so nothing is truncated) and must
 * answer exactly the listed values — what HTTP shows is what DNS serves. `/v1/axfr` itself must
 * equal the hand-derived tables of tests/helpers/fixture_tables.ts, and `/v1/enumerate` must list
 * exactly their task records (the rest of axfr being framework, agent, master and name-server records).
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { startApp } from "../src/app.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import { queryTcp } from "./helpers/dns_client.ts";
import { fixtureExpectation, merge, sortedTable, type Tables } from "./helpers/fixture_tables.ts";
import { waitFor } from "./helpers/wait.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const files = [...Deno.readDirSync(FIXTURES)].filter((e) => e.name.endsWith(".json")).map((e) => e.name)
  .sort();

/** No traffic leaves the machine: only `localhost` resolves. */
const localResolve = (hosts: readonly string[]) =>
  Promise.resolve(new Map(hosts.map((h) => [h, h === "localhost" ? ["127.0.0.1"] : []])));

interface Axfr {
  Records: { As: Record<string, string[]>; AAAAs: Record<string, string[]>; SRVs: Record<string, string[]> };
}

interface Enumerate {
  frameworks: { tasks: { records: { name: string; host: string; rtype: string }[] | null }[] }[] | null;
}

function triples(t: Tables): string[] {
  const out: string[] = [];
  for (const [kind, type] of [["a", "A"], ["aaaa", "AAAA"], ["srv", "SRV"]] as const) {
    for (const [name, values] of Object.entries(t[kind])) {
      for (const v of values) out.push(`${type} ${name} ${v}`);
    }
  }
  return [...new Set(out)].sort();
}

function rdataOf(type: string, data: unknown): string {
  if (type === "SRV") {
    const d = data as { target: string; port: number };
    return `${d.target}.:${d.port}`;
  }
  return String(data);
}

const IP = /^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+)$/;

for (const file of files) {
  Deno.test(`fixture ${file}: /v1/axfr = the hand tables, DNS answers exactly that, enumerate = task records`, async () => {
    const sim = await startSimulator({ file: `${FIXTURES}${file}`, rewriteLeader: true });
    const outcome = await parseCommandLine([
      `--masters=${sim.masters[0]}`,
      "--listener=127.0.0.1",
      "--port=0",
      "--httplistener=127.0.0.1",
      "--httpport=0",
      "--externalon=false",
      // The hand tables are what /master/state gives (frameworks' scheduler pids included,
      // which the operator API does not carry).
      "--state-source=poll",
    ]);
    assert.equal(outcome.kind, "run");
    if (outcome.kind !== "run") return;
    const app = await startApp(outcome.config, { resolveHosts: localResolve, interfaceIPs: () => [] });
    try {
      await waitFor(() => app.holder.current() !== undefined, { message: "state never loaded" });
      const axfr = await (await fetch(`http://127.0.0.1:${app.http!.port}/v1/axfr`)).json() as Axfr;
      assert.deepEqual(axfr.Records.As["leader.mesos."], ["127.0.0.1"]);
      // The hand-derived tables, with the simulator's leader and the 127.0.0.1 listener.
      const leaderPort = Number(sim.masters[0].split(":")[1]);
      const want = fixtureExpectation(file, {
        leaderIP: "127.0.0.1",
        leaderPort,
        nsIP: "127.0.0.1",
        hosts: { localhost: ["127.0.0.1"] },
      });
      const all = merge(want.base, want.tasks);
      assert.deepEqual(sortedTable(axfr.Records.As), sortedTable(all.a), "axfr As");
      assert.deepEqual(sortedTable(axfr.Records.AAAAs), sortedTable(all.aaaa), "axfr AAAAs");
      assert.deepEqual(sortedTable(axfr.Records.SRVs), sortedTable(all.srv), "axfr SRVs");
      const en = await (await fetch(`http://127.0.0.1:${app.http!.port}/v1/enumerate`)).json() as Enumerate;
      const listed = new Set<string>();
      for (const f of en.frameworks ?? []) {
        for (const t of f.tasks) {
          for (const r of t.records ?? []) listed.add(`${r.rtype} ${r.name} ${r.host}`);
        }
      }
      assert.deepEqual([...listed].sort(), triples(want.tasks), "enumerate = the task records");
      let asked = 0;
      for (
        const [type, table] of [["A", axfr.Records.As], ["AAAA", axfr.Records.AAAAs], [
          "SRV",
          axfr.Records.SRVs,
        ]] as const
      ) {
        for (const [name, values] of Object.entries(table)) {
          // Legacy DiscoveryInfo names with upper case or spaces are listed but not reachable over DNS.
          if (name !== name.toLowerCase() || /[^a-z0-9._-]/.test(name)) continue;
          // Canonical names can exceed the 63-octet label limit (the original makes them too);
          // they cannot be asked over DNS at all.
          if (name.split(".").some((l) => l.length > 63)) continue;
          const expected = type === "SRV" ? values : values.filter((v) => IP.test(v));
          const { msg } = await queryTcp(app.dns!.port, name, type);
          assert.equal(msg.rcode, "NOERROR", `${type} ${name}`);
          const got = (msg.answers ?? []).filter((a) => a.type === type).map((a) =>
            rdataOf(type, (a as { data: unknown }).data)
          );
          assert.deepEqual(got.sort(), [...expected].sort(), `${type} ${name}`);
          asked++;
        }
      }
      assert.ok(asked > 5, `asked ${asked} names`);
    } finally {
      await app.close();
      await sim.close();
    }
  });
}
