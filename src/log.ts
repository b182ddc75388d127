/**
 * Logging setup (owns: sinks, levels, the line format). Everything else calls
 * `logger("area")` and never configures LogTape itself.
 *
 * Verbosity follows the original's `-v` flag: 0 = warnings and errors (stderr),
 * 1 = also info ("verbose"), 2 = also debug ("very verbose"). Info and debug go to
 * stdout as in the original; warnings and errors to stderr.
 */
import { configure, getLogger, type Logger, type LogRecord, reset } from "@logtape/logtape";

const ROOT = "mesos-dns";

/** A logger for one area of the program, e.g. `logger("dns")`. */
export function logger(area: string): Logger {
  return getLogger([ROOT, area]);
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Formats a record as `LEVEL: 2026/11/25 15:04:05 [area] message`. */
export function formatLine(record: LogRecord): string {
  const d = new Date(record.timestamp);
  const ts = `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }:${pad(d.getSeconds())}`;
  const label = record.level === "debug"
    ? "VERY VERBOSE"
    : record.level === "info"
    ? "VERBOSE"
    : record.level === "warning"
    ? "WARNING"
    : "ERROR";
  const msg = record.message.map((part) => typeof part === "string" ? part : formatValue(part)).join("");
  return `${label}: ${ts} [${record.category.slice(1).join(".")}] ${msg}\n`;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const encoder = new TextEncoder();

/** Configures logging for the process; `verbosity` is the `-v` value. */
export async function setupLogging(verbosity: number): Promise<void> {
  await configure({
    reset: true,
    sinks: {
      stdout: (r: LogRecord) => {
        if (r.level === "info" || r.level === "debug") Deno.stdout.writeSync(encoder.encode(formatLine(r)));
      },
      stderr: (r: LogRecord) => {
        if (r.level !== "info" && r.level !== "debug") Deno.stderr.writeSync(encoder.encode(formatLine(r)));
      },
    },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
      {
        category: [ROOT],
        lowestLevel: verbosity >= 2 ? "debug" : verbosity >= 1 ? "info" : "warning",
        sinks: ["stdout", "stderr"],
      },
    ],
  });
}

/** Drops all logging configuration (tests). */
export async function resetLogging(): Promise<void> {
  await reset();
}
