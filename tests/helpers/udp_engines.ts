/**
 * The UDP engines the DNS tests run against (owns: the list, and registering one test
 * per engine). The `ffi` variants are ignored where the fast path cannot run (not
 * Linux x86_64/aarch64, no FFI permission), so the report shows them as skipped.
 */
import { ffiUdpUnavailable } from "../../src/dns/udp_ffi.ts";

export type UdpEngineName = "portable" | "ffi";

/** Every UDP engine. */
export const UDP_ENGINES: readonly UdpEngineName[] = ["portable", "ffi"];

const ffiUnavailable = ffiUdpUnavailable();

/**
 * A `Deno.test` for one engine: the name gets ` [udp: <engine>]`, and the test is
 * ignored when that engine cannot run here.
 */
export function engineTest(engine: UdpEngineName) {
  return (def: string | Deno.TestDefinition, fn?: (t: Deno.TestContext) => void | Promise<void>): void => {
    const d: Deno.TestDefinition = typeof def === "string" ? { name: def, fn: fn! } : def;
    Deno.test({
      ...d,
      name: `${d.name} [udp: ${engine}]`,
      ignore: d.ignore || (engine === "ffi" && ffiUnavailable !== undefined),
    });
  };
}
