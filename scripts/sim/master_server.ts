/**
 * The simulated Mesos masters (owns: one `Deno.serve` HTTP server per master, what each
 * master answers — the leader's full state, a non-leader's own view or a 307 to the leader,
 * `/master/redirect` — the faults a master can be told to show, and the `/__sim` control API).
 *
 * Paths served as a real master does: `/master/state`, `/master/state.json`, `/state`,
 * `/state.json`, `/master/redirect`, `/redirect`, `/master/state-summary` (frameworks with their
 * pids, agents; no tasks), and the v1 operator API `POST /api/v1`
 * (`SUBSCRIBE`: a RecordIO stream of SUBSCRIBED with `get_state`, HEARTBEAT every
 * `heartbeatSeconds`, and the events of every change; `GET_STATE`). A non-leader answers
 * 307 to the leader; a master that stops leading ends its streams (as Mesos masters exit);
 * `operatorApi: false` makes a master of before the API (404). The control API (JSON answers) is served on
 * every master port under `/__sim` and, optionally, on a dedicated control port that stays up
 * while masters are stopped:
 *
 *   GET  /__sim                      summary: masters, leader, which are up, faults, task counts
 *   GET  /__sim/cluster              the leader's full state document
 *   GET  /__sim/tasks                every task: id, name, state, framework, agent
 *   POST /__sim/kill?task=ID         kill a task (moves to completed_tasks as TASK_KILLED)
 *   POST /__sim/launch?name=&framework=&agent=&network=&ports=&discovery=1
 *   POST /__sim/move?task=ID[&agent=ID]
 *   POST /__sim/leader?index=N       N = master index, or `none` for no leader
 *   POST /__sim/stop?master=N        close that master's port
 *   POST /__sim/start?master=N       listen again on the same address
 *   POST /__sim/fault?kind=K[&master=N][&delay_ms=D]   K = a FaultKind or `none`; master defaults
 *                                    to the current leader
 *   POST /__sim/agent?action=add|remove[&id=ID]         an agent joins or goes (its tasks: TASK_GONE)
 *   POST /__sim/framework?action=add|remove&name=N|id=ID
 *   POST /__sim/stream?mode=normal|down|silent   event streams: as usual; `down` ends them and
 *                                    answers 503 to SUBSCRIBE; `silent` keeps them open, sends
 *                                    nothing (no heartbeats, events lost)
 *
 * Optional, as a secured DC/OS cluster: HTTPS (`tls`), HTTP basic authentication or IAM tokens
 * on the master endpoints (`auth`, see master_auth.ts; the IAM login endpoint
 * `POST /acs/api/v1/auth/login` is served on every master port and on the control port), and
 * leader election through a real ZooKeeper (`zk`, see zk_election.ts): every master then
 * registers its znode, the lowest sequence leads, stopping a master ends its session, and
 * `setLeader` re-orders the masters' znodes instead of just naming a leader.
 */
import type { MesosState } from "../../src/mesos/state_types.ts";
import { type GenerateOptions, type LaunchOptions, type NetworkMode, SimCluster } from "./cluster.ts";
import { IAM_LOGIN_PATH, MasterAuth, type SimAuthOptions } from "./master_auth.ts";
import { ZkElection } from "./zk_election.ts";
import { subscribedEvent } from "./operator_events.ts";

/** What the masters' event streams do (`/__sim/stream`). */
export type StreamMode = "normal" | "down" | "silent";

/**
 * How a master can misbehave:
 * - `garbage`: 200 with an HTML body (not JSON);
 * - `http500`: status 500 whose body is the master's normal, valid state (only the status
 *   shows the failure; the original Mesos-DNS would have accepted it, SPEC §0);
 * - `wrong-shape`: 200 with JSON that has a leader but `frameworks`/`slaves` of the wrong type;
 * - `no-leader`: 200 with the normal state minus its `leader` field (as during an election);
 * - `truncated`: 200 whose Content-Length is the full body, but only half is sent;
 * - `hang`: the request is never answered (until the fault is cleared or the master stops);
 * - `slow`: headers at once, then the body trickles out over `delayMs`.
 */
export type FaultKind = "garbage" | "http500" | "wrong-shape" | "no-leader" | "truncated" | "hang" | "slow";

export const FAULT_KINDS: readonly FaultKind[] = [
  "garbage",
  "http500",
  "wrong-shape",
  "no-leader",
  "truncated",
  "hang",
  "slow",
];

/** What a non-leading master answers on `/master/state`. */
export type NonLeaderMode =
  /** Its own, mostly empty view with `leader` set (Mesos ≤ 1.0, and what SPEC §4.2 step 4 handles). */
  | "view"
  /** 307 to the leader, as Mesos ≥ 1.1 documents it. */
  | "redirect";

/** Where the masters listen. */
export type HostMode =
  /** All on 127.0.0.1, each on its own port (the first one `port`). */
  | "ports"
  /** Master i on 127.0.0.(i+1), all on the same port, as real masters on separate hosts. */
  | "loopbacks";

export interface SimulatorOptions {
  /** A state document file to serve (any of tests/fixtures/*.json). */
  file?: string;
  /** A state document to serve (copied). */
  document?: MesosState;
  /** A generated cluster (the default when neither `file` nor `document` is given). */
  generate?: Partial<GenerateOptions>;
  /** Number of masters (default 1). */
  masters?: number;
  /** Port of the first master (0, the default, picks a free one). */
  port?: number;
  /** Index of the leading master (default 0; null = no leader elected). */
  leader?: number | null;
  /**
   * For `file`/`document` sources: rewrite the document's `leader` (and `pid`, and
   * `leader_info` if present) to the simulated leader. Required with more than one master,
   * so that no master names a leader outside this machine.
   */
  rewriteLeader?: boolean;
  nonLeader?: NonLeaderMode;
  hosts?: HostMode;
  /** Also serve the control API on its own port (0 = a free one); undefined = no such port. */
  controlPort?: number;
  /** Duration of the `slow` fault's body (default 10000 ms). */
  slowMs?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Require credentials on the master endpoints (basic and/or IAM). */
  auth?: SimAuthOptions;
  /**
   * Elect the leader through ZooKeeper at this `zk://host:port[,...]/path`: every master
   * registers as Mesos does, and `leader` (default 0) only decides who registers first
   * (null: no master registers).
   */
  zk?: string;
  /** ZooKeeper session timeout of each master (default 10 s; the servers may lower it). */
  zkSessionTimeoutMs?: number;
  /** Receives one line per control action (the CLI prints them on stderr). */
  log?: (line: string) => void;
  /** Serve the v1 operator API on `/api/v1` (default true; false: 404, as Mesos < 1.0). */
  operatorApi?: boolean;
  /** HEARTBEAT interval of the event streams, seconds (default 15, as Mesos). */
  heartbeatSeconds?: number;
}

/** One request a master received (for tests that check what clients send). */
export interface RequestRecord {
  master: number;
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** A running simulator; every method acts at once on what the masters serve next. */
export interface Simulator {
  /** `host:port` of each master, in index order. */
  readonly masters: readonly string[];
  /** Index of the leader, or null when no leader is elected. */
  readonly leaderIndex: number | null;
  /** Base URL of the control API on the dedicated control port, or null without one. */
  readonly control: string | null;
  readonly cluster: SimCluster;
  /** Requests received by the masters, oldest first (the last 1000). */
  readonly requests: readonly RequestRecord[];
  /** The credential checks (counts of logins and refusals), or null without `auth`. */
  readonly auth: MasterAuth | null;
  /** The ZooKeeper URL the masters register under, or null without `zk`. */
  readonly zk: string | null;
  /** With `zk`: master `i`'s current znode path, or null when it does not contend. */
  znode(i: number): string | null;
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** `http(s)://host:port<path>` of master `i`. */
  url(i: number, path?: string): string;
  /** `master@host:port` of master `i`. */
  pid(i: number): string;
  /** The document master `i` (default: the leader, else master 0) would serve now, as a copy. */
  state(i?: number): MesosState;
  killTask(id: string): boolean;
  launchTask(opts?: LaunchOptions): string;
  moveTask(id: string, agentId?: string): string;
  /**
   * Makes master `i` lead (null: no leader). Without `zk` this takes effect at once; with
   * `zk` the masters' znodes are re-ordered and the promise resolves when that is done.
   */
  setLeader(i: number | null): Promise<void>;
  /** Closes master `i`'s port (with `zk`: after ending its ZooKeeper session). */
  stopMaster(i: number): Promise<void>;
  /** Listens again on the same address (with `zk`: then contends again, behind the others). */
  startMaster(i: number): Promise<void>;
  isUp(i: number): boolean;
  setFault(i: number, kind: FaultKind | null, opts?: { delayMs?: number }): void;
  fault(i: number): FaultKind | null;
  /** Event streams open now (SUBSCRIBE answered and not ended). */
  readonly streams: number;
  /** SUBSCRIBE requests answered with a stream so far. */
  readonly subscriptions: number;
  setStreamMode(mode: StreamMode): void;
  close(): Promise<void>;
}

/** One open event stream. */
interface Subscriber {
  master: number;
  send(text: string): void;
  end(): void;
}

const STATE_PATHS = new Set(["/master/state", "/master/state.json", "/state", "/state.json"]);
const REDIRECT_PATHS = new Set(["/master/redirect", "/redirect"]);
const SUMMARY_PATHS = new Set(["/master/state-summary", "/state-summary"]);
const MAX_REQUEST_LOG = 1000;

interface MasterSlot {
  hostname: string;
  port: number;
  server: Deno.HttpServer<Deno.NetAddr> | null;
  fault: FaultKind | null;
  delayMs: number;
  /** Aborted to release hanging/slow responses (fault change, stop, close). */
  release: AbortController;
  id: string;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/**
 * Starts the masters (and the control port if asked) and resolves once all listen.
 * Throws on bad options (e.g. a file source with several masters and no `rewriteLeader`).
 */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorImpl(opts);
  try {
    await sim.init(opts);
  } catch (err) {
    await sim.close();
    throw err;
  }
  return sim;
}

class SimulatorImpl implements Simulator {
  readonly cluster: SimCluster;
  readonly requests: RequestRecord[] = [];
  control: string | null = null;
  auth: MasterAuth | null = null;
  readonly zk: string | null;
  #election: ZkElection | null = null;
  readonly #zkSessionTimeoutMs?: number;
  #leader: number | null;
  readonly #slots: MasterSlot[] = [];
  readonly #fromFile: boolean;
  readonly #rewrite: boolean;
  /** The leader pid of a file/document served without rewriting. */
  readonly #originalLeader: string;
  readonly #nonLeader: NonLeaderMode;
  readonly #slowMs: number;
  readonly #tls?: { cert: string; key: string };
  readonly #log: (line: string) => void;
  #control: Deno.HttpServer<Deno.NetAddr> | null = null;
  /** Stops started from a request on the master being stopped: awaited by close(). */
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;
  readonly #operatorApi: boolean;
  readonly #heartbeatSeconds: number;
  readonly #subscribers = new Set<Subscriber>();
  #streamMode: StreamMode = "normal";
  subscriptions = 0;

  constructor(opts: SimulatorOptions) {
    let doc: MesosState | undefined = opts.document;
    if (opts.file !== undefined) doc = JSON.parse(Deno.readTextFileSync(opts.file)) as MesosState;
    this.#fromFile = doc !== undefined;
    this.cluster = doc !== undefined ? SimCluster.fromDocument(doc) : SimCluster.generate({
      frameworks: opts.generate?.frameworks ?? 3,
      agents: opts.generate?.agents ?? 5,
      tasks: opts.generate?.tasks ?? 30,
      seed: opts.generate?.seed ?? 1,
    });
    this.#originalLeader = typeof doc?.leader === "string" ? doc.leader : "";
    this.#rewrite = !this.#fromFile || opts.rewriteLeader === true;
    const count = Math.max(1, Math.floor(opts.masters ?? 1));
    if (this.#fromFile && !this.#rewrite && count > 1) {
      throw new Error("a state file served by several masters needs rewriteLeader (--rewrite-leader)");
    }
    this.#leader = opts.leader === undefined ? 0 : opts.leader;
    if (this.#leader !== null && (this.#leader < 0 || this.#leader >= count)) {
      throw new Error(`leader index ${this.#leader} out of range (0..${count - 1})`);
    }
    this.#nonLeader = opts.nonLeader ?? "view";
    this.#slowMs = opts.slowMs ?? 10_000;
    this.#tls = opts.tls;
    this.zk = opts.zk ?? null;
    this.#zkSessionTimeoutMs = opts.zkSessionTimeoutMs;
    this.#log = opts.log ?? (() => {});
    this.#operatorApi = opts.operatorApi ?? true;
    this.#heartbeatSeconds = opts.heartbeatSeconds ?? 15;
    this.cluster.onEvent((events) => {
      if (this.#streamMode !== "normal") return;
      for (const sub of this.#subscribers) {
        if (sub.master !== this.#leader) continue;
        for (const ev of events) sub.send(JSON.stringify(ev));
      }
    });
    for (let i = 0; i < count; i++) {
      this.#slots.push({
        hostname: opts.hosts === "loopbacks" ? `127.0.0.${i + 1}` : "127.0.0.1",
        port: 0,
        server: null,
        fault: null,
        delayMs: this.#slowMs,
        release: new AbortController(),
        id: `${this.cluster.document().id ?? "sim"}-m${i}`,
      });
    }
  }

  async init(opts: SimulatorOptions): Promise<void> {
    if (opts.auth) this.auth = await MasterAuth.create(opts.auth);
    const first = this.#slots[0];
    first.port = opts.port ?? 0;
    this.#listen(0);
    for (let i = 1; i < this.#slots.length; i++) {
      this.#slots[i].port = opts.hosts === "loopbacks" ? first.port : 0;
      this.#listen(i);
    }
    if (opts.controlPort !== undefined) {
      this.#control = Deno.serve(
        { hostname: "127.0.0.1", port: opts.controlPort, onListen: () => {} },
        (req) =>
          new URL(req.url).pathname === IAM_LOGIN_PATH ? this.#login(req) : this.#controlRequest(req, -1),
      );
      this.control = `http://127.0.0.1:${this.#control.addr.port}/__sim`;
    }
    if (this.zk !== null) {
      const leader = this.#leader;
      const order = leader === null
        ? []
        : [leader, ...this.#slots.map((_, i) => i).filter((i) => i !== leader)];
      this.#election = await ZkElection.start({
        zk: this.zk,
        members: this.#slots.map((s) => ({ ip: s.hostname, port: s.port, id: s.id })),
        initial: order,
        onLeader: (i) => this.#applyLeader(i, "ZooKeeper: "),
        sessionTimeoutMs: this.#zkSessionTimeoutMs,
        log: (line) => this.#log(line),
      });
    }
  }

  znode(i: number): string | null {
    return this.#election?.znode(this.#index(i)) ?? null;
  }

  #applyLeader(i: number | null, why = ""): void {
    if (i !== this.#leader) this.#endStreams((s) => s.master !== i);
    this.#leader = i;
    this.#log(`${why}${i === null ? "no leader now" : `leader is now master ${i} (${this.masters[i]})`}`);
  }

  #login(req: Request): Promise<Response> {
    if (!this.auth) return Promise.resolve(json({ error: "authentication is not enabled" }, 404));
    return this.auth.login(req);
  }

  get masters(): readonly string[] {
    return this.#slots.map((s) => `${s.hostname}:${s.port}`);
  }

  get leaderIndex(): number | null {
    return this.#leader;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  url(i: number, path = "/master/state"): string {
    return `${this.#tls ? "https" : "http"}://${this.masters[this.#index(i)]}${path}`;
  }

  pid(i: number): string {
    return `master@${this.masters[this.#index(i)]}`;
  }

  state(i?: number): MesosState {
    const idx = i ?? this.#leader ?? 0;
    return structuredClone(this.#view(this.#index(idx)));
  }

  killTask(id: string): boolean {
    const ok = this.cluster.killTask(id);
    this.#log(ok ? `killed task ${id}` : `no live task ${id} to kill`);
    return ok;
  }

  launchTask(opts: LaunchOptions = {}): string {
    const id = this.cluster.launchTask(opts);
    this.#log(`launched task ${id}`);
    return id;
  }

  moveTask(id: string, agentId?: string): string {
    const to = this.cluster.moveTask(id, agentId);
    this.#log(`moved task ${id} to agent ${to}`);
    return to;
  }

  setLeader(i: number | null): Promise<void> {
    if (i !== null) this.#index(i);
    if (this.#election) return this.#election.makeLeader(i);
    this.#applyLeader(i);
    return Promise.resolve();
  }

  async stopMaster(i: number): Promise<void> {
    const slot = this.#slots[this.#index(i)];
    await this.#election?.leave(i);
    this.#endStreams((s) => s.master === i);
    if (!slot.server) return;
    const server = slot.server;
    slot.server = null;
    slot.release.abort();
    slot.release = new AbortController();
    await server.shutdown();
    this.#log(`stopped master ${i} (${slot.hostname}:${slot.port})`);
  }

  async startMaster(i: number): Promise<void> {
    const idx = this.#index(i);
    if (this.#closed) throw new Error("simulator is closed");
    if (!this.#slots[idx].server) {
      this.#listen(idx);
      this.#log(`started master ${i} (${this.masters[idx]})`);
    }
    await this.#election?.join(idx);
  }

  isUp(i: number): boolean {
    return this.#slots[this.#index(i)].server !== null;
  }

  setFault(i: number, kind: FaultKind | null, opts: { delayMs?: number } = {}): void {
    const slot = this.#slots[this.#index(i)];
    if (kind !== null && !FAULT_KINDS.includes(kind)) throw new Error(`unknown fault kind ${kind}`);
    slot.fault = kind;
    slot.delayMs = opts.delayMs ?? this.#slowMs;
    slot.release.abort();
    slot.release = new AbortController();
    this.#log(kind === null ? `master ${i} behaves again` : `master ${i} now answers with fault ${kind}`);
  }

  fault(i: number): FaultKind | null {
    return this.#slots[this.#index(i)].fault;
  }

  get streams(): number {
    return this.#subscribers.size;
  }

  setStreamMode(mode: StreamMode): void {
    this.#streamMode = mode;
    if (mode === "down") this.#endStreams(() => true);
    this.#log(`event streams: ${mode}`);
  }

  #endStreams(which: (s: Subscriber) => boolean): void {
    for (const s of [...this.#subscribers]) if (which(s)) s.end();
  }

  /** `/master/state-summary` on master `i`: frameworks (with pids) and agents, no tasks. */
  #summaryRequest(req: Request, i: number, path: string): Response {
    const refused = this.auth?.check(req);
    if (refused) return refused;
    const leader = this.#leader;
    if (i !== leader) {
      if (leader === null) return new Response("No leader elected", { status: 503 });
      const l = this.#slots[leader];
      return new Response(null, { status: 307, headers: { location: `//${l.hostname}:${l.port}${path}` } });
    }
    const doc = this.cluster.document();
    return json({
      hostname: this.#slots[i].hostname,
      cluster: doc.cluster,
      slaves: (doc.slaves ?? []).map((s) => ({ id: s.id, pid: s.pid, hostname: s.hostname })),
      frameworks: (doc.frameworks ?? []).map((f) => ({
        id: f.id,
        name: f.name,
        ...(f.pid ? { pid: f.pid } : {}),
        hostname: f.hostname ?? "",
        active: true,
      })),
    });
  }

  /** `POST /api/v1` on master `i`. */
  async #operatorRequest(req: Request, i: number): Promise<Response> {
    if (!this.#operatorApi) return new Response("Not Found", { status: 404 });
    if (req.method !== "POST") {
      return new Response("Expecting 'POST'", { status: 405, headers: { allow: "POST" } });
    }
    const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      return new Response(`Expecting 'Content-Type' of application/json`, { status: 415 });
    }
    let call: { type?: string };
    try {
      call = await req.json();
    } catch {
      return new Response("Failed to parse body into Call", { status: 400 });
    }
    const refused = this.auth?.check(req);
    if (refused) return refused;
    const leader = this.#leader;
    if (i !== leader) {
      if (leader === null) return new Response("No leader elected", { status: 503 });
      const l = this.#slots[leader];
      return new Response(null, { status: 307, headers: { location: `//${l.hostname}:${l.port}/api/v1` } });
    }
    if (call.type === "GET_STATE") {
      const ev = subscribedEvent(this.cluster.document(), this.#heartbeatSeconds);
      return json({ type: "GET_STATE", get_state: (ev.subscribed as { get_state: unknown }).get_state });
    }
    if (call.type !== "SUBSCRIBE") return new Response(`Unsupported call ${call.type}`, { status: 400 });
    if (this.#streamMode === "down") return new Response("Service Unavailable", { status: 503 });
    return this.#subscribe(i);
  }

  #subscribe(i: number): Response {
    const enc = new TextEncoder();
    let ctrl!: ReadableStreamDefaultController<Uint8Array>;
    const heartbeat: { timer?: ReturnType<typeof setInterval> } = {};
    let ended = false;
    const sub: Subscriber = {
      master: i,
      send: (text) => {
        if (ended) return;
        try {
          ctrl.enqueue(enc.encode(`${enc.encode(text).length}\n${text}`));
        } catch {
          sub.end();
        }
      },
      end: () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat.timer);
        this.#subscribers.delete(sub);
        try {
          ctrl.close();
        } catch { /* cancelled */ }
      },
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        ctrl = c;
      },
      cancel: () => sub.end(),
    });
    this.#subscribers.add(sub);
    this.subscriptions++;
    sub.send(JSON.stringify(subscribedEvent(this.cluster.document(), this.#heartbeatSeconds)));
    if (!ended) {
      heartbeat.timer = setInterval(() => {
        if (this.#streamMode === "normal") sub.send('{"type":"HEARTBEAT"}');
      }, this.#heartbeatSeconds * 1000);
    }
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#endStreams(() => true);
    await Promise.allSettled([...this.#pending]);
    await this.#election?.close();
    this.#election = null;
    const closing: Promise<void>[] = [];
    for (const slot of this.#slots) {
      slot.release.abort();
      if (slot.server) closing.push(slot.server.shutdown());
      slot.server = null;
    }
    if (this.#control) closing.push(this.#control.shutdown());
    this.#control = null;
    await Promise.allSettled(closing);
  }

  // ------------------------------------------------------------------------------------------

  #index(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.#slots.length) {
      throw new Error(`no master ${i} (there are ${this.#slots.length})`);
    }
    return i;
  }

  #listen(i: number): void {
    const slot = this.#slots[i];
    const server = Deno.serve({
      hostname: slot.hostname,
      port: slot.port,
      onListen: () => {},
      onError: (err) => {
        this.#log(`master ${i} handler error: ${err instanceof Error ? err.message : String(err)}`);
        return new Response("Internal Server Error", { status: 500 });
      },
      ...(this.#tls ? { cert: this.#tls.cert, key: this.#tls.key } : {}),
    }, (req) => this.#masterRequest(req, i));
    slot.server = server;
    slot.port = server.addr.port;
  }

  /** The leader's pid as masters report it ("" when none). */
  #leaderPid(): string {
    if (this.#leader === null) return "";
    return this.#rewrite ? this.pid(this.#leader) : this.#originalLeader;
  }

  /** The document master `i` serves on `/master/state` (the live document for an unrewritten file). */
  #view(i: number): MesosState {
    const doc = this.cluster.document();
    const leaderPid = this.#leaderPid();
    if (i === this.#leader) {
      if (!this.#rewrite) return doc;
      const view: MesosState = { ...doc, pid: this.pid(i) };
      if (!this.#fromFile || doc.hostname === undefined || doc.hostname === "") {
        view.hostname = this.#slots[i].hostname;
      }
      view.leader = leaderPid;
      if (!this.#fromFile || "leader_info" in doc) view.leader_info = this.#leaderInfo();
      return view;
    }
    // A non-leader: the master fields of the document, nothing of the cluster.
    const own: MesosState = {};
    for (
      const key of ["version", "git_sha", "git_tag", "build_date", "build_time", "build_user", "start_time"]
    ) {
      if (key in doc) own[key] = doc[key];
    }
    own.id = this.#slots[i].id;
    own.pid = this.pid(i);
    own.hostname = this.#slots[i].hostname;
    own.activated_slaves = 0;
    own.deactivated_slaves = 0;
    if (leaderPid) {
      own.leader = leaderPid;
      if ("leader_info" in doc || !this.#fromFile) own.leader_info = this.#leaderInfo();
    }
    for (const key of ["cluster", "log_dir", "flags"]) if (key in doc) own[key] = doc[key];
    own.slaves = [];
    own.frameworks = [];
    own.completed_frameworks = [];
    own.orphan_tasks = [];
    own.unregistered_frameworks = [];
    return own;
  }

  #leaderInfo(): Record<string, unknown> | undefined {
    if (this.#leader === null) return undefined;
    const slot = this.#slots[this.#leader];
    return {
      id: slot.id,
      pid: this.pid(this.#leader),
      port: slot.port,
      hostname: slot.hostname,
      address: { hostname: slot.hostname, ip: slot.hostname, port: slot.port },
    };
  }

  #record(req: Request, i: number, path: string): void {
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    this.requests.push({ master: i, method: req.method, path, headers });
    if (this.requests.length > MAX_REQUEST_LOG) {
      this.requests.splice(0, this.requests.length - MAX_REQUEST_LOG);
    }
  }

  async #masterRequest(req: Request, i: number): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/__sim" || path.startsWith("/__sim/")) return this.#controlRequest(req, i);
    if (path === IAM_LOGIN_PATH) return await this.#login(req);
    this.#record(req, i, path);
    if (path === "/api/v1") return await this.#operatorRequest(req, i);
    if (SUMMARY_PATHS.has(path)) return this.#summaryRequest(req, i, path);
    const isState = STATE_PATHS.has(path);
    if (!isState && !REDIRECT_PATHS.has(path)) return new Response("Not Found", { status: 404 });
    const refused = this.auth?.check(req);
    if (refused) return refused;
    const slot = this.#slots[i];
    if (slot.fault) return await this.#faultResponse(slot, i);
    const leader = this.#leader;
    const leaderSlot = leader === null ? null : this.#slots[leader];
    if (!isState || (i !== leader && this.#nonLeader === "redirect")) {
      if (!leaderSlot) return new Response("No leader elected", { status: 503 });
      // As Mesos: a protocol-relative Location; /redirect goes to the leader's base URL.
      const location = `//${leaderSlot.hostname}:${leaderSlot.port}${isState ? path : ""}`;
      return new Response(null, { status: 307, headers: { location } });
    }
    return json(this.#view(i));
  }

  async #faultResponse(slot: MasterSlot, i: number): Promise<Response> {
    const release = slot.release.signal;
    const body = () => JSON.stringify(this.#view(i));
    switch (slot.fault!) {
      case "garbage":
        return new Response("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n", {
          headers: { "content-type": "text/html" },
        });
      case "http500":
        return new Response(body(), { status: 500, headers: { "content-type": "application/json" } });
      case "wrong-shape":
        return json({
          leader: this.#leaderPid() || this.pid(i),
          frameworks: { marathon: {} },
          slaves: "none",
        });
      case "no-leader": {
        const doc: MesosState = { ...this.#view(i) };
        delete doc.leader;
        delete doc.leader_info;
        return json(doc);
      }
      case "truncated": {
        const bytes = new TextEncoder().encode(body());
        const half = bytes.slice(0, Math.floor(bytes.length / 2));
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(half);
            c.close();
          },
        });
        return new Response(stream, {
          headers: { "content-type": "application/json", "content-length": String(bytes.length) },
        });
      }
      case "hang":
        await new Promise<void>((resolve) => {
          if (release.aborted) resolve();
          else release.addEventListener("abort", () => resolve(), { once: true });
        });
        return new Response("Service Unavailable", { status: 503 });
      case "slow":
        return new Response(trickle(new TextEncoder().encode(body()), slot.delayMs, release), {
          headers: { "content-type": "application/json" },
        });
    }
  }

  async #controlRequest(req: Request, via: number): Promise<Response> {
    const url = new URL(req.url);
    const action = url.pathname.replace(/^\/__sim\/?/, "");
    const q = url.searchParams;
    try {
      if (req.method === "GET") {
        if (action === "") return json(this.#summary());
        if (action === "cluster") return json(this.state());
        if (action === "tasks") return json(this.cluster.tasks());
        return json({ error: `unknown control path ${url.pathname}` }, 404);
      }
      if (req.method !== "POST") return json({ error: "use GET or POST" }, 405);
      switch (action) {
        case "kill": {
          const id = required(q, "task");
          return this.killTask(id)
            ? json({ ok: true, killed: id })
            : json({ error: `no live task ${id}` }, 404);
        }
        case "launch": {
          const network = q.get("network") ?? undefined;
          if (network && !["host", "bridge", "overlay", "ipv6", "legacy"].includes(network)) {
            return json({ error: `unknown network ${network}` }, 400);
          }
          const id = this.launchTask({
            name: q.get("name") ?? q.get("app") ?? undefined,
            framework: q.get("framework") ?? undefined,
            agent: q.get("agent") ?? undefined,
            network: network as NetworkMode | undefined,
            ports: q.has("ports") ? intParam(q, "ports") : undefined,
            discovery: q.get("discovery") === "1" || q.get("discovery") === "true",
            state: q.get("state") ?? undefined,
          });
          return json({ ok: true, launched: id });
        }
        case "move": {
          const id = required(q, "task");
          const agent = this.moveTask(id, q.get("agent") ?? undefined);
          return json({ ok: true, moved: id, agent });
        }
        case "leader": {
          const raw = q.get("index") ?? q.get("master");
          if (raw === null) return json({ error: "missing index" }, 400);
          await this.setLeader(
            raw === "none" || raw === "-1" ? null : intParam(q, q.has("index") ? "index" : "master"),
          );
          return json({ ok: true, leader: this.#leader });
        }
        case "stop":
        case "start": {
          const m = masterParam(q, this.#leader);
          const p = action === "stop" ? this.stopMaster(m) : this.startMaster(m);
          if (m === via) {
            // Stopping the master this request came through: answer first.
            this.#pending.add(p);
            p.finally(() => this.#pending.delete(p)).catch(() => {});
          } else {
            await p;
          }
          return json({ ok: true, master: m, up: action === "start" });
        }
        case "agent": {
          const what = required(q, "action");
          if (what === "add") return json({ ok: true, agent: this.cluster.addAgent() });
          const id = required(q, "id");
          return this.cluster.removeAgent(id)
            ? json({ ok: true, removed: id })
            : json({ error: `no agent ${id}` }, 404);
        }
        case "framework": {
          const what = required(q, "action");
          if (what === "add") {
            return json({ ok: true, framework: this.cluster.addFramework(required(q, "name")) });
          }
          const id = q.get("id") ?? required(q, "name");
          return this.cluster.removeFramework(id)
            ? json({ ok: true, removed: id })
            : json({ error: `no framework ${id}` }, 404);
        }
        case "stream": {
          const mode = required(q, "mode");
          if (mode !== "normal" && mode !== "down" && mode !== "silent") {
            return json({ error: "mode must be normal, down or silent" }, 400);
          }
          this.setStreamMode(mode);
          return json({ ok: true, mode });
        }
        case "fault": {
          const kind = required(q, "kind");
          const m = masterParam(q, this.#leader);
          if (kind !== "none" && !FAULT_KINDS.includes(kind as FaultKind)) {
            return json({ error: `unknown fault kind ${kind}; one of ${FAULT_KINDS.join(", ")}, none` }, 400);
          }
          this.setFault(
            m,
            kind === "none" ? null : kind as FaultKind,
            q.has("delay_ms") ? { delayMs: intParam(q, "delay_ms") } : {},
          );
          return json({ ok: true, master: m, fault: this.fault(m) });
        }
        default:
          return json({ error: `unknown control action ${action}` }, 404);
      }
    } catch (err) {
      return json({ error: err instanceof Error ? err.message : String(err) }, 400);
    }
  }

  #summary(): Record<string, unknown> {
    const tasks = this.cluster.tasks();
    return {
      masters: this.masters,
      leader: this.#leader,
      up: this.#slots.map((s) => s.server !== null),
      faults: this.#slots.map((s) => s.fault),
      zk: this.zk,
      auth: this.auth ? { logins: this.auth.logins, refused: this.auth.refused } : null,
      nonLeader: this.#nonLeader,
      operatorApi: this.#operatorApi,
      streams: this.#subscribers.size,
      streamMode: this.#streamMode,
      version: this.cluster.version,
      tasks: {
        total: tasks.length,
        running: tasks.filter((t) => !t.completed && t.state === "TASK_RUNNING").length,
      },
    };
  }
}

/** A body stream that sends `bytes` in ten pieces spread over `ms`; ends early on `release`. */
function trickle(bytes: Uint8Array, ms: number, release: AbortSignal): ReadableStream<Uint8Array> {
  const pieces = 10;
  const size = Math.ceil(bytes.length / pieces);
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const onRelease = () => wake?.();
  release.addEventListener("abort", onRelease, { once: true });
  const cleanup = () => {
    clearTimeout(timer);
    release.removeEventListener("abort", onRelease);
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (release.aborted || sent >= bytes.length) {
        cleanup();
        c.close();
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, ms / pieces);
      });
      clearTimeout(timer);
      if (release.aborted) {
        cleanup();
        c.close();
        return;
      }
      c.enqueue(bytes.slice(sent, sent + size));
      sent += size;
    },
    cancel() {
      cleanup();
      wake?.();
    },
  });
}

function required(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === "") throw new Error(`missing ${name}`);
  return v;
}

function intParam(q: URLSearchParams, name: string): number {
  const v = Number(required(q, name));
  if (!Number.isInteger(v)) throw new Error(`${name} must be an integer`);
  return v;
}

/** `master` (or `index`) from the query, else the current leader, else 0. */
function masterParam(q: URLSearchParams, leader: number | null): number {
  if (q.has("master")) return intParam(q, "master");
  if (q.has("index")) return intParam(q, "index");
  return leader ?? 0;
}

export type { GenerateOptions, LaunchOptions, NetworkMode };
export { SimCluster };
