/**
 * The running service (owns: wiring the parts together in the order of the data flow —
 * leader source → state fetch → record generation → published snapshot → DNS and HTTP —
 * and shutting all of it down). Nothing here does protocol work itself.
 */
import type { Config } from "./config/types.ts";
import { logger } from "./log.ts";
import { type AuthorizationProvider, createStateFetcher, type StateFetcher } from "./mesos/fetch_state.ts";
import { createIamAuthorization } from "./mesos/iam_auth.ts";
import { type LeaderSource, StaticLeaderSource } from "./mesos/leader.ts";
import { resolveHosts } from "./mesos/resolve_hosts.ts";
import { type ReleaseStage, StatePoller } from "./mesos/state_poller.ts";
import type { MesosState } from "./mesos/state_types.ts";
import { ZkLeaderSource } from "./mesos/zk_leader_source.ts";
import { generateRecords, hostsToResolve, nameServerIPs } from "./records/generate.ts";
import type { RecordSet } from "./records/record_set.ts";
import { SnapshotHolder } from "./records/snapshot.ts";
import { type DnsServer, startDnsServer } from "./dns/server.ts";
import { type HttpServer, startHttpServer } from "./http/server.ts";
import { renderMetrics } from "./metrics.ts";

const log = logger("app");

export interface App {
  readonly holder: SnapshotHolder;
  readonly poller: StatePoller;
  /** Where the masters lists come from (a `ZkLeaderSource` when `Zk` is set). */
  readonly leaderSource: LeaderSource;
  readonly dns?: DnsServer;
  readonly http?: HttpServer;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Called once on an unrecoverable error (ZooKeeper detection timeout); the caller exits 1. */
  onFatal?: (error: Error) => void;
  /** Interface addresses for the name-server record (default: `Deno.networkInterfaces()`). */
  interfaceIPs?: () => string[];
  /** Host name resolution for the generator (default: `/etc/hosts`, then DNS). */
  resolveHosts?: (hosts: readonly string[]) => Promise<Map<string, string[]>>;
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

/** Builds the record set for a state: resolves the host names it mentions, then generates. */
export function recordBuilder(
  config: Config,
  interfaceIPs: () => string[],
  resolve: (hosts: readonly string[]) => Promise<Map<string, string[]>> = resolveHosts,
): (state: MesosState, masters: readonly string[]) => Promise<RecordSet> {
  return async (state, masters) => {
    const hosts = hostsToResolve(state, masters);
    const resolved = hosts.length > 0 ? await resolve(hosts) : new Map<string, string[]>();
    return generateRecords({
      state,
      masters,
      options: {
        domain: config.Domain,
        enforceRFC952: config.EnforceRFC952,
        ipSources: config.IPSources,
        soaMname: config.SOAMname,
        healthAware: config.HealthAware,
      },
      nameServerIPs: nameServerIPs(config.Listener, interfaceIPs()),
      resolved,
    });
  };
}

/**
 * Starts DNS and HTTP (listening at once; SERVFAIL / 503 until the first state loads),
 * then leader detection and the state poller.
 */
export async function startApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const holder = new SnapshotHolder();
  const onFatal = opts.onFatal ?? ((e: Error) => log.error("{err}", { err: e }));
  const interfaceIPs = opts.interfaceIPs ?? localInterfaceIPs;

  let dns: DnsServer | undefined;
  let http: HttpServer | undefined;
  let fetcher: StateFetcher | undefined;
  let poller: StatePoller | undefined;
  let leaderSource: LeaderSource | undefined;
  const closeAll = async () => {
    await poller?.close();
    await fetcher?.close();
    await dns?.close();
    await http?.close();
  };
  try {
    if (config.DnsOn) {
      dns = await startDnsServer({ hostname: config.Listener, port: config.Port, config, holder });
    }
    let authorization: AuthorizationProvider | undefined;
    if (config.MesosAuthentication === "iam") {
      authorization = await createIamAuthorization(config.IAMConfigFile);
    }
    fetcher = await createStateFetcher(config, { authorization, maxBodyBytes: opts.maxStateBodyBytes });
    leaderSource = leaderSourceFor(config, onFatal);
    poller = new StatePoller({
      leaderSource,
      fetch: (masters, signal) => fetcher!.fetch(masters, signal),
      build: recordBuilder(config, interfaceIPs, opts.resolveHosts),
      holder,
      refreshSeconds: config.RefreshSeconds,
      dropWarnPercent: config.RecordsDropWarnPercent,
      retryDelaysMs: RELOAD_RETRY_DELAYS_MS.filter((ms) => ms < config.RefreshSeconds * 1000),
      releaseMemory: memoryReleaser(),
      onSuccess: (snap, from) => {
        const r = snap.records;
        log.info("loaded state from {from}: {a} A, {aaaa} AAAA, {srv} SRV names (serial {serial})", {
          from,
          a: r.a.size,
          aaaa: r.aaaa.size,
          srv: r.srv.size,
          serial: snap.serial,
        });
      },
    });
    const p = poller;
    if (config.HttpOn) {
      http = await startHttpServer({
        hostname: config.HTTPListener,
        port: config.HttpPort,
        config,
        holder,
        metrics: () => renderMetrics(holder, p.stats(), dns?.udpStats()),
      });
    }
    poller.start();
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { holder, poller, leaderSource: leaderSource!, dns, http, close: closeAll };
}
