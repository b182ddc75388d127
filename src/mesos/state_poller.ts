/**
 * The state reload loop (owns: SPEC §4.3 — when to reload, never two reloads at once,
 * publishing a new snapshot only on success, keeping the last good one on failure, one log
 * line per failed reload, and the counters the metrics endpoint reads).
 *
 * A reload happens on every masters list the leader source delivers (the first one at
 * start-up included) and every `refreshSeconds` (fixed rate). Reloads are serialised: a
 * tick that comes while a reload runs is dropped (as the original's ticker drops missed
 * ticks); a new masters list or a `reloadNow()` during a reload queues exactly one more
 * reload after it, so the newest list is always used.
 *
 * Beyond the original: a failed reload can be retried soon (`retryDelaysMs`, e.g. a new
 * leader that still recovers just after a ZooKeeper change), instead of only at the next
 * tick; and a new state that would drop more than `dropWarnPercent` % of the records at once
 * is published with a loud warning (it may be a real change, or a master's partial view).
 *
 * A pushing state source (the operator-API event stream) hands over whole states with
 * `push`; they are built and published in the same serialised loop, newest wins when several
 * wait. While `pause(true)` is in force (the stream is live), timed and masters-list reloads
 * do not fetch; a fetch that was under way when a state was pushed is not published (it may
 * be older than the pushed one).
 */
import type { Logger } from "@logtape/logtape";
import { logger } from "../log.ts";
import type { RecordSet } from "../records/record_set.ts";
import type { Snapshot, SnapshotHolder } from "../records/snapshot.ts";
import type { LeaderSource } from "./leader.ts";
import type { MesosState } from "./state_types.ts";

export interface StatePollerOptions {
  leaderSource: LeaderSource;
  /** Fetches the state from a masters list (e.g. `StateFetcher.fetch`); `signal` aborts on close. */
  fetch: (masters: readonly string[], signal?: AbortSignal) => Promise<{ state: MesosState; from: string }>;
  /**
   * Builds the record set from a fetched state (e.g. the record store's `snapshot`), with
   * the names that changed since the previous one when it knows them.
   */
  build: (state: MesosState, masters: readonly string[]) => Promise<BuiltRecords> | BuiltRecords;
  holder: SnapshotHolder;
  /** Seconds between timed reloads; must be > 0. */
  refreshSeconds: number;
  /** Called after each failed reload (after it is counted and logged). */
  onError?: (err: Error) => void;
  /** Called after each published snapshot of a fetched state. */
  onSuccess?: (snapshot: Snapshot, from: string) => void;
  /** Called after each published snapshot of a pushed state (`push`). */
  onPush?: (snapshot: Snapshot, from: string) => void;
  /**
   * Called where a reload is about to need, or has just dropped, a lot of memory (issue #6),
   * so that the app can collect garbage there: `starting`, before the state is fetched (every
   * reload); `fetched`, when the state document is parsed (its text is garbage) and the
   * records are not built yet; `replaced`, when the new records are current and the state
   * document and the previous records are garbage, before anything is built from the new
   * records (the DNS answers; not when the state was applied as its delta, `asDelta`);
   * `published`, after the snapshot's listeners have run (the previous DNS answers are
   * garbage). `fetched` and `published` come one event-loop turn
   * later, so that queries waiting meanwhile are answered before a collection pauses the
   * thread. Exceptions are logged and ignored.
   */
  releaseMemory?: (stage: ReleaseStage) => void;
  /** Where the poller logs (default `logger("mesos")`). */
  log?: Pick<Logger, "error" | "warn" | "info" | "debug">;
  /** Clock in ms (tests); default `Date.now`. */
  now?: () => number;
  /**
   * Warn when a new record set has more than this percentage fewer records than the
   * previous one (`RecordsDropWarnPercent`); 0 or undefined: never.
   */
  dropWarnPercent?: number;
  /**
   * After the n-th failed reload in a row, reload again after `retryDelaysMs[n-1]` ms (the
   * refresh timer goes on as well); when the list runs out, only the timer retries. Default none.
   */
  retryDelaysMs?: readonly number[];
}

/**
 * A built record set, alone or with the names changed since the previous one
 * (`Snapshot.changes`); `whole`: built from a whole state (a pushed one is then published
 * with the collections of a reload, see `releaseMemory`); `asDelta`: that whole state was
 * applied as its delta to the records held (`RecordStore.snapshot`): no previous records were
 * replaced, so there is no `replaced` collection.
 */
export type BuiltRecords = RecordSet | {
  records: RecordSet;
  changes?: { names: ReadonlySet<string> };
  whole?: boolean;
  asDelta?: number;
};

/**
 * What a pushing source hands over: a function, called when its turn comes, that returns the
 * records to publish (e.g. `build(state, masters)` for a whole state, or the record store's
 * `delta(...)`), or undefined when nothing changed.
 */
export type PushedUpdate = (
  build: StatePollerOptions["build"],
  masters: readonly string[],
) => Promise<BuiltRecords | undefined> | BuiltRecords | undefined;

/** Resolves on a later turn of the event loop (after pending I/O callbacks have run). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Where in a reload `releaseMemory` is called (see `StatePollerOptions`). */
export type ReleaseStage = "starting" | "fetched" | "replaced" | "published";

/** Number of records in a set: every (name, value) pair of A, AAAA and SRV (counted by its maker if it did). */
export function countRecords(records: RecordSet): number {
  if (records.recordCount !== undefined) return records.recordCount;
  let n = 0;
  for (const map of [records.a, records.aaaa, records.srv]) {
    for (const values of map.values()) n += values.length;
  }
  return n;
}

/** Counters for metrics and health. */
export interface PollerStats {
  successes: number;
  failures: number;
  /** Failed reloads since the last success. */
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  /** `host:port` the last good state came from. */
  lastFrom: string | null;
  /** Duration of the last reload, good or bad. */
  lastDurationMs: number | null;
  /** True while a reload runs. */
  reloading: boolean;
  /** Published states that dropped more than `dropWarnPercent` % of the records. */
  largeDrops: number;
  /** Failed reloads by cause (`failureCause`): `connect`, `timeout`, `http-status`, ... */
  failuresByCause: Record<string, number>;
  /** Times the state came from another master than the previous good state (a new leader). */
  leaderChanges: number;
}

/**
 * The cause of a failed reload, for metrics: the fetch error's kind (`connect`, `tls`,
 * `timeout`, `http-status`, `too-large`, `invalid-json`, `bad-shape`, `no-leader`, `auth`,
 * ...; for "all masters failed", the kind of the last failure), `build` for a failure
 * after the fetch, `other` otherwise.
 */
export function failureCause(err: unknown, stage: string): string {
  if (stage !== "state fetch") return "build";
  let e: unknown = err;
  for (let depth = 0; depth < 3 && e instanceof Error; depth++) {
    const kind = (e as { kind?: unknown }).kind;
    if (typeof kind === "string" && kind !== "all-failed") return kind;
    e = e.cause;
  }
  return "other";
}

/** Runs reloads as SPEC §4.3 says; `start()` begins, `close()` stops everything it started. */
export class StatePoller {
  #opts: StatePollerOptions;
  readonly #log: Pick<Logger, "error" | "warn" | "info" | "debug">;
  readonly #now: () => number;
  #masters: readonly string[] | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #closed = false;
  readonly #abort = new AbortController();
  /** The running reload loop, if any. */
  #loop: Promise<void> | null = null;
  /** A reload was asked for and has not started yet. */
  #wanted = false;
  /** Fetching reloads are suspended (a pushing source is live). */
  #paused = false;
  /** A pushed state waiting to be published (the newest one). */
  #pushed: { update: PushedUpdate; from: string } | null = null;
  /** Increases with every push, so a fetch that started before one is not published. */
  #epoch = 0;
  /**
   * Records were built (so the record store moved on) but not published: the next publish
   * goes out without `changes`, so that DNS rebuilds every answer instead of only the names
   * changed since the unpublished build.
   */
  #storeAhead = false;
  readonly #stats: PollerStats = {
    successes: 0,
    failures: 0,
    consecutiveFailures: 0,
    lastError: null,
    lastErrorAt: null,
    lastSuccessAt: null,
    lastFrom: null,
    lastDurationMs: null,
    reloading: false,
    largeDrops: 0,
    failuresByCause: {},
    leaderChanges: 0,
  };

  constructor(opts: StatePollerOptions) {
    if (!(opts.refreshSeconds > 0)) throw new Error(`refreshSeconds must be > 0, got ${opts.refreshSeconds}`);
    this.#opts = opts;
    this.#log = opts.log ?? logger("mesos");
    this.#now = opts.now ?? Date.now;
  }

  /** Starts the leader source (each list it delivers triggers a reload) and the refresh timer. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#timer = setInterval(() => this.#tick(), this.#opts.refreshSeconds * 1000);
    this.#opts.leaderSource.start((masters) => this.#onMasters(masters));
  }

  #onMasters(masters: readonly string[]): void {
    if (this.#closed) return;
    this.#masters = [...masters];
    this.#log.debug("new masters list {masters}; reloading", {
      masters: this.#masters.join(",") || "(empty)",
    });
    this.#request().catch(() => {});
  }

  /**
   * Reloads now and resolves when a reload that started after this call has finished
   * (whether it succeeded or not: see `stats()`). Never rejects.
   */
  reloadNow(): Promise<void> {
    return this.#request();
  }

  /**
   * A configuration reload: new timing (`refreshSeconds` restarts the timer from now),
   * drop warning and retry delays; a reload in progress finishes as it started.
   */
  applyConfig(next: Pick<StatePollerOptions, "refreshSeconds" | "dropWarnPercent" | "retryDelaysMs">): void {
    if (!(next.refreshSeconds > 0)) throw new Error(`refreshSeconds must be > 0, got ${next.refreshSeconds}`);
    const retimed = next.refreshSeconds !== this.#opts.refreshSeconds;
    this.#opts = { ...this.#opts, ...next };
    if (retimed && this.#started && !this.#closed) {
      clearInterval(this.#timer);
      this.#timer = setInterval(() => this.#tick(), next.refreshSeconds * 1000);
    }
  }

  /**
   * Replaces the leader source (a reload changed `masters` or `zk`): the old one is closed,
   * the new one started; its first masters list reloads the state as at start-up.
   */
  async setLeaderSource(source: LeaderSource): Promise<void> {
    if (this.#closed) {
      await source.close();
      return;
    }
    const old = this.#opts.leaderSource;
    this.#opts = { ...this.#opts, leaderSource: source };
    await old.close();
    if (this.#started && !this.#closed) source.start((masters) => this.#onMasters(masters));
  }

  /**
   * Suspends (true) or resumes (false) the fetching reloads: timed ticks and masters lists
   * then only record the list. Pushed states are published either way.
   */
  pause(paused: boolean): void {
    this.#paused = paused;
    if (paused) this.#epoch++;
  }

  /** True while fetching reloads are suspended. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Publishes what a pushing source hands over: `update` is called when the loop gets to
   * it, so updates pushed while one is built are taken together, once (the source keeps
   * what is pending; only the newest `update` is called). Resolves when it has been
   * published (or has failed; see `stats()`). Never rejects.
   */
  push(update: PushedUpdate, from: string): Promise<void> {
    if (this.#closed) return this.#loop ?? Promise.resolve();
    this.#epoch++;
    this.#pushed = { update, from };
    if (!this.#loop) {
      this.#loop = this.#drain().finally(() => {
        this.#loop = null;
      });
    }
    return this.#loop;
  }

  /** The latest masters list from the leader source (empty before the first one). */
  masters(): readonly string[] {
    return this.#masters ?? [];
  }

  /** A copy of the counters. */
  stats(): PollerStats {
    return { ...this.#stats, failuresByCause: { ...this.#stats.failuresByCause } };
  }

  /** Stops the timer and the leader source, cancels a running fetch, and waits for it to end. */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#loop;
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#retryTimer);
    this.#abort.abort();
    await this.#opts.leaderSource.close();
    await this.#loop;
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#masters === null) {
      this.#log.debug("no masters list yet; skipping timed reload");
      return;
    }
    if (this.#paused) return;
    if (this.#loop) {
      this.#log.debug("reload still running; dropping this tick");
      return;
    }
    this.#request().catch(() => {});
  }

  #request(): Promise<void> {
    if (this.#closed) return this.#loop ?? Promise.resolve();
    this.#wanted = true;
    if (!this.#loop) {
      this.#loop = this.#drain().finally(() => {
        this.#loop = null;
      });
    }
    return this.#loop;
  }

  async #drain(): Promise<void> {
    // Runs after the caller has stored the loop promise, so `finally` above clears the right one.
    await Promise.resolve();
    while ((this.#wanted || this.#pushed) && !this.#closed) {
      if (this.#pushed) {
        const pushed = this.#pushed;
        this.#pushed = null;
        await this.#publishPushed(pushed.update, pushed.from);
        continue;
      }
      this.#wanted = false;
      if (this.#paused) continue;
      await this.#reloadOnce();
    }
  }

  /** Runs a caller's callback; its exceptions are logged, never thrown into the loop. */
  #callback(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.warn("state poller callback failed: {error}", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** The loud warning when a new state drops more than `dropWarnPercent` % of the records. */
  #checkDrop(before: number, after: number, from: string): void {
    const limit = this.#opts.dropWarnPercent ?? 0;
    if (!(limit > 0) || before === 0 || after >= before) return;
    const dropped = ((before - after) / before) * 100;
    if (dropped <= limit) return;
    this.#stats.largeDrops++;
    this.#log.warn(
      "LARGE RECORD DROP: the new state from {from} has {pct}% fewer records than the last one " +
        "({before} -> {after}), more than RecordsDropWarnPercent={limit}; serving it anyway. " +
        "If those tasks did not really go away, check that master.",
      { from, pct: Math.round(dropped), before, after, limit },
    );
  }

  #releaseMemory(stage: ReleaseStage): void {
    const fn = this.#opts.releaseMemory;
    if (fn) this.#callback(() => fn(stage));
  }

  /** Number of records in the published snapshot (0 before the first). */
  #publishedCount(): number {
    const current = this.#opts.holder.current();
    return current ? countRecords(current.records) : 0;
  }

  /**
   * Fetches and builds; the state document lives only in this call, so it can be collected
   * before the new records are published and the DNS answers are built from them (issue #6).
   * `stage` names the step that runs. Undefined when the poller was closed meanwhile.
   */
  async #fetchAndBuild(
    masters: readonly string[],
    stage: { name: string },
  ): Promise<
    | { records: RecordSet; changes?: { names: ReadonlySet<string> }; asDelta?: number; from: string }
    | undefined
  > {
    const { state, from } = await this.#opts.fetch(masters, this.#abort.signal);
    if (this.#closed) return undefined;
    if (typeof state.leader !== "string" || state.leader === "") {
      throw new Error("fetched state does not contain leader information");
    }
    stage.name = "record generation";
    // Queries that came in while the state was parsed are answered before the collection.
    await nextTurn();
    if (this.#closed) return undefined;
    this.#releaseMemory("fetched");
    const built = await this.#opts.build(state, masters);
    return "records" in built
      ? { records: built.records, changes: built.changes, asDelta: built.asDelta, from }
      : { records: built, from };
  }

  /**
   * Builds and publishes a pushed state (no fetch; collections only around a whole state,
   * as for a reload: deltas are frequent and small).
   */
  async #publishPushed(update: PushedUpdate, from: string): Promise<void> {
    const started = this.#now();
    const masters = this.#masters ?? [];
    this.#stats.reloading = true;
    let whole = false;
    try {
      const built = await update(this.#opts.build, masters);
      if (this.#closed || built === undefined) return;
      const { records, changes: storeChanges } = "records" in built
        ? built
        : { records: built, changes: undefined };
      whole = "records" in built && built.whole === true;
      // Records changed in place (a whole state applied as its delta) replaced nothing.
      const replaced = whole && !("records" in built && built.asDelta !== undefined);
      const changes = this.#storeAhead ? undefined : storeChanges;
      this.#storeAhead = false;
      const before = this.#publishedCount();
      const snapshot = this.#opts.holder.publish(
        records,
        new Date(this.#now()),
        replaced ? () => this.#releaseMemory("replaced") : undefined,
        changes,
      );
      this.#checkDrop(before, countRecords(records), from);
      this.#stats.successes++;
      this.#stats.consecutiveFailures = 0;
      this.#stats.lastSuccessAt = snapshot.loadedAt;
      this.#stats.lastFrom = from;
      this.#callback(() => this.#opts.onPush?.(snapshot, from));
    } catch (err) {
      whole = false;
      if (this.#closed) return;
      const error = err instanceof Error ? err : new Error(String(err));
      this.#stats.failures++;
      this.#stats.consecutiveFailures++;
      this.#stats.lastError = `record generation failed: ${error.message}`;
      this.#storeAhead = true;
      this.#stats.lastErrorAt = new Date(this.#now());
      this.#log.error("record generation from the event stream failed, keeping previous records: {error}", {
        error: error.message,
      });
      this.#callback(() => this.#opts.onError?.(error));
    } finally {
      this.#stats.reloading = false;
      this.#stats.lastDurationMs = this.#now() - started;
    }
    if (whole) await this.#releaseAfterPublish();
  }

  /** The `published` collection, a turn later: queries that came in while the DNS answers were built go first. */
  async #releaseAfterPublish(): Promise<void> {
    if (this.#closed) return;
    await nextTurn();
    if (!this.#closed) this.#releaseMemory("published");
  }

  async #reloadOnce(): Promise<void> {
    const masters = this.#masters ?? [];
    const started = this.#now();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#stats.reloading = true;
    const stage = { name: "state fetch" };
    this.#releaseMemory("starting");
    let published = false;
    const epoch = this.#epoch;
    try {
      const built = await this.#fetchAndBuild(masters, stage);
      if (!built || this.#closed) return;
      if (epoch !== this.#epoch) {
        this.#log.debug("fetched state not published: a newer state was pushed meanwhile");
        this.#storeAhead = true;
        return;
      }
      // Queries that came in while the records were built are answered before the publish,
      // whose collection and DNS answers take the thread for a while again.
      await nextTurn();
      if (this.#closed || epoch !== this.#epoch) {
        this.#storeAhead = true;
        return;
      }
      const { records, from } = built;
      const changes = this.#storeAhead ? undefined : built.changes;
      this.#storeAhead = false;
      // Counted before the publish, so the previous records need not outlive it (issue #6).
      const before = this.#publishedCount();
      const snapshot = this.#opts.holder.publish(
        records,
        new Date(this.#now()),
        built.asDelta === undefined ? () => this.#releaseMemory("replaced") : undefined,
        changes,
      );
      this.#checkDrop(before, countRecords(records), from);
      const recovered = this.#stats.consecutiveFailures;
      this.#stats.successes++;
      this.#stats.consecutiveFailures = 0;
      this.#stats.lastSuccessAt = snapshot.loadedAt;
      if (this.#stats.lastFrom !== null && this.#stats.lastFrom !== from) this.#stats.leaderChanges++;
      this.#stats.lastFrom = from;
      if (recovered > 0) {
        this.#log.info("state loaded from {from} again after {n} failed reload(s)", { from, n: recovered });
      }
      this.#log.debug("state loaded from {from}: {a} A, {aaaa} AAAA, {srv} SRV names", {
        from,
        a: records.a.size,
        aaaa: records.aaaa.size,
        srv: records.srv.size,
      });
      this.#callback(() => this.#opts.onSuccess?.(snapshot, from));
      published = true;
    } catch (err) {
      if (this.#closed) return;
      const error = err instanceof Error ? err : new Error(String(err));
      this.#stats.failures++;
      this.#stats.consecutiveFailures++;
      this.#stats.lastError = `${stage.name} failed: ${error.message}`;
      // A build that failed half-way may have moved the record store on.
      if (stage.name !== "state fetch") this.#storeAhead = true;
      const cause = failureCause(err, stage.name);
      this.#stats.failuresByCause[cause] = (this.#stats.failuresByCause[cause] ?? 0) + 1;
      this.#stats.lastErrorAt = new Date(this.#now());
      const good = this.#opts.holder.current()?.loadedAt ?? this.#stats.lastSuccessAt;
      const keeping = good
        ? `keeping previous records (last good ${
          Math.max(0, Math.round((this.#now() - good.getTime()) / 1000))
        }s ago)`
        : "no records loaded yet";
      this.#log.error("{stage} failed, {keeping}: {error}", {
        stage: stage.name,
        keeping,
        error: error.message,
      });
      this.#callback(() => this.#opts.onError?.(error));
      const retryIn = this.#opts.retryDelaysMs?.[this.#stats.consecutiveFailures - 1];
      if (retryIn !== undefined) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#request().catch(() => {});
        }, retryIn);
      }
    } finally {
      this.#stats.reloading = false;
      this.#stats.lastDurationMs = this.#now() - started;
    }
    if (published) await this.#releaseAfterPublish();
  }
}
