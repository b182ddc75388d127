/**
 * `deno task compile` (owns: the one place where the release binary's `deno compile` flags
 * live — permissions, V8 flags, embedded modules — and the targets it is built for; the
 * release workflow, the Dockerfile and the smoke test all take them from here).
 *
 *   deno task compile                         → dist/mesos-dns for this machine
 *   deno task compile --target all            → dist/mesos-dns-<target> for every release target
 *   deno task compile --target x86_64-unknown-linux-gnu [--target ...] [--out-dir DIR] [--checksums]
 *   deno task compile --print                 → print the commands, run nothing
 *
 * `--checksums` writes `SHA256SUMS` (the `sha256sum` format) beside the binaries. `deno compile`
 * downloads Deno's runtime (`denort`) for each target on first use, so it needs the internet.
 */
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";

/** What the binary may do: exactly what the `start` task grants (see README, "Running it"). */
export const RUN_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env=HOME,USERPROFILE",
  "--allow-sys=networkInterfaces",
  "--allow-ffi",
];

/** V8 flags baked into the binary (a reload's garbage collected at once, a small young generation). */
export const V8_FLAGS = "--v8-flags=--expose-gc,--max-semi-space-size=2,--heap-growing-percent=50";

/** Modules loaded at run time that the binary must embed (the UDP fast path's worker). */
export const INCLUDES: readonly string[] = ["src/dns/udp_ffi_worker.ts"];

/** The entry point. */
export const ENTRY = "main.ts";

/** The targets a release is built for (`deno compile --target`). */
export const RELEASE_TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

/** The flags `deno run` needs to run the program exactly as the binary runs (permissions, V8 flags). */
export function runFlags(): string[] {
  return [...RUN_PERMISSIONS, V8_FLAGS];
}

/** The `deno compile` arguments for one output (no target: this machine's). */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    ...runFlags(),
    ...INCLUDES.flatMap((m) => ["--include", m]),
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    ENTRY,
  ];
}

/** The output file of a target (`mesos-dns-<target>`; `mesos-dns` for this machine's build). */
export function outputName(target?: string): string {
  return target ? `mesos-dns-${target}` : "mesos-dns";
}

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string", multiple: true },
      "out-dir": { type: "string", default: "dist" },
      checksums: { type: "boolean", default: false },
      print: { type: "boolean", default: false },
    },
  });
  const root = new URL("..", import.meta.url).pathname;
  let targets: (string | undefined)[] = values.target ?? [undefined];
  if (targets.includes("all")) targets = [...RELEASE_TARGETS];
  for (const t of targets) {
    if (t !== undefined && !RELEASE_TARGETS.includes(t)) {
      console.error(`compile: unknown --target ${t}; one of: all, ${RELEASE_TARGETS.join(", ")}`);
      return 2;
    }
  }
  const outDir = values["out-dir"];
  const outputs: string[] = [];
  for (const t of targets) {
    const output = `${outDir}/${outputName(t)}`;
    const args = compileArgs(output, t);
    console.log(`deno ${args.join(" ")}`);
    if (values.print) continue;
    const status = await new Deno.Command(Deno.execPath(), { args, cwd: root, stdin: "null" }).spawn().status;
    if (!status.success) {
      console.error(`compile: deno compile failed for ${t ?? "this machine"} (exit ${status.code})`);
      return 1;
    }
    outputs.push(output);
  }
  if (values.checksums && !values.print) {
    const lines: string[] = [];
    for (const o of outputs) lines.push(`${await sha256Hex(resolve(root, o))}  ${basename(o)}`);
    await Deno.writeTextFile(resolve(root, outDir, "SHA256SUMS"), lines.join("\n") + "\n");
    console.log(`wrote ${outDir}/SHA256SUMS`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
