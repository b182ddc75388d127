/**
 * mesos-dns entry point (owns: the process — command line, logging set-up, exit codes,
 * signals). Exit 0 on `-version`/`--help` and on SIGINT/SIGTERM, 1 on a configuration
 * or start-up error, 2 on a malformed command line (as the original). SIGHUP reloads the
 * configuration: the same command line and config file read again (src/config/reload.ts).
 */
import { ConfigError, parseCommandLine, UsageError } from "./src/config/mod.ts";
import { logger, setupLogging } from "./src/log.ts";
import { startApp } from "./src/app.ts";
import { VERSION } from "./src/version.ts";

function fail(message: string, code: number): never {
  console.error(`ERROR: ${message}`);
  Deno.exit(code);
}

async function main(): Promise<void> {
  let outcome;
  try {
    outcome = await parseCommandLine(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      if (err.usage) console.error(err.usage);
      Deno.exit(2);
    }
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  if (outcome.kind === "version") {
    console.log(VERSION);
    return;
  }
  if (outcome.kind === "help") {
    console.log(outcome.text);
    return;
  }
  await setupLogging(outcome.verbosity);
  const log = logger("main");
  for (const w of outcome.warnings) log.warn(w);

  let app;
  try {
    app = await startApp(outcome.config, {
      loadConfig: async () => {
        const again = await parseCommandLine(Deno.args);
        if (again.kind !== "run") throw new Error("the command line no longer starts the server");
        return again;
      },
      onFatal: (err) => {
        log.error("{err}", { err });
        Deno.exit(1);
      },
    });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err), 1);
  }
  const running = app;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down");
    await running.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGHUP", () => {
      if (stopping) return;
      log.info("SIGHUP: reloading the configuration");
      running.reloadConfig();
    });
  }
}

await main();
