/**
 * The HTTP listener (owns: binding the socket with `Deno.serve`, turning requests into
 * `dispatch` calls on the current snapshot, and shutting down). What each path answers
 * lives in routes.ts.
 */
import type { Config } from "../config/types.ts";
import { logger } from "../log.ts";
import type { SnapshotHolder } from "../records/snapshot.ts";
import type { AppStatus } from "../status.ts";
import { dispatch, type HttpRequestInfo, type HttpResponse, TEXT_TYPE } from "./routes.ts";

const log = logger("http");

export interface HttpServerOptions {
  hostname: string;
  port: number;
  config: Config;
  /** Where the served snapshot comes from (the DNS server's, so that both agree). */
  holder: Pick<SnapshotHolder, "current">;
  /** Extra read-only data for /v1/config etc. is the config itself; metrics text provider is optional */
  metrics?: () => string;
  /** What the status page at `/` shows (no `/` without it). */
  status?: () => AppStatus;
  /** Whether `/ready` answers 200 (default: once a state has loaded). */
  ready?: () => boolean;
}

export interface HttpServer {
  readonly port: number;
  /** A configuration reload: later requests see `config` (`/v1/config`, `EnumerationOn`...). */
  applyConfig(config: Config): void;
  close(): Promise<void>;
}

function requestInfo(req: Request): HttpRequestInfo {
  const url = new URL(req.url);
  const length = req.headers.get("content-length");
  const hasBody = (length !== null && length.trim() !== "0") || req.headers.has("transfer-encoding");
  return {
    method: req.method,
    path: url.pathname,
    accept: req.headers.get("accept"),
    contentType: req.headers.get("content-type"),
    hasBody,
    query: url.search.slice(1),
  };
}

/**
 * The body to send: a string as it is; pieces as a byte stream that makes the next piece
 * only when the connection has taken the previous one (so a large body never exists whole).
 */
function bodyInit(body: HttpResponse["body"], what: string): BodyInit {
  if (typeof body === "string") return body;
  const pieces = body[Symbol.iterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      try {
        const next = pieces.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (err) {
        log.error(`HTTP body of ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
        controller.error(err);
      }
    },
    cancel() {
      pieces.return?.();
    },
  });
}

/**
 * Starts the HTTP API on `hostname:port` (port 0 picks a free one); resolves once the
 * socket is bound, rejects if it cannot be (e.g. address in use).
 */
export function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const { holder, metrics, status, ready } = opts;
  let config = opts.config;
  const handler = (req: Request): Response => {
    const info = requestInfo(req);
    const res = dispatch(info, { config, snapshot: holder.current(), metrics, status, ready });
    log.debug(`${info.method} ${info.path} -> ${res.status}`);
    return new Response(bodyInit(res.body, info.path), {
      status: res.status,
      headers: { "content-type": res.contentType },
    });
  };
  try {
    const server = Deno.serve({
      hostname: opts.hostname,
      port: opts.port,
      onListen: () => {},
      onError: (err) => {
        log.error(`HTTP handler failed: ${err instanceof Error ? err.message : String(err)}`);
        return new Response("500: Internal Server Error", {
          status: 500,
          headers: { "content-type": TEXT_TYPE },
        });
      },
    }, handler);
    const port = server.addr.port;
    log.info(`HTTP API listening on ${server.addr.hostname}:${port}`);
    let closing: Promise<void> | undefined;
    return Promise.resolve({
      port,
      applyConfig: (next) => {
        config = next;
      },
      close: () => closing ??= server.shutdown(),
    });
  } catch (err) {
    return Promise.reject(err);
  }
}
