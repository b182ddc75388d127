/**
 * A `Config` for the DNS tests (owns: nothing else): the SPEC §2.2 defaults from
 * `defaultConfig()`, with no upstream resolvers unless a test names them (tests must
 * never reach the Internet), and `overrides` on top.
 */
import { defaultConfig } from "../../src/config/mod.ts";
import type { Config } from "../../src/config/types.ts";

/** The §2.2 defaults (normalised), `Resolvers` emptied, then `overrides` applied. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...defaultConfig(), Resolvers: [], ...overrides };
}
