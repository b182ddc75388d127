/**
 * The test command (`deno task test`): makes sure the real parts the tests drive are
 * installed (dig, dnsperf, Knot, ZooKeeper, Java, OpenSSL, Chromium), installing the Debian packages when
 * they are missing and we run as root, then runs `deno test` over tests/.
 * Extra arguments are passed to `deno test` (e.g. a file or `--filter`).
 */

interface Requirement {
  /** A file whose presence shows the package is installed. */
  path: string;
  /** The Debian package that provides it. */
  pkg: string;
}

const REQUIREMENTS: Requirement[] = [
  { path: "/usr/bin/dig", pkg: "dnsutils" },
  { path: "/usr/bin/dnsperf", pkg: "dnsperf" },
  { path: "/usr/sbin/knotd", pkg: "knot" },
  { path: "/usr/share/zookeeper/bin/zkServer.sh", pkg: "zookeeper" },
  { path: "/usr/bin/java", pkg: "default-jre-headless" },
  { path: "/usr/bin/openssl", pkg: "openssl" },
  { path: "/usr/bin/chromium", pkg: "chromium" },
];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  const child = new Deno.Command(cmd, { args, env, stdin: "null", stdout: "inherit", stderr: "inherit" })
    .spawn();
  return (await child.status).code;
}

async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const r of REQUIREMENTS) if (!(await exists(r.path))) missing.push(r.pkg);
  if (missing.length === 0) return;
  const isRoot = Deno.uid?.() === 0;
  if (!isRoot) {
    console.error(`missing Debian packages for the tests: ${missing.join(" ")}`);
    console.error(`install them with: sudo apt-get install -y ${missing.join(" ")}`);
    Deno.exit(1);
  }
  console.error(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (await run("apt-get", ["update", "-qq"], env) !== 0) {
    console.error("apt-get update failed; trying install");
  }
  const code = await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], env);
  if (code !== 0) {
    console.error(`apt-get install failed (exit ${code})`);
    Deno.exit(1);
  }
}

await ensurePackages();
const testArgs = Deno.args.length > 0 ? Deno.args : ["tests/"];
const code = await run(Deno.execPath(), [
  "test",
  "-A",
  "--sanitize-ops",
  "--sanitize-resources",
  ...testArgs,
]);
Deno.exit(code);
