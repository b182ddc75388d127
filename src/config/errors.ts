/**
 * The two ways start-up configuration can fail (owns: the error classes and the one
 * message shape for bad keys). `ConfigError` means exit 1, `UsageError` exit 2.
 */

/** A configuration problem (bad key value, unreadable or malformed file): exit 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * A command-line problem (unknown flag, malformed flag value): exit 2. `message` names
 * the flag; `usage` holds the full usage text to print after it.
 */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, readonly usage: string = "") {
    super(message);
  }
}

/** Formats a value for an error message: strings quoted, lists and objects as JSON. */
export function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined) return "nothing";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Builds the ConfigError for a bad key: `config key "K": got G, expected E (original)`.
 * `original` is the original Mesos-DNS wording of the failure, kept for operators who grep for it.
 */
export function keyError(key: string, got: string, expected: string, original?: string): ConfigError {
  const tail = original ? ` (${original})` : "";
  return new ConfigError(`config key "${key}": got ${got}, expected ${expected}${tail}`);
}
