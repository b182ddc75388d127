/**
 * The running service (owns: wiring the parts together in the order of the data flow —
 * leader source → state source (poll, or the operator-API event stream) → record generation
 * → published snapshot → DNS and HTTP — and shutting all of it down). Nothing here does
 * protocol work itself.
 */
import type { Config } from "./config/types.ts";
import { type ConfigKey, ConfigReloader, type LoadedConfig, type ReloadOutcome } from "./config/reload.ts";
import { logger } from "./log.ts";
import { type AuthorizationProvider, createStateFetcher, type StateFetcher } from "./mesos/fetch_state.ts";
import { createIamAuthorization } from "./mesos/iam_auth.ts";
import {
  EventStream,
  initialStreamStats,
  mergeDeltas,
  type StateSourceMode,
  type StreamStats,
} from "./mesos/event_stream.ts";
import { type LeaderSource, StaticLeaderSource, TeeLeaderSource } from "./mesos/leader.ts";
import { resolveHosts } from "./mesos/resolve_hosts.ts";
import { type PushedUpdate, type ReleaseStage, StatePoller } from "./mesos/state_poller.ts";
import { isEmptyDelta, type StateDelta } from "./mesos/state_delta.ts";
import type { MesosState } from "./mesos/state_types.ts";
import { ZkLeaderSource } from "./mesos/zk_leader_source.ts";
import { hostsToResolve, nameServerIPs } from "./records/generate.ts";
import { deltaHostsToResolve, RecordStore, type StoreUpdate } from "./records/store.ts";
import { runSliced } from "./work_slices.ts";
import { type Snapshot, SnapshotHolder } from "./records/snapshot.ts";
import { type DnsServer, startDnsServer } from "./dns/server.ts";
import { PACE_AT_ONCE_MS, PACE_SPACING, WorkPacer } from "./work_pacer.ts";
import { type HttpServer, startHttpServer } from "./http/server.ts";
import { readyMaxAge, StateFreshness } from "./mesos/freshness.ts";
import { DnsCounterSlots } from "./metrics/dns_counters.ts";
import type { MetricsRegistry } from "./metrics/registry.ts";
import { serviceMetrics } from "./metrics/service.ts";
import { type AppStatus, RecentErrors, StatusSections } from "./status.ts";
import { VERSION } from "./version.ts";

const log = logger("app");

export interface App {
  readonly holder: SnapshotHolder;
  /**
   * The records, kept by whole states (the poller) or deltas: a state source publishes
   * `store.snapshot(...)` / `store.delta(...)` results with `holder.publish(records, now,
   * undefined, changes)`.
   */
  readonly store: RecordStore;
  readonly poller: StatePoller;
  /** Where the masters lists come from (a `ZkLeaderSource` when `Zk` is set). */
  readonly leaderSource: LeaderSource;
  /** The servers running now (a configuration reload may replace them). */
  readonly dns?: DnsServer;
  readonly http?: HttpServer;
  /** The running configuration. */
  readonly config: Config;
  /** Configuration reloads: hooks, counters. */
  readonly reloader: ConfigReloader;
  /** Loads the configuration again (`loadConfig`) and applies what changed (SIGHUP). Never rejects. */
  reloadConfig(): Promise<ReloadOutcome>;
  /** What the status page (`GET /`) shows. */
  status(): AppStatus;
  /** Where parts add their own sections to the status page. */
  readonly statusSections: StatusSections;
  /**
   * When the records were last known current: the poller touches it after each published
   * state; an event stream should touch it on each event or heartbeat (`/ready`, metrics).
   */
  readonly freshness: StateFreshness;
  /** The `/metrics` families; parts started later add theirs here. */
  readonly metrics: MetricsRegistry;
  /** The operator-API event stream (null with `StateSource` = `poll`). */
  readonly stream: EventStream | null;
  /** Where the records come from now, and the stream's counters. */
  stateSource(): StreamStats;
  close(): Promise<void>;
}

/** The event stream's metric families beside `mesos_dns_stream_reconnects_total` (no samples without a stream). */
function streamMetrics(reg: MetricsRegistry, stats: () => StreamStats | undefined): void {
  const family = (name: string, help: string, type: "counter" | "gauge", read: (s: StreamStats) => number) =>
    reg.add({
      name,
      help,
      type,
      samples: () => {
        const s = stats();
        return s ? [{ value: read(s) }] : [];
      },
    });
  family(
    "mesos_dns_stream_connected",
    "1 while subscribed to the leading master's operator-API event stream.",
    "gauge",
    (s) => s.connected ? 1 : 0,
  );
  family(
    "mesos_dns_stream_snapshots_total",
    "SUBSCRIBED snapshots received (the first and one per resubscription).",
    "counter",
    (s) => s.snapshots,
  );
  family(
    "mesos_dns_stream_events_total",
    "Stream events that changed the cluster.",
    "counter",
    (s) => s.events,
  );
  family(
    "mesos_dns_stream_fallbacks_total",
    "Times StateSource auto fell back to polling (a master without the operator API).",
    "counter",
    (s) => s.fallbacks,
  );
}

/** The status page's line on where the state comes from (`StateSource` and what runs now). */
function describeStateSource(s: StreamStats, c: Config): { kind: string; detail: string } {
  const leader = c.Zk ? `leader from ZooKeeper ${c.Zk}` : "leader from the masters list";
  const poll = `the leader's /master/state every ${c.RefreshSeconds} s`;
  const counts = `${s.snapshots} snapshot(s), ${s.events} events, ${s.reconnects} reconnect(s)`;
  if (s.mode === "poll") return { kind: "poll", detail: `${poll}, ${leader}` };
  if (s.connected) {
    return {
      kind: "stream",
      detail: `operator API event stream of ${s.leader} (StateSource ${s.mode}; ${counts}), ${leader}`,
    };
  }
  const why = s.lastError ? ` (${s.lastError})` : "";
  return s.mode === "auto"
    ? {
      kind: "poll",
      detail: `${poll} while no event stream is open${why}; StateSource auto, ${counts}, ${leader}`,
    }
    : { kind: "stream", detail: `not subscribed yet${why}; StateSource stream, ${counts}, ${leader}` };
}

export interface AppOptions {
  /** Called once on an unrecoverable error (ZooKeeper detection timeout); the caller exits 1. */
  onFatal?: (error: Error) => void;
  /** Interface addresses for the name-server record (default: `Deno.networkInterfaces()`). */
  interfaceIPs?: () => string[];
  /** Host name resolution for the generator (default: `/etc/hosts`, then DNS). */
  resolveHosts?: (hosts: readonly string[]) => Promise<Map<string, string[]>>;
  /** Loads the configuration again for a reload (main.ts: the same command line as at start). */
  loadConfig?: () => Promise<LoadedConfig>;
  /** Largest state body accepted (default `DEFAULT_MAX_BODY_BYTES` of fetch_state.ts). */
  maxStateBodyBytes?: number;
}

/**
 * Quick retries after a failed reload (then only every `RefreshSeconds`): a master that has
 * just been elected may not serve its state yet when ZooKeeper already names it.
 */
export const RELOAD_RETRY_DELAYS_MS: readonly number[] = [100, 250, 500, 1000, 2000];

function localInterfaceIPs(): string[] {
  try {
    return Deno.networkInterfaces().map((i) => i.address);
  } catch (err) {
    log.warn("cannot list network interfaces: {err}", { err });
    return [];
  }
}

/** Heap growth since the last reload that makes the next one start with a collection. */
const START_GC_GROWTH_BYTES = 16 * 1024 * 1024;

/**
 * The state poller's `releaseMemory` (issue #6): garbage collections where a reload is
 * about to allocate, or has just dropped, most of its memory, so that the heap never holds
 * much more than the data of one reload beside the served one. `starting`: a full
 * collection, only if the heap has grown by `START_GC_GROWTH_BYTES` since the last reload
 * (e.g. large HTTP answers were written meanwhile); `fetched` (the state's text) and
 * `replaced` (the state document and the previous records): a full collection, so that the
 * records and then the DNS answers are built in the memory it frees; `published` (the
 * previous DNS answers): V8's thorough collection, which also compacts the heap and gives
 * free pages back to the system. Only when the runtime exposes `gc` (`--v8-flags=--expose-gc`,
 * as the deno.json tasks run the service); otherwise it does nothing.
 */
export function memoryReleaser(): (stage: ReleaseStage) => void {
  let heapAfterReload = 0;
  return (stage) => {
    const gc = (globalThis as { gc?: (options?: Record<string, string>) => void }).gc;
    if (typeof gc !== "function") return;
    if (stage === "starting" && Deno.memoryUsage().heapUsed - heapAfterReload < START_GC_GROWTH_BYTES) return;
    const t0 = performance.now();
    if (stage !== "published") {
      gc();
    } else {
      try {
        gc({ type: "major", flavor: "last-resort" });
      } catch {
        gc(); // a V8 without that option
      }
      heapAfterReload = Deno.memoryUsage().heapUsed;
    }
    log.debug("garbage collection ({stage}): {ms} ms", { stage, ms: Math.round(performance.now() - t0) });
  };
}

/**
 * `collect` (see `memoryReleaser`), with the `published` collection put off until DNS answers
 * from the newest snapshot: it frees the previous DNS answers, which are in use until then
 * (a large zone is built in slices after its publish), and would stretch that build. One
 * collection waits at a time; it runs a turn after the new answers are installed.
 */
export function collectionsAfterServed(
  collect: (stage: ReleaseStage) => void,
  server: () => Pick<DnsServer, "servedSnapshot" | "onServed"> | undefined,
  current: () => Snapshot | undefined,
): (stage: ReleaseStage) => void {
  /** Stops the collection that waits (a newer publish, or another server, takes its place). */
  let waiting: (() => void) | undefined;
  return (stage) => {
    const dns = server();
    if (stage !== "published" || !dns || dns.servedSnapshot() === current()) {
      collect(stage);
      return;
    }
    waiting?.();
    const off = dns.onServed(() => {
      if (dns.servedSnapshot() !== current()) return;
      off();
      waiting = undefined;
      // A turn later: queries that came in while the answers were built go first.
      setTimeout(() => collect("published"), 0);
    });
    waiting = off;
  };
}

function leaderSourceFor(config: Config, onFatal: (e: Error) => void): LeaderSource {
  if (config.Zk) {
    return new ZkLeaderSource({
      zk: config.Zk,
      masters: config.Masters ?? [],
      detectionTimeoutMs: config.ZkDetectionTimeout * 1000,
      onFatal,
    });
  }
  return new StaticLeaderSource(config.Masters ?? []);
}

/** A slice of building the records of a whole state (then the event loop runs). */
const RECORDS_SLICE_MS = 10;

/** The record store for a config (the name server's addresses are read at each whole state). */
export function recordStore(config: Config, interfaceIPs: () => string[]): RecordStore {
  return new RecordStore({
    options: {
      domain: config.Domain,
      enforceRFC952: config.EnforceRFC952,
      ipSources: config.IPSources,
      soaMname: config.SOAMname,
      healthAware: config.HealthAware,
    },
    nameServerIPs: () => nameServerIPs(config.Listener, interfaceIPs()),
  });
}

/**
 * Builds the records for a whole state into `store`: resolves the host names it mentions,
 * then `store.snapshot` (the records, and the names changed since the previous state; a state
 * like the one held is applied as its delta), in slices of `RECORDS_SLICE_MS`: at 100,000
 * tasks that is seconds of work, during which TCP, HTTP and the rest of the main thread keep
 * going.
 */
export function recordBuilder(
  storeOf: () => RecordStore,
  resolve: (hosts: readonly string[]) => Promise<Map<string, string[]>> = resolveHosts,
): (state: MesosState, masters: readonly string[]) => Promise<StoreUpdate> {
  return async (state, masters) => {
    const hosts = hostsToResolve(state, masters);
    const resolved = hosts.length > 0 ? await resolve(hosts) : new Map<string, string[]>();
    const update = await runSliced(storeOf().snapshotSteps(state, masters, resolved), RECORDS_SLICE_MS);
    if (update.asDelta !== undefined) {
      log.debug("whole state applied as its delta: {n} tasks, agents or frameworks differed", {
        n: update.asDelta,
      });
    }
    return update;
  };
}

/**
 * The keys each part applies on a configuration reload (see src/config/reload.ts). A key
 * in none of these lists needs a restart. A new key goes into the list of the part that
 * reads it (or into a new hook in `configHooks`).
 */
export const RELOADABLE_KEYS = {
  /** A new DNS server (bound before the old one closes when it can be). */
  dnsListener: [
    "Listener",
    "Port",
    "DnsOn",
    "DNSUDPEngine",
    "AXFRAllow",
    "NotifySecondaries",
    "DNSUDPWorkers",
    "UDPReceiveBuffer",
    "ForwardCacheSize",
    "RateLimit",
    "RateLimitSlip",
  ],
  /** In place: forwarding and the precomputed answers' settings. */
  dnsAnswers: [
    "TTL",
    "SRVRecordDefaultWeight",
    "SOARefresh",
    "SOARetry",
    "SOAExpire",
    "SOAMinttl",
    "SOAMname",
    "SOARname",
    "RecurseOn",
    "SetTruncateBit",
    "Domain",
    "ExternalOn",
    "Resolvers",
    "ZoneResolvers",
    "Timeout",
    "ForwardAllow",
    "PTROn",
  ],
  /** A new HTTP server. */
  httpListener: ["HTTPListener", "HttpPort", "HttpOn"],
  /** In place: what later requests see (`/v1/config` shows the running configuration). */
  httpApi: ["EnumerationOn", "File", "ReadyMaxAgeSeconds"],
  /** In place: the reload timer and warnings. */
  poller: ["RefreshSeconds", "RecordsDropWarnPercent"],
  /** The event stream is closed and, unless `poll`, opened again for the new mode. */
  stateSource: ["StateSource"],
  /** The records are generated again from the masters' state at once. */
  records: ["Domain", "EnforceRFC952", "IPSources", "SOAMname", "Listener", "HealthAware"],
  /** A new state fetcher (HTTPS, authentication, timeout), then a state reload. */
  stateFetch: [
    "MesosHTTPSOn",
    "CACertFile",
    "CertFile",
    "KeyFile",
    "MesosAuthentication",
    "MesosCredentials",
    "IAMConfigFile",
    "StateTimeoutSeconds",
  ],
  /** A new leader source (static list or ZooKeeper); its first list reloads the state. */
  leader: ["Zk", "Masters", "ZkDetectionTimeout"],
} as const satisfies Record<string, readonly ConfigKey[]>;

/**
 * Starts DNS and HTTP (listening at once; SERVFAIL / 503 until the first state loads),
 * then leader detection and the state poller.
 */
export async function startApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const holder = new SnapshotHolder();
  const onFatal = opts.onFatal ?? ((e: Error) => log.error("{err}", { err: e }));
  const interfaceIPs = opts.interfaceIPs ?? localInterfaceIPs;
  const reloader = new ConfigReloader(
    config,
    opts.loadConfig ??
      (() => Promise.reject(new Error("this process has no configuration source to reload"))),
  );
  const freshness = new StateFreshness();
  const ready = () => {
    const c = reloader.current;
    // Ready once DNS answers (a large first zone is built in slices after its publish).
    return (dns ? dns.servedSnapshot() : holder.current()) !== undefined &&
      !freshness.stale(readyMaxAge(c.ReadyMaxAgeSeconds ?? -1, c.RefreshSeconds));
  };
  // One set of DNS counters for the life of the process, whichever DNS server runs.
  const dnsCounters = new DnsCounterSlots();
  const startedAt = new Date();
  const stateErrors = new RecentErrors();
  const statusSections = new StatusSections();
  const status = (): AppStatus => {
    const c = reloader.current;
    const masters = poller?.masters() ?? [];
    const stats = poller?.stats();
    const reloads = reloader.stats();
    return {
      version: VERSION,
      startedAt,
      leader: masters[0] || null,
      masters,
      stateSource: describeStateSource(stream?.stats() ?? initialStreamStats("poll"), c),
      ready: ready(),
      lastFrom: stats?.lastFrom ?? null,
      stateReloads: { successes: stats?.successes ?? 0, failures: stats?.failures ?? 0 },
      stateErrors: stateErrors.list(),
      configReloads: { reloads: reloads.reloads, failures: reloads.failures, last: reloads.lastReloadAt },
      configErrors: reloads.recentErrors,
      enumeration: c.EnumerationOn,
      sections: statusSections.collect(),
    };
  };
  let store = recordStore(config, interfaceIPs);

  let dns: DnsServer | undefined;
  let http: HttpServer | undefined;
  let fetcher: StateFetcher | undefined;
  let poller: StatePoller | undefined;
  let leaderSource: LeaderSource | undefined;
  let stream: EventStream | null = null;
  // Stream deltas are published at once, unless the last one was slow to build: then the events
  // of a pause as long are merged and published together (the zone's updates are paced alike).
  const deltaPacer = new WorkPacer(PACE_AT_ONCE_MS, PACE_SPACING);
  const closeAll = async () => {
    deltaPacer.close();
    await stream?.close();
    await poller?.close();
    await fetcher?.close();
    await dns?.close();
    await http?.close();
  };
  const newFetcher = async (c: Config) => {
    let authorization: AuthorizationProvider | undefined;
    if (c.MesosAuthentication === "iam") authorization = await createIamAuthorization(c.IAMConfigFile);
    return await createStateFetcher(c, { authorization, maxBodyBytes: opts.maxStateBodyBytes });
  };
  const startDns = (c: Config) =>
    startDnsServer({ hostname: c.Listener, port: c.Port, config: c, holder, counters: dnsCounters })
      .catch((e) => Promise.reject(listenError("DNS", c.Listener, c.Port, e)));
  const metrics = serviceMetrics({
    holder,
    poller: () => poller!.stats(),
    freshness,
    ready,
    dns: () => dns,
    stream: () => stream?.stats(),
  });
  streamMetrics(metrics, () => stream?.stats());
  metrics.counter(
    "mesos_dns_config_reloads_total",
    "Configuration reloads asked for (SIGHUP), applied or not.",
    () => reloader.stats().reloads,
  );
  metrics.counter(
    "mesos_dns_config_reload_failures_total",
    "Configuration reloads rejected (the running configuration kept) or that a part could not apply.",
    () => reloader.stats().failures,
  );
  const startHttp = (c: Config) =>
    startHttpServer({
      hostname: c.HTTPListener,
      port: c.HttpPort,
      config: c,
      // What DNS serves (a large zone is built in slices after a publish), so both agree.
      holder: { current: () => (dns ? dns.servedSnapshot() : holder.current()) },
      metrics: () => metrics.render(),
      status,
      ready,
    }).catch((e) => Promise.reject(listenError("HTTP", c.HTTPListener, c.HttpPort, e)));
  /**
   * Starts the event stream for `mode` (none for `poll`) and sets the poller to match: the
   * stream feeds the records while it is live; `auto` polls whenever it is not (a master
   * without the operator API, or between a broken stream and its resubscription).
   */
  // What the event stream has handed over and is not published yet: a whole state (the
  // snapshot of a subscription, read from the stream's model when built), or the deltas of
  // the events since, merged.
  let pendingSnapshot: (() => MesosState) | null = null;
  let pendingDelta: StateDelta | null = null;
  let modelState: (() => MesosState) | null = null;
  const resolveFor = opts.resolveHosts ?? resolveHosts;
  // Collections around whole states (issue #6): the poller's reloads and the stream's snapshots.
  const releaseMemory = collectionsAfterServed(memoryReleaser(), () => dns, () => holder.current());
  const flushStream: PushedUpdate = async (build, masters) => {
    const whole = pendingSnapshot;
    const delta = pendingDelta;
    pendingSnapshot = null;
    pendingDelta = null;
    if (whole) {
      // The snapshot's text and parsed event are garbage now: collected before the records are built.
      releaseMemory("fetched");
      const built = await build(whole(), masters);
      return "records" in built ? { ...built, whole: true } : { records: built, whole: true };
    }
    if (!delta || isEmptyDelta(delta)) return undefined;
    const hosts = deltaHostsToResolve(delta);
    const resolved = hosts.length > 0 ? await resolveFor(hosts) : undefined;
    const t0 = performance.now();
    try {
      const update = store.delta(delta, resolved);
      deltaPacer.took(performance.now() - t0);
      return update;
    } catch (err) {
      // A store without records yet (e.g. new rules after a configuration reload): whole state.
      if (!modelState) throw err;
      return await build(modelState(), masters);
    }
  };
  const startStream = (mode: StateSourceMode, pl: StatePoller) => {
    if (mode === "poll") {
      pl.pause(false);
      return;
    }
    pl.pause(true);
    stream = new EventStream({
      mode,
      // Getters: a configuration reload replaces the fetcher (TLS, credentials, timeout).
      get https() {
        return fetcher!.https;
      },
      get tls() {
        return fetcher!.tls;
      },
      authorization: (signal) => fetcher!.authorization(signal),
      get connectTimeoutMs() {
        return reloader.current.StateTimeoutSeconds * 1000;
      },
      // Each event or heartbeat says the records match the master (`/ready`, state age).
      onActivity: () => freshness.touch(),
      onSnapshot: (state, from) => {
        pendingSnapshot = modelState = state;
        pendingDelta = null;
        void pl.push(flushStream, from);
      },
      // Deltas go to the record store, which changes only the names they touch; those that
      // touch no record (a launch's staging and starting) wait for the next one.
      onDelta: (delta, state, from, affects) => {
        modelState = state;
        // A snapshot not built yet is read from the model when built: it has this delta.
        if (!pendingSnapshot) pendingDelta = pendingDelta ? mergeDeltas([pendingDelta, delta]) : delta;
        if (affects) deltaPacer.run(() => void pl.push(flushStream, from));
      },
      onLive: (live) => pl.pause(live || mode === "stream"),
      onDown: () => {
        if (mode !== "auto") return;
        pl.pause(false);
        // Nothing served yet: poll now rather than at the next refresh.
        if (!holder.current() && !pl.stats().reloading) pl.reloadNow().catch(() => {});
      },
      onNoApi: () => {
        pl.pause(false);
        pl.reloadNow().catch(() => {});
      },
    });
    const masters = pl.masters();
    if (masters.length > 0) stream.setMasters(masters);
  };
  try {
    if (config.DnsOn) dns = await startDns(config);
    fetcher = await newFetcher(config);
    leaderSource = leaderSourceFor(config, onFatal);
    const mode = config.StateSource ?? "auto";
    poller = new StatePoller({
      // The event stream follows the leader too (whatever StateSource is now: it may change).
      leaderSource: new TeeLeaderSource(leaderSource, (masters) => stream?.setMasters(masters)),
      fetch: (masters, signal) => fetcher!.fetch(masters, signal),
      build: recordBuilder(() => store, opts.resolveHosts),
      holder,
      refreshSeconds: config.RefreshSeconds,
      dropWarnPercent: config.RecordsDropWarnPercent,
      retryDelaysMs: RELOAD_RETRY_DELAYS_MS.filter((ms) => ms < config.RefreshSeconds * 1000),
      releaseMemory,
      onError: (err) => stateErrors.add(poller?.stats().lastError ?? err.message),
      onSuccess: (snap, from) => {
        freshness.touch(snap.loadedAt.getTime());
        const r = snap.records;
        log.info("loaded state from {from}: {a} A, {aaaa} AAAA, {srv} SRV names (serial {serial})", {
          from,
          a: r.a.size,
          aaaa: r.aaaa.size,
          srv: r.srv.size,
          serial: snap.serial,
        });
      },
      onPush: (snap, from) => {
        const r = snap.records;
        log.debug("event stream from {from}: {a} A, {aaaa} AAAA, {srv} SRV names (serial {serial})", {
          from,
          a: r.a.size,
          aaaa: r.aaaa.size,
          srv: r.srv.size,
          serial: snap.serial,
        });
      },
    });
    startStream(mode, poller);
    if (config.HttpOn) http = await startHttp(config);
    poller.start();
  } catch (err) {
    await closeAll();
    throw err;
  }
  const p = poller;

  // Configuration reload (SIGHUP): each part applies its keys. Listeners first, so that the
  // in-place hooks below reach the servers that run from now on.
  const K = RELOADABLE_KEYS;
  reloader.hook({
    name: "DNS listener",
    keys: K.dnsListener,
    apply: (next, _changed, prev) =>
      replaceServer(
        dns,
        next.DnsOn,
        next.Port !== 0 && next.Port === prev.Port,
        () => startDns(next),
        () => startDns(prev),
        (s) => dns = s,
      ),
  });
  reloader.hook({ name: "DNS answers", keys: K.dnsAnswers, apply: (next) => dns?.applyConfig(next) });
  reloader.hook({
    name: "HTTP listener",
    keys: K.httpListener,
    apply: (next, _changed, prev) =>
      replaceServer(
        http,
        next.HttpOn,
        next.HttpPort !== 0 && next.HttpPort === prev.HttpPort,
        () => startHttp(next),
        () => startHttp(prev),
        (s) => http = s,
      ),
  });
  reloader.hook({
    name: "HTTP API",
    keys: [
      ...K.httpApi,
      ...K.dnsListener,
      ...K.httpListener,
      ...K.dnsAnswers,
      ...K.poller,
      ...K.records,
      ...K.stateFetch,
      ...K.leader,
    ],
    apply: (next) => http?.applyConfig(next),
  });
  reloader.hook({
    name: "state source",
    keys: K.stateSource,
    apply: async (next) => {
      const old = stream;
      stream = null;
      await old?.close();
      startStream(next.StateSource, p);
      if (next.StateSource === "poll") p.reloadNow().catch(() => {});
    },
  });
  reloader.hook({
    name: "state poller",
    keys: K.poller,
    apply: (next) =>
      p.applyConfig({
        refreshSeconds: next.RefreshSeconds,
        dropWarnPercent: next.RecordsDropWarnPercent,
        retryDelaysMs: RELOAD_RETRY_DELAYS_MS.filter((ms) => ms < next.RefreshSeconds * 1000),
      }),
  });
  reloader.hook({
    name: "state fetch",
    keys: K.stateFetch,
    apply: async (next) => {
      const old = fetcher!;
      fetcher = await newFetcher(next);
      // The old one may be fetching: closed once a reload that starts now has finished.
      p.reloadNow().finally(() => old.close());
    },
  });
  reloader.hook({
    name: "leader detection",
    keys: K.leader,
    apply: async (next) => {
      // Detection timeouts apply at start-up only: a reload never makes the process exit.
      leaderSource = leaderSourceFor({ ...next, ZkDetectionTimeout: 0 }, onFatal);
      await p.setLeaderSource(new TeeLeaderSource(leaderSource, (masters) => stream?.setMasters(masters)));
    },
  });
  reloader.hook({
    name: "records",
    keys: K.records,
    apply: (next, changed) => {
      // Records under the new rules: a new store, filled by the next whole state (the event
      // stream's model when it is live, else a poll).
      store = recordStore(next, interfaceIPs);
      if (stream?.live) {
        stream.resync();
        return;
      }
      // A new leader source or fetcher reloads by itself.
      if (![...K.leader, ...K.stateFetch].some((k) => changed.has(k))) p.reloadNow().catch(() => {});
    },
  });

  statusSections.add(() => {
    const c = reloader.current;
    return {
      title: "Listeners",
      rows: [
        [
          "DNS",
          dns
            ? `${c.Listener}:${dns.port}, UDP and TCP (UDP engine: ${dns.udpEngine})`
            : "off (dnson: false)",
        ],
        ["HTTP", http ? `${c.HTTPListener}:${http.port}` : "off"],
      ],
    };
  });

  return {
    holder,
    get store() {
      return store;
    },
    poller: p,
    get leaderSource() {
      return leaderSource!;
    },
    get dns() {
      return dns;
    },
    get http() {
      return http;
    },
    get config() {
      return reloader.current;
    },
    reloader,
    reloadConfig: () => reloader.reload(),
    status,
    statusSections,
    freshness,
    metrics,
    get stream() {
      return stream;
    },
    stateSource: () => stream ? stream.stats() : initialStreamStats("poll"),
    close: closeAll,
  };
}

/**
 * Says which listener could not bind where, keeping the error's class (`AddrInUse`...);
 * a port below 1024 refused for lack of privilege names the capability it needs.
 */
export function listenError(what: string, host: string, port: number, e: unknown): unknown {
  if (!(e instanceof Error) || e.message.startsWith(`${what}: cannot listen`)) return e;
  const hint = e instanceof Deno.errors.PermissionDenied && port > 0 && port < 1024
    ? `; ports below 1024 need CAP_NET_BIND_SERVICE (see README, "Install") or use a higher port`
    : "";
  e.message = `${what}: cannot listen on ${host}:${port}: ${e.message}${hint}`;
  return e;
}

/**
 * Moves a listener to a new address: the new server is started first and the old one
 * closed after, so nothing is unanswered in between; when the new one cannot bind because
 * the old one holds the same port (another address or UDP engine), the old one is closed
 * first, and started again if the new one still fails (then the error is thrown).
 * `on` false: the server is stopped.
 */
async function replaceServer<S extends { close(): Promise<void> }>(
  old: S | undefined,
  on: boolean,
  samePort: boolean,
  start: () => Promise<S>,
  restartOld: () => Promise<S>,
  install: (server: S | undefined) => void,
): Promise<void> {
  if (!on) {
    install(undefined);
    await old?.close();
    return;
  }
  try {
    const fresh = await start();
    install(fresh);
    await old?.close();
    return;
  } catch (err) {
    if (!old || !samePort || !(err instanceof Deno.errors.AddrInUse)) throw err;
  }
  await old.close();
  install(undefined);
  try {
    install(await start());
  } catch (err) {
    try {
      install(await restartOld());
    } catch (again) {
      log.error("the old listener could not be started again either: {again}", { again });
    }
    throw err;
  }
}
