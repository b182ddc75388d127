/**
 * The command line as an operator meets it: `main.ts` run as a process, checking exit
 * codes and the messages on stderr for -version, --help, a bad config file, a bad value
 * and a malformed flag.
 */
import assert from "node:assert/strict";
import { runMesosDns } from "./helpers/mesos_dns_process.ts";
import { VERSION } from "../src/version.ts";

Deno.test("cli: -version prints the version and exits 0, even with a broken config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.json`, "{ not json");
    const r = await runMesosDns(["-version"], dir);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${VERSION}\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --help lists the flags and exits 0", async () => {
  const r = await runMesosDns(["--help"]);
  assert.equal(r.code, 0);
  for (const flag of ["-config", "--masters", "--refresh-seconds", "--zk", "--resolvers", "--ip-sources"]) {
    assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
  }
});

Deno.test("cli: a malformed config file exits 1 with line and column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, '{\n  "masters": ["127.0.0.1:5050"],\n  "ttl": 60,,\n}\n');
    const r = await runMesosDns([`-config=${dir}/bad.json`], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3/);
    assert.match(r.stderr, /column \d+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: a bad value exits 1 naming the key, the value and what is expected", async () => {
  const r = await runMesosDns(["--masters=127.0.0.1:5050", "--refreshSeconds=-5"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /RefreshSeconds/);
  assert.match(r.stderr, /-5/);
  assert.match(r.stderr, /expected/);
  const none = await runMesosDns(["--port=0"], "/tmp");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /masters|zk/i);
});

Deno.test("cli: a malformed flag exits 2 naming the flag", async () => {
  const r = await runMesosDns(["--masters=127.0.0.1:5050", "--port=abc"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /port/);
  const unknown = await runMesosDns(["--no-such-flag=1"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no-such-flag/);
});

Deno.test("cli: a DNS port in use exits 1 naming the listener and the address", async () => {
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (squatter.addr as Deno.NetAddr).port;
    const r = await runMesosDns([
      "--masters=127.0.0.1:5050",
      "--listener=127.0.0.1",
      `--port=${port}`,
      "--httpon=false",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`DNS: cannot listen on 127\\.0\\.0\\.1:${port}: `));
  } finally {
    squatter.close();
  }
});
