/**
 * A real Knot secondary for the zone-transfer tests (owns: writing a rootless Knot
 * configuration under a temporary directory — a `master` remote pointing at our server, an
 * ACL accepting its NOTIFY — starting knotd on a free 127.0.0.1 port, and stopping it).
 */
import { currentUser } from "../../scripts/bench/knot.ts";
import { freeDnsPort } from "../../scripts/bench/ports.ts";

export interface KnotSecondary {
  readonly port: number;
  /** Everything knotd logged (info level: transfers, NOTIFYs). */
  log(): string;
  stop(): Promise<void>;
}

/** Whether knotd and knotc are installed (Debian `knot`). */
export function knotInstalled(): boolean {
  try {
    return Deno.statSync("/usr/sbin/knotd").isFile && Deno.statSync("/usr/sbin/knotc").isFile;
  } catch {
    return false;
  }
}

/** Starts knotd as a secondary of `domain` transferring from 127.0.0.1@`primaryPort`. */
export async function startKnotSecondary(domain: string, primaryPort: number): Promise<KnotSecondary> {
  const dir = await Deno.makeTempDir({ prefix: "mesos-dns-knot-" });
  await Deno.mkdir(`${dir}/run`);
  await Deno.mkdir(`${dir}/db`);
  const port = freeDnsPort();
  const q = JSON.stringify;
  const conf = [
    "server:",
    `    rundir: ${q(`${dir}/run`)}`,
    `    user: ${await currentUser()}`,
    `    listen: 127.0.0.1@${port}`,
    "database:",
    `    storage: ${q(`${dir}/db`)}`,
    "log:",
    "  - target: stderr",
    "    any: info",
    "remote:",
    "  - id: primary",
    `    address: 127.0.0.1@${primaryPort}`,
    "acl:",
    "  - id: notify-from-primary",
    "    address: 127.0.0.1",
    "    action: notify",
    "zone:",
    `  - domain: ${domain}`,
    `    storage: ${q(dir)}`,
    `    file: ${q(`${dir}/${domain}.zone`)}`,
    "    master: primary",
    "    acl: notify-from-primary",
    "    zonefile-sync: -1",
    "    zonefile-load: none",
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/knot.conf`, conf);
  const check = await new Deno.Command("knotc", { args: ["-c", `${dir}/knot.conf`, "conf-check"] }).output();
  if (!check.success) {
    throw new Error(`knotc conf-check: ${new TextDecoder().decode(check.stderr)}\n${conf}`);
  }
  const child = new Deno.Command("knotd", {
    args: ["-c", `${dir}/knot.conf`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text = (text + chunk).slice(-200_000);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    port,
    log: () => text,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await pumps;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
