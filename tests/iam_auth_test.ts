/**
 * Tests of src/mesos/iam_auth.ts: private keys (PKCS#8 and PKCS#1 sign alike; others refused
 * without showing them), the RS256 login JWT, the IAM file, and the whole login flow over
 * real sockets against the simulator's IAM endpoint (a login per state request, the
 * `token=` header; wrong key, unknown uid, expired JWT and unreachable endpoint fail clearly).
 */
import assert from "node:assert/strict";
import {
  createIamAuthorization,
  decodePem,
  importRsaPrivateKey,
  LOGIN_JWT_LIFETIME_SECONDS,
  signLoginJwt,
} from "../src/mesos/iam_auth.ts";
import { StateFetcher, StateFetchError } from "../src/mesos/fetch_state.ts";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { generateServiceAccountKeys, IAM_LOGIN_PATH } from "../scripts/sim/master_auth.ts";
import { freePorts } from "./helpers/zookeeper.ts";

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

function b64urlBytes(part: string): Uint8Array<ArrayBuffer> {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
}

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(b64urlBytes(part)));
}

/** A line from the middle of a PEM body: it must never show up in a message. */
function keyFragment(pem: string): string {
  return pem.split("\n")[3];
}

Deno.test("importRsaPrivateKey: PKCS#8 and PKCS#1 sign alike; other keys refused without showing them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { privateKey } = await generateServiceAccountKeys();
    await Deno.writeTextFile(`${dir}/pkcs8.pem`, privateKey);
    await openssl(["rsa", "-in", "pkcs8.pem", "-traditional", "-out", "pkcs1.pem"], dir);
    const pkcs1 = await Deno.readTextFile(`${dir}/pkcs1.pem`);
    assert.equal(decodePem(pkcs1).label, "RSA PRIVATE KEY");
    // RSASSA-PKCS1-v1_5 is deterministic: the same key gives the same signature.
    const data = new TextEncoder().encode("same input");
    const a = new Uint8Array(await crypto.subtle.sign(RSA, await importRsaPrivateKey(privateKey), data));
    const b = new Uint8Array(await crypto.subtle.sign(RSA, await importRsaPrivateKey(pkcs1), data));
    assert.deepEqual(a, b);

    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem"],
      dir,
    );
    const ec = await Deno.readTextFile(`${dir}/ec.pem`);
    await openssl(["pkey", "-in", "pkcs8.pem", "-pubout", "-out", "pub.pem"], dir);
    const pub = await Deno.readTextFile(`${dir}/pub.pem`);
    const encrypted = privateKey.replaceAll("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
    const cases: Array<[string, RegExp, string]> = [
      [ec, /^private_key is not an RSA private key usable for RS256$/, keyFragment(ec)],
      [
        pub,
        /^private_key is a PEM "PUBLIC KEY", expected "PRIVATE KEY" or "RSA PRIVATE KEY"$/,
        keyFragment(pub),
      ],
      [encrypted, /^private_key is encrypted/, keyFragment(privateKey)],
      ["not a key at all", /^private_key is not a PEM private key \(no PEM block found\)$/, "not a key"],
      ["-----BEGIN PRIVATE KEY-----\n%%%\n-----END PRIVATE KEY-----", /not valid base64/, "%%%"],
    ];
    for (const [pem, message, secret] of cases) {
      await assert.rejects(importRsaPrivateKey(pem), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, message);
        assert.ok(!e.message.includes(secret), e.message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signLoginJwt: RS256 header, uid and exp claims, verifiable with the public key", async () => {
  const keys = await generateServiceAccountKeys();
  const jwt = await signLoginJwt(await importRsaPrivateKey(keys.privateKey), "svc-dns", 1_700_000_000.7);
  const [h, c, s] = jwt.split(".");
  assert.doesNotMatch(jwt, /[=+/]/, "base64url without padding");
  assert.deepEqual(b64urlJson(h), { alg: "RS256", typ: "JWT" });
  assert.deepEqual(b64urlJson(c), { uid: "svc-dns", exp: 1_700_000_000 + LOGIN_JWT_LIFETIME_SECONDS });
  const spki = decodePem(keys.publicKey).der as BufferSource;
  const pub = await crypto.subtle.importKey("spki", spki, RSA, false, ["verify"]);
  const sig = b64urlBytes(s);
  assert.ok(await crypto.subtle.verify(RSA, pub, sig, new TextEncoder().encode(`${h}.${c}`)));
});

Deno.test("createIamAuthorization: problems with the IAM file name the file, never the key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { privateKey } = await generateServiceAccountKeys();
    const write = async (name: string, doc: unknown) => {
      await Deno.writeTextFile(`${dir}/${name}`, typeof doc === "string" ? doc : JSON.stringify(doc));
      return `${dir}/${name}`;
    };
    const cases: Array<[string, RegExp]> = [
      [`${dir}/missing.json`, /^failed to load IAM config from file .*missing\.json: /],
      [await write("bad.json", "{oops"), /^failed to load IAM config from file .*bad\.json: .*line 1/],
      [
        await write("partial.json", { uid: "x", private_key: privateKey }),
        /^invalid HTTP IAM configuration in .*partial\.json: missing login_endpoint$/,
      ],
      [
        await write("badkey.json", {
          uid: "x",
          private_key: "nope",
          login_endpoint: "http://127.0.0.1:1/login",
        }),
        /^IAM config file .*badkey\.json: private_key is not a PEM private key/,
      ],
    ];
    for (const [file, message] of cases) {
      await assert.rejects(createIamAuthorization(file), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, message);
        assert.ok(!e.message.includes(keyFragment(privateKey)));
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IAM login against the simulator: a token per state request; failures are clear", async () => {
  const dir = await Deno.makeTempDir();
  const account = await generateServiceAccountKeys();
  const other = await generateServiceAccountKeys();
  const sim = await startSimulator({
    auth: { iam: { uid: "mesos-dns", publicKey: account.publicKey } },
    controlPort: 0,
    generate: { frameworks: 1, agents: 1, tasks: 3, seed: 5 },
  });
  const login = sim.control!.replace(/\/__sim$/, IAM_LOGIN_PATH);
  const provider = async (uid: string, key: string, endpoint = login, now?: () => number) => {
    const file = `${dir}/${crypto.randomUUID()}.json`;
    await Deno.writeTextFile(file, JSON.stringify({ uid, private_key: key, login_endpoint: endpoint }));
    return await createIamAuthorization(file, { now });
  };
  const fetcherWith = async (...args: Parameters<typeof provider>) =>
    new StateFetcher({ timeoutMs: 5000, authorization: await provider(...args) });
  const failsWith = async (fetcher: StateFetcher, message: RegExp) => {
    await assert.rejects(fetcher.fetch(sim.masters), (e: unknown) => {
      assert.ok(e instanceof StateFetchError, String(e));
      assert.equal(e.kind, "auth", e.message);
      assert.match(e.message, message);
      for (const k of [account.privateKey, other.privateKey]) assert.ok(!e.message.includes(keyFragment(k)));
      assert.doesNotMatch(e.message, /token=|eyJ/);
      return true;
    });
  };
  try {
    const good = await fetcherWith("mesos-dns", account.privateKey);
    await good.fetch(sim.masters);
    await good.fetch(sim.masters);
    assert.equal(sim.auth!.logins, 2, "one login per state request, as the original");
    const tokens = sim.requests.map((r) => r.headers["authorization"]);
    assert.equal(tokens.length, 2);
    assert.ok(tokens.every((t) => /^token=[0-9a-f-]{36}$/.test(t ?? "")), String(tokens));
    assert.notEqual(tokens[0], tokens[1]);

    const prefix = String.raw`^authentication for 127\.0\.0\.1:\d+ failed: IAM authentication failed: `;
    await failsWith(
      await fetcherWith("mesos-dns", other.privateKey),
      new RegExp(
        prefix + String.raw`HTTP 401 Unauthorized from http://127\.0\.0\.1:\d+/acs/api/v1/auth/login ` +
          String
            .raw`for uid "mesos-dns": Invalid authentication credentials: the service login token signature is not valid`,
      ),
    );
    await failsWith(
      await fetcherWith("someone", account.privateKey),
      /HTTP 401 .*uid "someone".*unknown uid$/,
    );
    const twoHoursAgo = () => Date.now() - 2 * 3600_000;
    await failsWith(
      await fetcherWith("mesos-dns", account.privateKey, login, twoHoursAgo),
      /the service login token has expired$/,
    );
    const [closed] = freePorts(1);
    await failsWith(
      await fetcherWith("mesos-dns", account.privateKey, `http://127.0.0.1:${closed}${IAM_LOGIN_PATH}`),
      new RegExp(prefix + String.raw`cannot reach http://127\.0\.0\.1:${closed}/acs/api/v1/auth/login: `),
    );
    // Without credentials the master itself refuses.
    await assert.rejects(new StateFetcher({ timeoutMs: 5000 }).fetch(sim.masters), (e: unknown) => {
      assert.ok(e instanceof StateFetchError);
      assert.equal(e.kind, "auth");
      assert.match(e.message, /^HTTP 401 Unauthorized from http:.*: the master requires authentication/);
      return true;
    });
    assert.equal(sim.auth!.logins, 2, "failed logins hand out no token");
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
