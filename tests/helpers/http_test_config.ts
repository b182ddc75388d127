/**
 * A `Config` with the SPEC §2.2 defaults, for the HTTP tests (owns: nothing else).
 * To be replaced by `defaultConfig()` from src/config/mod.ts once that exists.
 */
import type { Config } from "../../src/config/types.ts";

/** The §2.2 defaults (already normalised), with `overrides` applied on top. */
export function httpTestConfig(overrides: Partial<Config> = {}): Config {
  return {
    RefreshSeconds: 60,
    Port: 53,
    Timeout: 5,
    StateTimeoutSeconds: 300,
    ZkDetectionTimeout: 30,
    HttpPort: 8123,
    TTL: 60,
    SRVRecordDefaultWeight: 1,
    SOASerial: 0,
    SOARefresh: 60,
    SOARetry: 600,
    SOAExpire: 86400,
    SOAMinttl: 60,
    SOAMname: "ns1.mesos.",
    SOARname: "root.ns1.mesos.",
    Masters: null,
    ZoneResolvers: {},
    Resolvers: ["8.8.8.8:53"],
    IPSources: ["netinfo", "mesos", "host"],
    Zk: "",
    Domain: "mesos",
    File: "",
    Listener: "0.0.0.0",
    HTTPListener: "0.0.0.0",
    RecurseOn: true,
    DnsOn: true,
    HttpOn: true,
    ExternalOn: true,
    EnforceRFC952: false,
    SetTruncateBit: true,
    EnumerationOn: true,
    MesosHTTPSOn: false,
    CACertFile: "",
    CertFile: "",
    KeyFile: "",
    MesosCredentials: { Principal: "", Secret: "" },
    IAMConfigFile: "",
    MesosAuthentication: "",
    ...overrides,
  };
}
