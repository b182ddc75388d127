/**
 * Leader election of the simulated masters through a real ZooKeeper (owns: registering each
 * simulated master as Mesos does — one session and one ephemeral sequential `json.info_`
 * znode per master, via zk_register.ts — watching the members, and telling the simulator
 * which of its masters leads: the one with the lowest sequence, as Mesos masters decide).
 *
 * Leaving (a master stopped) closes that master's session, so its znode disappears at once.
 * When the leader leaves, the simulator is told the next leader *before* the znode goes, so
 * a client woken by the ZooKeeper change already finds the new leader answering as leader.
 * A change made by anyone else (a znode deleted by hand, a session expired) reaches the
 * simulator through the watch.
 */
import { ErrorCode, ZkClient, ZkError } from "../../src/mesos/zk_client.ts";
import { membersOf } from "../../src/mesos/zk_master_info.ts";
import { parseZkUrl, type ZkUrl } from "../../src/mesos/zk_url.ts";
import { type MasterRegistration, registerMaster } from "./zk_register.ts";

/** One simulated master as it registers. */
export interface ElectionMember {
  ip: string;
  port: number;
  /** MasterInfo id. */
  id: string;
}

export interface ZkElectionOptions {
  /** `zk://host:port[,...]/path`. */
  zk: string;
  /** Every simulated master, by index. */
  members: readonly ElectionMember[];
  /** Indexes registered at start, in this order (so the first one leads). */
  initial: readonly number[];
  /** Called whenever the leading master changes (null: none of ours leads). */
  onLeader: (index: number | null) => void;
  /** ZooKeeper session timeout of each master (default 10 s; servers may lower it). */
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The election; see the module comment. */
export class ZkElection {
  readonly #url: ZkUrl;
  readonly #opts: ZkElectionOptions;
  readonly #regs: (MasterRegistration | null)[];
  readonly #watch: ZkClient;
  #leader: number | null = null;
  #closed = false;
  #refreshing: Promise<void> | null = null;
  #dirty = false;

  private constructor(opts: ZkElectionOptions) {
    this.#opts = opts;
    this.#url = parseZkUrl(opts.zk);
    this.#regs = opts.members.map(() => null);
    this.#watch = new ZkClient({
      servers: this.#url.servers,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
      onState: (s) => {
        if (s === "connected") this.#refresh();
      },
    });
  }

  /** Registers the initial masters in order, then watches; resolves once the leader is known. */
  static async start(opts: ZkElectionOptions): Promise<ZkElection> {
    const e = new ZkElection(opts);
    try {
      for (const i of opts.initial) await e.join(i);
      e.#watch.connect();
      await e.#watch.whenConnected();
      await e.#refreshNow();
    } catch (err) {
      await e.close();
      throw err;
    }
    return e;
  }

  /** The leading master's index, or null. */
  get leader(): number | null {
    return this.#leader;
  }

  /** The znode path of master `i`, or null when it does not contend. */
  znode(i: number): string | null {
    const reg = this.#regs[i];
    return reg?.contending ? reg.path : null;
  }

  /** Master `i` contends (again): a new session and znode, behind every current member. */
  async join(i: number): Promise<void> {
    if (this.#closed || this.#regs[i]?.contending) return;
    const m = this.#opts.members[i];
    const reg = await registerMaster({
      zk: this.#url,
      ip: m.ip,
      port: m.port,
      id: m.id,
      sessionTimeoutMs: this.#opts.sessionTimeoutMs,
      onRecreated: (path) => {
        this.#opts.log?.(`master ${i} contends again in a new ZooKeeper session (${path})`);
        this.#refresh();
      },
    });
    if (this.#closed) {
      await reg.close();
      return;
    }
    this.#regs[i] = reg;
    this.#opts.log?.(`master ${i} registered in ZooKeeper as ${reg.path}`);
    this.#refresh();
  }

  /** Master `i` stops contending: its session ends, so its znode goes. The next in line leads. */
  async leave(i: number): Promise<void> {
    const reg = this.#regs[i];
    if (!reg) return;
    this.#regs[i] = null;
    if (this.#leader === i) this.#setLeader(this.#lowest());
    await reg.close(this.#opts.sessionTimeoutMs ?? 10_000);
    this.#opts.log?.(`master ${i} left the ZooKeeper election`);
  }

  /**
   * Makes master `i` lead as a real cluster would get there: it contends if it did not, and
   * every master ahead of it re-contends behind it. With null, every master leaves.
   */
  async makeLeader(i: number | null): Promise<void> {
    if (i === null) {
      for (let k = 0; k < this.#regs.length; k++) await this.leave(k);
      return;
    }
    await this.join(i);
    const mine = this.#regs[i];
    if (!mine) return;
    const ahead = this.#regs
      .map((r, k) => ({ r, k }))
      .filter(({ r, k }) => k !== i && r?.contending && r.sequence < mine.sequence)
      .sort((a, b) => a.r!.sequence - b.r!.sequence);
    if (ahead.length === 0) return;
    this.#setLeader(i);
    for (const { k } of ahead) {
      const reg = this.#regs[k]!;
      this.#regs[k] = null;
      await reg.close(this.#opts.sessionTimeoutMs ?? 10_000);
      await this.join(k);
    }
  }

  /** Ends every session and the watch. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const regs = this.#regs.splice(0).filter((r): r is MasterRegistration => r !== null);
    await Promise.all([...regs.map((r) => r.close()), this.#watch.close()]);
    await this.#refreshing;
  }

  /** Our contending master with the lowest sequence (what ZooKeeper will say next). */
  #lowest(): number | null {
    let best: number | null = null;
    for (let k = 0; k < this.#regs.length; k++) {
      const r = this.#regs[k];
      if (r?.contending && (best === null || r.sequence < this.#regs[best]!.sequence)) best = k;
    }
    return best;
  }

  #setLeader(i: number | null): void {
    if (i === this.#leader) return;
    this.#leader = i;
    this.#opts.onLeader(i);
  }

  #refresh(): void {
    if (this.#closed) return;
    if (this.#refreshing) {
      this.#dirty = true;
      return;
    }
    this.#refreshing = this.#refreshNow().finally(() => {
      this.#refreshing = null;
    });
  }

  async #refreshNow(): Promise<void> {
    do {
      this.#dirty = false;
      if (this.#closed || !this.#watch.isConnected) return;
      let children: string[];
      try {
        children = await this.#watch.getChildren(this.#url.path, () => this.#refresh());
      } catch (e) {
        if (e instanceof ZkError && e.code === ErrorCode.noNode) {
          if (await this.#watch.exists(this.#url.path, () => this.#refresh()).catch(() => false)) {
            this.#dirty = true;
            continue;
          }
          children = [];
        } else {
          return; // connection lost: "connected" reads again
        }
      }
      if (this.#closed) return;
      const members = membersOf(children).filter((m) => m.format === "json");
      const first = members[0];
      if (!first) {
        this.#setLeader(null);
        continue;
      }
      const k = this.#regs.findIndex((r) => r?.contending && r.path.endsWith(`/${first.name}`));
      // Unknown: another process's master, or ours whose create() reply is still on its way
      // (join() reads again once it has it). Keep the leader until it is known.
      if (k >= 0) this.#setLeader(k);
      else this.#opts.log?.(`ZooKeeper leader ${first.name} is not a known simulated master`);
    } while (this.#dirty && !this.#closed);
  }
}
