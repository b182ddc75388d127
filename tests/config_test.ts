/**
 * Tests of the config file and its validation (src/config/): defaults, Go `encoding/json`
 * key matching, the original's sample config, and one failure per validation rule.
 * The file system, environment and local interfaces are faked through ConfigEnv.
 */
import assert from "node:assert/strict";
import {
  type CliOutcome,
  type Config,
  type ConfigEnv,
  ConfigError,
  defaultConfig,
  parseCommandLine,
  publicConfig,
} from "../src/config/mod.ts";
import { normaliseResolver } from "../src/config/addresses.ts";
import { canonicalIP } from "../src/net/ip.ts";
import { splitHostPortOrError as splitHostPort } from "../src/net/host_port.ts";

/** A fake environment: `files` maps absolute paths to contents; everything else is missing. */
function fakeEnv(
  files: Record<string, string> = {},
  opts: { cwd?: string; vars?: Record<string, string>; localIPs?: string[] } = {},
): ConfigEnv {
  return {
    cwd: opts.cwd ?? "/srv/mesos-dns",
    env: (name) => opts.vars?.[name],
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path])
        : Promise.reject(new Deno.errors.NotFound(`No such file or directory: ${path}`)),
    exists: (path) => Promise.resolve(path in files),
    localIPs: () => opts.localIPs ?? ["127.0.0.1", "::1"],
  };
}

const CFG = "/srv/mesos-dns/config.json";

/** Loads `json` as ./config.json (plus extra files) and returns the run outcome. */
async function load(
  json: unknown,
  extra: Record<string, string> = {},
  args: string[] = [],
  opts: { localIPs?: string[] } = {},
) {
  const text = typeof json === "string" ? json : JSON.stringify(json);
  const out = await parseCommandLine(args, fakeEnv({ [CFG]: text, ...extra }, opts));
  assert.equal(out.kind, "run");
  return out as Extract<CliOutcome, { kind: "run" }>;
}

/** Asserts that loading `json` fails with a ConfigError whose message contains every `parts`. */
async function rejects(json: unknown, parts: string[], extra: Record<string, string> = {}): Promise<string> {
  let message = "";
  await assert.rejects(() => load(json, extra), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    message = e.message;
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${p}`);
    }
    return true;
  });
  return message;
}

const MASTERS = { masters: ["10.0.0.1:5050"] };

Deno.test("defaultConfig() holds every key's SPEC §2.2 default, in /v1/config order", () => {
  // Written by hand from SPEC §2.2 (normalised forms: SOA names end in '.', resolvers are ip:port).
  const expected: Config = {
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
    // Additions of this project (not in the original; not shown by /v1/config).
    RecordsDropWarnPercent: 50,
    DNSUDPEngine: "auto",
    AXFRAllow: [],
    NotifySecondaries: [],
    PTROn: false,
    HealthAware: false,
    DNSUDPWorkers: 0,
    UDPReceiveBuffer: 4194304,
    ForwardCacheSize: 10000,
    ReadyMaxAgeSeconds: -1,
    ForwardAllow: ["0.0.0.0/0", "::/0"],
    RateLimit: 0,
    RateLimitSlip: 2,
    StateSource: "auto",
  };
  assert.deepEqual(defaultConfig(), expected);
  const order =
    "RefreshSeconds Port Timeout StateTimeoutSeconds ZkDetectionTimeout HttpPort TTL SRVRecordDefaultWeight " +
    "SOASerial SOARefresh SOARetry SOAExpire SOAMinttl SOAMname SOARname Masters ZoneResolvers Resolvers " +
    "IPSources Zk Domain File Listener HTTPListener RecurseOn DnsOn HttpOn ExternalOn EnforceRFC952 " +
    "SetTruncateBit EnumerationOn MesosHTTPSOn CACertFile CertFile KeyFile MesosCredentials IAMConfigFile " +
    "MesosAuthentication RecordsDropWarnPercent DNSUDPEngine AXFRAllow NotifySecondaries PTROn HealthAware " +
    "DNSUDPWorkers UDPReceiveBuffer ForwardCacheSize ReadyMaxAgeSeconds ForwardAllow RateLimit " +
    "RateLimitSlip StateSource";
  assert.deepEqual(Object.keys(defaultConfig()), order.split(" "));
  // A fresh object each time.
  defaultConfig().IPSources.push("docker");
  assert.deepEqual(defaultConfig().IPSources, ["netinfo", "mesos", "host"]);
});

Deno.test("defaults survive validation unchanged; SOASerial is the current Unix time", async () => {
  const before = Math.floor(Date.now() / 1000);
  const { config, warnings } = await load(MASTERS);
  const after = Math.floor(Date.now() / 1000);
  assert.ok(config.SOASerial >= before && config.SOASerial <= after);
  assert.deepEqual(
    { ...config, SOASerial: 0 },
    { ...defaultConfig(), Masters: ["10.0.0.1:5050"], File: CFG },
  );
  assert.deepEqual(warnings, []);
});

Deno.test('an original Go Mesos-DNS config.json loads unchanged; its unused "ns" key gives a warning', async () => {
  // Modelled on the sample shipped with the original (lower-camel keys, SOA* keys, an unused "ns").
  const text = `{
  "zk": "zk://10.101.160.15:2181/mesos",
  "masters": ["10.101.160.15:5050", "10.101.160.16:5050", "10.101.160.17:5050"],
  "refreshSeconds": 60,
  "ttl": 60,
  "domain": "mesos",
  "ns": "ns1",
  "port": 53,
  "resolvers": ["169.254.169.254"],
  "timeout": 5,
  "httpon": true,
  "dnson": true,
  "httpport": 8123,
  "externalon": true,
  "listener": "10.101.160.16",
  "SOAMname": "ns1.mesos",
  "SOARname": "root.ns1.mesos",
  "SOARefresh": 60,
  "SOARetry":   600,
  "SOAExpire":  86400,
  "SOAMinttl": 60,
  "IPSources": ["netinfo", "mesos", "host"]
}
`;
  const { config, warnings } = await load(text);
  assert.equal(config.Zk, "zk://10.101.160.15:2181/mesos");
  assert.deepEqual(config.Masters, ["10.101.160.15:5050", "10.101.160.16:5050", "10.101.160.17:5050"]);
  assert.equal(config.RefreshSeconds, 60);
  assert.equal(config.TTL, 60);
  assert.equal(config.Domain, "mesos");
  assert.equal(config.Port, 53);
  assert.deepEqual(config.Resolvers, ["169.254.169.254:53"]);
  assert.equal(config.Timeout, 5);
  assert.equal(config.HttpOn, true);
  assert.equal(config.DnsOn, true);
  assert.equal(config.HttpPort, 8123);
  assert.equal(config.ExternalOn, true);
  assert.equal(config.Listener, "10.101.160.16");
  assert.equal(config.SOAMname, "ns1.mesos.");
  assert.equal(config.SOARname, "root.ns1.mesos.");
  assert.deepEqual([config.SOARefresh, config.SOARetry, config.SOAExpire, config.SOAMinttl], [
    60,
    600,
    86400,
    60,
  ]);
  assert.deepEqual(config.IPSources, ["netinfo", "mesos", "host"]);
  assert.equal(config.File, CFG);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /unknown config key "ns" ignored/);
  assert.match(warnings[0], /line 7, column 3/);
});

Deno.test("keys match case-insensitively; the last spelling of a key wins", async () => {
  const a = await load({ ...MASTERS, soamname: "a.example", REFRESHSECONDS: 7, HTTPPort: 9000, DNSOn: true });
  assert.equal(a.config.SOAMname, "a.example.");
  assert.equal(a.config.RefreshSeconds, 7);
  assert.equal(a.config.HttpPort, 9000);
  const b = await load({ ...MASTERS, SOAMname: "b.example", refreshseconds: 9 });
  assert.equal(b.config.SOAMname, "b.example.");
  assert.equal(b.config.RefreshSeconds, 9);
  // Written by hand: same key three times in different cases; the last one wins.
  const c = await load(
    `{"masters":["10.0.0.1:5050"],"refreshSeconds":5,"REFRESHSECONDS":6,"refreshSeconds":8}`,
  );
  assert.equal(c.config.RefreshSeconds, 8);
});

Deno.test("null leaves scalars at their default and clears lists and maps", async () => {
  const a = await load({ ...MASTERS, port: null, domain: null, dnsOn: null, masters: ["10.0.0.1:5050"] });
  assert.equal(a.config.Port, 53);
  assert.equal(a.config.Domain, "mesos");
  assert.equal(a.config.DnsOn, true);
  const b = await load({ masters: null, zk: "zk://10.0.0.1:2181/mesos", zoneResolvers: null });
  assert.equal(b.config.Masters, null);
  assert.deepEqual(b.config.ZoneResolvers, {});
  const resolv = { "/etc/resolv.conf": "nameserver 10.9.9.9\n" };
  const c = await load({ ...MASTERS, resolvers: null }, resolv);
  assert.deepEqual(c.config.Resolvers, ["10.9.9.9:53"]);
  await rejects({ ...MASTERS, IPSources: null }, ['config key "IPSources"', "empty ip sources"]);
});

Deno.test("MesosCredentials fields match case-insensitively; unknown nested keys warn", async () => {
  const { config, warnings } = await load({
    ...MASTERS,
    mesosAuthentication: "basic",
    mesosCredentials: { principal: "p", SECRET: "s", extra: 1 },
  });
  assert.deepEqual(config.MesosCredentials, { Principal: "p", Secret: "s" });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /"MesosCredentials\.extra"/);
  await rejects({ ...MASTERS, mesosCredentials: "p:s" }, [
    'config key "MesosCredentials"',
    '"p:s"',
    "object",
  ]);
});

Deno.test("unknown keys warn, with a suggestion when close to a real key", async () => {
  const { warnings } = await load({ ...MASTERS, refreshSecond: 5, httpListner: "0.0.0.0", zzz: 1 });
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /"refreshSecond".*did you mean "RefreshSeconds"\?/);
  assert.match(warnings[1], /"httpListner".*did you mean "HTTPListener"\?/);
  assert.doesNotMatch(warnings[2], /did you mean/);
});

Deno.test("a value of the wrong JSON type names the key, the value, the expectation and the place", async () => {
  const m = await rejects(`{\n  "masters": ["10.0.0.1:5050"],\n  "refreshSeconds": "60"\n}`, [
    'config key "RefreshSeconds"',
    'got "60"',
    "expected an integer",
    "line 3, column 21",
  ]);
  assert.match(m, /failed to unmarshal config file/);
  await rejects({ ...MASTERS, ttl: 1.5 }, ['config key "TTL"', "got 1.5", "expected an integer"]);
  await rejects({ ...MASTERS, dnson: "yes" }, ['config key "DnsOn"', 'got "yes"', "true or false"]);
  await rejects({ masters: "10.0.0.1:5050" }, ['config key "Masters"', "a list of strings"]);
  await rejects({ masters: [5050] }, ['config key "Masters"', "got 5050", "a list of strings"]);
  await rejects({ ...MASTERS, domain: 5 }, ['config key "Domain"', "got 5", "a string"]);
  await rejects({ ...MASTERS, zoneResolvers: ["a"] }, ['config key "ZoneResolvers"', "got a list"]);
});

Deno.test("out-of-range numbers name the key and the allowed range", async () => {
  await rejects({ ...MASTERS, SOARefresh: -1 }, ['config key "SOARefresh"', "got -1", "0 to 4294967295"]);
  await rejects({ ...MASTERS, SOAExpire: 4294967296 }, ['config key "SOAExpire"', "got 4294967296"]);
  await rejects({ ...MASTERS, SRVRecordDefaultWeight: 65536 }, ['"SRVRecordDefaultWeight"', "0 to 65535"]);
  await rejects({ ...MASTERS, port: 70000 }, ['config key "Port"', "got 70000", "0 to 65535"]);
  await rejects({ ...MASTERS, httpPort: -1 }, ['config key "HttpPort"', "got -1"]);
  await rejects({ ...MASTERS, ttl: -1 }, ['config key "TTL"', "got -1", "0 to 2147483647"]);
  await rejects({ ...MASTERS, timeout: -3 }, ['config key "Timeout"', "got -3"]);
  await rejects({ ...MASTERS, refreshSeconds: 1e7 }, ['config key "RefreshSeconds"', "2147483"]);
  await rejects(`{"masters":["10.0.0.1:5050"],"port":123456789012345678901234567890}`, ['config key "Port"']);
  const ok = await load({ ...MASTERS, port: 0, httpPort: 0, ttl: 0, zkDetectionTimeout: -1 });
  assert.deepEqual([ok.config.Port, ok.config.HttpPort, ok.config.TTL], [0, 0, 0]);
});

Deno.test("RefreshSeconds 0 or negative is a config error (SPEC §10.1)", async () => {
  await rejects({ ...MASTERS, refreshSeconds: 0 }, [
    'config key "RefreshSeconds": got 0, expected an integer > 0',
  ]);
  await rejects({ ...MASTERS, refreshSeconds: -5 }, [
    'config key "RefreshSeconds": got -5, expected an integer > 0',
  ]);
});

Deno.test("malformed JSON reports the line and column", async () => {
  const m = await rejects(`{\n  "masters": ["10.0.0.1:5050",],\n  "port": 53\n}`, [
    "failed to unmarshal config file",
    CFG,
    "line 2, column 31",
  ]);
  assert.match(m, /malformed JSON/);
  await rejects(`{"port": 53,}`, ["line 1, column 13", "expected a quoted key"]);
  await rejects(``, ["line 1, column 1", "end of input"]);
  await rejects(`{"port": 53} x`, ["line 1, column 14"]);
  await rejects(`{"domain": "mes\nos"}`, ["line 1, column 16", "control character"]);
  await rejects(`["10.0.0.1:5050"]`, ["expected a JSON object"]);
  // A byte-order mark is tolerated.
  assert.equal((await load(`\uFEFF{"masters":["10.0.0.1:5050"],"port":54}`)).config.Port, 54);
});

Deno.test("Masters: host:port required, ports 1..65535, duplicates after canonicalisation rejected", async () => {
  await rejects({ masters: ["10.0.0.1"] }, ['config key "Masters"', 'got "10.0.0.1"', "illegal host:port"]);
  await rejects({ masters: [""] }, ['config key "Masters"', 'got ""', "illegal host:port"]);
  await rejects({ masters: ["10.0.0.1:0"] }, ['config key "Masters"', "1 to 65535"]);
  await rejects({ masters: ["10.0.0.1:65536"] }, ['config key "Masters"']);
  await rejects({ masters: ["::1:5050"] }, ['config key "Masters"', "too many colons"]);
  await rejects({ masters: ["10.0.0.1:5050", "10.0.0.1:5050"] }, ['config key "Masters"', "duplicate found"]);
  await rejects(
    { masters: ["[2001:0db8::1]:5050", "[2001:db8::1]:5050"] },
    ['config key "Masters"', '"[2001:db8::1]:5050" twice', "duplicate found: [2001:db8::1]:5050"],
  );
  const ok = await load({ masters: ["master1.example:5050", "[2001:db8::1]:5050", "10.0.0.2:5050"] });
  assert.deepEqual(ok.config.Masters, ["master1.example:5050", "[2001:db8::1]:5050", "10.0.0.2:5050"]);
});

Deno.test("Resolvers: IP literals only, normalised to ip:port, duplicates rejected", async () => {
  const ok = await load({ ...MASTERS, resolvers: ["8.8.4.4", "10.0.0.1:5353", "2001:0db8::53", "[::1]:54"] });
  assert.deepEqual(ok.config.Resolvers, ["8.8.4.4:53", "10.0.0.1:5353", "[2001:db8::53]:53", "[::1]:54"]);
  await rejects({ ...MASTERS, resolvers: ["dns.google"] }, [
    'config key "Resolvers"',
    'got "dns.google"',
    "an IP address",
    "illegal ip specified",
  ]);
  await rejects({ ...MASTERS, resolvers: ["1.2.3.4", "1.2.3.4:53"] }, [
    'config key "Resolvers"',
    "twice",
    "duplicate found: 1.2.3.4:53",
  ]);
  await rejects({ ...MASTERS, resolvers: ["1.2.3.4:0"] }, ['config key "Resolvers"', 'got "1.2.3.4:0"']);
  // With ExternalOn false neither list is looked at.
  const off = await load({
    ...MASTERS,
    externalOn: false,
    resolvers: ["dns.google"],
    zoneResolvers: { x: [] },
  });
  assert.deepEqual(off.config.Resolvers, ["dns.google"]);
});

Deno.test("empty Resolvers fall back to /etc/resolv.conf minus local interface addresses", async () => {
  const resolvConf = [
    "# generated",
    "search example.com",
    "nameserver 127.0.0.53",
    "nameserver 10.0.0.2 ; our own address",
    "nameserver 10.0.0.9",
    "nameserver 2001:db8::9",
    "nameserver 10.0.0.9",
    "options ndots:2",
    "",
  ].join("\n");
  const { config } = await load(
    { ...MASTERS, resolvers: [] },
    { "/etc/resolv.conf": resolvConf },
    [],
    { localIPs: ["127.0.0.53", "10.0.0.2", "::1"] },
  );
  assert.deepEqual(config.Resolvers, ["10.0.0.9:53", "[2001:db8::9]:53"]);
  // Nothing left is fine (forwarding then answers REFUSED).
  const none = await load(
    { ...MASTERS, resolvers: [] },
    { "/etc/resolv.conf": "nameserver 10.0.0.2\n" },
    [],
    {
      localIPs: ["10.0.0.2"],
    },
  );
  assert.deepEqual(none.config.Resolvers, []);
  // Unreadable resolv.conf is fatal.
  await rejects({ ...MASTERS, resolvers: [] }, ['config key "Resolvers"', "/etc/resolv.conf"]);
});

Deno.test("ZoneResolvers: non-empty lists, valid zones, not the domain, no zone masking another", async () => {
  const ok = await load({
    ...MASTERS,
    domain: "dc.mesos",
    zoneResolvers: { "Corp.Example": ["10.0.0.1", "10.0.0.2:5353"], "acdc.mesos": ["2001:db8::1"] },
  });
  assert.deepEqual(ok.config.ZoneResolvers, {
    "acdc.mesos": ["[2001:db8::1]:53"],
    "corp.example": ["10.0.0.1:53", "10.0.0.2:5353"],
  });
  await rejects({ ...MASTERS, zoneResolvers: { corp: [] } }, [
    'config key "ZoneResolvers"',
    '"corp"',
    "field ZoneResolver corp is empty",
  ]);
  await rejects({ ...MASTERS, zoneResolvers: { "bad_zone": ["10.0.0.1"] } }, [
    'config key "ZoneResolvers"',
    '"bad_zone"',
    "invalid domain name",
  ]);
  await rejects({ ...MASTERS, zoneResolvers: { "corp.": ["10.0.0.1"] } }, [
    'config key "ZoneResolvers"',
    '"corp."',
  ]);
  await rejects({ ...MASTERS, zoneResolvers: { corp: ["ns.corp"] } }, [
    'config key "ZoneResolvers"',
    '"ns.corp" for zone "corp"',
    "illegal ip",
  ]);
  await rejects({ ...MASTERS, zoneResolvers: { MESOS: ["10.0.0.1"] } }, [
    'config key "ZoneResolvers"',
    "can't specify ZoneResolver for Mesos domain",
  ]);
  await rejects({ ...MASTERS, domain: "dc.mesos", zoneResolvers: { mesos: ["10.0.0.1"] } }, [
    'config key "ZoneResolvers"',
    "ambiguous zone resolvers: .dc.mesos is masked by .mesos",
  ]);
  await rejects({ ...MASTERS, domain: "dc.mesos", zoneResolvers: { "site.dc.mesos": ["10.0.0.1"] } }, [
    'config key "ZoneResolvers"',
    "ambiguous zone resolvers: .site.dc.mesos is masked by .dc.mesos",
  ]);
  await rejects({ ...MASTERS, zoneResolvers: { com: ["10.0.0.1"], "abc.com": ["10.0.0.2"] } }, [
    'config key "ZoneResolvers"',
    "ambiguous zone resolvers: .abc.com is masked by .com",
  ]);
  await load({ ...MASTERS, zoneResolvers: { "abc.com": ["10.0.0.1"], "bc.com": ["10.0.0.2"] } });
  await rejects({ ...MASTERS, zoneResolvers: { corp: ["10.0.0.1"], CORP: ["10.0.0.2"] } }, [
    'config key "ZoneResolvers"',
    "case-insensitive",
  ]);
});

Deno.test("IPSources: non-empty, no duplicates, only host/docker/mesos/netinfo", async () => {
  await rejects({ ...MASTERS, IPSources: [] }, ['config key "IPSources"', "got []", "empty ip sources"]);
  await rejects({ ...MASTERS, IPSources: ["host", "host"] }, [
    'config key "IPSources"',
    '"host" twice',
    "duplicate",
  ]);
  await rejects({ ...MASTERS, IPSources: ["rkt"] }, [
    'config key "IPSources"',
    'got "rkt"',
    'invalid ip source "rkt"',
  ]);
  await rejects({ ...MASTERS, IPSources: ["Host"] }, ['config key "IPSources"', '"Host"']);
  const ok = await load({ ...MASTERS, IPSources: ["docker", "host"] });
  assert.deepEqual(ok.config.IPSources, ["docker", "host"]);
});

Deno.test("StateTimeoutSeconds must be > 0", async () => {
  await rejects({ ...MASTERS, stateTimeoutSeconds: 0 }, [
    'config key "StateTimeoutSeconds"',
    "got 0",
    "Invalid HTTP Timeout: 0",
  ]);
});

Deno.test("Domain is lower-cased and must be a plain domain name", async () => {
  const ok = await load({ ...MASTERS, domain: "DC1.Mesos" });
  assert.equal(ok.config.Domain, "dc1.mesos");
  await load({ ...MASTERS, domain: "-odd-.mesos" }); // hyphens anywhere, as the original
  for (const bad of ["bad_domain", "mesos.", ".mesos", "a..b", ""]) {
    await rejects({ ...MASTERS, domain: bad }, [
      'config key "Domain"',
      `got ${JSON.stringify(bad)}`,
      "domain name",
    ]);
  }
});

Deno.test("SOA names get exactly one trailing dot; '@' in SOARname becomes '.'", async () => {
  const { config } = await load({
    ...MASTERS,
    SOAMname: "NS1.Example...",
    SOARname: "hostmaster@example.com.",
  });
  assert.equal(config.SOAMname, "NS1.Example.");
  assert.equal(config.SOARname, "hostmaster.example.com.");
});

Deno.test("masters or zk are required; both servers off is an error", async () => {
  await rejects({}, ['config keys "Masters" and "Zk"', "specify Mesos masters or Zookeeper"]);
  await rejects({ masters: [] }, ['"Masters" and "Zk"']);
  await rejects({ ...MASTERS, dnsOn: false, httpOn: false }, [
    'config keys "DnsOn" and "HttpOn"',
    "either DNS or HTTP server should be on",
  ]);
  const httpOnly = await load({ ...MASTERS, dnsOn: false });
  assert.equal(httpOnly.config.DnsOn, false);
});

Deno.test("zk must be a zk:// URL with servers and a znode path (SPEC §10.8)", async () => {
  for (const bad of ["http://10.0.0.1:2181/mesos", "10.0.0.1:2181", "zk://10.0.0.1:2181", "zk:///mesos"]) {
    await rejects({ zk: bad }, ['config key "Zk"', JSON.stringify(bad), "expected zk://"]);
  }
  await rejects({ zk: "zk://10.0.0.1:99999/mesos" }, ['config key "Zk"', "out of range"]);
  await rejects({ zk: "file:///etc/mesos/zk" }, ['config key "Zk"']);
  // The password of the user-info part never appears in the message.
  const m = await rejects({ zk: "zk://user:hunter2@10.0.0.1:2181" }, ['config key "Zk"', "expected zk://"]);
  assert.doesNotMatch(m, /hunter2/);
  const ok = await load({ zk: "zk://user:pass@10.0.0.1:2181,zk2,[2001:db8::1]:2181/mesos" });
  assert.equal(ok.config.Zk, "zk://user:pass@10.0.0.1:2181,zk2,[2001:db8::1]:2181/mesos");
  assert.equal(ok.config.Masters, null);
});

const CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
const KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";

Deno.test("certificate files must be readable PEM; cert and key come together", async () => {
  await rejects({ ...MASTERS, CACertFile: "/etc/ssl/missing.pem" }, [
    'config key "CACertFile"',
    '"/etc/ssl/missing.pem"',
    "CACertFile open failed",
  ]);
  await rejects({ ...MASTERS, CACertFile: "/ca.pem" }, ['config key "CACertFile"', "parsing failed"], {
    "/ca.pem": "not a certificate",
  });
  await rejects({ ...MASTERS, CertFile: "/c.pem" }, ['config key "KeyFile"', "Missing private key"], {
    "/c.pem": CERT_PEM,
  });
  await rejects({ ...MASTERS, KeyFile: "/k.pem" }, ['config key "CertFile"', "Missing certificate"], {
    "/k.pem": KEY_PEM,
  });
  await rejects({ ...MASTERS, CertFile: "/c.pem", KeyFile: "/k.pem" }, ['config key "KeyFile"'], {
    "/c.pem": CERT_PEM,
    "/k.pem": CERT_PEM,
  });
  const ok = await load({ ...MASTERS, CACertFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem" }, {
    "/ca.pem": CERT_PEM + CERT_PEM,
    "/c.pem": CERT_PEM,
    "/k.pem": KEY_PEM,
  });
  assert.equal(ok.config.CACertFile, "/ca.pem");
});

const IAM_OK = JSON.stringify({
  UID: "svc",
  private_key: "-----BEGIN...",
  login_endpoint: "https://iam/login",
});

Deno.test("authentication: basic needs credentials, iam needs a complete file, others are unknown", async () => {
  await rejects({ ...MASTERS, mesosAuthentication: "basic" }, [
    'config key "MesosCredentials"',
    "invalid HTTP Basic configuration",
  ]);
  const principalOnly = await load({
    ...MASTERS,
    mesosAuthentication: "basic",
    mesosCredentials: { principal: "p" },
  });
  assert.equal(principalOnly.config.MesosAuthentication, "basic");
  await rejects({ ...MASTERS, mesosAuthentication: "digest" }, [
    'config key "MesosAuthentication"',
    'got "digest"',
    "unregistered factory requested",
  ]);
  await rejects({ ...MASTERS, mesosAuthentication: "iam" }, [
    'config key "IAMConfigFile"',
    "missing configuration for specified authentication mechanism",
  ]);
  await rejects({ ...MASTERS, mesosAuthentication: "iam", IAMConfigFile: "/iam.json" }, [
    'config key "IAMConfigFile"',
    "failed to load IAM config from file /iam.json",
  ]);
  await rejects(
    { ...MASTERS, mesosAuthentication: "iam", IAMConfigFile: "/iam.json" },
    ['config key "IAMConfigFile"', "invalid HTTP IAM configuration", "private_key"],
    { "/iam.json": JSON.stringify({ uid: "svc", login_endpoint: "https://iam/login" }) },
  );
  await rejects(
    { ...MASTERS, mesosAuthentication: "iam", IAMConfigFile: "/iam.json" },
    ['config key "IAMConfigFile"', "invalid IAM JSON", "line 1, column 9"],
    { "/iam.json": `{"uid": }` },
  );
  await rejects(
    { ...MASTERS, mesosAuthentication: "iam", IAMConfigFile: "/iam.json" },
    ['config key "IAMConfigFile"', "invalid LoginEndpoint URL"],
    { "/iam.json": JSON.stringify({ uid: "u", private_key: "k", login_endpoint: "not a url" }) },
  );
  const iam = await load({ ...MASTERS, mesosAuthentication: "iam", IAMConfigFile: "/iam.json" }, {
    "/iam.json": IAM_OK,
  });
  assert.equal(iam.config.IAMConfigFile, "/iam.json");
  assert.deepEqual(iam.warnings, []);
});

Deno.test("credentials or an IAM file without authentication give warnings that never show the secret", async () => {
  const { warnings } = await load(
    { ...MASTERS, mesosCredentials: { principal: "p", secret: "hunter2" }, IAMConfigFile: "/iam.json" },
    { "/iam.json": IAM_OK },
  );
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /MesosCredentials/);
  assert.match(warnings[1], /IAMConfigFile/);
  for (const w of warnings) assert.doesNotMatch(w, /hunter2/);
});

Deno.test("publicConfig masks a non-empty secret and keeps the shape and key order", async () => {
  const { config } = await load({
    ...MASTERS,
    mesosAuthentication: "basic",
    mesosCredentials: { principal: "p", secret: "hunter2" },
  });
  const pub = publicConfig(config);
  assert.deepEqual(pub.MesosCredentials, { Principal: "p", Secret: "***" });
  assert.deepEqual(Object.keys(pub), Object.keys(config));
  assert.equal(config.MesosCredentials.Secret, "hunter2");
  assert.doesNotMatch(JSON.stringify(pub), /hunter2/);
  assert.deepEqual(publicConfig(defaultConfig()).MesosCredentials, { Principal: "", Secret: "" });
});

Deno.test("address helpers follow Go's net package", () => {
  assert.equal(canonicalIP("2001:0DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canonicalIP("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
  assert.equal(canonicalIP("2001:db8:1:1:1:1:0:1"), "2001:db8:1:1:1:1:0:1");
  assert.equal(canonicalIP("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(canonicalIP("::"), "::");
  assert.equal(canonicalIP("010.0.0.1"), undefined);
  assert.equal(canonicalIP("1.2.3"), undefined);
  assert.equal(canonicalIP("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(canonicalIP("1:2:3:4:5:6:7::8"), undefined);
  assert.deepEqual(splitHostPort("[::1]:53"), { host: "::1", port: "53" });
  assert.deepEqual(splitHostPort("host:"), { host: "host", port: "" });
  assert.deepEqual(splitHostPort("::1:53"), { error: "too many colons in address" });
  assert.deepEqual(splitHostPort("[::1]"), { error: "missing port in address" });
  assert.deepEqual(normaliseResolver("::ffff:1.2.3.4"), { value: "1.2.3.4:53" });
  assert.deepEqual(normaliseResolver("[fe80::1]"), { error: "illegal ip specified: [fe80::1]" });
});
