/**
 * Configuration entry point (owns: the start-up sequence from command line to a validated
 * Config — flags, then `-version`, then the config file, then validation — and the
 * environment it reads through, injectable for tests). Precedence: defaults < file < flags.
 *
 * The config file is optional: without `-config`, `config.json` in the working directory is
 * loaded when it exists, otherwise defaults and flags are used. An explicit `-config` that
 * does not exist is an error.
 */
import { resolve } from "node:path";
import type { Config } from "./types.ts";
import { applyOverlay, defaultConfig } from "./keys.ts";
import { ConfigError, UsageError } from "./errors.ts";
import { parseFlags, usageText } from "./flags.ts";
import { decodeConfigFile } from "./load_file.ts";
import { validateConfig } from "./validate.ts";

export { ConfigError, UsageError };
export { defaultConfig };
export type { Config };

/** What the command line resolved to. */
export type CliOutcome =
  | { kind: "run"; config: Config; verbosity: number; warnings: string[] }
  | { kind: "version" }
  | { kind: "help"; text: string };

/** Everything configuration loading reads from the outside world. */
export interface ConfigEnv {
  cwd: string;
  env: (name: string) => string | undefined;
  readTextFile: (path: string) => Promise<string>;
  exists: (path: string) => Promise<boolean>;
  /** IP addresses of the local interfaces, loopback included. */
  localIPs: () => string[];
}

/** The real environment: Deno's cwd, environment variables, file system and network interfaces. */
export function defaultConfigEnv(): ConfigEnv {
  return {
    cwd: Deno.cwd(),
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env for this name
      }
    },
    readTextFile: (path) => Deno.readTextFile(path),
    exists: async (path) => {
      try {
        await Deno.stat(path);
        return true;
      } catch (e) {
        // Anything but "not found" counts as present, so that reading it reports the real problem.
        return !(e instanceof Deno.errors.NotFound);
      }
    },
    localIPs: () => {
      try {
        return Deno.networkInterfaces().map((i) => i.address);
      } catch {
        return ["127.0.0.1", "::1"]; // no --allow-sys=networkInterfaces: at least drop loopback
      }
    },
  };
}

/**
 * Resolves the `-config` path as the original does (SPEC §1.1): a leading `~/` becomes the
 * home directory (USERPROFILE wins over HOME when both are set; `.` when neither is), then
 * the path is made absolute against the working directory.
 */
export function resolveConfigPath(path: string, env: ConfigEnv): string {
  let p = path;
  if (p.startsWith("~/")) {
    let home = ".";
    for (const name of ["HOME", "USERPROFILE"]) {
      const dir = env.env(name);
      if (dir) home = dir;
    }
    p = `${home}/${p.slice(2)}`;
  }
  return resolve(env.cwd, p);
}

function describeError(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "";
  return `: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Turns the command line into what to do: show help, print the version, or run with a
 * validated configuration. Throws UsageError (exit 2) for bad flags and ConfigError
 * (exit 1) for a missing/malformed config file or an invalid value.
 */
export async function parseCommandLine(
  args: string[],
  env: ConfigEnv = defaultConfigEnv(),
): Promise<CliOutcome> {
  const flags = parseFlags(args);
  if (flags.help) return { kind: "help", text: usageText() };
  if (flags.version) return { kind: "version" };

  const warnings = [...flags.warnings];
  const explicit = flags.configPath !== undefined;
  const file = resolveConfigPath(flags.configPath ?? "config.json", env);
  let config = defaultConfig();
  let missingSourceHint: string | undefined;
  if (explicit || await env.exists(file)) {
    let text: string;
    try {
      text = await env.readTextFile(file);
    } catch (e) {
      throw new ConfigError(`missing configuration file: ${JSON.stringify(file)}${describeError(e)}`);
    }
    config.File = file;
    const decoded = decodeConfigFile(text, file);
    warnings.push(...decoded.warnings);
    config = applyOverlay(config, decoded.overlay);
  } else {
    missingSourceHint = `no config file was loaded (${
      JSON.stringify(file)
    } does not exist; use -config <path>)`;
  }
  config = applyOverlay(config, flags.overlay);
  const validated = await validateConfig(config, {
    readTextFile: env.readTextFile,
    localIPs: env.localIPs,
    missingSourceHint,
  });
  return {
    kind: "run",
    config: validated.config,
    verbosity: flags.verbosity,
    warnings: [...warnings, ...validated.warnings],
  };
}

/** `/v1/config` view: the Config with MesosCredentials.Secret masked as "***" when non-empty (SPEC §10.3). */
export function publicConfig(c: Config): Config {
  return {
    ...c,
    Masters: c.Masters === null ? null : [...c.Masters],
    ZoneResolvers: Object.fromEntries(Object.entries(c.ZoneResolvers).map(([z, rs]) => [z, [...rs]])),
    Resolvers: [...c.Resolvers],
    IPSources: [...c.IPSources],
    MesosCredentials: {
      Principal: c.MesosCredentials.Principal,
      Secret: c.MesosCredentials.Secret === "" ? "" : "***",
    },
  };
}
