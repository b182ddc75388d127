/**
 * Configuration reload (owns: SIGHUP's "read the config again" — loading a new validated
 * Config through the start-up path, working out which keys changed, telling each part of
 * the program that registered for those keys, keeping the old configuration when the new
 * one is invalid, and counting reloads and failures).
 *
 * Every part that can take a new value while running registers a `ConfigHook` naming the
 * keys it applies (`keys`) and an `apply(next, changed)`; a hook is called only when one
 * of its keys changed, in registration order. A key that changed and that no hook claims
 * cannot change at run time: it is logged as needing a restart, and the running
 * configuration keeps its old value. A hook that throws (e.g. the new DNS port is in use)
 * is a failed reload for its keys: they keep their old values, the other hooks' changes
 * stay applied. A new key is wired by adding it to the `keys` of the hook that applies it.
 */
import type { Logger } from "@logtape/logtape";
import { logger } from "../log.ts";
import type { Config } from "./types.ts";

export type ConfigKey = keyof Config;

/** A part of the program that applies changed keys in place. */
export interface ConfigHook {
  /** What the part is, for logs and errors (e.g. "DNS listener"). */
  readonly name: string;
  /** The keys it applies. */
  readonly keys: readonly ConfigKey[];
  /** Applies `next`; `changed` holds every changed key (not only this hook's); `prev` is the running one. */
  apply(next: Config, changed: ReadonlySet<ConfigKey>, prev: Config): void | Promise<void>;
}

/** What a load of the configuration gives (the start-up path: flags, file, validation). */
export interface LoadedConfig {
  config: Config;
  warnings: readonly string[];
}

/** One failed reload. */
export interface ReloadError {
  at: Date;
  message: string;
}

/** Counters and recent errors, for /metrics and the status page. */
export interface ConfigReloadStats {
  /** Reloads asked for (SIGHUP), successful or not. */
  reloads: number;
  /** Reloads whose new configuration was rejected, or that a part could not apply. */
  failures: number;
  lastReloadAt: Date | null;
  /** The newest errors first, at most `RECENT_ERRORS`. */
  recentErrors: ReloadError[];
}

/** What one reload did. */
export interface ReloadOutcome {
  ok: boolean;
  /** Keys applied. */
  applied: ConfigKey[];
  /** Keys that changed but need a restart (kept at their old values). */
  needRestart: ConfigKey[];
  errors: string[];
}

/** How many recent errors are kept. */
export const RECENT_ERRORS = 5;

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Keys that are not settings: `SOASerial` is the load time (validation sets it). */
const NOT_SETTINGS: ReadonlySet<string> = new Set(["SOASerial"]);

/** The keys whose values differ between two configurations (deep comparison). */
export function changedKeys(prev: Config, next: Config): Set<ConfigKey> {
  const out = new Set<ConfigKey>();
  for (const k of new Set([...Object.keys(prev), ...Object.keys(next)]) as Set<ConfigKey>) {
    if (!NOT_SETTINGS.has(k) && !same(prev[k], next[k])) out.add(k);
  }
  return out;
}

/** Holds the running configuration and applies reloads to the registered hooks. */
export class ConfigReloader {
  #current: Config;
  readonly #load: () => Promise<LoadedConfig>;
  readonly #log: Pick<Logger, "error" | "warn" | "info">;
  readonly #hooks: ConfigHook[] = [];
  readonly #stats: ConfigReloadStats = { reloads: 0, failures: 0, lastReloadAt: null, recentErrors: [] };
  /** The reload running now, and whether another was asked for meanwhile. */
  #running: Promise<ReloadOutcome> | null = null;
  #again = false;

  constructor(
    initial: Config,
    load: () => Promise<LoadedConfig>,
    log?: Pick<Logger, "error" | "warn" | "info">,
  ) {
    this.#current = initial;
    this.#load = load;
    this.#log = log ?? logger("config");
  }

  /** The running configuration. */
  get current(): Config {
    return this.#current;
  }

  /** Registers a hook; returns a function that removes it. */
  hook(h: ConfigHook): () => void {
    this.#hooks.push(h);
    return () => {
      const i = this.#hooks.indexOf(h);
      if (i >= 0) this.#hooks.splice(i, 1);
    };
  }

  /** The keys some hook applies. */
  reloadableKeys(): Set<ConfigKey> {
    return new Set(this.#hooks.flatMap((h) => h.keys));
  }

  /** A copy of the counters. */
  stats(): ConfigReloadStats {
    return { ...this.#stats, recentErrors: this.#stats.recentErrors.map((e) => ({ ...e })) };
  }

  /**
   * Loads the configuration again and applies what changed. Never rejects. Reloads do not
   * overlap: one asked for while another runs starts after it (several such: one).
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#running) {
      this.#again = true;
      return this.#running; // its loop runs once more
    }
    const run = async (): Promise<ReloadOutcome> => {
      let outcome: ReloadOutcome;
      do {
        this.#again = false;
        outcome = await this.#reloadOnce();
      } while (this.#again);
      return outcome;
    };
    this.#running = run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  #fail(message: string): void {
    this.#stats.failures++;
    this.#stats.recentErrors.unshift({ at: new Date(), message });
    this.#stats.recentErrors.length = Math.min(this.#stats.recentErrors.length, RECENT_ERRORS);
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    this.#stats.reloads++;
    this.#stats.lastReloadAt = new Date();
    const prev = this.#current;
    let loaded: LoadedConfig;
    try {
      loaded = await this.#load();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#fail(message);
      this.#log.error("configuration reload failed, keeping the running configuration: {message}", {
        message,
      });
      return { ok: false, applied: [], needRestart: [], errors: [message] };
    }
    for (const w of loaded.warnings) this.#log.warn("{w}", { w });
    const next = loaded.config;
    const changed = changedKeys(prev, next);
    if (changed.size === 0) {
      this.#log.info("configuration reloaded: nothing changed");
      return { ok: true, applied: [], needRestart: [], errors: [] };
    }
    const reloadable = this.reloadableKeys();
    const needRestart = [...changed].filter((k) => !reloadable.has(k));
    // The configuration the parts run with: the new values, except where they cannot apply.
    const running: Record<string, unknown> = { ...next, SOASerial: prev.SOASerial };
    for (const k of needRestart) {
      running[k] = prev[k];
      this.#log.warn("{key} changed in the configuration; it takes effect only after a restart", { key: k });
    }
    this.#current = running as unknown as Config;
    const errors: string[] = [];
    for (const h of [...this.#hooks]) {
      if (!h.keys.some((k) => changed.has(k))) continue;
      try {
        await h.apply(this.#current, changed, prev);
      } catch (err) {
        const message = `${h.name}: ${err instanceof Error ? err.message : String(err)}`;
        errors.push(message);
        const kept: Record<string, unknown> = { ...this.#current };
        for (const k of h.keys) if (changed.has(k)) kept[k] = prev[k];
        this.#current = kept as unknown as Config;
        this.#log.error("configuration reload: {message}; keeping the old {keys}", {
          message,
          keys: h.keys.filter((k) => changed.has(k)).join(", "),
        });
      }
    }
    for (const message of errors) this.#fail(message);
    const applied = [...changed].filter((k) => reloadable.has(k) && same(this.#current[k], next[k]));
    if (applied.length > 0) {
      this.#log.info("configuration reloaded: {keys} applied", { keys: applied.join(", ") });
    }
    return { ok: errors.length === 0, applied, needRestart, errors };
  }
}
