/**
 * The parts of a Mesos master `/master/state` document that mesos-dns reads
 * (owns: the shape only; SPEC §4.4). Every field is optional because real documents
 * from Mesos 0.19 to 1.x omit different ones; unknown fields are ignored.
 */

export interface MesosLabel {
  key?: string;
  value?: string;
}

export interface MesosIPAddress {
  ip_address?: string;
  protocol?: string;
}

export interface MesosNetworkInfo {
  ip_addresses?: MesosIPAddress[] | null;
  /** Mesos ≤ 0.25 form: a single address. */
  ip_address?: string;
}

export interface MesosTaskStatus {
  state?: string;
  timestamp?: number;
  /** The task's health check result at this status; absent when the task has no health check. */
  healthy?: boolean;
  labels?: MesosLabel[] | null;
  container_status?: { network_infos?: MesosNetworkInfo[] | null } | null;
}

export interface MesosDiscoveryPort {
  number?: number;
  name?: string;
  protocol?: string;
}

export interface MesosDiscovery {
  visibility?: string;
  name?: string;
  ports?: { ports?: MesosDiscoveryPort[] | null } | null;
}

export interface MesosTask {
  id?: string;
  name?: string;
  framework_id?: string;
  slave_id?: string;
  state?: string;
  resources?: { ports?: string } | null;
  statuses?: MesosTaskStatus[] | null;
  discovery?: MesosDiscovery | null;
  labels?: MesosLabel[] | null;
}

export interface MesosFramework {
  id?: string;
  name?: string;
  pid?: string;
  hostname?: string;
  tasks?: MesosTask[] | null;
}

export interface MesosSlave {
  id?: string;
  hostname?: string;
  pid?: string;
}

export interface MesosState {
  leader?: string;
  pid?: string;
  hostname?: string;
  frameworks?: MesosFramework[] | null;
  slaves?: MesosSlave[] | null;
  [key: string]: unknown;
}
