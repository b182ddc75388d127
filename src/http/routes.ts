/**
 * The HTTP API handlers and router (owns: what each path answers, SPEC §8, and the
 * original's routing errors 404/405/406/415). Everything here is pure: a request
 * description plus the current snapshot and config in, a response description out.
 * The socket side lives in server.ts.
 *
 * Deliberate differences from the original (SPEC §0, §10.3): the credentials secret is
 * shown as `***` in `/v1/config`; a name that normalises to empty gets the not-found
 * placeholder instead of a 500; lookups answer 503 until the first state has loaded;
 * `/ready`, `/health` and (optionally) `/metrics` are new paths.
 */
import type { Config } from "../config/types.ts";
import type { EnumFramework, EnumTask, RecordSet } from "../records/record_set.ts";
import type { Snapshot } from "../records/snapshot.ts";
import { VERSION } from "../version.ts";
import type { AppStatus } from "../status.ts";
import { renderStatusPage } from "./status_page.ts";
import { GoLazyList, GoLazySlice, goMarshalIndent, goMarshalIndentChunks, type GoValue } from "./go_json.ts";

/** A response to be written by the server. */
export interface HttpResponse {
  status: number;
  contentType: string;
  /**
   * The whole body, or for the large ones (`/v1/enumerate`, `/v1/axfr`) its text in pieces,
   * each made when the server is ready to send it (each iteration starts from the beginning).
   */
  body: string | Iterable<string>;
}

/** What the router needs to know about a request. */
export interface HttpRequestInfo {
  method: string;
  /** The URL path, still percent-encoded (e.g. `/v1/hosts/leader.mesos`). */
  path: string;
  /** The `Accept` header, or null when absent. */
  accept: string | null;
  /** The `Content-Type` header, or null when absent. */
  contentType: string | null;
  /** Whether the request carries a body. */
  hasBody: boolean;
  /** The query string without `?` ("" or absent when none). */
  query?: string;
}

/** The state the handlers read. */
export interface RouteContext {
  config: Config;
  snapshot: Snapshot | undefined;
  metrics?: () => string;
  /** What the status page at `/` shows; no `/` route without it. */
  status?: () => AppStatus;
  /** Whether the service is ready (default: a state has loaded); see `readyResponse`. */
  ready?: () => boolean;
}

export const JSON_TYPE = "application/json";
export const TEXT_TYPE = "text/plain; charset=utf-8";
export const METRICS_TYPE = "text/plain; version=0.0.4";
export const HTML_TYPE = "text/html; charset=utf-8";

/** The value `/v1/config` shows instead of a non-empty secret (SPEC §10.3). */
export const MASKED_SECRET = "***";

const NO_STATE_BODY = '{"error":"no state loaded yet"}';

function json(v: GoValue): HttpResponse {
  return { status: 200, contentType: JSON_TYPE, body: goMarshalIndent(v) };
}

/** A JSON response written in pieces as it is sent (issue #6: no whole-body string). */
function jsonPieces(v: GoValue): HttpResponse {
  return { status: 200, contentType: JSON_TYPE, body: { [Symbol.iterator]: () => goMarshalIndentChunks(v) } };
}

function text(status: number, body: string): HttpResponse {
  return { status, contentType: TEXT_TYPE, body };
}

/** The 503 lookups answer before the first state has loaded. */
export function noStateResponse(): HttpResponse {
  return { status: 503, contentType: JSON_TYPE, body: NO_STATE_BODY };
}

/**
 * Normalises a looked-up name as the original does: remove every `.*`, lower-case,
 * append `.` if missing. Returns "" when nothing is left (the original crashed there).
 */
export function normaliseName(raw: string): string {
  const s = raw.replaceAll(".*", "").toLowerCase();
  if (s === "") return "";
  return s.endsWith(".") ? s : s + ".";
}

/** `GET /v1/version` (SPEC §8.1). */
export function versionResponse(): HttpResponse {
  return json(
    new Map<string, GoValue>([
      ["Service", "Mesos-DNS"],
      ["URL", "https://github.com/mesosphere/mesos-dns"],
      ["Version", VERSION],
    ]),
  );
}

/**
 * The effective config as `/v1/config` shows it: keys in the original's order (SPEC §8.3),
 * `SOASerial` = the current serial when a state has loaded, a non-empty secret masked.
 */
export function configView(config: Config, serial?: number): GoValue {
  const zr = config.ZoneResolvers as Record<string, string[]> | null;
  return {
    RefreshSeconds: config.RefreshSeconds,
    Port: config.Port,
    Timeout: config.Timeout,
    StateTimeoutSeconds: config.StateTimeoutSeconds,
    ZkDetectionTimeout: config.ZkDetectionTimeout,
    HttpPort: config.HttpPort,
    TTL: config.TTL,
    SRVRecordDefaultWeight: config.SRVRecordDefaultWeight,
    SOASerial: serial ?? config.SOASerial,
    SOARefresh: config.SOARefresh,
    SOARetry: config.SOARetry,
    SOAExpire: config.SOAExpire,
    SOAMinttl: config.SOAMinttl,
    SOAMname: config.SOAMname,
    SOARname: config.SOARname,
    Masters: config.Masters ?? null,
    ZoneResolvers: zr === null || zr === undefined ? null : new Map(Object.entries(zr)),
    Resolvers: config.Resolvers ?? null,
    IPSources: config.IPSources ?? null,
    Zk: config.Zk,
    Domain: config.Domain,
    File: config.File,
    Listener: config.Listener,
    HTTPListener: config.HTTPListener,
    RecurseOn: config.RecurseOn,
    DnsOn: config.DnsOn,
    HttpOn: config.HttpOn,
    ExternalOn: config.ExternalOn,
    EnforceRFC952: config.EnforceRFC952,
    SetTruncateBit: config.SetTruncateBit,
    EnumerationOn: config.EnumerationOn,
    MesosHTTPSOn: config.MesosHTTPSOn,
    CACertFile: config.CACertFile,
    CertFile: config.CertFile,
    KeyFile: config.KeyFile,
    MesosCredentials: {
      Principal: config.MesosCredentials?.Principal ?? "",
      Secret: config.MesosCredentials?.Secret ? MASKED_SECRET : "",
    },
    IAMConfigFile: config.IAMConfigFile,
    MesosAuthentication: config.MesosAuthentication,
  };
}

/** `GET /v1/config` (SPEC §8.3, §10.3). */
export function configResponse(config: Config, snapshot: Snapshot | undefined): HttpResponse {
  return json(configView(config, snapshot?.serial));
}

/** `GET /v1/hosts/{host}`: A then AAAA values of the normalised name (SPEC §8.2). */
export function hostsResponse(records: RecordSet, host: string): HttpResponse {
  const name = normaliseName(host);
  const out: GoValue[] = [];
  if (name !== "") {
    for (const ip of records.a.get(name) ?? []) out.push({ host: name, ip });
    for (const ip of records.aaaa.get(name) ?? []) out.push({ host: name, ip });
  }
  if (out.length === 0) out.push({ host: "", ip: "" });
  return json(out);
}

/** Splits an SRV value `target:port` at its last colon. */
function splitTarget(value: string): [string, string] {
  const i = value.lastIndexOf(":");
  return i < 0 ? [value, ""] : [value.slice(0, i), value.slice(i + 1)];
}

/**
 * `GET /v1/services/{service}`: per SRV value of the normalised name, one entry with an
 * A value of the target and one with an AAAA value, if any (SPEC §8.4). `service` echoes
 * the path parameter as given.
 */
export function servicesResponse(records: RecordSet, service: string): HttpResponse {
  const name = normaliseName(service);
  const out: GoValue[] = [];
  if (name !== "") {
    for (const value of records.srv.get(name) ?? []) {
      const [target, port] = splitTarget(value);
      const a = records.a.get(target);
      if (a && a.length > 0) out.push({ service, host: target, ip: a[0], port });
      const aaaa = records.aaaa.get(target);
      if (aaaa && aaaa.length > 0) out.push({ service, host: target, ip: aaaa[0], port });
    }
  }
  if (out.length === 0) out.push({ service: "", host: "", ip: "", port: "" });
  return json(out);
}

/** `GET /v1/hosts/{host}/ports`: not implemented, as in the original (SPEC §8.5). */
export function portsResponse(): HttpResponse {
  return text(501, "To be implemented...");
}

function enumTaskValue(t: EnumTask): GoValue {
  return {
    name: t.name,
    id: t.id,
    records: t.records === null
      ? null
      : t.records.map((r): GoValue => ({ name: r.name, host: r.host, rtype: r.rtype })),
  };
}

function* mapIterable<T, U>(items: Iterable<T>, fn: (item: T) => U): Generator<U> {
  for (const item of items) yield fn(item);
}

function enumFrameworkValue(fw: EnumFramework): GoValue {
  const tasks = fw.tasks;
  return {
    tasks: tasks === null ? null : new GoLazySlice(tasks.length, (i) => enumTaskValue(tasks[i])),
    name: fw.name,
  };
}

/**
 * `GET /v1/enumerate`: frameworks, their tasks and the records each added (SPEC §8.6).
 * Written in pieces, each task converted only when its turn comes.
 */
export function enumerateResponse(records: RecordSet): HttpResponse {
  // The record store's sets make each task's records as it is written (bounded memory), afresh
  // for each iteration of the body.
  const enumerateLazily = records.enumerateLazily;
  if (enumerateLazily !== undefined) {
    const value = (): GoValue => {
      const lazy = enumerateLazily();
      return {
        frameworks: lazy === null ? null : lazy.map((fw) => ({
          tasks: new GoLazyList(mapIterable(fw.tasks, enumTaskValue)),
          name: fw.name,
        })),
      };
    };
    return {
      status: 200,
      contentType: JSON_TYPE,
      body: { [Symbol.iterator]: () => goMarshalIndentChunks(value()) },
    };
  }
  const fws = records.frameworks;
  const frameworks = fws === null ? null : new GoLazySlice(fws.length, (i) => enumFrameworkValue(fws[i]));
  return jsonPieces({ frameworks });
}

function toGoMap(m: ReadonlyMap<string, readonly string[]>): ReadonlyMap<string, GoValue> {
  return m as ReadonlyMap<string, GoValue>;
}

/** `GET /v1/axfr`: SOA parameters and a dump of the whole record store (SPEC §8.7), in pieces. */
export function axfrResponse(snapshot: Snapshot, config: Config): HttpResponse {
  const rs = snapshot.records;
  return jsonPieces({
    TTL: config.TTL,
    Serial: snapshot.serial,
    RefreshSeconds: config.RefreshSeconds,
    Mname: config.SOAMname,
    Rname: config.SOARname,
    Domain: config.Domain,
    Records: { As: toGoMap(rs.a), AAAAs: toGoMap(rs.aaaa), SRVs: toGoMap(rs.srv) },
  });
}

/**
 * `GET /ready` (addition): 200 once a state has loaded and while it is not older than
 * `ReadyMaxAgeSeconds` (`ready`, when given, decides), 503 otherwise.
 */
export function readyResponse(snapshot: Snapshot | undefined, ready?: boolean): HttpResponse {
  return (ready ?? snapshot !== undefined)
    ? { status: 200, contentType: JSON_TYPE, body: '{"ready":true}' }
    : { status: 503, contentType: JSON_TYPE, body: '{"ready":false}' };
}

/** `GET /health`: 200 while the process runs (addition). */
export function healthResponse(): HttpResponse {
  return { status: 200, contentType: JSON_TYPE, body: '{"healthy":true}' };
}

// ---- routing ----------------------------------------------------------------------------

interface Route {
  /** Path segments; `{name}` matches one segment. */
  segments: string[];
  produces: string;
  handle(ctx: RouteContext, params: Record<string, string>, req: HttpRequestInfo): HttpResponse;
}

function withState(ctx: RouteContext, fn: (s: Snapshot) => HttpResponse): HttpResponse {
  return ctx.snapshot ? fn(ctx.snapshot) : noStateResponse();
}

function routesFor(ctx: RouteContext): Route[] {
  const r = (path: string, produces: string, handle: Route["handle"]): Route => ({
    segments: path.split("/").filter((s) => s !== ""),
    produces,
    handle,
  });
  const list: Route[] = [
    r("/v1/version", JSON_TYPE, () => versionResponse()),
    r("/v1/config", JSON_TYPE, (c) => configResponse(c.config, c.snapshot)),
    r("/v1/hosts/{host}", JSON_TYPE, (c, p) => withState(c, (s) => hostsResponse(s.records, p.host))),
    r("/v1/hosts/{host}/ports", JSON_TYPE, () => portsResponse()),
    r(
      "/v1/services/{service}",
      JSON_TYPE,
      (c, p) => withState(c, (s) => servicesResponse(s.records, p.service)),
    ),
    r("/ready", JSON_TYPE, (c) => readyResponse(c.snapshot, c.ready?.())),
    r("/health", JSON_TYPE, () => healthResponse()),
  ];
  if (ctx.config.EnumerationOn) {
    list.push(
      r("/v1/enumerate", JSON_TYPE, (c) => withState(c, (s) => enumerateResponse(s.records))),
      r("/v1/axfr", JSON_TYPE, (c) => withState(c, (s) => axfrResponse(s, c.config))),
    );
  }
  const status = ctx.status;
  if (status) {
    list.push(r("/", "text/html", (c, _p, req) => ({
      status: 200,
      contentType: HTML_TYPE,
      body: renderStatusPage(status(), c.snapshot, new URLSearchParams(req.query ?? "").get("q") ?? ""),
    })));
  }
  const metrics = ctx.metrics;
  if (metrics) {
    list.push(
      r("/metrics", "text/plain", () => ({ status: 200, contentType: METRICS_TYPE, body: metrics() })),
    );
  }
  return list;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Matches path segments against a route pattern; returns the parameters or null. */
function match(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith("{") && p.endsWith("}")) params[p.slice(1, -1)] = segments[i];
    else if (p !== segments[i]) return null;
  }
  return params;
}

function mediaTypes(header: string): string[] {
  return header.split(",").map((part) => part.split(";")[0].trim().toLowerCase()).filter((m) => m !== "");
}

/** Whether an `Accept` header admits `produces` (`*\/*`, `type/*` or the exact type). */
export function acceptAllows(accept: string | null, produces: string): boolean {
  if (accept === null || accept.trim() === "") return true;
  const [type] = produces.split("/");
  return mediaTypes(accept).some((m) => m === "*/*" || m === `${type}/*` || m === produces);
}

function contentTypeAllowed(contentType: string | null): boolean {
  if (contentType === null || contentType.trim() === "") return true;
  return mediaTypes(contentType).some((m) => m === JSON_TYPE || m === "*/*");
}

/**
 * Routes one request: 404 for an unknown path, 405 when the path exists but the method is
 * not GET, 415 for a body that is not JSON, 406 when `Accept` rules out the response type
 * (the original's order), otherwise the handler's answer.
 */
export function dispatch(req: HttpRequestInfo, ctx: RouteContext): HttpResponse {
  // A leading/trailing slash is ignored; an empty segment inside the path never matches.
  const trimmed = req.path.replace(/^\/+/, "").replace(/\/+$/, "");
  const raw = trimmed === "" ? [] : trimmed.split("/");
  if (raw.includes("")) return text(404, "404: Page Not Found");
  const segments = raw.map(decodeSegment);
  let found: { route: Route; params: Record<string, string> } | undefined;
  for (const route of routesFor(ctx)) {
    const params = match(route.segments, segments);
    if (params) {
      found = { route, params };
      break;
    }
  }
  if (!found) return text(404, "404: Page Not Found");
  if (req.method !== "GET") return text(405, "405: Method Not Allowed");
  if (req.hasBody && !contentTypeAllowed(req.contentType)) return text(415, "415: Unsupported Media Type");
  if (!acceptAllows(req.accept, found.route.produces)) return text(406, "406: Not Acceptable");
  return found.route.handle(ctx, found.params, req);
}
