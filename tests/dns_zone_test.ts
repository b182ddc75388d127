/**
 * Zone answers over real UDP and TCP sockets: A, AAAA, SRV with additionals, names as
 * asked, rotation, NXDOMAIN/NODATA with the SOA, the apex SOA/NS, ANY, classes, updates;
 * once per UDP engine.
 */
import assert from "node:assert/strict";
import type { Config } from "../src/config/types.ts";
import { startDnsServer } from "../src/dns/server.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import {
  type Answer,
  buildQuery,
  decode,
  header,
  queryTcp,
  queryUdp,
  udpExchange,
} from "./helpers/dns_client.ts";
import { BIG_COUNT, sampleRecords } from "./helpers/dns_fixture.ts";
import { testConfig } from "./helpers/test_config.ts";
import { engineTest, UDP_ENGINES } from "./helpers/udp_engines.ts";

// deno-lint-ignore no-explicit-any
function data(a: Answer): any {
  return (a as { data?: unknown }).data;
}

for (const engine of UDP_ENGINES) {
  const test = engineTest(engine);
  const config = (overrides: Partial<Config> = {}) => testConfig({ DNSUDPEngine: engine, ...overrides });

  test("DNS zone answers over UDP and TCP", async (t) => {
    const holder = new SnapshotHolder();
    const snap = holder.publish(sampleRecords());
    const server = await startDnsServer({ hostname: "127.0.0.1", port: 0, config: config(), holder });
    const port = server.port;
    try {
      assert.equal(server.udpEngine, engine);
      await t.step("A record: AA, RA, RD copied, TTL, ID echoed", async () => {
        const { msg, h } = await queryUdp(port, "chronos.marathon.mesos.", "A", { id: 4242 });
        assert.equal(h.id, 4242);
        assert.ok(h.qr && h.aa && h.ra && h.rd && !h.tc);
        assert.equal(msg.rcode, "NOERROR");
        assert.equal(msg.answers?.length, 1);
        const a = msg.answers![0];
        assert.equal(a.type, "A");
        assert.equal(a.name, "chronos.marathon.mesos");
        assert.equal(data(a), "1.2.3.11");
        assert.equal((a as { ttl?: number }).ttl, 60);
        assert.equal(msg.authorities?.length ?? 0, 0);
      });

      await t.step("RD=0 and CD=1 are copied", async () => {
        const { h } = await queryUdp(port, "chronos.marathon.mesos.", "A", { rd: false, cd: true });
        assert.ok(!h.rd && h.cd && h.aa);
      });

      await t.step("names match case-insensitively; the question is echoed as asked", async () => {
        const q = buildQuery("cHrOnOs.MARATHON.mesoS.", "A");
        const raw = await udpExchange(port, q);
        const msg = decode(raw);
        assert.equal(msg.rcode, "NOERROR");
        assert.equal(data(msg.answers![0]), "1.2.3.11");
        assert.deepEqual(raw.subarray(12, q.length), q.subarray(12));
        assert.equal(msg.questions![0].name, "cHrOnOs.MARATHON.mesoS");
      });

      await t.step("AAAA records", async () => {
        const web = await queryUdp(port, "web.marathon.mesos.", "AAAA");
        assert.deepEqual(web.msg.answers!.map(data), ["2001:db8::1"]);
        const v6 = await queryUdp(port, "v6only.marathon.mesos.", "AAAA");
        assert.deepEqual(v6.msg.answers!.map((a) => [a.type, data(a)]), [["AAAA", "2001:db8::2"]]);
      });

      await t.step("SRV: priority 0, default weight, in-domain target addresses as additionals", async () => {
        const { msg } = await queryUdp(port, "_car-store._udp.marathon.mesos.", "SRV");
        assert.equal(msg.rcode, "NOERROR");
        const srvs = msg.answers!.map(data);
        assert.deepEqual(srvs.map((d) => d.port).sort(), [31364, 31365]);
        for (const d of srvs) {
          assert.equal(d.priority, 0);
          assert.equal(d.weight, 1);
          assert.equal(d.target, "car-store-zinaz-0.marathon.slave.mesos");
        }
        const extra = (msg.additionals ?? []).map((a) => [a.name, a.type, data(a)]);
        assert.deepEqual(extra, [
          ["car-store-zinaz-0.marathon.slave.mesos", "A", "1.2.3.11"],
          ["car-store-zinaz-0.marathon.slave.mesos", "AAAA", "fd00::11"],
        ]);
      });

      await t.step("SRV targets without addresses or outside the domain add no additionals", async () => {
        const { msg } = await queryUdp(port, "_web._tcp.marathon.mesos.", "SRV");
        assert.equal(msg.answers?.length, 2);
        assert.equal(msg.additionals?.length ?? 0, 0);
      });

      await t.step("SRV weight follows SRVRecordDefaultWeight and the TTL follows TTL", async () => {
        const h2 = new SnapshotHolder();
        h2.publish(sampleRecords());
        const s2 = await startDnsServer({
          hostname: "127.0.0.1",
          port: 0,
          config: config({ SRVRecordDefaultWeight: 7, TTL: 5 }),
          holder: h2,
        });
        try {
          const { msg } = await queryUdp(s2.port, "_leader._tcp.mesos.", "SRV");
          assert.equal(data(msg.answers![0]).weight, 7);
          assert.equal((msg.answers![0] as { ttl?: number }).ttl, 5);
          assert.equal((msg.additionals![0] as { ttl?: number }).ttl, 5);
        } finally {
          await s2.close();
        }
      });

      await t.step("multi-record answers change order between responses", async () => {
        const orders = new Set<string>();
        const firsts = new Set<string>();
        for (let i = 0; i < 4; i++) {
          const { msg } = await queryUdp(port, "web.marathon.mesos.", "A");
          const ips = msg.answers!.map(data);
          assert.deepEqual([...ips].sort(), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
          orders.add(ips.join(","));
          firsts.add(ips[0]);
        }
        assert.equal(firsts.size, 4, "every record leads once in four responses");
        assert.equal(orders.size, 4);
      });

      await t.step("SRV rotation keeps the additional owners right", async () => {
        const b = new RecordSetBuilder("mesos");
        for (let i = 1; i <= 5; i++) {
          b.add("SRV", "_app._tcp.mesos.", `task-${i}.app.mesos.:${1000 + i}`);
          b.add("A", `task-${i}.app.mesos.`, `10.9.0.${i}`);
        }
        const h2 = new SnapshotHolder();
        h2.publish(b.build(null));
        const s2 = await startDnsServer({ hostname: "127.0.0.1", port: 0, config: config(), holder: h2 });
        try {
          const firsts = new Set<number>();
          for (let i = 0; i < 5; i++) {
            const { msg } = await queryTcp(s2.port, "_app._tcp.mesos.", "SRV");
            const ports = msg.answers!.map((a) => data(a).port);
            firsts.add(ports[0]);
            const extra = msg.additionals!.map((a) => `${a.name}=${data(a)}`).sort();
            assert.deepEqual(extra, [1, 2, 3, 4, 5].map((n) => `task-${n}.app.mesos=10.9.0.${n}`));
          }
          assert.equal(firsts.size, 5);
        } finally {
          await s2.close();
        }
      });

      const checkSoa = (a: Answer) => {
        assert.equal(a.type, "SOA");
        // The owner is compressed against the question, so it shows the asker's letter case.
        assert.equal(a.name.toLowerCase(), "mesos");
        assert.deepEqual(data(a), {
          mname: "ns1.mesos",
          rname: "root.ns1.mesos",
          serial: snap.serial,
          refresh: 60,
          retry: 600,
          expire: 86400,
          minimum: 60,
        });
      };

      await t.step("NXDOMAIN carries the zone SOA (owner = apex) in authority", async () => {
        const { msg, h } = await queryUdp(port, "missing.mesos.", "A");
        assert.equal(msg.rcode, "NXDOMAIN");
        assert.ok(h.aa);
        assert.equal(msg.answers?.length ?? 0, 0);
        assert.equal(msg.authorities?.length, 1);
        checkSoa(msg.authorities![0]);
        const deep = await queryUdp(port, "a.b.C.missing.MESOS.", "SRV");
        assert.equal(deep.msg.rcode, "NXDOMAIN");
        checkSoa(deep.msg.authorities![0]);
      });

      await t.step("NODATA (NOERROR, empty answer, SOA) when the name has other types", async () => {
        for (
          const [name, type] of [
            ["chronos.marathon.mesos.", "AAAA"],
            ["_car-store._udp.marathon.mesos.", "A"],
            ["chronos.marathon.mesos.", "TXT"],
            ["chronos.marathon.mesos.", "MX"],
            ["chronos.marathon.mesos.", "SRV"],
            ["chronos.marathon.mesos.", "SOA"],
            ["chronos.marathon.mesos.", "NS"],
            ["marathon.mesos.", "A"], // empty non-terminal
            ["mesos.", "A"],
          ]
        ) {
          const { msg, h } = await queryUdp(port, name, type);
          assert.equal(msg.rcode, "NOERROR", `${name} ${type}`);
          assert.ok(h.aa);
          assert.equal(msg.answers?.length ?? 0, 0, `${name} ${type}`);
          assert.equal(msg.authorities?.length, 1);
          checkSoa(msg.authorities![0]);
        }
        const txt = await queryUdp(port, "missing.mesos.", "TXT");
        assert.equal(txt.msg.rcode, "NXDOMAIN");
        const ns = await queryUdp(port, "missing.mesos.", "NS");
        assert.equal(ns.msg.rcode, "NXDOMAIN");
      });

      await t.step("apex SOA and NS are answered in the answer section", async () => {
        const soa = await queryUdp(port, "MESOS.", "SOA");
        assert.equal(soa.msg.rcode, "NOERROR");
        assert.ok(soa.h.aa);
        assert.equal(soa.msg.answers?.length, 1);
        checkSoa(soa.msg.answers![0]);
        assert.equal(soa.msg.answers![0].name, "MESOS");
        assert.equal(soa.msg.authorities?.length ?? 0, 0);
        const ns = await queryUdp(port, "mesos.", "NS");
        assert.deepEqual(ns.msg.answers!.map((a) => [a.name, a.type, data(a)]), [[
          "mesos",
          "NS",
          "ns1.mesos",
        ]]);
        assert.deepEqual(ns.msg.additionals!.map((a) => [a.name, a.type, data(a)]), [[
          "ns1.mesos",
          "A",
          "127.0.0.1",
        ]]);
        const nsA = await queryUdp(port, "ns1.mesos.", "A");
        assert.deepEqual(nsA.msg.answers!.map(data), ["127.0.0.1"]);
      });

      await t.step("ANY answers what exists, without a duplicate SOA", async () => {
        const web = await queryUdp(port, "web.marathon.mesos.", "ANY");
        assert.equal(web.msg.rcode, "NOERROR");
        assert.deepEqual(web.msg.answers!.map((a) => a.type).sort(), ["A", "A", "A", "A", "AAAA"]);
        assert.equal(web.msg.authorities?.length ?? 0, 0);
        const srv = await queryUdp(port, "_car-store._udp.marathon.mesos.", "ANY");
        assert.deepEqual(srv.msg.answers!.map((a) => a.type), ["SRV", "SRV"]);
        assert.equal(srv.msg.additionals?.length, 2);
        const apex = await queryUdp(port, "mesos.", "ANY");
        assert.deepEqual(apex.msg.answers!.map((a) => a.type), ["SOA", "NS"]);
        assert.equal(apex.msg.authorities?.length ?? 0, 0);
        const missing = await queryUdp(port, "missing.mesos.", "ANY");
        assert.equal(missing.msg.rcode, "NXDOMAIN");
        assert.equal(missing.msg.authorities?.length, 1);
      });

      await t.step("invalid stored values are skipped", async () => {
        const { msg } = await queryUdp(port, "bogus.marathon.mesos.", "A");
        assert.deepEqual(msg.answers!.map(data), ["1.2.3.4"]);
      });

      await t.step("classes other than IN and ANY are refused; ANY is answered", async () => {
        const ch = await queryUdp(port, "chronos.marathon.mesos.", "A", { qclass: "CH" });
        assert.equal(ch.msg.rcode, "REFUSED");
        assert.equal(ch.msg.questions![0].class, "CH");
        const any = await queryUdp(port, "chronos.marathon.mesos.", "A", { qclass: "ANY" });
        assert.equal(any.msg.rcode, "NOERROR");
        assert.equal(any.msg.questions![0].class, "ANY");
        assert.deepEqual(any.msg.answers!.map(data), ["1.2.3.11"]);
      });

      await t.step("the same answers over TCP, large ones whole", async () => {
        const { msg, h } = await queryTcp(port, "chronos.marathon.mesos.", "A");
        assert.ok(h.aa && !h.tc);
        assert.equal(data(msg.answers![0]), "1.2.3.11");
        const big = await queryTcp(port, "big.marathon.mesos.", "A");
        assert.ok(!big.h.tc);
        assert.equal(big.msg.answers?.length, BIG_COUNT);
      });

      await t.step("the original's `.*` wildcard strip", async () => {
        const { msg } = await queryUdp(port, "web.*.marathon.mesos.", "A");
        assert.equal(msg.rcode, "NOERROR");
        assert.equal(msg.questions![0].name, "web.*.marathon.mesos");
        assert.equal(msg.answers?.length, 4);
        const none = await queryUdp(port, "nothing.*.marathon.mesos.", "A");
        assert.equal(none.msg.rcode, "NXDOMAIN");
      });

      await t.step("a new snapshot replaces the answers and the serial", async () => {
        const b = new RecordSetBuilder("mesos");
        b.add("A", "fresh.mesos.", "10.2.2.2");
        const next = holder.publish(b.build(null), new Date(Date.now() + 5000));
        const fresh = await queryUdp(port, "fresh.mesos.", "A");
        assert.deepEqual(fresh.msg.answers!.map(data), ["10.2.2.2"]);
        const gone = await queryUdp(port, "chronos.marathon.mesos.", "A");
        assert.equal(gone.msg.rcode, "NXDOMAIN");
        assert.equal(data(gone.msg.authorities![0]).serial, next.serial);
        assert.notEqual(next.serial, snap.serial);
        holder.publish(sampleRecords());
      });

      await t.step("header fields read from raw bytes agree", async () => {
        const raw = await udpExchange(port, buildQuery("leader.mesos.", "A", { id: 7 }));
        const h = header(raw);
        assert.deepEqual([h.id, h.qdcount, h.ancount, h.nscount, h.arcount], [7, 1, 1, 0, 0]);
      });
    } finally {
      await server.close();
    }
  });
}
