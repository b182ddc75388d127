/**
 * Task IP addresses (owns: the SPEC §6.2 `IPSources` walk: `netinfo`, `mesos`, `docker`
 * read the chosen TASK_RUNNING status, `host` the agent's IPs; the first source that
 * yields at least one valid IP wins).
 */
import type { MesosTask, MesosTaskStatus } from "../mesos/state_types.ts";
import { type ParsedIP, parseIP } from "../net/ip.ts";

/** Label key holding the Docker containerizer IP. */
export const DOCKER_IP_LABEL = "Docker.NetworkSettings.IPAddress";
/** Label key holding the Mesos containerizer IP. */
export const MESOS_IP_LABEL = "MesosContainerizer.NetworkSettings.IPAddress";

/**
 * The status the container sources read: among statuses in state TASK_RUNNING, the one
 * with the greatest timestamp (the first one on ties; a missing timestamp counts as 0).
 */
export function chosenStatus(statuses: unknown): MesosTaskStatus | undefined {
  if (!Array.isArray(statuses)) return undefined;
  let best: MesosTaskStatus | undefined;
  let bestTs = -1;
  for (const s of statuses as MesosTaskStatus[]) {
    if (!s || typeof s !== "object" || s.state !== "TASK_RUNNING") continue;
    const ts = typeof s.timestamp === "number" ? s.timestamp : 0;
    if (ts > bestTs) {
      bestTs = ts;
      best = s;
    }
  }
  return best;
}

function netinfoValues(s: MesosTaskStatus): unknown[] {
  const infos = s.container_status?.network_infos;
  if (!Array.isArray(infos)) return [];
  const out: unknown[] = [];
  for (const ni of infos) {
    if (!ni || typeof ni !== "object") continue;
    const list = ni.ip_addresses;
    if (Array.isArray(list) && list.length > 0) {
      for (const a of list) out.push(a?.ip_address);
    } else if (typeof ni.ip_address === "string" && ni.ip_address !== "") {
      out.push(ni.ip_address);
    }
  }
  return out;
}

function labelValues(s: MesosTaskStatus, key: string): unknown[] {
  const labels = s.labels;
  if (!Array.isArray(labels)) return [];
  const out: unknown[] = [];
  for (const l of labels) if (l && l.key === key) out.push(l.value);
  return out;
}

/**
 * The task's IPs per `sources` (SPEC §6.2), parsed and canonical. `slaveIPs` are the
 * agent's IP addresses (the `host` source). Unknown source names are ignored. Empty when
 * no source yields an IP.
 */
export function taskIPs(
  task: MesosTask,
  sources: readonly string[],
  slaveIPs: readonly ParsedIP[],
): ParsedIP[] {
  let status: MesosTaskStatus | undefined | null = null;
  for (const src of sources) {
    let values: readonly unknown[];
    if (src === "host") {
      if (slaveIPs.length > 0) return [...slaveIPs];
      continue;
    } else if (src === "netinfo" || src === "mesos" || src === "docker") {
      if (status === null) status = chosenStatus(task.statuses);
      if (!status) continue;
      values = src === "netinfo"
        ? netinfoValues(status)
        : labelValues(status, src === "mesos" ? MESOS_IP_LABEL : DOCKER_IP_LABEL);
    } else {
      continue;
    }
    const ips: ParsedIP[] = [];
    for (const v of values) {
      if (typeof v !== "string") continue;
      const ip = parseIP(v);
      if (ip) ips.push(ip);
    }
    if (ips.length > 0) return ips;
  }
  return [];
}
