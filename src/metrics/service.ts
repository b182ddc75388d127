/**
 * The metric families of mesos-dns (owns: every metric name `/metrics` shows and where
 * its value is read from: the state poller's counters, the freshness of the records, the
 * published snapshot, the DNS servers' query counters, the forwarder and the UDP fast
 * path). Values are read at scrape time only; nothing here runs on the DNS path.
 *
 * Other parts add their own families to the returned registry (e.g. the event stream's
 * reconnects through `ServiceMetricsSources.stream`, or `registry.counter(...)` directly).
 */
import type { DnsServer } from "../dns/server.ts";
import type { StateFreshness } from "../mesos/freshness.ts";
import type { PollerStats } from "../mesos/state_poller.ts";
import type { Snapshot, SnapshotHolder } from "../records/snapshot.ts";
import { LATENCY_BOUNDS, PROTOS } from "./dns_counters.ts";
import { histogramSamples, MetricsRegistry, type Sample } from "./registry.ts";
import { processMetrics } from "./process.ts";

/** Counters of an event stream state source (added by the stream when it runs). */
export interface StreamStats {
  /** Times the stream connected again after losing its connection. */
  reconnects: number;
}

/** Where the metrics read their values. */
export interface ServiceMetricsSources {
  holder: SnapshotHolder;
  poller: () => PollerStats;
  freshness: StateFreshness;
  /** Whether `/ready` answers 200 now (state loaded and not stale). */
  ready: () => boolean;
  /** The DNS server running now (a configuration reload may replace it), if any. */
  dns?: () => DnsServer | undefined;
  /** The event stream's counters, when a stream is the state source (undefined: no family). */
  stream?: () => StreamStats | undefined;
}

/** Values of every (name, value) pair per record type, computed once per snapshot. */
function recordCounter(): (snap: Snapshot | undefined) => { a: number; aaaa: number; srv: number } {
  let seen: Snapshot | undefined;
  let counts = { a: 0, aaaa: 0, srv: 0 };
  const total = (m: ReadonlyMap<string, readonly string[]>) => {
    let n = 0;
    for (const v of m.values()) n += v.length;
    return n;
  };
  return (snap) => {
    if (!snap) return { a: 0, aaaa: 0, srv: 0 };
    if (snap !== seen) {
      seen = snap;
      counts = { a: total(snap.records.a), aaaa: total(snap.records.aaaa), srv: total(snap.records.srv) };
    }
    return counts;
  };
}

/**
 * The event stream's families (the hook for the `stream` state source: call it with the
 * registry, `App.metrics`, once the stream runs, or pass `stream` to `serviceMetrics`).
 */
export function addStreamMetrics(reg: MetricsRegistry, stats: () => StreamStats | undefined): void {
  reg.add({
    name: "mesos_dns_stream_reconnects_total",
    help: "Times the Mesos event stream connected again after losing its connection.",
    type: "counter",
    samples: () => {
      const s = stats();
      return s ? [{ value: s.reconnects }] : [];
    },
  });
}

/** The registry with every mesos-dns metric family. */
export function serviceMetrics(src: ServiceMetricsSources): MetricsRegistry {
  const reg = new MetricsRegistry();
  processMetrics(reg);
  const seconds = (d: Date | null) => (d ? d.getTime() / 1000 : 0);
  const stats = src.poller;
  const snap = () => src.holder.current();

  // State updates (names kept from the first release).
  reg.counter("mesos_dns_state_reloads_total", "Successful state reloads.", () => stats().successes);
  reg.counter(
    "mesos_dns_state_reload_failures_total",
    "Failed state reloads (last good records kept).",
    () => stats().failures,
  );
  reg.add({
    name: "mesos_dns_state_reload_failures_by_cause_total",
    help:
      "Failed state reloads by cause (connect, tls, timeout, http-status, invalid-json, auth, build, ...).",
    type: "counter",
    samples: () =>
      Object.entries(stats().failuresByCause).map(([cause, value]) => ({ labels: { cause }, value })),
  });
  reg.gauge(
    "mesos_dns_state_consecutive_failures",
    "Failed reloads since the last success.",
    () => stats().consecutiveFailures,
  );
  reg.gauge(
    "mesos_dns_state_last_success_timestamp_seconds",
    "Unix time of the last good state.",
    () => seconds(stats().lastSuccessAt),
  );
  reg.gauge(
    "mesos_dns_state_last_failure_timestamp_seconds",
    "Unix time of the last failed reload.",
    () => seconds(stats().lastErrorAt),
  );
  reg.add({
    name: "mesos_dns_state_age_seconds",
    help: "Seconds since the last good state update (absent before the first).",
    type: "gauge",
    samples: () => {
      const age = src.freshness.ageSeconds();
      return age === undefined ? [] : [{ value: Math.round(age * 1000) / 1000 }];
    },
  });
  reg.counter(
    "mesos_dns_leader_changes_total",
    "Times the state came from another master than the previous good state.",
    () => stats().leaderChanges,
  );
  if (src.stream) addStreamMetrics(reg, src.stream);
  reg.gauge(
    "mesos_dns_ready",
    "1 while /ready answers 200 (a state loaded, not stale).",
    () => src.ready() ? 1 : 0,
  );

  // The served record set.
  reg.gauge("mesos_dns_soa_serial", "Serial of the published zone.", () => snap()?.serial ?? 0);
  reg.gauge(
    "mesos_dns_names",
    "Names with A records in the published set.",
    () => snap()?.records.a.size ?? 0,
  );
  reg.gauge(
    "mesos_dns_srv_names",
    "Names with SRV records in the published set.",
    () => snap()?.records.srv.size ?? 0,
  );
  const records = recordCounter();
  reg.add({
    name: "mesos_dns_records",
    help: "Records in the published set, by type.",
    type: "gauge",
    samples: () => {
      const c = records(snap());
      return [
        { labels: { type: "A" }, value: c.a },
        { labels: { type: "AAAA" }, value: c.aaaa },
        { labels: { type: "SRV" }, value: c.srv },
      ];
    },
  });

  addDnsFamilies(reg, src.dns ?? (() => undefined));
  return reg;
}

/** The samples of `fn(dns)`, none while no DNS server runs. */
function fromDns(dnsOf: () => DnsServer | undefined, fn: (dns: DnsServer) => Sample[]): () => Sample[] {
  return () => {
    const dns = dnsOf();
    return dns ? fn(dns) : [];
  };
}

function addDnsFamilies(reg: MetricsRegistry, dnsOf: () => DnsServer | undefined): void {
  reg.add({
    name: "mesos_dns_queries_total",
    help: "DNS queries answered, by protocol, query type and response code.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) =>
      dns.counters.queries().map((q) => ({
        labels: { proto: q.proto, qtype: q.qtype, rcode: q.rcode },
        value: q.value,
      }))),
  });
  reg.add({
    name: "mesos_dns_responses_total",
    help:
      "DNS responses by source: zone (the Mesos records), forward (an upstream), refused, error (made here).",
    type: "counter",
    samples: fromDns(
      dnsOf,
      (dns) => dns.counters.sources().map((s) => ({ labels: { source: s.source }, value: s.value })),
    ),
  });
  reg.add({
    name: "mesos_dns_request_duration_seconds",
    help: "Time to answer a DNS query (UDP fast path: per wake-up of its worker, an upper bound).",
    type: "histogram",
    samples: fromDns(dnsOf, (dns) => {
      const out: Sample[] = [];
      PROTOS.forEach((proto, i) => {
        const h = dns.counters.latency(i);
        out.push(
          ...histogramSamples({ bounds: LATENCY_BOUNDS, counts: h.counts, sum: h.sum, labels: { proto } }),
        );
      });
      return out;
    }),
  });
  reg.add({
    name: "mesos_dns_forward_requests_total",
    help: "Queries sent to each upstream resolver (every attempt).",
    type: "counter",
    samples: fromDns(
      dnsOf,
      (dns) => [...dns.upstreamStats()].map(([upstream, s]) => ({ labels: { upstream }, value: s.requests })),
    ),
  });
  reg.add({
    name: "mesos_dns_forward_failures_total",
    help: "Attempts to an upstream resolver that got no usable reply (timeout or error).",
    type: "counter",
    samples: fromDns(
      dnsOf,
      (dns) => [...dns.upstreamStats()].map(([upstream, s]) => ({ labels: { upstream }, value: s.failures })),
    ),
  });
  reg.add({
    name: "mesos_dns_rate_limited_total",
    help: "UDP responses over RateLimit: dropped, or slipped (sent truncated).",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const r = dns.counters.rateLimited();
      return [{ labels: { action: "dropped" }, value: r.dropped }, {
        labels: { action: "slipped" },
        value: r.slipped,
      }];
    }),
  });
  reg.add({
    name: "mesos_dns_udp_fast_path_datagrams_total",
    help: "Datagrams the UDP fast path received.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const udp = dns.udpStats();
      return udp ? [{ value: udp.batched }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_udp_fast_path_dropped_total",
    help: "Requests the UDP fast path dropped because the main thread had too many waiting.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const udp = dns.udpStats();
      return udp ? [{ value: udp.dropped }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_udp_fast_path_junk_total",
    help: "Datagrams the UDP fast path dropped at once as not requests (too short, or responses).",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const udp = dns.udpStats();
      return udp ? [{ value: udp.junk }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_udp_workers",
    help: "UDP fast path worker threads.",
    type: "gauge",
    samples: fromDns(dnsOf, (dns) => {
      const udp = dns.udpStats();
      return udp ? [{ value: udp.workers }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_forward_cache_hits_total",
    help: "Queries for outside names answered from the forward cache.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const c = dns.cacheStats();
      return c ? [{ value: c.hits }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_forward_cache_misses_total",
    help: "Queries for outside names forwarded because the cache had no answer.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const c = dns.cacheStats();
      return c ? [{ value: c.misses }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_forward_cache_entries",
    help: "Live entries in the forward cache.",
    type: "gauge",
    samples: fromDns(dnsOf, (dns) => {
      const c = dns.cacheStats();
      return c ? [{ value: c.entries }] : [];
    }),
  });
  reg.add({
    name: "mesos_dns_zone_transfers_total",
    help: "AXFR/IXFR requests by outcome: axfr, ixfr_incremental, ixfr_full (serial not in the journal), " +
      "ixfr_current, refused.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const t = dns.xfrStats;
      return [
        { labels: { kind: "axfr" }, value: t.axfr },
        { labels: { kind: "ixfr_incremental" }, value: t.ixfrIncremental },
        { labels: { kind: "ixfr_full" }, value: t.ixfrFull },
        { labels: { kind: "ixfr_current" }, value: t.ixfrCurrent },
        { labels: { kind: "refused" }, value: t.refused },
      ];
    }),
  });
  reg.add({
    name: "mesos_dns_notify_total",
    help: "DNS NOTIFY to NotifySecondaries: datagrams sent (retries included), acknowledged, given up.",
    type: "counter",
    samples: fromDns(dnsOf, (dns) => {
      const n = dns.notifyStats;
      return n
        ? [
          { labels: { result: "sent" }, value: n.sent },
          { labels: { result: "acked" }, value: n.acked },
          { labels: { result: "failed" }, value: n.failed },
        ]
        : [];
    }),
  });
}
