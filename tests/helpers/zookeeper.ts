/**
 * Test harness: a real ZooKeeper ensemble (owns: starting 1 or 3 Debian ZooKeeper
 * servers on free loopback ports with temporary data dirs, waiting until they
 * serve, killing/restarting single nodes, and stopping everything).
 *
 * Each node is `java -cp <Debian jars> org.apache.zookeeper.server.quorum.QuorumPeerMain <cfg>`
 * tuned for a fast start (short ticks, C1-only JIT, small heap). Readiness is checked with
 * the `srvr` four-letter word: a node serves once it reports a `Mode:` line.
 * Set ZK_TEST_LOG=1 to keep each node's log in its data dir (printed on stop).
 */

const JARS = [
  "/usr/share/java/zookeeper.jar", // its manifest Class-Path names the other Debian jars it needs
  "/usr/share/java/zookeeper-jute.jar",
];
const TICK_MS = 200;
const JVM_FLAGS = [
  "-Xshare:auto",
  "-XX:TieredStopAtLevel=1",
  "-XX:+UseSerialGC",
  "-XX:-UsePerfData",
  "-Xmx128m",
  "-Xss512k",
  "-Djava.net.preferIPv4Stack=true",
  "-Dzookeeper.admin.enableServer=false",
  "-Dzookeeper.snapshot.trust.empty=true",
];

/** Ports used by one node. */
interface NodePorts {
  client: number;
  quorum: number;
  election: number;
}

interface Node {
  id: number;
  ports: NodePorts;
  dir: string;
  child: Deno.ChildProcess | null;
}

/** Takes `n` distinct free TCP ports on 127.0.0.1 (held together, then released). */
export function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** Sends a ZooKeeper four-letter word to 127.0.0.1:port and returns the reply ("" on any error). */
export async function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  let conn: Deno.TcpConn | null = null;
  const timer = setTimeout(() => {
    try {
      conn?.close();
    } catch { /* already closed */ }
    conn = null;
  }, timeoutMs);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(word));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    while (conn) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concat(chunks));
  } catch {
    return "";
  } finally {
    clearTimeout(timer);
    try {
      (conn as Deno.TcpConn | null)?.close();
    } catch { /* already closed */ }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A running ZooKeeper ensemble of 1 or 3 nodes on loopback. */
export class ZkEnsemble {
  private constructor(private readonly root: string, private readonly nodes: Node[]) {}

  /** Starts `size` nodes and waits until every one serves (quorum formed). */
  static async start(size: 1 | 3 = 1): Promise<ZkEnsemble> {
    const root = await Deno.makeTempDir({ prefix: "zk-ensemble-" });
    const ports = freePorts(size * 3);
    const nodes: Node[] = [];
    for (let i = 0; i < size; i++) {
      const p = { client: ports[i * 3], quorum: ports[i * 3 + 1], election: ports[i * 3 + 2] };
      nodes.push({ id: i + 1, ports: p, dir: `${root}/node${i + 1}`, child: null });
    }
    const ensemble = new ZkEnsemble(root, nodes);
    try {
      for (const node of nodes) await ensemble.writeConfig(node);
      for (const node of nodes) ensemble.spawn(node);
      await Promise.all(nodes.map((n) => ensemble.waitServing(n)));
    } catch (e) {
      await ensemble.stop();
      throw e;
    }
    return ensemble;
  }

  /** Number of nodes. */
  get size(): number {
    return this.nodes.length;
  }

  /** `127.0.0.1:p1,127.0.0.1:p2,...` for every node. */
  get hosts(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.ports.client}`).join(",");
  }

  /** A `zk://` URL for the ensemble and the given znode path. */
  url(path = "/mesos"): string {
    return `zk://${this.hosts}${path}`;
  }

  /** The client address (`127.0.0.1:port`) of node `i` (0-based). */
  clientAddress(i: number): string {
    return `127.0.0.1:${this.nodes[i].ports.client}`;
  }

  /** Index of the node whose client address is `address`, or -1. */
  indexOf(address: string): number {
    return this.nodes.findIndex((n) => `127.0.0.1:${n.ports.client}` === address);
  }

  /** The `Mode:` reported by node `i` ("leader", "follower", "standalone"), or "" when not serving. */
  async mode(i: number): Promise<string> {
    const reply = await fourLetterWord(this.nodes[i].ports.client, "srvr");
    return /^Mode: (\S+)/m.exec(reply)?.[1] ?? "";
  }

  /** Kills node `i` with SIGKILL and waits for the process to end. */
  async kill(i: number): Promise<void> {
    const node = this.nodes[i];
    const child = node.child;
    if (!child) return;
    node.child = null;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }

  /** Freezes node `i` (SIGSTOP): it keeps its connections open but answers nothing. */
  pause(i: number): void {
    this.nodes[i].child?.kill("SIGSTOP");
  }

  /** Lets a frozen node `i` run again (SIGCONT). */
  resume(i: number): void {
    this.nodes[i].child?.kill("SIGCONT");
  }

  /** Kills every node. */
  async killAll(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i)));
  }

  /** Starts node `i` again (same ports and data) and waits until it serves. */
  async restart(i: number, timeoutMs = 20_000): Promise<void> {
    const node = this.nodes[i];
    if (!node.child) this.spawn(node);
    await this.waitServing(node, timeoutMs);
  }

  /** Starts every stopped node again and waits until all serve. */
  async restartAll(timeoutMs = 20_000): Promise<void> {
    for (const node of this.nodes) if (!node.child) this.spawn(node);
    await Promise.all(this.nodes.map((n) => this.waitServing(n, timeoutMs)));
  }

  /** Kills every node and removes the data directories. */
  async stop(): Promise<void> {
    await this.killAll();
    if (Deno.env.get("ZK_TEST_LOG")) {
      for (const node of this.nodes) {
        try {
          console.error(
            `--- zookeeper node ${node.id} ---\n${await Deno.readTextFile(`${node.dir}/zk.log`)}`,
          );
        } catch { /* no log */ }
      }
    }
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  private async writeConfig(node: Node): Promise<void> {
    await Deno.mkdir(`${node.dir}/data`, { recursive: true });
    const lines = [
      `tickTime=${TICK_MS}`,
      "initLimit=20",
      "syncLimit=5",
      `dataDir=${node.dir}/data`,
      `clientPort=${node.ports.client}`,
      "clientPortAddress=127.0.0.1",
      "admin.enableServer=false",
      "4lw.commands.whitelist=srvr,ruok,stat,cons",
      "preAllocSize=1024",
      "snapCount=100000",
      "cnxTimeout=500",
      "electionPortBindRetry=0",
    ];
    if (this.nodes.length > 1) {
      await Deno.writeTextFile(`${node.dir}/data/myid`, `${node.id}\n`);
      lines.push("standaloneEnabled=false");
      for (const n of this.nodes) {
        lines.push(`server.${n.id}=127.0.0.1:${n.ports.quorum}:${n.ports.election}`);
      }
    }
    await Deno.writeTextFile(`${node.dir}/zoo.cfg`, lines.join("\n") + "\n");
  }

  private spawn(node: Node): void {
    const logging = Deno.env.get("ZK_TEST_LOG") !== undefined;
    const slf4j = logging ? "/usr/share/java/slf4j-simple.jar" : "/usr/share/java/slf4j-nop.jar";
    const java = [
      ...JVM_FLAGS,
      "-cp",
      [...JARS, slf4j].join(":"),
      "org.apache.zookeeper.server.quorum.QuorumPeerMain",
      `${node.dir}/zoo.cfg`,
    ];
    if (logging) {
      const quoted = java.map((a) => `'${a}'`).join(" ");
      node.child = new Deno.Command("bash", {
        args: ["-c", `exec java ${quoted} >>'${node.dir}/zk.log' 2>&1`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } else {
      node.child = new Deno.Command("java", { args: java, stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
    }
  }

  private async waitServing(node: Node, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!node.child) throw new Error(`zookeeper node ${node.id} is not running`);
      const reply = await fourLetterWord(node.ports.client, "srvr", 500);
      if (/^Mode: /m.test(reply)) return;
      await sleep(50);
    }
    throw new Error(`zookeeper node ${node.id} not serving after ${timeoutMs} ms`);
  }
}
