/**
 * The UDP fast path's worker frees the zones it no longer reads: a server process with
 * the fast path publishes a new zone of 20,000 names again and again, and its RSS stays
 * flat instead of growing by a zone per publish, with `--expose-gc` as the start task runs
 * it. (Without it, the main thread's own garbage makes RSS too noisy to tell.) Linux only.
 */
import assert from "node:assert/strict";
import { ffiUdpUnavailable } from "../src/dns/udp_ffi.ts";
import { queryUdp } from "./helpers/dns_client.ts";
import { withEvalChild } from "./helpers/eval_child.ts";
import { procMemory } from "./helpers/proc_memory.ts";

const ROOT = new URL("../", import.meta.url);
const ignore = ffiUdpUnavailable() !== undefined;

function serverProgram(engine: string): string {
  const mod = (path: string) => JSON.stringify(new URL(path, ROOT).href);
  return `
    import { startDnsServer } from ${mod("src/dns/server.ts")};
    import { SnapshotHolder } from ${mod("src/records/snapshot.ts")};
    import { RecordSetBuilder } from ${mod("src/records/record_set.ts")};
    import { testConfig } from ${mod("tests/helpers/test_config.ts")};
    const zone = (round) => {
      const b = new RecordSetBuilder("mesos");
      for (let i = 0; i < 20000; i++) {
        b.add("A", "task-" + i + ".marathon.mesos.", "10." + (round & 255) + "." + (i >> 8) + "." + (i & 255));
      }
      return b.build(null);
    };
    const holder = new SnapshotHolder();
    holder.publish(zone(0));
    const server = await startDnsServer({
      hostname: "127.0.0.1", port: 0, config: testConfig(), holder, udpEngine: ${JSON.stringify(engine)},
    });
    console.log(JSON.stringify({ port: server.port }));
    // Each line on stdin publishes a new zone; the reply line says it is built.
    let round = 0;
    for await (const chunk of Deno.stdin.readable) {
      for (const byte of chunk) {
        if (byte !== 10) continue;
        const snap = holder.publish(zone(++round));
        // A zone this large is built in slices: wait until it is served.
        while (server.servedSnapshot() !== snap) await new Promise((r) => setTimeout(r, 5));
        globalThis.gc?.(); // as the service's memory releaser does after a publish
        console.log(round);
      }
    }
    await server.close();
  `;
}

/** How much the server's RSS grows over 30 publishes after the first 6, in MB. */
function growthOverPublishes(engine: string, v8Flags: string[]): Promise<number> {
  return withEvalChild(serverProgram(engine), { v8Flags }, async (server) => {
    const { port } = JSON.parse(await server.nextLine());
    const publish = async (round: number) => {
      await server.writeLine();
      assert.equal(await server.nextLine(), String(round));
      // The worker serves the new zone (the round is the second octet).
      const { msg } = await queryUdp(port, "task-7.marathon.mesos.", "A");
      assert.equal((msg.answers?.[0] as { data?: string }).data, `10.${round & 255}.0.7`);
    };
    let round = 0;
    for (; round < 6; round++) await publish(round + 1);
    const early = procMemory(server.child.pid).rss;
    for (; round < 36; round++) await publish(round + 1);
    return (procMemory(server.child.pid).rss - early) / 1048576;
  });
}

// A zone of 20,000 names is ~2 MB of shared memory: 30 zones kept would be 60 MB more.
Deno.test({
  name: "fast path: zone swaps free the old zones in the worker (with --expose-gc, as the start task runs)",
  ignore,
  async fn() {
    const grown = await growthOverPublishes("ffi", ["--expose-gc", "--max-semi-space-size=2"]);
    assert.ok(grown < 20, `RSS grew by ${grown.toFixed(1)} MB over 30 publishes`);
  },
});
