/**
 * Address checks of the configuration (owns: normalising `resolvers` entries and the
 * duplicate key of `masters` entries). The syntax itself lives in src/net/.
 * (The `zk://` form lives in src/mesos/zk_url.ts.)
 */
import { canonicalIP } from "../net/ip.ts";
import { joinHostPort, parsePort, splitHostPortOrError as splitHostPort } from "../net/host_port.ts";

/**
 * Normalises a resolver given as `IP` or `IP:port` (IPv6 bare or `[IPv6]:port`) to
 * canonical `ip:port` (default port 53), or returns the reason it is invalid.
 */
export function normaliseResolver(s: string): { value: string } | { error: string } {
  const split = splitHostPort(s);
  const host = "error" in split ? s : split.host;
  const portText = "error" in split ? "53" : split.port;
  const ip = canonicalIP(host);
  if (ip === undefined) return { error: `illegal ip specified: ${s}` };
  if (parsePort(portText) === undefined) return { error: `illegal port specified: ${s}` };
  return { value: joinHostPort(ip, Number(portText)) };
}

/**
 * Checks a master given as `host:port` and returns the key used to detect duplicates
 * (IP literals canonicalised), or the reason it is invalid.
 */
export function masterKey(s: string): { key: string } | { error: string } {
  const split = splitHostPort(s);
  if ("error" in split) return { error: `illegal host:port specified: ${s}. Error: ${split.error}` };
  if (split.host === "") return { error: `illegal host:port specified: ${s}. Error: empty host` };
  if (parsePort(split.port) === undefined) {
    return { error: `illegal host:port specified: ${s}. Error: port must be an integer in 1..65535` };
  }
  const host = canonicalIP(split.host) ?? split.host;
  return { key: joinHostPort(host, Number(split.port)) };
}
