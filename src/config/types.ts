/**
 * The effective configuration (owns: the shape only). Field names are the Go field
 * names of the original Mesos-DNS, so `/v1/config` can serialise this object in the
 * original's key order (see SPEC §8.3) and config files written for the original load
 * unchanged. Loading, merging and validation live in the sibling modules.
 */

export interface MesosCredentials {
  Principal: string;
  Secret: string;
}

export type MesosAuthentication = "" | "basic" | "iam";

/** How UDP DNS is served: `auto` (the FFI fast path where it can run), `ffi`, `portable`. */
export type DnsUdpEngine = "auto" | "ffi" | "portable";

/** Where the state comes from: `poll` (`/master/state`), `stream` (operator API), `auto` (stream, else poll). */
export type StateSource = "poll" | "stream" | "auto";

export interface Config {
  RefreshSeconds: number;
  Port: number;
  Timeout: number;
  StateTimeoutSeconds: number;
  ZkDetectionTimeout: number;
  HttpPort: number;
  TTL: number;
  SRVRecordDefaultWeight: number;
  SOASerial: number;
  SOARefresh: number;
  SOARetry: number;
  SOAExpire: number;
  SOAMinttl: number;
  /** Normalised: exactly one trailing dot (`ns1.mesos.`). */
  SOAMname: string;
  /** Normalised: `@` → `.`, exactly one trailing dot (`root.ns1.mesos.`). */
  SOARname: string;
  /** `host:port` entries; `null` when not configured (as the original shows it). */
  Masters: string[] | null;
  /** zone (no trailing dot) → resolvers as `ip:port` */
  ZoneResolvers: Record<string, string[]>;
  /** Normalised `ip:port` (IPv6 bracketed), after the resolv.conf fallback. */
  Resolvers: string[];
  IPSources: string[];
  Zk: string;
  /** Lower-cased, no trailing dot. */
  Domain: string;
  File: string;
  Listener: string;
  HTTPListener: string;
  RecurseOn: boolean;
  DnsOn: boolean;
  HttpOn: boolean;
  ExternalOn: boolean;
  EnforceRFC952: boolean;
  SetTruncateBit: boolean;
  EnumerationOn: boolean;
  MesosHTTPSOn: boolean;
  CACertFile: string;
  CertFile: string;
  KeyFile: string;
  MesosCredentials: MesosCredentials;
  IAMConfigFile: string;
  MesosAuthentication: MesosAuthentication;
  /** New (not in the original): the UDP server implementation. */
  DNSUDPEngine: DnsUdpEngine;
  /** New: UDP fast path workers (0: one per CPU core). */
  DNSUDPWorkers: number;
  /** New: receive buffer (bytes) asked for each DNS UDP socket (0: the kernel default). */
  UDPReceiveBuffer: number;
  /** New: entries in the forwarded-answer cache (0: off). */
  ForwardCacheSize: number;
  /** Addition: warn when a new state drops more than this % of the records (0: never). */
  RecordsDropWarnPercent: number;
  /** Addition: clients allowed zone transfers, canonical IPs or CIDRs (`10.0.0.0/8`); empty: nobody. */
  AXFRAllow: string[];
  /** Addition: secondaries sent DNS NOTIFY after each change, normalised `ip:port`. */
  NotifySecondaries: string[];
  /** Addition: PTR records for the addresses of tasks, agents and masters. */
  PTROn: boolean;
  /** Addition: tasks whose latest status has `healthy: false` get no records. */
  HealthAware: boolean;
  /**
   * Addition: `/ready` answers 503 when the served records are older than this many
   * seconds (time since the last good state update); 0: never; -1: 3 × RefreshSeconds.
   */
  ReadyMaxAgeSeconds: number;
  /** Addition: clients (IPs or CIDR prefixes) whose outside names are forwarded; others get REFUSED. */
  ForwardAllow: string[];
  /** Addition: UDP responses per second per client /24 (IPv4) or /56 (IPv6) prefix; 0: no limit. */
  RateLimit: number;
  /** Addition: every RateLimitSlip-th rate-limited response is sent truncated (TC), the rest dropped. */
  RateLimitSlip: number;
  /** Addition: where the state comes from: the operator-API event stream, polling, or auto. */
  StateSource: StateSource;
}
