/**
 * Tests of the command line (src/config/flags.ts via parseCommandLine): the original's Go
 * `flag` syntax, `-config` resolution, `-version`, `-v`, glog flags, one flag per config
 * key, precedence defaults < file < flags, help and usage errors.
 */
import assert from "node:assert/strict";
import {
  type CliOutcome,
  type ConfigEnv,
  ConfigError,
  defaultConfig,
  defaultConfigEnv,
  parseCommandLine,
  UsageError,
} from "../src/config/mod.ts";
import { KEYS } from "../src/config/keys.ts";

const CWD = "/srv/mesos-dns";

function fakeEnv(files: Record<string, string> = {}, vars: Record<string, string> = {}): ConfigEnv {
  return {
    cwd: CWD,
    env: (name) => vars[name],
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path])
        : Promise.reject(new Deno.errors.NotFound(`not found: ${path}`)),
    exists: (path) => Promise.resolve(path in files),
    localIPs: () => ["127.0.0.1"],
  };
}

type Run = Extract<CliOutcome, { kind: "run" }>;

async function run(args: string[], files: Record<string, string> = {}, vars: Record<string, string> = {}) {
  const out = await parseCommandLine(args, fakeEnv(files, vars));
  assert.equal(out.kind, "run");
  return out as Run;
}

async function usageError(args: string[], parts: string[]): Promise<UsageError> {
  let err: UsageError | undefined;
  await assert.rejects(() => parseCommandLine(args, fakeEnv()), (e: unknown) => {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${p}`);
    }
    err = e;
    return true;
  });
  return err!;
}

const M = "--masters=10.0.0.1:5050";
const FILE_JSON = JSON.stringify({ masters: ["10.0.0.9:5050"], refreshSeconds: 30, domain: "file.mesos" });

Deno.test("-config path, -config=path and --config=path all load the file, made absolute", async () => {
  const files = { "/etc/mesos-dns/config.json": FILE_JSON, [`${CWD}/conf/dns.json`]: FILE_JSON };
  for (const args of [["-config", "/etc/mesos-dns/config.json"], ["-config=/etc/mesos-dns/config.json"]]) {
    const { config } = await run(args, files);
    assert.equal(config.File, "/etc/mesos-dns/config.json");
    assert.equal(config.RefreshSeconds, 30);
  }
  const rel = await run(["--config=conf/../conf/dns.json"], files);
  assert.equal(rel.config.File, `${CWD}/conf/dns.json`);
  assert.equal(rel.config.Domain, "file.mesos");
});

Deno.test("-config ~/ expands from HOME, USERPROFILE winning when both are set", async () => {
  const files = {
    "/home/op/dns.json": FILE_JSON,
    "C:/Users/op/dns.json": FILE_JSON,
    [`${CWD}/dns.json`]: FILE_JSON,
  };
  const home = await run(["-config", "~/dns.json"], files, { HOME: "/home/op" });
  assert.equal(home.config.File, "/home/op/dns.json");
  const both = await run(["-config", "~/dns.json"], files, { HOME: "/nowhere", USERPROFILE: "/home/op" });
  assert.equal(both.config.File, "/home/op/dns.json");
  const neither = await run(["-config", "~/dns.json"], files);
  assert.equal(neither.config.File, `${CWD}/dns.json`);
});

Deno.test("an explicit -config that does not exist is an error naming the absolute path", async () => {
  await assert.rejects(
    () => parseCommandLine(["-config", "missing.json", M], fakeEnv()),
    (e: unknown) =>
      e instanceof ConfigError && e.message === `missing configuration file: "${CWD}/missing.json"`,
  );
});

Deno.test("./config.json is loaded when present; without it, defaults and flags are enough", async () => {
  const present = await run([], { [`${CWD}/config.json`]: FILE_JSON });
  assert.equal(present.config.File, `${CWD}/config.json`);
  assert.deepEqual(present.config.Masters, ["10.0.0.9:5050"]);
  const absent = await run([M]);
  assert.equal(absent.config.File, "");
  assert.deepEqual(absent.config.Masters, ["10.0.0.1:5050"]);
  assert.equal(absent.config.RefreshSeconds, 60);
  await assert.rejects(
    () => parseCommandLine([], fakeEnv()),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes('"Masters" and "Zk"') &&
      e.message.includes("config.json"),
  );
});

Deno.test("flags override the file, the file overrides the defaults", async () => {
  const files = { [`${CWD}/config.json`]: FILE_JSON };
  const { config } = await run(["--refresh-seconds=5", "--masters", "10.0.0.1:5050,10.0.0.2:5050"], files);
  assert.equal(config.RefreshSeconds, 5); // flag
  assert.deepEqual(config.Masters, ["10.0.0.1:5050", "10.0.0.2:5050"]); // flag
  assert.equal(config.Domain, "file.mesos"); // file
  assert.equal(config.Port, 53); // default
});

Deno.test("every config key is a flag: Go name in any case, or kebab-case", async () => {
  const { config } = await run([
    "--masters=10.0.0.1:5050,10.0.0.2:5050",
    "--domain=Example.Mesos",
    "--port=5353",
    "--refreshSeconds=5",
    "--REFRESH-SECONDS=6",
    "--externalon=false",
    "--ipsources=netinfo,host",
    "--zoneresolvers=corp=10.0.0.1,10.0.0.2:5353;lab.example=2001:db8::1",
    "--mesosCredentials.principal=svc",
    "--mesos-credentials.secret=s3",
    "--mesosAuthentication=basic",
    "-SOAMname=ns.example",
    "--soa-rname=admin@example.com",
    "--http-port=0",
    "--ttl",
    "30",
    "--zk=zk://10.0.0.5:2181/mesos",
    "--http_listener=127.0.0.1",
  ]);
  assert.deepEqual(config.Masters, ["10.0.0.1:5050", "10.0.0.2:5050"]);
  assert.equal(config.Domain, "example.mesos");
  assert.equal(config.Port, 5353);
  assert.equal(config.RefreshSeconds, 6); // the last of the two spellings wins
  assert.equal(config.ExternalOn, false);
  assert.deepEqual(config.IPSources, ["netinfo", "host"]);
  // ExternalOn false: zones are kept as given (not validated or normalised).
  assert.deepEqual(config.ZoneResolvers, {
    corp: ["10.0.0.1", "10.0.0.2:5353"],
    "lab.example": ["2001:db8::1"],
  });
  assert.deepEqual(config.MesosCredentials, { Principal: "svc", Secret: "s3" });
  assert.equal(config.MesosAuthentication, "basic");
  assert.equal(config.SOAMname, "ns.example.");
  assert.equal(config.SOARname, "admin.example.com.");
  assert.equal(config.HttpPort, 0);
  assert.equal(config.TTL, 30);
  assert.equal(config.Zk, "zk://10.0.0.5:2181/mesos");
  assert.equal(config.HTTPListener, "127.0.0.1");
});

Deno.test("zone resolvers and credentials also take JSON; the zone syntax is checked", async () => {
  const { config } = await run([
    M,
    '--zone-resolvers={"Corp":["10.0.0.1"]}',
    '--mesos-credentials={"principal":"p"}',
  ]);
  assert.deepEqual(config.ZoneResolvers, { corp: ["10.0.0.1:53"] });
  assert.equal(config.MesosCredentials.Principal, "p");
  await usageError([M, "--zone-resolvers=corp"], ["--zone-resolvers", 'has no "="']);
  await usageError([M, '--zone-resolvers={"corp":'], ["--zone-resolvers", "malformed JSON"]);
  await usageError([M, '--zone-resolvers={"corp":5}'], ["--zone-resolvers", "list of strings"]);
  await usageError([M, "--mesos-credentials=p:s"], ["--mesos-credentials", "JSON object"]);
  // Validation applies to flag values as to file values.
  await assert.rejects(
    () => parseCommandLine([M, "--zone-resolvers=corp="], fakeEnv()),
    (e: unknown) => e instanceof ConfigError && e.message.includes('config key "ZoneResolvers"'),
  );
});

Deno.test("booleans: bare flag is true, =true/=false/=1/=0 work, anything else is a usage error", async () => {
  assert.equal((await run([M, "--dnson=false", "--httpon"])).config.DnsOn, false);
  assert.equal((await run([M, "--dnson=false", "--dnson"])).config.DnsOn, true);
  assert.equal((await run([M, "-enforceRFC952"])).config.EnforceRFC952, true);
  assert.equal((await run([M, "--recurse-on=0"])).config.RecurseOn, false);
  assert.equal((await run([M, "--set-truncate-bit=F"])).config.SetTruncateBit, false);
  await usageError([M, "--dnson=yes"], ['invalid value "yes" for flag --dnson', "true or false"]);
});

Deno.test("lists are comma-separated; an empty value is an empty list", async () => {
  const files = { "/etc/resolv.conf": "nameserver 10.1.1.1\n" };
  const { config } = await run([M, "--resolvers=", "--ip-sources= host , docker "], files);
  assert.deepEqual(config.Resolvers, ["10.1.1.1:53"]);
  assert.deepEqual(config.IPSources, ["host", "docker"]);
});

Deno.test("malformed flag values and out-of-range values", async () => {
  await usageError([M, "--port=abc"], ['invalid value "abc" for flag --port', "expected an integer"]);
  await usageError([M, "-refreshSeconds", "1.5"], ["-refreshSeconds", "expected an integer"]);
  await usageError([M, "--port"], ["flag needs an argument: --port"]);
  await usageError([M, "---port=1"], ["bad flag syntax: ---port=1"]);
  // Well-formed but out of range: a config error naming the key.
  await assert.rejects(
    () => parseCommandLine([M, "--refresh-seconds=-5"], fakeEnv()),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === 'config key "RefreshSeconds": got -5, expected an integer > 0',
  );
  await assert.rejects(
    () => parseCommandLine([M, "--port=70000"], fakeEnv()),
    (e: unknown) => e instanceof ConfigError && e.message.includes('config key "Port"'),
  );
});

Deno.test("unknown flags are usage errors naming the flag, with a suggestion when close", async () => {
  const e = await usageError([M, "--prot=53"], [
    "flag provided but not defined: --prot",
    "did you mean --port?",
  ]);
  assert.match(e.usage, /Usage: mesos-dns/);
  await usageError(["-refresh-second=5"], ["-refresh-second", "did you mean --refresh-seconds?"]);
  await usageError(["--mesos-credentials.user=x"], ["--mesos-credentials.user"]);
  await usageError(["--nonsense"], ["flag provided but not defined: --nonsense"]);
});

Deno.test("the glog flags are accepted and ignored", async () => {
  const { config } = await run([
    "-logtostderr",
    "-alsologtostderr=true",
    "-stderrthreshold=ERROR",
    "-log_dir=/var/log/mesos-dns",
    "-vmodule",
    "resolver=2",
    "-log_backtrace_at=config.go:10",
    M,
  ]);
  assert.deepEqual(config.Masters, ["10.0.0.1:5050"]);
  await usageError(["-logtostderr=maybe"], ["-logtostderr"]);
});

Deno.test("-version wins over a missing or bad config; -version=false runs", async () => {
  for (
    const args of [["-version"], ["--version"], ["-version=true"], ["-config=/missing.json", "-version"]]
  ) {
    assert.deepEqual(await parseCommandLine(args, fakeEnv()), { kind: "version" });
  }
  assert.equal((await run(["-version=false", M])).kind, "run");
  // A bad flag still fails first, as Go parses all flags before looking at -version.
  await usageError(["-version", "--bogus"], ["--bogus"]);
});

Deno.test("-v sets the verbosity", async () => {
  assert.equal((await run([M])).verbosity, 0);
  assert.equal((await run(["-v=1", M])).verbosity, 1);
  assert.equal((await run(["-v", "2", M])).verbosity, 2);
  assert.equal((await run(["--v=2", M])).verbosity, 2);
  await usageError(["-v=high"], ['invalid value "high" for flag -v']);
});

Deno.test("--help, -help and -h return the usage text listing every flag with its default", async () => {
  for (const args of [["--help"], ["-help"], ["-h"], [M, "-h", "--bogus"]]) {
    const out = await parseCommandLine(args, fakeEnv());
    assert.equal(out.kind, "help");
  }
  const out = await parseCommandLine(["--help"], fakeEnv());
  assert.ok(out.kind === "help");
  for (
    const flag of ["-config", "-version", "-v ", "-logtostderr", "-log_dir", "-vmodule", "-log_backtrace_at"]
  ) {
    assert.ok(out.text.includes(flag), `help lacks ${flag}`);
  }
  const defaults = defaultConfig();
  for (const k of KEYS) {
    assert.ok(out.text.includes(`--${k.flag}`), `help lacks --${k.flag}`);
    assert.ok(out.text.includes(`(${k.name})`), `help lacks ${k.name}`);
    const v = defaults[k.name];
    if (typeof v === "number") {
      assert.ok(out.text.includes(`(default ${v})`), `help lacks default of ${k.name}`);
    }
  }
  assert.match(
    out.text,
    /--refresh-seconds <int>\s+\(RefreshSeconds\)\n\s+seconds between .* \(default 60\)/,
  );
  assert.match(out.text, /--ip-sources .*\n.*\(default netinfo,mesos,host\)/);
  assert.match(out.text, /--mesos-credentials\.principal/);
});

Deno.test("positional arguments end the flags and are ignored with a warning, as in Go", async () => {
  const { config, warnings } = await run([M, "extra", "--port=1"]);
  assert.equal(config.Port, 53);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ignoring .*extra --port=1/);
  const dashdash = await run([M, "--", "--port=1"]);
  assert.equal(dashdash.config.Port, 53);
});

Deno.test("defaultConfigEnv reads the real file system, environment and interfaces", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/mesos-dns.json`;
    await Deno.writeTextFile(path, JSON.stringify({ masters: ["10.0.0.1:5050"], resolvers: ["10.0.0.53"] }));
    const env = defaultConfigEnv();
    assert.equal(env.cwd, Deno.cwd());
    assert.equal(env.env("HOME"), Deno.env.get("HOME"));
    assert.equal(await env.exists(path), true);
    assert.equal(await env.exists(`${dir}/nope.json`), false);
    assert.ok(env.localIPs().includes("127.0.0.1"));
    const out = await parseCommandLine(["-config", path]);
    assert.ok(out.kind === "run");
    assert.equal(out.config.File, path);
    assert.deepEqual(out.config.Resolvers, ["10.0.0.53:53"]);
    await assert.rejects(
      () => parseCommandLine(["-config", `${dir}/nope.json`]),
      (e: unknown) =>
        e instanceof ConfigError && e.message === `missing configuration file: "${dir}/nope.json"`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
