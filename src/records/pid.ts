/**
 * Mesos PID parsing (owns: SPEC §4.4 `id@host:port` pids). The host:port rules are
 * those of src/net/host_port.ts (strict for pids); IPv6 hosts are bracketed.
 */
import { type HostPort, isNumericPort, splitHostPort } from "../net/host_port.ts";

/** A parsed libprocess PID such as `slave(1)@10.0.0.11:5051`. */
export interface Pid extends HostPort {
  id: string;
}

/**
 * Parses a PID value from the state: surrounding quotes and spaces are trimmed, there must
 * be exactly one `@`, and the rest must split into host and a numeric port. Anything else
 * (including non-strings such as a JSON null) gives null.
 */
export function parsePid(raw: unknown): Pid | null {
  if (typeof raw !== "string") return null;
  const s = raw.replace(/^[" ]+|[" ]+$/g, "");
  const at = s.indexOf("@");
  if (at < 0 || s.indexOf("@", at + 1) >= 0) return null;
  const hp = splitHostPort(s.slice(at + 1));
  if (!hp || !isNumericPort(hp.port)) return null;
  return { id: s.slice(0, at), host: hp.host, port: hp.port };
}
