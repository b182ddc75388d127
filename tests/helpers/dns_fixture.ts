/**
 * Hand-built record sets for the DNS tests (owns: the sample zone the DNS tests query;
 * built with `RecordSetBuilder`, not the generator).
 */
import { type RecordSet, RecordSetBuilder } from "../../src/records/record_set.ts";

/** Addresses of `big.marathon.mesos.`: enough A records that the answer exceeds 512 bytes. */
export const BIG_COUNT = 60;

/** The sample zone for domain `mesos`. */
export function sampleRecords(): RecordSet {
  const b = new RecordSetBuilder("mesos");
  b.add("A", "chronos.marathon.mesos.", "1.2.3.11");
  for (let i = 1; i <= 4; i++) b.add("A", "web.marathon.mesos.", `10.0.0.${i}`);
  b.add("AAAA", "web.marathon.mesos.", "2001:db8::1");
  b.add("AAAA", "v6only.marathon.mesos.", "2001:db8::2");
  b.add("A", "car-store-zinaz-0.marathon.slave.mesos.", "1.2.3.11");
  b.add("AAAA", "car-store-zinaz-0.marathon.slave.mesos.", "fd00::11");
  b.add("SRV", "_car-store._udp.marathon.mesos.", "car-store-zinaz-0.marathon.slave.mesos.:31364");
  b.add("SRV", "_car-store._udp.marathon.mesos.", "car-store-zinaz-0.marathon.slave.mesos.:31365");
  b.add("A", "leader.mesos.", "10.0.0.100");
  b.add("SRV", "_leader._tcp.mesos.", "leader.mesos.:5050");
  b.add("SRV", "_web._tcp.marathon.mesos.", "web-1.marathon.slave.mesos.:8080");
  b.add("SRV", "_web._tcp.marathon.mesos.", "outside.example.com.:80");
  b.add("A", "ns1.mesos.", "127.0.0.1");
  b.add("A", "bogus.marathon.mesos.", "not-an-ip");
  b.add("A", "bogus.marathon.mesos.", "1.2.3.4");
  for (let i = 1; i <= BIG_COUNT; i++) b.add("A", "big.marathon.mesos.", `10.1.${i >> 8}.${i & 0xff}`);
  return b.build(null);
}
