/**
 * Reverse lookups (`PTROn`): the naming rules of src/records/ptr.ts on a hand-made record
 * set, then every fixture end to end with real `dig -x`: each address of the zone answers
 * one PTR, authoritatively, to a name that resolves back to that address (forward-confirmed
 * reverse DNS), with masters, agents and tasks named as documented; without the key reverse
 * names are not ours (forwarded, here REFUSED with forwarding off).
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { type App, startApp } from "../src/app.ts";
import { parseCommandLine } from "../src/config/mod.ts";
import { ptrTargets, reverseName } from "../src/records/ptr.ts";
import type { RecordSet } from "../src/records/record_set.ts";
import { dig } from "./helpers/mesos_dns_process.ts";
import { waitFor } from "./helpers/wait.ts";
import { startDnsServer } from "../src/dns/server.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import { queryUdp } from "./helpers/dns_client.ts";
import { testConfig } from "./helpers/test_config.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const localResolve = (hosts: readonly string[]) => Promise.resolve(new Map(hosts.map((h) => [h, []])));

function set(a: Record<string, string[]>, aaaa: Record<string, string[]> = {}): RecordSet {
  return {
    domain: "mesos",
    a: new Map(Object.entries(a)),
    aaaa: new Map(Object.entries(aaaa)),
    srv: new Map(),
    frameworks: null,
  };
}

Deno.test("reverseName: in-addr.arpa and nibble ip6.arpa", () => {
  assert.equal(reverseName("10.1.2.3"), "3.2.1.10.in-addr.arpa");
  assert.equal(
    reverseName("fd01:b::2"),
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.0.0.0.1.0.d.f.ip6.arpa",
  );
  assert.equal(reverseName("nginx.mesos"), undefined);
});

Deno.test("ptrTargets: masterN, then slave, then the name server, then a task's canonical name", () => {
  const rs = set({
    // A master that is also an agent and runs a host-network task.
    "leader.mesos.": ["10.0.0.1"],
    "master.mesos.": ["10.0.0.1", "10.0.0.2"],
    "master10.mesos.": ["10.0.0.2"],
    "master2.mesos.": ["10.0.0.2"],
    "master0.mesos.": ["10.0.0.1"],
    "slave.mesos.": ["10.0.0.1", "10.0.1.5"],
    "web.marathon.mesos.": ["10.0.1.5", "172.17.0.2", "172.17.0.3"],
    "web-xif5u-s1.marathon.mesos.": ["10.0.1.5", "172.17.0.2"],
    "web-bb8ab-s2.marathon.mesos.": ["172.17.0.3"],
    "web.marathon.slave.mesos.": ["10.0.1.5"],
    "web-xif5u-s1.marathon.slave.mesos.": ["10.0.1.5"],
    "marathon.mesos.": ["10.0.0.9"],
    "ns1.mesos.": ["10.0.0.53"],
    "ns1-alias.mesos.": ["10.0.0.53"],
    "My.Web.marathon.mesos.": ["172.17.0.9"], // upper case: never answered, never a target
    "elsewhere.example.": ["172.17.0.10"],
  }, { "web-xif5u-s1.marathon.mesos.": ["fd01:b::2"], "web.marathon.mesos.": ["fd01:b::2"] });
  const t = ptrTargets(rs, { domain: "mesos", soaMname: "ns1.mesos." });
  assert.deepEqual(Object.fromEntries(t), {
    "1.0.0.10.in-addr.arpa": "master0.mesos.",
    "2.0.0.10.in-addr.arpa": "master2.mesos.", // the lowest index, not the text order (master10)
    "5.1.0.10.in-addr.arpa": "slave.mesos.",
    "2.0.17.172.in-addr.arpa": "web-xif5u-s1.marathon.mesos.",
    "3.0.17.172.in-addr.arpa": "web-bb8ab-s2.marathon.mesos.",
    "9.0.0.10.in-addr.arpa": "marathon.mesos.",
    "53.0.0.10.in-addr.arpa": "ns1.mesos.",
    [reverseName("fd01:b::2")!]: "web-xif5u-s1.marathon.mesos.",
  });
});

async function start(file: string, ...flags: string[]): Promise<{ app: App; close: () => Promise<void> }> {
  const sim = await startSimulator({ file: `${FIXTURES}${file}`, rewriteLeader: true });
  const outcome = await parseCommandLine([
    `--masters=${sim.masters[0]}`,
    "--listener=127.0.0.1",
    "--port=0",
    "--httpon=false",
    "--externalon=false",
    ...flags,
  ]);
  if (outcome.kind !== "run") throw new Error("bad command line");
  const app = await startApp(outcome.config, { resolveHosts: localResolve, interfaceIPs: () => [] });
  await waitFor(() => app.holder.current() !== undefined, { message: "state never loaded" });
  return {
    app,
    close: async () => {
      await app.close();
      await sim.close();
    },
  };
}

/** One `dig` run (batch mode) for several queries; each reply's text, in order. */
async function digBatch(port: number, lines: string[]): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".dig" });
  try {
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const replies = (await dig(port, "+tries=3", "-f", file)).split(";; Got answer:").slice(1);
    assert.equal(replies.length, lines.length);
    return replies;
  } finally {
    await Deno.remove(file);
  }
}

function answers(reply: string): string[][] {
  const sec = reply.split("\n;; ANSWER SECTION:\n")[1]?.split("\n\n")[0] ?? "";
  return sec.split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/));
}

/** Known PTRs of the fixtures, checked by hand against the documents and the naming rules. */
const EXPECTED: Record<string, Record<string, string>> = {
  "dcos-net-l4lb-overlay-1.0.1.json": { "9.0.1.130": "http-1-sd7ng-s0.marathon.mesos." },
  "dcos-mesos_state-overlay-0.29.json": { "44.128.0.130": "cat-uscj7-s0.mesos-executeinstance.mesos." },
  "mesos-dns-fake.json": { "10.3.0.3": "nginx-6ud99-0.marathon.mesos.", "127.0.0.1": "master0.mesos." },
};

const fixtures = [...Deno.readDirSync(FIXTURES)].filter((e) => e.name.endsWith(".json")).map((e) => e.name)
  .sort();

for (const file of fixtures) {
  Deno.test(`dig -x for every address of ${file}: one PTR, AA, to a name that resolves back`, async () => {
    const on = await start(file, "--ptr-on");
    const off = await start(file);
    try {
      const rs = on.app.holder.current()!.records;
      const addrs = new Map<string, "A" | "AAAA">();
      for (const [type, map] of [["A", rs.a], ["AAAA", rs.aaaa]] as const) {
        for (const [name, values] of map) {
          if (name === name.toLowerCase()) { for (const v of values) addrs.set(v, type); }
        }
      }
      assert.ok(addrs.size > 0);
      const ips = [...addrs.keys()];
      const replies = await digBatch(on.app.dns!.port, ips.map((ip) => `-x ${ip}`));
      const targets = new Map<string, string>();
      replies.forEach((r, i) => {
        assert.match(r, /status: NOERROR/, ips[i]);
        assert.match(r, /flags:[^;]* aa/, `${ips[i]}: authoritative`);
        const an = answers(r);
        assert.equal(an.length, 1, `${ips[i]}: one PTR`);
        assert.equal(an[0][0], `${reverseName(ips[i])}.`);
        assert.equal(an[0][3], "PTR");
        targets.set(ips[i], an[0][4]);
      });
      // Forward-confirmed: the target has the address.
      const forward = await digBatch(
        on.app.dns!.port,
        ips.map((ip) => `${targets.get(ip)} ${addrs.get(ip)}`),
      );
      forward.forEach((r, i) => {
        assert.ok(answers(r).some((f) => f[4] === ips[i]), `${targets.get(ips[i])} has ${ips[i]}`);
      });
      // The naming rules on real data: masters by index, agents as slave, the rest tasks or frameworks.
      const agents = new Set(rs.a.get("slave.mesos.") ?? []);
      const masters = new Set(rs.a.get("master.mesos.") ?? []);
      for (const [ip, target] of targets) {
        if (masters.has(ip)) assert.match(target, /^master\d+\.mesos\.$/, ip);
        else if (agents.has(ip)) assert.equal(target, "slave.mesos.", ip);
      }
      for (const [ip, target] of Object.entries(EXPECTED[file] ?? {})) {
        assert.equal(targets.get(ip), target, ip);
      }
      // Without PTROn reverse names are not ours: forwarded (REFUSED here, forwarding is off).
      const [offReply] = await digBatch(off.app.dns!.port, [`-x ${ips[0]}`]);
      assert.match(offReply, /status: REFUSED/);
      // An address we do not know is not ours either.
      const [unknown] = await digBatch(on.app.dns!.port, ["-x 192.0.2.222"]);
      assert.match(unknown, /status: REFUSED/);
    } finally {
      await off.close();
      await on.close();
    }
  });
}

Deno.test("PTR answers follow each change of a large zone (their builds spaced out), and a whole state at once", async () => {
  // 40,000 tasks with their own addresses: building every PTR answer takes long enough that a
  // stream of small changes gets them built once per spacing, not once per change.
  const a: Record<string, string[]> = { "slave.mesos.": ["10.0.0.1"] };
  for (let i = 0; i < 40_000; i++) {
    a[`web-${i}-ybndr-s1.marathon.mesos.`] = [`10.${(i >> 16) + 1}.${(i >> 8) & 255}.${i & 255}`];
  }
  const holder = new SnapshotHolder();
  holder.publish(set(a));
  const server = await startDnsServer({
    hostname: "127.0.0.1",
    port: 0,
    config: testConfig({ PTROn: true }),
    holder,
  });
  const ptr = async (ip: string) => {
    const { msg } = await queryUdp(server.port, reverseName(ip)!, "PTR");
    return msg.rcode === "NOERROR" ? String((msg.answers?.[0] as { data?: unknown })?.data) : msg.rcode;
  };
  try {
    assert.equal(await ptr("10.1.0.7"), "web-7-ybndr-s1.marathon.mesos");
    // Changes, one at a time: a task gone (its address too), a task added.
    for (let k = 0; k < 5; k++) {
      a[`new-${k}-ybndr-s1.marathon.mesos.`] = [`10.200.0.${k}`];
      delete a[`web-${k}-ybndr-s1.marathon.mesos.`];
      const changed = new Set([`new-${k}-ybndr-s1.marathon.mesos.`, `web-${k}-ybndr-s1.marathon.mesos.`]);
      holder.publish(set({ ...a }), new Date(), undefined, { names: changed });
    }
    await waitFor(async () => (await ptr("10.200.0.4")) === "new-4-ybndr-s1.marathon.mesos", {
      timeoutMs: 10_000,
    });
    for (let k = 0; k < 5; k++) {
      assert.equal(await ptr(`10.200.0.${k}`), `new-${k}-ybndr-s1.marathon.mesos`);
      assert.equal(await ptr(`10.1.0.${k}`), "REFUSED", "an address no name has any more is not ours");
    }
    // A whole state (no `changes`): at once.
    holder.publish(set({ "slave.mesos.": ["10.0.0.1"], "solo-ybndr-s1.marathon.mesos.": ["10.9.9.9"] }));
    assert.equal(await ptr("10.9.9.9"), "solo-ybndr-s1.marathon.mesos");
    assert.equal(await ptr("10.200.0.1"), "REFUSED");
  } finally {
    await server.close();
  }
});
