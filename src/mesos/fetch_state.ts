/**
 * Fetching the Mesos master state (owns: SPEC §4.1 the HTTP request — URL, headers,
 * whole-request timeout, redirects, status check, body size cap, JSON parse, shape check —
 * and §4.2 which master is asked: `[leader, ...others]` in order, and the leader-follow rule).
 *
 * Every failure is a `StateFetchError` with a short message naming the master or URL
 * (`connection refused to 127.0.0.1:5050`, `HTTP 500 from http://…/master/state`,
 * `timeout after 3s fetching …`); credentials never appear in messages (they only travel
 * in the Authorization header, never in URLs).
 *
 * Deliberate differences from the original (SPEC §0, §10.5):
 * - a non-2xx status fails the fetch, whatever the body (401/403 say that credentials were
 *   refused or are needed; an untrusted certificate says so and points at CACertFile);
 * - a body that is not a state document of the expected types is rejected whole;
 * - redirects are followed by hand (up to 10), and the Authorization header goes only to
 *   masters we know (the masters list, or the leader named by a master's state);
 * - when a master on the same host as its leader answers with its own non-leader view
 *   (its `pid` differs from `leader`, and so does the port), the state is re-fetched from the
 *   leader's own port: the original re-used the asked port there and so accepted an empty view.
 */
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import { joinHostPort, splitHostPortLoose } from "../net/host_port.ts";
import { fetchFor, type Http1TlsOptions } from "../net/http1_client.ts";
import type { MesosState } from "./state_types.ts";
import { readStateSteps, type StateRead } from "./state_schema.ts";
import { runSliced, yieldToEventLoop } from "../work_slices.ts";
import { adviseHugePages } from "../huge_pages.ts";

/** A slice of reading a fetched state (then the event loop runs). */
const READ_SLICE_MS = 10;

const log = logger("mesos");

/** What went wrong, for callers that react differently (metrics, tests). */
export type StateFetchErrorKind =
  | "no-masters"
  | "bad-master"
  | "connect"
  | "tls"
  | "timeout"
  | "aborted"
  | "redirect"
  | "http-status"
  | "too-large"
  | "body"
  | "invalid-json"
  | "bad-shape"
  | "no-leader"
  | "bad-leader"
  | "auth"
  | "all-failed";

/** A failed state fetch; `message` is one readable line. */
export class StateFetchError extends Error {
  override name = "StateFetchError";

  constructor(
    readonly kind: StateFetchErrorKind,
    message: string,
    /** The `host:port` that was asked, when one was. */
    readonly master?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What an authorization provider gets to do its job (IAM needs to log in first). */
export interface AuthContext {
  /** Aborted when the state request times out or is cancelled. */
  signal: AbortSignal;
  /** The client the state request uses (same TLS settings), if any. */
  client?: Deno.HttpClient;
  /** The fetch function the state request uses. */
  fetch: typeof fetch;
}

/**
 * Returns the `Authorization` header value for one state request, or undefined for none.
 * Called once per state request (the original's IAM client also logs in every time).
 */
export type AuthorizationProvider = (ctx: AuthContext) => Promise<string | undefined>;

/** HTTP basic authentication (`MesosAuthentication: "basic"`, SPEC §2.4). */
export function basicAuthorization(principal: string, secret: string): AuthorizationProvider {
  const bytes = new TextEncoder().encode(`${principal}:${secret}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const value = `Basic ${btoa(bin)}`;
  return () => Promise.resolve(value);
}

export interface StateFetcherOptions {
  /** Use https (`MesosHTTPSOn`). */
  https?: boolean;
  /** Whole-request timeout: connect, headers, redirects and body (default 300 s). */
  timeoutMs?: number;
  authorization?: AuthorizationProvider;
  /** The HTTP client (TLS roots, client certificate); not closed by `close()` when given. */
  client?: Deno.HttpClient;
  /** Closed by `close()`: a client this fetcher was given to own. */
  ownedClient?: Deno.HttpClient;
  /** Replaces `fetch` (tests). */
  fetchFn?: typeof fetch;
  /** Larger bodies are rejected (default 256 MiB). */
  maxBodyBytes?: number;
  /** Redirect hops followed per request (default 10, as Go's client). */
  maxRedirects?: number;
  /** The TLS settings of `client`, for connections made without it (the event stream). */
  tls?: Http1TlsOptions;
}

/** A state document and the `host:port` that served it. */
export interface FetchedState {
  state: MesosState;
  from: string;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches `/master/state` from the masters of a masters list (SPEC §3: element 0 is the
 * leader or "", the rest other masters). One instance serves the whole process.
 */
export class StateFetcher {
  readonly #https: boolean;
  readonly #timeoutMs: number;
  readonly #auth?: AuthorizationProvider;
  readonly #client?: Deno.HttpClient;
  readonly #owned?: Deno.HttpClient;
  readonly #fetch: typeof fetch;
  readonly #maxBody: number;
  readonly #maxRedirects: number;
  /** TLS settings (CAs, client certificate) for our own HTTP/1.1 connections. */
  readonly tls: Http1TlsOptions;
  /** True when masters are asked over HTTPS (`MesosHTTPSOn`). */
  readonly https: boolean;

  constructor(opts: StateFetcherOptions = {}) {
    this.#https = opts.https ?? false;
    this.https = this.#https;
    this.tls = opts.tls ?? {};
    this.#timeoutMs = opts.timeoutMs ?? 300_000;
    this.#auth = opts.authorization;
    this.#owned = opts.ownedClient;
    this.#client = opts.client ?? opts.ownedClient;
    this.#fetch = opts.fetchFn ?? fetch;
    this.#maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#maxRedirects = opts.maxRedirects ?? 10;
  }

  /**
   * SPEC §4.2 steps 1–3: tries the leader (element 0, unless "") and then the others in
   * order; the first success wins. Entries that are not `host:port` are skipped. When every
   * attempt fails, the error lists each master's failure (kind `all-failed`), or is the
   * single attempt's own error when only one master was tried.
   */
  async fetch(masters: readonly string[], signal?: AbortSignal): Promise<FetchedState> {
    if (masters.length === 0) throw new StateFetchError("no-masters", "no masters given to fetch state");
    const known = new Set<string>();
    for (const m of masters) {
      const hp = splitHostPortLoose(m);
      if (hp) known.add(hostKey(hp.host, hp.port));
    }
    const failures: StateFetchError[] = [];
    const asked: string[] = [];
    for (const master of masters) {
      if (master === "") continue;
      if (!splitHostPortLoose(master)) {
        log.debug("skipping master {master}: not host:port", { master });
        continue;
      }
      try {
        return await this.fetchFrom(master, signal, known);
      } catch (err) {
        const e = asFetchError(err, master);
        if (e.kind === "aborted") throw e;
        log.debug("state fetch from {master} failed: {error}", { master, error: e.message });
        failures.push(e);
        asked.push(master);
      }
    }
    if (failures.length === 0) {
      throw new StateFetchError("no-masters", `no usable master in [${masters.join(", ")}]`);
    }
    if (failures.length === 1) throw failures[0];
    // Name the asked master when the failure happened elsewhere (after a leader-follow).
    const detail = failures.map((f, i) =>
      f.message.includes(asked[i]) ? f.message : `${asked[i]}: ${f.message}`
    )
      .join("; ");
    throw new StateFetchError("all-failed", `all ${failures.length} masters failed: ${detail}`, undefined, {
      cause: failures.at(-1),
    });
  }

  /**
   * SPEC §4.2 step 4: fetches from one master; if its state names a leader on another host,
   * fetches once more from that host on the asked port and returns that as it is.
   * `known` are the `host:port` keys credentials may be sent to (default: just this master).
   */
  async fetchFrom(master: string, signal?: AbortSignal, known?: ReadonlySet<string>): Promise<FetchedState> {
    const hp = splitHostPortLoose(master);
    if (!hp) throw new StateFetchError("bad-master", `master ${master} is not host:port`, master);
    const trusted = new Set(known ?? []);
    trusted.add(hostKey(hp.host, hp.port));
    const first = await this.#get(hp.host, hp.port, trusted, signal);
    const state = first.state;
    const leader = parseLeader(state.leader);
    if (!leader) {
      throw new StateFetchError(
        "bad-leader",
        `cannot parse leader ${JSON.stringify(state.leader)} from ${master}`,
        master,
      );
    }
    let target: { host: string; port: string } | undefined;
    if (leader.host !== hp.host) {
      target = { host: leader.host, port: hp.port };
    } else if (
      leader.port !== hp.port && typeof state.pid === "string" &&
      trimPid(state.pid) !== trimPid(state.leader!)
    ) {
      // Same host, another port, and the document is a non-leader's view (see header).
      target = { host: leader.host, port: leader.port };
    }
    if (!target) return first;
    const to = joinHostPort(target.host, target.port);
    log.debug("{master} names leader {leader}; fetching state from {to}", {
      master,
      leader: state.leader,
      to,
    });
    trusted.add(hostKey(target.host, target.port));
    return await this.#get(target.host, target.port, trusted, signal);
  }

  /**
   * The Authorization header value for one request to a master (basic, or a fresh IAM token),
   * or undefined without authentication: the event stream authenticates as the state fetch.
   */
  authorization(signal: AbortSignal): Promise<string | undefined> {
    return this.#auth
      ? this.#auth({ signal, client: this.#client, fetch: this.#fetch })
      : Promise.resolve(undefined);
  }

  /** Releases the HTTP client this fetcher owns, if any. */
  close(): void {
    this.#owned?.close();
  }

  /** One state request to host:port (redirects included), checked and parsed. */
  async #get(
    host: string,
    port: string,
    trusted: ReadonlySet<string>,
    outer?: AbortSignal,
  ): Promise<FetchedState> {
    const master = joinHostPort(host, port);
    let url = new URL(`${this.#https ? "https" : "http"}://${master}/master/state`);
    const ac = new AbortController();
    const timeoutMs = this.#timeoutMs;
    const timer = setTimeout(() => ac.abort(new TimeoutSignal()), timeoutMs);
    const onOuter = () => ac.abort(new AbortedSignal());
    if (outer?.aborted) onOuter();
    outer?.addEventListener("abort", onOuter, { once: true });
    const signal = ac.signal;
    const where = () => displayURL(url);
    const failed = (err: unknown, what: () => StateFetchError): StateFetchError => {
      if (signal.aborted) {
        return signal.reason instanceof TimeoutSignal
          ? new StateFetchError(
            "timeout",
            `timeout after ${formatDuration(timeoutMs)} fetching ${where()}`,
            master,
          )
          : new StateFetchError("aborted", `state fetch from ${where()} cancelled`, master);
      }
      return err instanceof StateFetchError ? err : what();
    };
    try {
      let authorization: string | undefined;
      try {
        authorization = this.#auth
          ? await this.#auth({ signal, client: this.#client, fetch: this.#fetch })
          : undefined;
      } catch (err) {
        throw failed(err, () =>
          new StateFetchError(
            "auth",
            `authentication for ${master} failed: ${err instanceof Error ? err.message : String(err)}`,
            master,
          ));
      }
      let res: Response;
      for (let hops = 0;; hops++) {
        const headers = new Headers({
          "Content-Type": "application/json",
          "User-Agent": "Mesos-DNS",
          "Connection": "close",
        });
        if (authorization !== undefined && trusted.has(urlKey(url))) {
          headers.set("Authorization", authorization);
        }
        try {
          res = await this.#fetch(url, {
            method: "GET",
            headers,
            redirect: "manual",
            signal,
            ...(this.#client ? { client: this.#client } : {}),
          } as RequestInit);
        } catch (err) {
          throw failed(err, () => connectError(err, url, master));
        }
        if (!REDIRECT_STATUSES.has(res.status)) break;
        const location = res.headers.get("location");
        await res.body?.cancel().catch(() => {});
        if (!location) {
          throw new StateFetchError(
            "redirect",
            `HTTP ${res.status} without Location from ${where()}`,
            master,
          );
        }
        if (hops >= this.#maxRedirects) {
          throw new StateFetchError("redirect", `too many redirects fetching from ${master}`, master);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new StateFetchError("redirect", `bad redirect Location from ${where()}`, master);
        }
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw new StateFetchError(
            "redirect",
            `redirect to unsupported scheme ${next.protocol} from ${where()}`,
            master,
          );
        }
        if (url.protocol === "https:" && next.protocol === "http:") authorization = undefined;
        log.debug("{from} redirects to {to}", { from: where(), to: displayURL(next) });
        url = next;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel().catch(() => {});
        const sent = authorization !== undefined && trusted.has(urlKey(url));
        throw new StateFetchError(
          "auth",
          `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""} from ${where()}: ${
            sent
              ? "the master refused our credentials (check MesosCredentials or the IAM account)"
              : "the master requires authentication (set MesosAuthentication)"
          }`,
          master,
        );
      }
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel().catch(() => {});
        throw new StateFetchError(
          "http-status",
          `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""} from ${where()}`,
          master,
        );
      }
      let body: Uint8Array;
      try {
        body = await readCappedBytes(res, this.#maxBody, where(), master);
      } catch (err) {
        throw failed(err, () =>
          new StateFetchError(
            "body",
            `truncated or broken body from ${where()}: ${err instanceof Error ? err.message : String(err)}`,
            master,
          ));
      }
      let read: StateRead;
      try {
        // In slices: a 100,000-task state takes a second to read, while TCP and HTTP go on.
        read = await runSliced(readStateSteps(body), READ_SLICE_MS);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new StateFetchError("invalid-json", `invalid JSON from ${where()}: ${clip(why, 160)}`, master);
      }
      const problem = read.problem;
      if (problem !== null) {
        const kind = problem.startsWith("fetched state does not contain leader") ? "no-leader" : "bad-shape";
        throw new StateFetchError(kind, `${problem} (from ${where()})`, master);
      }
      return { state: read.state, from: joinHostPort(stripBrackets(url.hostname), portOf(url)) };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    }
  }
}

/** The fields of `Config` a state fetcher needs. */
export type StateFetchConfig = Pick<
  Config,
  | "MesosHTTPSOn"
  | "StateTimeoutSeconds"
  | "CACertFile"
  | "CertFile"
  | "KeyFile"
  | "MesosAuthentication"
  | "MesosCredentials"
>;

/**
 * Builds the process's state fetcher from the config: scheme, timeout, TLS (CACertFile as
 * extra trust roots, CertFile/KeyFile as client certificate), a client without connection
 * reuse (the original disabled keep-alive), and basic authentication. `iam` needs an
 * `authorization` provider from the caller. The fetcher owns the client it creates.
 */
export async function createStateFetcher(
  config: StateFetchConfig,
  extra: { authorization?: AuthorizationProvider; fetchFn?: typeof fetch; maxBodyBytes?: number } = {},
): Promise<StateFetcher> {
  let authorization = extra.authorization;
  if (!authorization && config.MesosAuthentication === "basic") {
    authorization = basicAuthorization(config.MesosCredentials.Principal, config.MesosCredentials.Secret);
  }
  if (!authorization && config.MesosAuthentication === "iam") {
    throw new Error('MesosAuthentication "iam" needs an IAM authorization provider, and none was given');
  }
  const caCerts = config.CACertFile ? [await Deno.readTextFile(config.CACertFile)] : undefined;
  const keyPair = config.CertFile && config.KeyFile
    ? { cert: await Deno.readTextFile(config.CertFile), key: await Deno.readTextFile(config.KeyFile) }
    : {};
  if (config.MesosHTTPSOn && !config.CACertFile) {
    log.warn(
      "MesosHTTPSOn without CACertFile: master certificates are checked against the system roots " +
        "(the original Mesos-DNS skipped verification)",
    );
  }
  const client = Deno.createHttpClient({
    poolMaxIdlePerHost: 0,
    ...(caCerts ? { caCerts } : {}),
    ...keyPair,
  });
  return new StateFetcher({
    https: config.MesosHTTPSOn,
    timeoutMs: config.StateTimeoutSeconds * 1000,
    authorization,
    ownedClient: client,
    // Deno's fetch refuses some ports (6000, 6665-6669, ...) that Go's client reaches: those go
    // through our own HTTP/1.1 client with the same TLS settings.
    fetchFn: extra.fetchFn ?? fetchFor(fetch, { caCerts, ...keyPair }),
    tls: { caCerts, ...keyPair },
    maxBodyBytes: extra.maxBodyBytes,
  });
}

// ---------------------------------------------------------------------------------------------
// Leader parsing (SPEC §4.2 step 4)

/** Splits `master@host:port` (quotes/spaces trimmed, exactly one `@`); null if it cannot. */
export function parseLeader(leader: unknown): { host: string; port: string } | null {
  if (typeof leader !== "string") return null;
  const s = trimPid(leader);
  const parts = s.split("@");
  if (parts.length !== 2) return null;
  const hp = splitHostPortLoose(parts[1]);
  if (!hp || hp.host === "") return null;
  return hp;
}

function trimPid(pid: string): string {
  return pid.replace(/^[" ]+|[" ]+$/g, "");
}

// ---------------------------------------------------------------------------------------------
// Helpers

class TimeoutSignal extends Error {}
class AbortedSignal extends Error {}

/**
 * Reads a response body, failing as soon as it exceeds `max` bytes. The bytes are parsed as
 * they are (`readState`), never decoded into one large string: a large state is held as its
 * bytes and the few fields read, not as bytes, text and document at once (issues #6, #11).
 */
async function readCappedBytes(
  res: Response,
  max: number,
  where: string,
  master: string,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new StateFetchError("too-large", `state body from ${where} is larger than ${formatBytes(max)}`, master);
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  let buf = new Uint8Array(Number.isSafeInteger(declared) && declared > 0 ? declared : 64 * 1024);
  adviseHugePages(buf);
  let total = 0;
  let sliceEnd = performance.now() + READ_SLICE_MS;
  while (true) {
    // A large body that has arrived is read in a run of reads that complete at once: the event
    // loop is let through between them (TCP, HTTP).
    if (performance.now() >= sliceEnd) {
      await yieldToEventLoop();
      sliceEnd = performance.now() + READ_SLICE_MS;
    }
    const { value, done } = await reader.read();
    if (done) break;
    if (total + value.byteLength > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    if (total + value.byteLength > buf.length) {
      const bigger = new Uint8Array(Math.min(max, Math.max(buf.length * 2, total + value.byteLength)));
      adviseHugePages(bigger);
      bigger.set(buf.subarray(0, total));
      buf = bigger;
    }
    buf.set(value, total);
    total += value.byteLength;
  }
  return buf.subarray(0, total);
}

function connectError(err: unknown, url: URL, master: string): StateFetchError {
  const target = joinHostPort(stripBrackets(url.hostname), portOf(url));
  const text = [err instanceof Error ? err.message : String(err), causeText(err)].join(" ");
  const cert = /invalid peer certificate: (\S+)/i.exec(text);
  if (cert) {
    let reason = cert[1];
    const count = (c: string) => reason.split(c).length - 1;
    while (reason.endsWith(")") && count(")") > count("(")) reason = reason.slice(0, -1);
    return new StateFetchError(
      "tls",
      `TLS: the certificate of ${target} is not trusted (${reason}); check CACertFile`,
      master,
      { cause: err },
    );
  }
  if (/certificate|handshake|tls|alert/i.test(causeText(err)) && url.protocol === "https:") {
    return new StateFetchError(
      "tls",
      `TLS handshake with ${target} failed: ${clip(causeText(err).replace(/^.*?\): /, ""), 200)}`,
      master,
      { cause: err },
    );
  }
  if (url.protocol === "http:" && /invalid HTTP version parsed/i.test(text)) {
    return new StateFetchError(
      "connect",
      `${target} did not answer HTTP (does the master serve HTTPS? set MesosHTTPSOn)`,
      master,
      { cause: err },
    );
  }
  if (/connection refused/i.test(text)) {
    return new StateFetchError("connect", `connection refused to ${target}`, master, { cause: err });
  }
  if (/dns error|lookup address|name or service not known|no address associated/i.test(text)) {
    return new StateFetchError("connect", `cannot resolve ${stripBrackets(url.hostname)}`, master, {
      cause: err,
    });
  }
  const detail = clip(causeText(err) || (err instanceof Error ? err.message : String(err)), 200);
  return new StateFetchError("connect", `cannot fetch state from ${target}: ${detail}`, master, {
    cause: err,
  });
}

function causeText(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  return cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause);
}

function asFetchError(err: unknown, master: string): StateFetchError {
  if (err instanceof StateFetchError) return err;
  return new StateFetchError("connect", `state fetch from ${master} failed: ${String(err)}`, master, {
    cause: err,
  });
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function portOf(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

function hostKey(host: string, port: string): string {
  return `${stripBrackets(host).toLowerCase()}|${port}`;
}

function urlKey(url: URL): string {
  return hostKey(url.hostname, portOf(url));
}

/** The URL without any user-info (never shown). */
function displayURL(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const u = new URL(url.href);
  u.username = "";
  u.password = "";
  return u.href;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
