/**
 * The operator-API event stream (owns: subscribing to the leading master with
 * `POST /api/v1 {"type":"SUBSCRIBE"}`, following a non-leader's redirect, reading the
 * RecordIO-framed events, the heartbeat watch, resubscribing when the stream breaks or the
 * leader source names another leader, telling a master without the API apart, and the
 * stream's counters). Each SUBSCRIBED rebuilds the model from its snapshot (so no name
 * survives a gap); each later event becomes a `StateDelta` applied to the model. What is
 * done with them (records, publishing) is the caller's, through `onSnapshot` / `onDelta`.
 *
 * The operator API does not carry frameworks' scheduler pids (`/master/state` has them, and
 * the records use them: SPEC §6.6); they are read from the leader's `/master/state-summary`
 * (frameworks without their tasks) before each snapshot is handed over, and again when a
 * framework is added or changed.
 *
 * Connections go through our HTTP/1.1 client (src/net/http1_client.ts): it reaches every port
 * and hands over the body as it arrives. HTTPS, CAs, client certificate and the
 * Authorization header are those of the state fetch.
 */
import type { Logger } from "@logtape/logtape";
import { logger } from "../log.ts";
import { joinHostPort, splitHostPortLoose } from "../net/host_port.ts";
import { http1Request, type Http1Response, type Http1TlsOptions } from "../net/http1_client.ts";
import { ClusterModel } from "./cluster_model.ts";
import { eventDelta, type OpEvent, readEvent, readEventSteps, snapshotDelta } from "./operator_api.ts";
import { runSliced, yieldToEventLoop } from "../work_slices.ts";
import { RecordIODecoder, RecordIOError } from "./recordio.ts";
import type { StateDelta } from "./state_delta.ts";
import type { MesosState } from "./state_types.ts";

/** Where the records come from: `poll`, `stream`, or `auto` (stream, else poll). */
export type StateSourceMode = "poll" | "stream" | "auto";

/** Counters and state of the stream (for metrics and the status page). */
export interface StreamStats {
  /** The configured `stateSource`. */
  mode: StateSourceMode;
  /** What feeds the records now: `stream` while subscribed, else `poll` (or `none` in stream mode). */
  source: "stream" | "poll" | "none";
  connected: boolean;
  /** `host:port` of the master streamed from (after redirects), or null. */
  leader: string | null;
  /** SUBSCRIBED snapshots received. */
  snapshots: number;
  /** Events that changed the model (heartbeats not counted). */
  events: number;
  heartbeats: number;
  /** Streams that ended or failed and were opened again. */
  reconnects: number;
  /** Times `auto` fell back to polling because a master had no operator API. */
  fallbacks: number;
  lastEventAt: Date | null;
  lastError: string | null;
}

/** The counters before anything happened: `auto` polls until a stream opens, `poll` only polls. */
export function initialStreamStats(mode: StateSourceMode): StreamStats {
  return {
    mode,
    source: mode === "stream" ? "none" : "poll",
    connected: false,
    leader: null,
    snapshots: 0,
    events: 0,
    heartbeats: 0,
    reconnects: 0,
    fallbacks: 0,
    lastEventAt: null,
    lastError: null,
  };
}

/** A master answered in a way that shows it has no operator API. */
export class NoOperatorApiError extends Error {
  override name = "NoOperatorApiError";
}

export interface EventStreamOptions {
  mode: "stream" | "auto";
  https?: boolean;
  tls?: Http1TlsOptions;
  /** The Authorization header value for one request (as the state fetch's), or undefined. */
  authorization?: (signal: AbortSignal) => Promise<string | undefined>;
  /** Limit for connecting and receiving SUBSCRIBED (StateTimeoutSeconds). */
  connectTimeoutMs?: number;
  /** Read the frameworks' pids from `/master/state-summary` (default true). */
  frameworkPids?: boolean;
  /** A stream silent for this many heartbeat intervals is reopened (default 3). */
  heartbeatMisses?: number;
  /** Waits before reconnecting after the n-th failure in a row (default 100 ms .. 5 s). */
  retryDelaysMs?: readonly number[];
  /** A fresh snapshot: `state()` is the whole model now (everything may have changed). */
  onSnapshot: (state: () => MesosState, from: string) => void;
  /**
   * Events applied to the model: `delta` is what changed, `state()` the model after it.
   * `affectsRecords` is false when no record can have changed (only tasks that were not
   * running and are still not running, e.g. a launch's staging and starting updates).
   */
  onDelta: (delta: StateDelta, state: () => MesosState, from: string, affectsRecords: boolean) => void;
  /**
   * A record arrived on a live stream (event or heartbeat): the model matches the master now.
   * (Its changes are published right after; a failed publish shows in the poller's stats.)
   */
  onActivity?: () => void;
  /** The stream became live (SUBSCRIBED) or stopped being live. */
  onLive?: (live: boolean) => void;
  /** An attempt to subscribe failed, or a live stream ended (a new attempt follows). */
  onDown?: (why: string) => void;
  /** `auto`: the master has no operator API; the caller polls instead. */
  onNoApi?: (master: string, reason: string) => void;
  log?: Pick<Logger, "error" | "warn" | "info" | "debug">;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const EMPTY = new Uint8Array(0);
/** A record at least this large (a SUBSCRIBED snapshot) is read in slices of `READ_SLICE_MS`. */
const SLICED_RECORD_BYTES = 1024 * 1024;
const READ_SLICE_MS = 10;
const DEFAULT_RETRY_MS = [100, 250, 500, 1000, 2000, 5000];

/** One subscription at a time to the current leader; `setMasters` as the leader source delivers. */
export class EventStream {
  readonly #o: EventStreamOptions;
  readonly #log: Pick<Logger, "error" | "warn" | "info" | "debug">;
  readonly #model = new ClusterModel();
  #masters: readonly string[] | null = null;
  #closed = false;
  /** Aborts the current attempt or stream (leader change, close). */
  #current: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** `auto` gave up on the stream for this leader ("" = the list had no leader). */
  #noApiFor: string | null = null;
  #live = false;
  /** A pids refresh is under way / another was asked for meanwhile. */
  #pidsBusy = false;
  #pidsAgain = false;
  #pidsWarned = false;
  readonly #stats: StreamStats;

  constructor(opts: EventStreamOptions) {
    this.#o = opts;
    this.#log = opts.log ?? logger("mesos");
    this.#stats = initialStreamStats(opts.mode);
  }

  stats(): StreamStats {
    return { ...this.#stats };
  }

  /**
   * Hands the whole model over again as a snapshot (`onSnapshot`), e.g. when the records
   * must be built from scratch under new rules. Nothing when no stream is live.
   */
  resync(): void {
    const from = this.#stats.leader;
    if (!this.#live || from === null) return;
    this.#o.onSnapshot(() => this.#model.toState(`master@${from}`), from);
  }

  /** True while subscribed (SUBSCRIBED received, stream open). */
  get live(): boolean {
    return this.#live;
  }

  /**
   * A new masters list (element 0 the leader or ""). The first one starts the stream; a later
   * one whose leader is not the master streamed from makes it resubscribe at once.
   */
  setMasters(masters: readonly string[]): void {
    if (this.#closed) return;
    const prevLeader = this.#masters?.[0];
    this.#masters = [...masters];
    const leader = masters[0] ?? "";
    if (this.#noApiFor !== null && this.#noApiFor !== leader) {
      this.#log.info("new leader {leader}: trying the operator API event stream again", { leader });
      this.#noApiFor = null;
    }
    if (!this.#loop) {
      this.#loop = this.#run();
      return;
    }
    const streaming = this.#stats.leader;
    if (leader !== "" && leader !== prevLeader && (streaming === null || !sameMaster(streaming, leader))) {
      this.#log.info("leader is now {leader}; resubscribing", { leader });
      this.#current?.abort(new Error("leader changed"));
    }
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#current?.abort(new Error("closed"));
    this.#wake?.();
    await this.#loop;
  }

  #setLive(live: boolean): void {
    if (this.#live === live) return;
    this.#live = live;
    this.#stats.connected = live;
    this.#stats.source = live ? "stream" : this.#o.mode === "auto" ? "poll" : "none";
    try {
      this.#o.onLive?.(live);
    } catch (err) {
      this.#log.warn("stream callback failed: {error}", { error: String(err) });
    }
  }

  /** Waits `ms` or until woken (new masters list, close). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  /** Reads the frameworks' pids into the model; a failure is logged (once as a warning) and ignored. */
  async #loadPids(from: string, signal: AbortSignal): Promise<boolean> {
    if (this.#o.frameworkPids === false) return false;
    try {
      const pids = await fetchFrameworkPids(from, this.#o, signal);
      return this.#model.setPids(pids).length > 0;
    } catch (err) {
      if (signal.aborted) return false;
      const msg = err instanceof Error ? err.message : String(err);
      if (!this.#pidsWarned) {
        this.#pidsWarned = true;
        this.#log.warn(
          "cannot read the frameworks' scheduler pids ({error}): frameworks get their A record from their " +
            "hostname and no _framework._tcp SRV record",
          { error: msg },
        );
      } else this.#log.debug("frameworks' pids: {error}", { error: msg });
      return false;
    }
  }

  /** Reads the pids again in the background (a framework was added or changed); publishes a change. */
  #refreshPids(from: string, signal: AbortSignal): void {
    if (this.#o.frameworkPids === false) return;
    if (this.#pidsBusy) {
      this.#pidsAgain = true;
      return;
    }
    this.#pidsBusy = true;
    (async () => {
      do {
        this.#pidsAgain = false;
        const before = new Map((this.#model.toState("").frameworks ?? []).map((f) => [f.id, f.pid]));
        await this.#loadPids(from, signal);
        if (signal.aborted) break;
        const now = this.#model.toState(`master@${from}`);
        const changed = (now.frameworks ?? []).filter((f) => before.get(f.id) !== f.pid)
          .map(({ tasks: _t, ...f }) => f);
        if (changed.length > 0) {
          this.#o.onDelta({ frameworks: changed }, () => this.#model.toState(`master@${from}`), from, true);
        }
      } while (this.#pidsAgain && !signal.aborted);
    })().finally(() => {
      this.#pidsBusy = false;
    });
  }

  async #run(): Promise<void> {
    const delays = this.#o.retryDelaysMs ?? DEFAULT_RETRY_MS;
    let failures = 0;
    let opened = 0;
    while (!this.#closed) {
      if (this.#noApiFor !== null) {
        await this.#sleep(3_600_000);
        continue;
      }
      const masters = this.#masters ?? [];
      const candidates = masters.filter((m) => m !== "" && splitHostPortLoose(m));
      if (candidates.length === 0) {
        await this.#sleep(3_600_000);
        continue;
      }
      if (opened++ > 0) this.#stats.reconnects++;
      const ac = new AbortController();
      this.#current = ac;
      let subscribed = false;
      try {
        subscribed = await this.#subscribeAny(candidates, ac.signal);
      } catch (err) {
        if (this.#closed) break;
        const msg = err instanceof Error ? err.message : String(err);
        if (err instanceof NoOperatorApiError && this.#o.mode === "auto") {
          this.#noApiFor = masters[0] ?? "";
          this.#stats.fallbacks++;
          this.#stats.lastError = msg;
          this.#setLive(false);
          this.#log.warn("{error}; polling the state every refreshSeconds instead", { error: msg });
          try {
            this.#o.onNoApi?.(masters[0] ?? "", msg);
          } catch { /* the caller's */ }
          continue;
        }
        if (!ac.signal.aborted) {
          this.#stats.lastError = msg;
          this.#log.warn("event stream: {error}", { error: msg });
        }
      } finally {
        this.#current = null;
        this.#stats.leader = null;
        this.#setLive(false);
      }
      if (this.#closed) break;
      // A leader change aborts on purpose: go again at once.
      if (ac.signal.aborted && String((ac.signal.reason as Error)?.message) === "leader changed") {
        failures = 0;
        continue;
      }
      failures = subscribed ? 0 : failures + 1;
      try {
        this.#o.onDown?.(this.#stats.lastError ?? "stream ended");
      } catch { /* the caller's */ }
      await this.#sleep(subscribed ? delays[0] : delays[Math.min(failures, delays.length) - 1]);
    }
  }

  /**
   * Subscribes to the first candidate that answers (the leader first). Returns true if a
   * stream was live before it ended. Throws the last error when every candidate failed.
   */
  async #subscribeAny(candidates: readonly string[], signal: AbortSignal): Promise<boolean> {
    let lastErr: unknown;
    for (const master of candidates) {
      if (signal.aborted) break;
      try {
        return await this.#subscribe(master, new Set(candidates.map(key)), signal);
      } catch (err) {
        if (err instanceof StreamEnded) return err.wasLive;
        if (err instanceof NoOperatorApiError) throw err;
        lastErr = err;
        if (signal.aborted) break;
      }
    }
    throw lastErr ?? new Error("no master to subscribe to");
  }

  async #subscribe(master: string, trusted: Set<string>, signal: AbortSignal): Promise<boolean> {
    const scheme = this.#o.https ? "https" : "http";
    let url = new URL(`${scheme}://${master}/api/v1`);
    const connectMs = this.#o.connectTimeoutMs ?? 300_000;
    // One controller for the request: aborted by the outer signal, a connect timeout or the
    // heartbeat watch.
    const ac = new AbortController();
    const onOuter = () => ac.abort(signal.reason);
    signal.addEventListener("abort", onOuter, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number, why: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => ac.abort(new Error(why)), ms);
    };
    let res: Http1Response | undefined;
    let live = false;
    try {
      arm(connectMs, `no SUBSCRIBED from ${master} within ${connectMs / 1000}s`);
      const authorization = this.#o.authorization ? await this.#o.authorization(ac.signal) : undefined;
      for (let hops = 0;; hops++) {
        const headers: Record<string, string> = {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "User-Agent": "Mesos-DNS",
        };
        if (authorization !== undefined && trusted.has(key(hostPortOf(url)))) {
          headers["Authorization"] = authorization;
        }
        res = await http1Request({
          method: "POST",
          url,
          headers,
          body: '{"type":"SUBSCRIBE"}',
          signal: ac.signal,
          tls: this.#o.tls,
        });
        if (!REDIRECTS.has(res.status)) break;
        const location = res.headers.get("location");
        res.close();
        if (!location || hops >= 10) {
          throw new Error(
            `${location ? "too many redirects" : `HTTP ${res.status} without Location`} from ${url}`,
          );
        }
        const next = new URL(location, url);
        this.#log.debug("{from} redirects the subscription to {to}", { from: url.href, to: next.href });
        // The master names its leader: credentials may go there, as for the state fetch.
        trusted.add(key(hostPortOf(next)));
        url = next;
      }
      const from = hostPortOf(url);
      if (res.status === 404 || res.status === 405 || res.status === 415 || res.status === 501) {
        res.close();
        throw new NoOperatorApiError(`${from} has no operator API (HTTP ${res.status} to SUBSCRIBE)`);
      }
      if (res.status === 401 || res.status === 403) {
        res.close();
        throw new Error(`HTTP ${res.status} from ${url.href}: the master refused our credentials`);
      }
      if (res.status !== 200) {
        res.close();
        throw new Error(
          `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""} to SUBSCRIBE at ${url.href}`,
        );
      }
      const decoder = new RecordIODecoder();
      const reader = res.body.getReader();
      let heartbeatMs = 0;
      let first = true;
      let sliceEnd = performance.now() + READ_SLICE_MS;
      while (true) {
        // Reads of a large record that has arrived complete at once, one after another: the
        // event loop is let through between them too (TCP, HTTP).
        if (performance.now() >= sliceEnd) {
          await yieldToEventLoop();
          sliceEnd = performance.now() + READ_SLICE_MS;
        }
        const { value, done } = await reader.read();
        if (done) break;
        if (heartbeatMs > 0) arm(heartbeatMs, `no heartbeat from ${from} for ${heartbeatMs / 1000}s`);
        let records: Uint8Array[];
        try {
          records = decoder.push(value);
        } catch (err) {
          if (first && err instanceof RecordIOError) {
            throw new NoOperatorApiError(
              `${from} did not answer SUBSCRIBE with a RecordIO stream (${err.message})`,
            );
          }
          throw err;
        }
        let deltas: StateDelta[] | null = null;
        if (!first && records.length > 0) this.#o.onActivity?.();
        let affects = false;
        for (let r = 0; r < records.length; r++) {
          let ev: OpEvent;
          // A SUBSCRIBED record of a large cluster is hundreds of megabytes: read in slices,
          // while TCP and HTTP go on, and its bytes can go once read (no variable may keep it:
          // this function's variables live on while it waits for the next chunk).
          let record = records[r];
          records[r] = EMPTY;
          try {
            ev = record.length < SLICED_RECORD_BYTES
              ? readEvent(record)
              : await runSliced(readEventSteps(record), READ_SLICE_MS);
          } catch {
            if (first) {
              throw new NoOperatorApiError(`${from} answered SUBSCRIBE with a record that is not JSON`);
            }
            throw new Error(`a stream record from ${from} is not JSON`);
          } finally {
            record = EMPTY;
          }
          // Stopped (or timed out) while a large record was read.
          if (ac.signal.aborted) throw ac.signal.reason;
          if (first) {
            if (ev?.type !== "SUBSCRIBED" || !ev.subscribed) {
              throw new NoOperatorApiError(`${from} answered SUBSCRIBE with ${String(ev?.type)} first`);
            }
            first = false;
            const interval = Number(ev.subscribed.heartbeat_interval_seconds ?? 15);
            heartbeatMs = Math.max(50, interval * 1000 * (this.#o.heartbeatMisses ?? 3));
            arm(heartbeatMs, `no heartbeat from ${from} for ${heartbeatMs / 1000}s`);
            this.#model.clear();
            this.#model.apply(snapshotDelta(ev.subscribed.get_state ?? {}));
            await this.#loadPids(from, ac.signal);
            this.#stats.snapshots++;
            this.#stats.leader = from;
            this.#stats.lastEventAt = new Date();
            live = true;
            this.#setLive(true);
            const sizes = this.#model.sizes;
            this.#log.info(
              "subscribed to the event stream of {from}: {agents} agents, {frameworks} frameworks, {tasks} tasks",
              { from, ...sizes },
            );
            this.#o.onSnapshot(() => this.#model.toState(`master@${from}`), from);
            this.#o.onActivity?.();
            continue;
          }
          if (ev.type === "HEARTBEAT") {
            this.#stats.heartbeats++;
            continue;
          }
          const delta = eventDelta(ev, (id) => this.#model.task(id));
          if (!delta) continue;
          if (ev.type === "FRAMEWORK_ADDED" || ev.type === "FRAMEWORK_UPDATED") {
            this.#refreshPids(from, ac.signal);
          }
          affects ||= affectsRecords(delta, (id) => this.#model.task(id)?.state);
          this.#model.apply(delta);
          this.#stats.events++;
          this.#stats.lastEventAt = new Date();
          (deltas ??= []).push(delta);
        }
        if (deltas) {
          // Events that arrived together are handed over together.
          const merged = deltas.length === 1 ? deltas[0] : mergeDeltas(deltas);
          this.#o.onDelta(merged, () => this.#model.toState(`master@${from}`), from, affects);
        }
      }
      throw new StreamEnded(live, `the event stream from ${from} ended`);
    } catch (err) {
      if (err instanceof StreamEnded) {
        this.#log.warn("{msg}; resubscribing", { msg: err.message });
        this.#stats.lastError = err.message;
        throw err;
      }
      if (ac.signal.aborted && !signal.aborted) {
        // Our own timer: connect timeout or missed heartbeats.
        const why = (ac.signal.reason as Error)?.message ?? "timeout";
        if (live) {
          this.#log.warn("{why}; resubscribing", { why });
          this.#stats.lastError = why;
          throw new StreamEnded(true, why);
        }
        throw new Error(why);
      }
      if (live && !signal.aborted) {
        const why = `the event stream from ${hostPortOf(url)} broke: ${
          err instanceof Error ? err.message : err
        }`;
        this.#log.warn("{why}; resubscribing", { why });
        this.#stats.lastError = why;
        throw new StreamEnded(true, why);
      }
      if (live) throw new StreamEnded(true, "aborted");
      throw err instanceof Error && !(err instanceof NoOperatorApiError) && !(err instanceof StreamEnded)
        ? new Error(`SUBSCRIBE to ${master}: ${err.message}`)
        : err;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener("abort", onOuter);
      res?.close();
    }
  }
}

/**
 * Whether a delta can change any record, given each task's state before it (SPEC §6.1: only
 * running tasks have records): agents and frameworks always can; a task only if it is
 * running before or after.
 */
export function affectsRecords(d: StateDelta, stateBefore: (taskId: string) => string | undefined): boolean {
  if (d.agents?.length || d.removedAgents?.length || d.frameworks?.length || d.removedFrameworks?.length) {
    return true;
  }
  for (const t of d.tasks ?? []) {
    if (t.state === "TASK_RUNNING" || stateBefore(t.id ?? "") === "TASK_RUNNING") return true;
  }
  for (const id of d.removedTasks ?? []) if (stateBefore(id) === "TASK_RUNNING") return true;
  return false;
}

/**
 * The scheduler pid of each framework from a master's `/master/state-summary` (HTTP
 * schedulers have none). Throws on any failure (status, body, shape).
 */
export async function fetchFrameworkPids(
  master: string,
  o: Pick<EventStreamOptions, "https" | "tls" | "authorization">,
  signal: AbortSignal,
): Promise<Map<string, string | undefined>> {
  const authorization = o.authorization ? await o.authorization(signal) : undefined;
  const res = await http1Request({
    url: `${o.https ? "https" : "http"}://${master}/master/state-summary`,
    headers: {
      "Accept": "application/json",
      "User-Agent": "Mesos-DNS",
      ...(authorization !== undefined ? { "Authorization": authorization } : {}),
    },
    signal,
    tls: o.tls,
  });
  if (res.status !== 200) {
    res.close();
    throw new Error(`HTTP ${res.status} from ${master}/master/state-summary`);
  }
  const doc = await new Response(res.body).json() as { frameworks?: Array<{ id?: unknown; pid?: unknown }> };
  const out = new Map<string, string | undefined>();
  for (const f of Array.isArray(doc?.frameworks) ? doc.frameworks : []) {
    if (typeof f?.id === "string") {
      out.set(f.id, typeof f.pid === "string" && f.pid !== "" ? f.pid : undefined);
    }
  }
  return out;
}

/** The stream ended after (or before) SUBSCRIBED; not a reason to try the next master. */
class StreamEnded extends Error {
  constructor(readonly wasLive: boolean, message: string) {
    super(message);
  }
}

/** Several deltas as one (later ones win; a removal after an upsert removes). */
export function mergeDeltas(ds: readonly StateDelta[]): StateDelta {
  const tasks = new Map<string, StateDelta["tasks"] extends (infer T)[] | undefined ? T : never>();
  const agents = new Map<string, NonNullable<StateDelta["agents"]>[number]>();
  const frameworks = new Map<string, NonNullable<StateDelta["frameworks"]>[number]>();
  const removedTasks = new Set<string>();
  const removedAgents = new Set<string>();
  const removedFrameworks = new Set<string>();
  for (const d of ds) {
    for (const t of d.tasks ?? []) {
      tasks.set(t.id ?? "", t);
      removedTasks.delete(t.id ?? "");
    }
    for (const id of d.removedTasks ?? []) {
      tasks.delete(id);
      removedTasks.add(id);
    }
    for (const a of d.agents ?? []) {
      agents.set(a.id ?? "", a);
      removedAgents.delete(a.id ?? "");
    }
    for (const id of d.removedAgents ?? []) {
      agents.delete(id);
      removedAgents.add(id);
    }
    for (const f of d.frameworks ?? []) {
      frameworks.set(f.id ?? "", f);
      removedFrameworks.delete(f.id ?? "");
    }
    for (const id of d.removedFrameworks ?? []) {
      frameworks.delete(id);
      removedFrameworks.add(id);
    }
  }
  const out: StateDelta = {};
  if (tasks.size) out.tasks = [...tasks.values()];
  if (removedTasks.size) out.removedTasks = [...removedTasks];
  if (agents.size) out.agents = [...agents.values()];
  if (removedAgents.size) out.removedAgents = [...removedAgents];
  if (frameworks.size) out.frameworks = [...frameworks.values()];
  if (removedFrameworks.size) out.removedFrameworks = [...removedFrameworks];
  return out;
}

function hostPortOf(url: URL): string {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return joinHostPort(host, url.port || (url.protocol === "https:" ? "443" : "80"));
}

function key(hostPort: string): string {
  return hostPort.toLowerCase();
}

function sameMaster(a: string, b: string): boolean {
  const x = splitHostPortLoose(a);
  const y = splitHostPortLoose(b);
  return !!x && !!y && x.host.toLowerCase() === y.host.toLowerCase() && x.port === y.port;
}
