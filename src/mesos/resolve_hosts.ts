/**
 * Host name resolution for the generator (owns: turning the non-IP hosts a state
 * mentions into IPs through the system resolver, with a deadline, off the hot path).
 * The generator itself stays pure: it only reads the map built here.
 */
import { logger } from "../log.ts";

const log = logger("mesos");

/** Parses `/etc/hosts` text into name (lower-case) → addresses, in file order. */
export function parseHostsFile(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const fields = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (fields.length < 2) continue;
    const [addr, ...names] = fields;
    for (const name of names) {
      const key = name.toLowerCase();
      const list = map.get(key) ?? [];
      if (!list.includes(addr)) list.push(addr);
      map.set(key, list);
    }
  }
  return map;
}

async function readHostsFile(path: string): Promise<Map<string, string[]>> {
  try {
    return parseHostsFile(await Deno.readTextFile(path));
  } catch {
    return new Map();
  }
}

/** Looks a name up by A and AAAA; an empty list when it does not resolve in time. */
async function lookup(host: string, timeoutMs: number): Promise<string[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  const [v4, v6] = await Promise.allSettled([
    Deno.resolveDns(host, "A", { signal }),
    Deno.resolveDns(host, "AAAA", { signal }),
  ]);
  const ips: string[] = [];
  if (v4.status === "fulfilled") ips.push(...v4.value);
  if (v6.status === "fulfilled") ips.push(...v6.value);
  return ips;
}

/**
 * Resolves every host in `hosts` as the system resolver would: `/etc/hosts` first, then
 * DNS (A and AAAA, at most `concurrency` lookups at a time). Hosts that do not resolve
 * map to an empty list and are logged once per call.
 */
export async function resolveHosts(
  hosts: readonly string[],
  timeoutMs = 2000,
  concurrency = 16,
  hostsFile = "/etc/hosts",
): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  const local = await readHostsFile(hostsFile);
  const queue: string[] = [];
  for (const host of new Set(hosts)) {
    const fromFile = local.get(host.toLowerCase().replace(/\.$/, ""));
    if (fromFile) result.set(host, fromFile);
    else queue.push(host);
  }
  const unresolved: string[] = [];
  const worker = async () => {
    for (let host = queue.shift(); host !== undefined; host = queue.shift()) {
      const ips = await lookup(host, timeoutMs);
      result.set(host, ips);
      if (ips.length === 0) unresolved.push(host);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  if (unresolved.length > 0) {
    log.warn("could not resolve {count} host name(s): {hosts}", {
      count: unresolved.length,
      hosts: unresolved.slice(0, 10).join(", "),
    });
  }
  return result;
}
