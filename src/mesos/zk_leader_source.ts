/**
 * ZooKeeper leader detection (owns: watching the Mesos masters' znodes and turning them
 * into masters lists, the fall-back list while ZooKeeper is unreachable, and the
 * start-up detection timeout — SPEC §3.2, §3.3, §10.4).
 *
 * - Watches the children of the URL's path (a ZooKeeper watch, no polling); on every change
 *   reads the data of new member znodes and delivers `[leader, ...others by sequence]`.
 * - Before ZooKeeper reports members, the list is `["", ...configured masters]`.
 * - On connection loss the last leader is kept (the original blanked it); if the loss lasts
 *   longer than `fallbackDelayMs`, the configured masters are appended as extra candidates.
 * - If no leader was ever found within `detectionTimeoutMs` of `start`, `onFatal` is called
 *   once with "master detection timed out after <d>" (Go duration format, e.g. 30s).
 */
import { logger } from "../log.ts";
import type { LeaderSource, MastersListener } from "./leader.ts";
import { ErrorCode, ZkClient, ZkError } from "./zk_client.ts";
import {
  buildMastersList,
  type DecodedMember,
  decodeMasterInfo,
  type MasterInfo,
  type Member,
  membersOf,
} from "./zk_master_info.ts";
import { parseZkUrl, type ZkUrl } from "./zk_url.ts";

const log = logger("zookeeper");

/** Options of a `ZkLeaderSource`. */
export interface ZkLeaderSourceOptions {
  /** The `zk` config value, or an already parsed URL. A bad string throws `ZkUrlError`. */
  zk: string | ZkUrl;
  /** The configured `masters`: fall-back candidates (elements 1..) while ZooKeeper has not answered. */
  masters?: readonly string[];
  /** `ZkDetectionTimeout` in milliseconds; 0 or less never fires. */
  detectionTimeoutMs: number;
  /** Called once when detection timed out at start-up; the caller exits. */
  onFatal: (error: Error) => void;
  /** ZooKeeper session timeout. Default 60 s (as the original). */
  sessionTimeoutMs?: number;
  /** Pause between reconnection rounds (all servers failed). Default 1 s. */
  retryDelayMs?: number;
  /** How long a connection loss lasts before the configured masters are added as candidates. Default 2 s. */
  fallbackDelayMs?: number;
}

/** Formats milliseconds like Go's `time.Duration.String()`: 500ms, 1s, 1.5s, 1m30s, 1h0m0s. */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Number((totalSeconds % 60).toFixed(3));
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

function sameList(a: readonly string[] | null, b: readonly string[]): boolean {
  return a !== null && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Leader detection from the Mesos masters' ZooKeeper znodes. */
export class ZkLeaderSource implements LeaderSource {
  private readonly url: ZkUrl;
  private readonly masters: readonly string[];
  private readonly client: ZkClient;
  private listener: MastersListener | null = null;
  private closed = false;

  /** Decoded data per member znode name (null: undecodable). Member data never changes. */
  private readonly cache = new Map<string, MasterInfo | null>();
  private lastDelivered: string[] | null = null;
  /** The last list ZooKeeper gave (null until it reported members). */
  private lastZkList: string[] | null = null;
  private leaderFound = false;
  private warnedProtobuf = false;

  private refreshing: Promise<void> | null = null;
  private dirty = false;
  private detectionTimer: ReturnType<typeof setTimeout> | undefined;
  private fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly watcher = () => this.refresh();

  constructor(private readonly options: ZkLeaderSourceOptions) {
    this.url = typeof options.zk === "string" ? parseZkUrl(options.zk) : options.zk;
    this.masters = [...(options.masters ?? [])];
    this.client = new ZkClient({
      servers: this.url.servers,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 60_000,
      retryDelayMs: options.retryDelayMs ?? 1000,
      onState: (state) => this.onState(state),
    });
  }

  /** The ZooKeeper server currently connected to (`host:port`), or null (diagnostics). */
  get connectedServer(): string | null {
    return this.client.connectedServer;
  }

  /** Starts detection: delivers the fall-back list at once (if masters are configured), then connects. */
  start(listener: MastersListener): void {
    if (this.listener || this.closed) return;
    this.listener = listener;
    const timeout = this.options.detectionTimeoutMs;
    if (timeout > 0) {
      this.detectionTimer = setTimeout(() => {
        this.detectionTimer = undefined;
        if (this.closed || this.leaderFound) return;
        this.options.onFatal(new Error(`master detection timed out after ${goDuration(timeout)}`));
      }, timeout);
    }
    if (this.masters.length > 0) this.deliver(["", ...this.masters]);
    this.client.connect();
  }

  /** Stops watching, closes the ZooKeeper session and clears every timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.detectionTimer);
    clearTimeout(this.fallbackTimer);
    clearTimeout(this.retryTimer);
    await this.client.close();
    await this.refreshing;
  }

  private onState(state: string): void {
    if (this.closed) return;
    if (state === "connected") {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = undefined;
      this.refresh();
    } else if (state === "disconnected" && this.fallbackTimer === undefined) {
      this.fallbackTimer = setTimeout(() => {
        this.fallbackTimer = undefined;
        if (!this.closed && !this.client.isConnected) this.deliverFallback();
      }, this.options.fallbackDelayMs ?? 2000);
    }
  }

  /** While ZooKeeper is unreachable: keep the last list, and add the configured masters after it. */
  private deliverFallback(): void {
    const base = this.lastZkList ?? [""];
    const extra = this.masters.filter((m) => !base.includes(m));
    log.warn("ZooKeeper unreachable; keeping leader {leader} and adding configured masters as candidates", {
      leader: base[0] || "(none)",
    });
    this.deliver([...base, ...extra]);
  }

  /** Re-reads the members; coalesces calls made while a read is running. */
  private refresh(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.dirty = true;
      return;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.dirty = false;
          try {
            await this.readMembers();
          } catch (e) {
            if (this.closed) break;
            if (e instanceof ZkError && e.code === ErrorCode.connectionLoss) break; // "connected" re-reads
            log.warn("reading {path} failed: {error}; retrying", { path: this.url.path, error: String(e) });
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.refresh(), this.options.retryDelayMs ?? 1000);
            break;
          }
        } while (this.dirty && !this.closed && this.client.isConnected);
      } finally {
        this.refreshing = null;
      }
    })();
  }

  private async readMembers(): Promise<void> {
    const path = this.url.path;
    let children: string[];
    try {
      children = await this.client.getChildren(path, this.watcher);
    } catch (e) {
      if (!(e instanceof ZkError) || e.code !== ErrorCode.noNode) throw e;
      // The path does not exist (yet): watch for its creation, report no members meanwhile.
      if (await this.client.exists(path, this.watcher)) {
        this.dirty = true;
        return;
      }
      children = [];
    }
    const members = membersOf(children);
    const names = new Set(members.map((m) => m.name));
    for (const name of [...this.cache.keys()]) if (!names.has(name)) this.cache.delete(name);
    const missing = members.filter((m) => !this.cache.has(m.name));
    const gone = new Set<string>();
    await Promise.all(missing.map(async (m) => {
      try {
        const data = await this.client.getData(`${path}/${m.name}`);
        this.cache.set(m.name, this.decode(m, data));
      } catch (e) {
        if (e instanceof ZkError && e.code === ErrorCode.noNode) gone.add(m.name); // a watch event follows
        else throw e;
      }
    }));
    if (this.closed) return;
    const decoded: DecodedMember[] = members
      .filter((m) => !gone.has(m.name))
      .map((m) => ({ member: m, info: this.cache.get(m.name) ?? null }));
    if (!decoded.some((d) => d.member.format === "json") && decoded.length > 0 && !this.warnedProtobuf) {
      this.warnedProtobuf = true;
      log.warn("only protobuf info_ znodes under {path} (Mesos older than 0.24); decoding those", { path });
    }
    const list = buildMastersList(decoded);
    const previousLeader = this.lastZkList?.[0];
    this.lastZkList = list;
    if (previousLeader !== list[0]) {
      if (list[0]) log.info("leading master: {leader}", { leader: list[0] });
      else log.warn("no leading master in ZooKeeper under {path}", { path });
    }
    this.deliver(list);
  }

  private decode(member: Member, data: Uint8Array | null): MasterInfo | null {
    try {
      if (!data) throw new Error("no data");
      const info = decodeMasterInfo(member, data);
      if (!info.address) log.warn("master znode {name} has no usable address", { name: member.name });
      return info;
    } catch (e) {
      log.warn("cannot decode master znode {name}: {error}", { name: member.name, error: String(e) });
      return null;
    }
  }

  private deliver(list: string[]): void {
    if (this.closed || !this.listener || sameList(this.lastDelivered, list)) return;
    this.lastDelivered = list;
    if (list[0] && !this.leaderFound) {
      this.leaderFound = true;
      clearTimeout(this.detectionTimer);
      this.detectionTimer = undefined;
    }
    this.listener([...list]);
  }
}
