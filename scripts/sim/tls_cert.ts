/**
 * Test certificates for the simulated masters (owns: making, at run time with the `openssl`
 * command line tool (Debian package `openssl`), a throw-away CA, a server certificate it
 * signed for the loopback addresses the simulator uses, and a client certificate it signed).
 * Every key is a P-256 EC key, valid for two days, written as PEM into one directory.
 */

/** The files made by `generateTestPki` (all PEM), and the server pair's text. */
export interface TestPki {
  /** The directory holding every file (the caller removes it). */
  dir: string;
  /** The CA certificate: what a client trusts (`CACertFile`). */
  caCertFile: string;
  /** The server certificate (SANs: 127.0.0.1–127.0.0.3, ::1, localhost) and its key. */
  certFile: string;
  keyFile: string;
  /** A client certificate signed by the same CA (`CertFile`/`KeyFile`) and its key. */
  clientCertFile: string;
  clientKeyFile: string;
  /** The server certificate and key text, as `Deno.serve` takes them. */
  cert: string;
  key: string;
}

/** What the server certificate is valid for, unless told otherwise. */
export const DEFAULT_SANS = ["IP:127.0.0.1", "IP:127.0.0.2", "IP:127.0.0.3", "IP:::1", "DNS:localhost"];

async function openssl(args: string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error("openssl not found: install the Debian package openssl to generate test certificates");
    }
    throw err;
  }
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** True when the `openssl` command can be run. */
export async function opensslAvailable(): Promise<boolean> {
  try {
    return (await new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Random positive serial number in hex (so two runs never issue the same serial). */
function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] &= 0x7f;
  return "0x" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Issues `name`.pem/`name`.key signed by the CA in `dir`, with the given extensions. */
async function issue(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  await openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions.join("\n") + "\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    serial(),
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ], dir);
}

/**
 * Makes a CA, a server certificate for `sans` (default {@link DEFAULT_SANS}) and a client
 * certificate, all signed by that CA, in `dir` (default: a new temporary directory).
 * Throws a clear error when `openssl` is not installed.
 */
export async function generateTestPki(
  opts: { dir?: string; sans?: readonly string[] } = {},
): Promise<TestPki> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "mesos-sim-tls-" });
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    `/CN=mesos-sim test CA ${serial().slice(2, 10)}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  await issue(dir, "server", "/CN=mesos-sim master", [
    `subjectAltName=${(opts.sans ?? DEFAULT_SANS).join(",")}`,
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
  ]);
  await issue(dir, "client", "/CN=mesos-dns", [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth",
  ]);
  return {
    dir,
    caCertFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    clientCertFile: `${dir}/client.pem`,
    clientKeyFile: `${dir}/client.key`,
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}
