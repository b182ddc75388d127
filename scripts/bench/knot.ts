/**
 * The reference server for the bench (owns: writing a Knot zone file from mesos-dns's
 * `/v1/axfr` document, writing a Knot configuration that runs unprivileged from a temp
 * directory, checking it with `knotc conf-check`, and starting and stopping `knotd`).
 */
import { startServerProcess } from "./server_process.ts";
import { udpQuery } from "./dns_probe.ts";

/** The `/v1/axfr` document (SPEC §8.7). */
export interface AxfrDoc {
  TTL: number;
  Serial: number;
  Mname: string;
  Rname: string;
  Domain: string;
  Records: {
    As: Record<string, string[]>;
    AAAAs: Record<string, string[]>;
    SRVs: Record<string, string[]>;
  };
}

/** SOA timers and SRV weight that `/v1/axfr` does not carry (mesos-dns defaults, SPEC §2.2). */
export interface ZoneDefaults {
  soaRefresh: number;
  soaRetry: number;
  soaExpire: number;
  srvWeight: number;
}

export const MESOS_DNS_DEFAULTS: ZoneDefaults = {
  soaRefresh: 60,
  soaRetry: 600,
  soaExpire: 86400,
  srvWeight: 1,
};

/** A zone file and what went into it. */
export interface ZoneFile {
  text: string;
  records: number;
  /** Record names outside the domain, left out (Knot refuses out-of-zone data). */
  skipped: number;
}

/** Writes a name for a zone file: absolute, bytes other than letters, digits, `-`, `_`, `*` escaped. */
export function zoneName(name: string): string {
  const abs = name.endsWith(".") ? name : `${name}.`;
  return abs.replace(/[^A-Za-z0-9._*-]/g, (c) => `\\${String(c.charCodeAt(0)).padStart(3, "0")}`);
}

/**
 * Turns an axfr document into a zone file for Knot: the apex SOA and NS as mesos-dns
 * serves them (MNAME, RNAME, serial, MINIMUM = TTL), then every A, AAAA and SRV record
 * (SRV priority 0, weight `srvWeight`), all with the document's TTL.
 */
export function zoneFileFromAxfr(doc: AxfrDoc, defaults: ZoneDefaults = MESOS_DNS_DEFAULTS): ZoneFile {
  const apex = `${doc.Domain.toLowerCase().replace(/\.+$/, "")}.`;
  const inZone = (n: string) => n.toLowerCase() === apex || n.toLowerCase().endsWith(`.${apex}`);
  const ttl = doc.TTL;
  const out: string[] = [
    `; written by scripts/bench.ts from /v1/axfr (serial ${doc.Serial})`,
    `$TTL ${ttl}`,
    `${zoneName(apex)} ${ttl} IN SOA ${zoneName(doc.Mname)} ${zoneName(doc.Rname)} ${doc.Serial} ` +
    `${defaults.soaRefresh} ${defaults.soaRetry} ${defaults.soaExpire} ${ttl}`,
    `${zoneName(apex)} ${ttl} IN NS ${zoneName(doc.Mname)}`,
  ];
  let records = 2;
  let skipped = 0;
  const add = (owner: string, rr: string) => {
    if (!inZone(owner)) {
      skipped++;
      return;
    }
    out.push(`${zoneName(owner)} ${ttl} IN ${rr}`);
    records++;
  };
  for (const [name, ips] of Object.entries(doc.Records.As ?? {})) for (const ip of ips) add(name, `A ${ip}`);
  for (const [name, ips] of Object.entries(doc.Records.AAAAs ?? {})) {
    for (const ip of ips) add(name, `AAAA ${ip}`);
  }
  for (const [name, values] of Object.entries(doc.Records.SRVs ?? {})) {
    for (const v of values) {
      const at = v.lastIndexOf(":");
      add(name, `SRV 0 ${defaults.srvWeight} ${v.slice(at + 1)} ${zoneName(v.slice(0, at))}`);
    }
  }
  return { text: out.join("\n") + "\n", records, skipped };
}

export interface KnotConfigOptions {
  /** Directory for the configuration, rundir, storage and journal. */
  dir: string;
  port: number;
  domain: string;
  zoneFile: string;
  /** `user[:group]` knotd runs as (the current user). */
  user: string;
}

/**
 * A Knot configuration: one listener on 127.0.0.1@port, everything under `dir`, the
 * zone loaded from `zoneFile` and never written back, warnings on stderr. Worker thread
 * counts are left at Knot's defaults (one UDP and one TCP worker per CPU).
 */
export function knotConfig(o: KnotConfigOptions): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    "server:",
    `    rundir: ${q(`${o.dir}/run`)}`,
    `    user: ${o.user}`,
    `    listen: 127.0.0.1@${o.port}`,
    "database:",
    `    storage: ${q(`${o.dir}/db`)}`,
    "log:",
    "  - target: stderr",
    "    any: warning",
    "zone:",
    `  - domain: ${o.domain}`,
    `    file: ${q(o.zoneFile)}`,
    `    storage: ${q(o.dir)}`,
    "    zonefile-sync: -1",
    "    zonefile-load: whole",
    "    journal-content: none",
    "",
  ].join("\n");
}

async function commandText(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { ok: out.success, text: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
}

/** `user:group` of the current process, for Knot's `user` option. */
export async function currentUser(): Promise<string> {
  const u = await commandText("id", ["-un"]);
  const g = await commandText("id", ["-gn"]);
  if (!u.ok || !g.ok) throw new Error(`cannot tell the current user: ${u.text} ${g.text}`);
  return `${u.text}:${g.text}`;
}

/** A running knotd. */
export interface KnotServer {
  readonly pid: number;
  readonly port: number;
  /** What knotd logged (warnings and errors). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Writes the configuration into `opts.dir`, checks it with `knotc conf-check`, starts
 * knotd, and resolves once it answers the apex SOA with `serial`.
 */
export async function startKnot(opts: KnotConfigOptions & { serial: number }): Promise<KnotServer> {
  await Deno.mkdir(`${opts.dir}/run`, { recursive: true });
  await Deno.mkdir(`${opts.dir}/db`, { recursive: true });
  const conf = `${opts.dir}/knot.conf`;
  await Deno.writeTextFile(conf, knotConfig(opts));
  const check = await commandText("knotc", ["-c", conf, "conf-check"]);
  if (!check.ok) throw new Error(`knotc conf-check rejected ${conf}: ${check.text}`);

  const server = await startServerProcess({
    cmd: "knotd",
    args: ["-c", conf],
    name: "knotd",
    readiness: `serve ${opts.domain} with serial ${opts.serial}`,
    ready: async () => {
      const r = await udpQuery(opts.port, `${opts.domain}.`, "SOA", 300);
      return r.rcode === "NOERROR" && r.serial === opts.serial;
    },
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  return { pid: server.pid, port: opts.port, log: server.output, stop: server.stop };
}
