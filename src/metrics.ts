/**
 * Prometheus text for `/metrics` (owns: the metric names and their rendering from the
 * poller's counters and the current snapshot). Rendered on request, never on the DNS path.
 */
import type { ForwardCacheStats } from "./dns/forward_cache.ts";
import type { FfiUdpStats } from "./dns/udp_ffi.ts";
import type { PollerStats } from "./mesos/state_poller.ts";
import type { SnapshotHolder } from "./records/snapshot.ts";
import type { XfrStats } from "./dns/xfr.ts";
import type { NotifyStats } from "./dns/notify.ts";

function line(name: string, help: string, type: "counter" | "gauge", value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

/** One counter with a label per series. */
function labelled(name: string, help: string, label: string, series: [string, number][]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n` +
    series.map(([v, n]) => `${name}{${label}="${v}"} ${n}\n`).join("");
}

/** Zone transfer and NOTIFY counters. */
export interface XfrMetrics {
  transfers: XfrStats;
  notify?: NotifyStats;
}

/**
 * Renders the metrics of the state poller, the published record set and, when the UDP
 * fast path runs, its counters, and the forward cache's when there is one.
 */
export function renderMetrics(
  holder: SnapshotHolder,
  stats: PollerStats,
  udp?: FfiUdpStats,
  xfr?: XfrMetrics,
  cache?: ForwardCacheStats,
): string {
  const snap = holder.current();
  const seconds = (d: Date | null) => (d ? d.getTime() / 1000 : 0);
  return [
    line("mesos_dns_state_reloads_total", "Successful state reloads.", "counter", stats.successes),
    line(
      "mesos_dns_state_reload_failures_total",
      "Failed state reloads (last good records kept).",
      "counter",
      stats.failures,
    ),
    line(
      "mesos_dns_state_consecutive_failures",
      "Failed reloads since the last success.",
      "gauge",
      stats.consecutiveFailures,
    ),
    line(
      "mesos_dns_state_last_success_timestamp_seconds",
      "Unix time of the last good state.",
      "gauge",
      seconds(stats.lastSuccessAt),
    ),
    line(
      "mesos_dns_state_last_failure_timestamp_seconds",
      "Unix time of the last failed reload.",
      "gauge",
      seconds(stats.lastErrorAt),
    ),
    line("mesos_dns_ready", "1 once a state has loaded.", "gauge", snap ? 1 : 0),
    line("mesos_dns_soa_serial", "Serial of the published zone.", "gauge", snap?.serial ?? 0),
    line("mesos_dns_names", "Names with A records in the published set.", "gauge", snap?.records.a.size ?? 0),
    line(
      "mesos_dns_srv_names",
      "Names with SRV records in the published set.",
      "gauge",
      snap?.records.srv.size ?? 0,
    ),
    ...(udp
      ? [
        line(
          "mesos_dns_udp_fast_path_datagrams_total",
          "Datagrams the UDP fast path received.",
          "counter",
          udp.batched,
        ),
        line(
          "mesos_dns_udp_fast_path_dropped_total",
          "Requests the UDP fast path dropped because the main thread had too many waiting.",
          "counter",
          udp.dropped,
        ),
        line(
          "mesos_dns_udp_fast_path_junk_total",
          "Datagrams the UDP fast path dropped at once as not requests (too short, or responses).",
          "counter",
          udp.junk,
        ),
        line("mesos_dns_udp_workers", "UDP fast path worker threads.", "gauge", udp.workers),
      ]
      : []),
    ...(cache
      ? [
        line(
          "mesos_dns_forward_cache_hits_total",
          "Queries for outside names answered from the forward cache.",
          "counter",
          cache.hits,
        ),
        line(
          "mesos_dns_forward_cache_misses_total",
          "Queries for outside names forwarded because the cache had no answer.",
          "counter",
          cache.misses,
        ),
        line("mesos_dns_forward_cache_entries", "Live entries in the forward cache.", "gauge", cache.entries),
      ]
      : []),
    ...(xfr
      ? [
        labelled(
          "mesos_dns_zone_transfers_total",
          "AXFR/IXFR requests by outcome: axfr, ixfr_incremental, ixfr_full (serial not in the journal), ixfr_current, refused.",
          "kind",
          [
            ["axfr", xfr.transfers.axfr],
            ["ixfr_incremental", xfr.transfers.ixfrIncremental],
            ["ixfr_full", xfr.transfers.ixfrFull],
            ["ixfr_current", xfr.transfers.ixfrCurrent],
            ["refused", xfr.transfers.refused],
          ],
        ),
      ]
      : []),
    ...(xfr?.notify
      ? [
        labelled(
          "mesos_dns_notify_total",
          "DNS NOTIFY to NotifySecondaries: datagrams sent (retries included), acknowledged, given up.",
          "result",
          [["sent", xfr.notify.sent], ["acked", xfr.notify.acked], ["failed", xfr.notify.failed]],
        ),
      ]
      : []),
  ].join("");
}
