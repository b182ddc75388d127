/**
 * Address sets (src/net/cidr.ts) as `ForwardAllow` uses them: IPv4 and IPv6 addresses and
 * prefixes, IPv4-mapped clients, socket addresses, and the errors for bad entries.
 */
import assert from "node:assert/strict";
import { AddressSet, CidrError } from "../src/net/cidr.ts";
import { sockaddrFor } from "../src/dns/libc.ts";
import { type ConfigEnv, ConfigError, parseCommandLine } from "../src/config/mod.ts";

Deno.test("cidr: addresses and prefixes, IPv4 and IPv6, from text and socket addresses", () => {
  const set = new AddressSet([
    "10.0.0.0/8",
    "192.0.2.7",
    "172.16.0.0/12",
    "2001:db8::/32",
    "::1",
    "198.51.100.0/25",
  ]);
  for (const ip of ["10.1.2.3", "192.0.2.7", "172.31.255.1", "2001:db8:ffff::1", "::1", "198.51.100.127"]) {
    assert.ok(set.hasText(ip), ip);
    assert.ok(set.hasSockaddr(sockaddrFor(ip, 53)!), `${ip} as a socket address`);
  }
  for (const ip of ["11.0.0.1", "192.0.2.8", "172.32.0.1", "2001:db9::1", "::2", "198.51.100.128", "nope"]) {
    assert.ok(!set.hasText(ip), ip);
  }
  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6.
  assert.ok(set.hasSockaddr(sockaddrFor("::ffff:10.9.9.9", 53)!));
  assert.ok(!set.hasSockaddr(sockaddrFor("::ffff:11.9.9.9", 53)!));
  // The socket address may sit inside a larger buffer.
  const buf = new Uint8Array(100);
  buf.set(sockaddrFor("10.4.4.4", 53)!, 30);
  assert.ok(set.hasSockaddr(buf, 30));
  assert.ok(!set.everyone);
  assert.ok(new AddressSet(["0.0.0.0/0", "::/0"]).everyone);
  assert.ok(!new AddressSet([]).hasText("127.0.0.1"), "an empty set holds nobody");
});

Deno.test("cidr: bad entries are errors naming the entry", () => {
  assert.throws(
    () => new AddressSet(["10.0.0.0/33"]),
    (e) => e instanceof CidrError && /"10.0.0.0\/33"/.test(e.message),
  );
  assert.throws(() => new AddressSet(["::/129"]), CidrError);
  assert.throws(() => new AddressSet(["example.com"]), /not an IP address or network/);
  assert.throws(() => new AddressSet(["10.0.0.0/x"]), CidrError);
});

Deno.test("config: ForwardAllow, RateLimit and ReadyMaxAgeSeconds are checked and named in errors", async () => {
  const env: ConfigEnv = {
    cwd: "/nonexistent",
    env: () => undefined,
    readTextFile: () => Promise.reject(new Deno.errors.NotFound("none")),
    exists: () => Promise.resolve(false),
    localIPs: () => ["127.0.0.1"],
  };
  const m = "--masters=10.0.0.1:5050";
  await assert.rejects(
    parseCommandLine([m, "--forward-allow=10.0.0.0/8,10.0.0.300"], env),
    (e: Error) => e instanceof ConfigError && /ForwardAllow.*"10\.0\.0\.300".*CIDR prefixes/.test(e.message),
  );
  await assert.rejects(
    parseCommandLine([m, "--rate-limit=-1"], env),
    (e: Error) => e instanceof ConfigError && /RateLimit.*-1/.test(e.message),
  );
  await assert.rejects(
    parseCommandLine([m, "--ready-max-age-seconds=-2"], env),
    (e: Error) => e instanceof ConfigError && /ReadyMaxAgeSeconds.*-2/.test(e.message),
  );
  const ok = await parseCommandLine(
    [
      m,
      "--forwardallow= 10.0.0.0/8 ,::1",
      "--ratelimit=50",
      "--RateLimitSlip=0",
      "--ready-max-age-seconds=0",
    ],
    env,
  );
  assert.ok(ok.kind === "run");
  assert.deepEqual(ok.config.ForwardAllow, ["10.0.0.0/8", "::1"]);
  assert.equal(ok.config.RateLimit, 50);
  assert.equal(ok.config.RateLimitSlip, 0);
  assert.equal(ok.config.ReadyMaxAgeSeconds, 0);
});
