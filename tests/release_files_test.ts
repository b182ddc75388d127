/**
 * The release files against the tree (owns: "what the workflows, the Dockerfile and deploy/
 * name exists and works here"): the compile flags are accepted by Deno (the smoke test runs
 * main.ts with them against the simulator and dig), every path the Dockerfile copies
 * exists, the workflows run the tasks deno.json defines, the Marathon app is JSON with a
 * health check on /health, and the systemd unit is hardened.
 */
import assert from "node:assert/strict";
import { compileArgs, INCLUDES, RELEASE_TARGETS } from "../scripts/compile.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const read = (p: string) => Deno.readTextFile(`${ROOT}${p}`);

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(`${ROOT}${p}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("release: the smoke test passes on main.ts run with the compile task's flags", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}scripts/smoke_binary.ts`, "--from-source"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /dig leader\.mesos: 127\.0\.0\.1/);
  assert.match(text, /smoke test passed/);
});

Deno.test("release: compile arguments embed the worker and name one output per target", async () => {
  for (const m of INCLUDES) assert.ok(await exists(m), m);
  const args = compileArgs("dist/mesos-dns-aarch64-apple-darwin", "aarch64-apple-darwin");
  assert.deepEqual(args.slice(args.indexOf("--include"), args.indexOf("--include") + 2), [
    "--include",
    "src/dns/udp_ffi_worker.ts",
  ]);
  assert.deepEqual(args.slice(-4), [
    "aarch64-apple-darwin",
    "--output",
    "dist/mesos-dns-aarch64-apple-darwin",
    "main.ts",
  ]);
  assert.deepEqual(RELEASE_TARGETS, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
  ]);
  const tasks = JSON.parse(await read("deno.json")).tasks as Record<string, string>;
  assert.match(tasks.compile, /scripts\/compile\.ts/);
  assert.match(tasks.smoke, /scripts\/smoke_binary\.ts/);
});

Deno.test("release: workflows, Dockerfile and deploy files name what exists", async () => {
  const release = await read(".github/workflows/release.yml");
  assert.match(release, /tags: \["v\*"\]/);
  assert.match(release, /deno-version: 2\.9\.6/);
  assert.match(release, /deno task compile --target all --checksums/);
  assert.match(release, /deno task smoke dist\/mesos-dns-x86_64-unknown-linux-gnu/);
  const ci = await read(".github/workflows/ci.yml");
  assert.match(ci, /bash \.ci\/run/);

  const dockerfile = await read("Dockerfile");
  assert.match(dockerfile, /^FROM denoland\/deno:2\.9\.6 AS build$/m);
  assert.match(dockerfile, /^USER nonroot$/m);
  assert.match(dockerfile, /^EXPOSE 53\/udp 53\/tcp 8123$/m);
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1].split(" ")) assert.ok(await exists(src), `Dockerfile copies ${src}`);
  }
  const ignored = (await read(".dockerignore")).split("\n").map((l) => l.trim());
  for (const needed of ["src", "main.ts", "scripts", "deno.json", "deno.lock"]) {
    assert.ok(!ignored.includes(needed), `.dockerignore keeps ${needed}`);
  }

  const unit = await read("deploy/mesos-dns.service");
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  assert.match(unit, /^DynamicUser=yes$/m);
  assert.doesNotMatch(unit, /MemoryDenyWriteExecute=yes/);

  const app = JSON.parse(await read("deploy/marathon.json"));
  assert.equal(app.healthChecks[0].path, "/health");
  assert.deepEqual(app.constraints, [["hostname", "UNIQUE"]]);
  assert.equal(app.networks[0].mode, "host");
  assert.ok(app.fetch[0].executable);
  assert.ok(app.cmd.startsWith(`./${app.fetch[0].uri.split("/").pop()} `), "cmd runs the fetched binary");
});
