/**
 * Simulated Mesos master registration in ZooKeeper (owns: contending for leadership the
 * way a Mesos master does — an ephemeral sequential `json.info_` znode under the path,
 * holding MasterInfo JSON; the lowest sequence leads; deleting the znode or closing the
 * session gives leadership up). When ZooKeeper expires the session (e.g. the ensemble was
 * down longer than the session timeout), the client starts a new session and the master
 * contends again with a new znode, as a restarted Mesos master would.
 *
 * Library use: `const reg = await registerMaster({ zk, ip, port })`, then `reg.resign()`
 * or `reg.close()`. Command line (stays registered until interrupted):
 *   deno run -A scripts/sim/zk_register.ts zk://127.0.0.1:2181/mesos 10.0.0.1:5050 [hostname]
 */
import { CreateMode, ErrorCode, ZkClient, ZkError } from "../../src/mesos/zk_client.ts";
import { parseZkUrl, type ZkUrl } from "../../src/mesos/zk_url.ts";

/** What to register. */
export interface RegisterOptions {
  /** `zk://hosts/path` or a parsed URL; the znode goes under its path. */
  zk: string | ZkUrl;
  /** The master's IPv4 or IPv6 address. */
  ip: string;
  port: number;
  /** Default: the ip. */
  hostname?: string;
  /** MasterInfo id. Default: a random UUID. */
  id?: string;
  /** Mesos version string. Default "1.11.0". */
  version?: string;
  /** ZooKeeper session timeout. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Called with the new znode path after contending again in a new session. */
  onRecreated?: (path: string) => void;
}

/** A live registration. */
export interface MasterRegistration {
  /** Full path of the current znode, e.g. `/mesos/json.info_0000000003`. */
  readonly path: string;
  /** Its sequence number. */
  readonly sequence: number;
  /** False after `resign()` (until the master contends again) and after `close()`. */
  readonly contending: boolean;
  /** The MasterInfo written. */
  readonly info: Record<string, unknown>;
  /** Deletes the znode (the master stops contending), keeping the session open. */
  resign(): Promise<void>;
  /**
   * Closes the session (the znode disappears if still there). When the client is between
   * connections, waits up to `waitMs` (default 0) to reconnect first, so that the server ends
   * the session at once; otherwise the znode stays until the session expires.
   */
  close(waitMs?: number): Promise<void>;
}

/**
 * The 32-bit `ip` field of MasterInfo for an IPv4 address, as Mesos writes it on
 * little-endian hosts (10.0.0.1 → 16777226); 0 for IPv6.
 */
export function ipv4ToUint32LE(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 0;
  return (parts[0] | (parts[1] << 8) | (parts[2] << 16) | (parts[3] << 24)) >>> 0;
}

/** Builds MasterInfo JSON as Mesos writes it into `json.info_` znodes. */
export function masterInfoJson(
  o: { ip: string; port: number; hostname?: string; id?: string; version?: string },
) {
  const hostname = o.hostname ?? o.ip;
  const pidHost = o.ip.includes(":") ? `[${o.ip}]` : o.ip;
  return {
    address: { hostname, ip: o.ip, port: o.port },
    hostname,
    id: o.id ?? crypto.randomUUID(),
    ip: ipv4ToUint32LE(o.ip),
    pid: `master@${pidHost}:${o.port}`,
    port: o.port,
    version: o.version ?? "1.11.0",
  };
}

async function ensurePath(client: ZkClient, path: string): Promise<void> {
  let prefix = "";
  for (const segment of path.split("/").filter((s) => s !== "")) {
    prefix += `/${segment}`;
    try {
      await client.create(prefix, new Uint8Array(), CreateMode.persistent);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === ErrorCode.nodeExists)) throw e;
    }
  }
}

/** Registers a simulated master; resolves once its znode exists. */
export async function registerMaster(options: RegisterOptions): Promise<MasterRegistration> {
  const url = typeof options.zk === "string" ? parseZkUrl(options.zk) : options.zk;
  const info = masterInfoJson(options);
  const data = new TextEncoder().encode(JSON.stringify(info));
  let path = "";
  let contending = false;
  let closed = false;
  let expired = false;
  const contend = async () => {
    await ensurePath(client, url.path);
    path = await client.create(`${url.path}/json.info_`, data, CreateMode.ephemeralSequential);
    contending = true;
  };
  const client = new ZkClient({
    servers: url.servers,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
    onState: (state) => {
      if (state === "expired") {
        expired = true;
      } else if (state === "connected" && expired && contending && !closed) {
        // The old znode went with the old session: contend again.
        expired = false;
        contend().then(() => options.onRecreated?.(path)).catch(() => {});
      }
    },
  });
  client.connect();
  try {
    await client.whenConnected();
    await contend();
  } catch (e) {
    await client.close();
    throw e;
  }
  return {
    get path() {
      return path;
    },
    get sequence() {
      return Number(path.slice(path.lastIndexOf("_") + 1));
    },
    get contending() {
      return contending && !closed;
    },
    info,
    async resign() {
      contending = false;
      try {
        await client.delete(path);
      } catch (e) {
        if (!(e instanceof ZkError && e.code === ErrorCode.noNode)) throw e;
      }
    },
    async close(waitMs = 0) {
      closed = true;
      if (waitMs > 0 && !client.isConnected) {
        // Reconnecting (e.g. just after a ZooKeeper outage): wait, so the server ends the
        // session now instead of letting it expire with its znode still there.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          client.whenConnected().catch(() => {}),
          new Promise<void>((r) => timer = setTimeout(r, waitMs)),
        ]);
        clearTimeout(timer);
      }
      await client.close();
    },
  };
}

if (import.meta.main) {
  const [zk, address, hostname] = Deno.args;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address ?? "");
  if (!zk || !m) {
    console.error("usage: zk_register.ts zk://host:port/path ip:port [hostname]");
    Deno.exit(2);
  }
  const reg = await registerMaster({ zk, ip: m[1], port: Number(m[2]), hostname });
  console.log(`registered ${reg.path} (${m[1]}:${m[2]}); Ctrl-C to leave`);
  Deno.addSignalListener("SIGINT", async () => {
    await reg.close();
    Deno.exit(0);
  });
}
