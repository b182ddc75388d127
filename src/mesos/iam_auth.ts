/**
 * IAM authentication to the masters (owns: SPEC §2.4 `MesosAuthentication: "iam"` — reading
 * the IAM file, the service login JWT (RS256, claims `{"uid","exp"}`, signed with WebCrypto
 * using the file's PEM private key), the POST to `login_endpoint`, and the resulting
 * `Authorization: token=<token>` header), as an `AuthorizationProvider` for fetch_state.ts.
 *
 * As the original, every state request logs in again (no token cache): a revoked account
 * stops working at the next reload. Error messages name the endpoint and the HTTP status,
 * never the private key, the signed JWT or the token.
 */
import { decodeIamConfig, type IamConfig } from "../config/load_file.ts";
import type { AuthContext, AuthorizationProvider } from "./fetch_state.ts";

/** Lifetime of the login JWT, seconds (the original's one hour). */
export const LOGIN_JWT_LIFETIME_SECONDS = 3600;

const RSA_ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

/** A PEM block: its label (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...) and DER bytes. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Decodes the first PEM block of `text`; throws when there is none or its base64 is broken. */
export function decodePem(text: string): PemBlock {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new Error("no PEM block found");
  const body = m[2].replace(/[\r\n\t ]/g, "");
  let bin: string;
  try {
    bin = atob(body);
  } catch {
    throw new Error(`the ${m[1]} PEM block is not valid base64`);
  }
  return { label: m[1], der: Uint8Array.from(bin, (c) => c.charCodeAt(0)) };
}

/** Encodes DER bytes as a PEM block with the given label. */
export function encodePem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** DER length octets. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (WebCrypto imports only PKCS#8). */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  // version 0, AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
  const head = [
    0x02,
    0x01,
    0x00,
    0x30,
    0x0d,
    0x06,
    0x09,
    0x2a,
    0x86,
    0x48,
    0x86,
    0xf7,
    0x0d,
    0x01,
    0x01,
    0x01,
    0x05,
    0x00,
  ];
  const octets = [0x04, ...derLength(pkcs1.length)];
  const inner = head.length + octets.length + pkcs1.length;
  const out = new Uint8Array(1 + derLength(inner).length + inner);
  out.set([0x30, ...derLength(inner), ...head, ...octets]);
  out.set(pkcs1, out.length - pkcs1.length);
  return out;
}

/**
 * Imports an RSA private key from PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
 * (`BEGIN RSA PRIVATE KEY`), for RS256 signing. Throws an Error that never shows the key.
 */
export async function importRsaPrivateKey(pem: string): Promise<CryptoKey> {
  let block: PemBlock;
  try {
    block = decodePem(pem);
  } catch (err) {
    throw new Error(`private_key is not a PEM private key (${(err as Error).message})`);
  }
  let pkcs8: Uint8Array;
  if (block.label === "PRIVATE KEY") pkcs8 = block.der;
  else if (block.label === "RSA PRIVATE KEY") pkcs8 = pkcs1ToPkcs8(block.der);
  else if (block.label === "ENCRYPTED PRIVATE KEY") {
    throw new Error("private_key is encrypted; an unencrypted RSA private key is needed");
  } else {
    throw new Error(`private_key is a PEM "${block.label}", expected "PRIVATE KEY" or "RSA PRIVATE KEY"`);
  }
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, RSA_ALGORITHM, false, ["sign"]);
  } catch {
    throw new Error("private_key is not an RSA private key usable for RS256");
  }
}

/** base64url without padding (RFC 7515). */
export function base64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The service login JWT: header `{"alg":"RS256","typ":"JWT"}`, claims `{"uid","exp"}` with
 * `exp` = `nowSeconds` + `lifetimeSeconds`, signed RSASSA-PKCS1-v1_5 with SHA-256.
 */
export async function signLoginJwt(
  key: CryptoKey,
  uid: string,
  nowSeconds: number,
  lifetimeSeconds = LOGIN_JWT_LIFETIME_SECONDS,
): Promise<string> {
  const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = base64url(JSON.stringify({ uid, exp: Math.floor(nowSeconds) + lifetimeSeconds }));
  const input = `${header}.${claims}`;
  const sig = await crypto.subtle.sign(RSA_ALGORITHM, key, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(sig))}`;
}

/** What `iamAuthorization` needs. */
export interface IamLogin {
  uid: string;
  privateKey: CryptoKey;
  loginEndpoint: string;
  /** Clock in ms (tests); default `Date.now`. */
  now?: () => number;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The endpoint without user-info, query or fragment (for messages). */
function showEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** `title: description` from a DC/OS-style JSON error body, clipped; "" when there is none. */
async function errorDetail(res: Response): Promise<string> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    return "";
  }
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const parts = [doc.title, doc.description].filter((v) => typeof v === "string" && v !== "");
    return parts.length > 0 ? `: ${clip(parts.join(": "), 200)}` : "";
  } catch {
    return "";
  }
}

/**
 * An `AuthorizationProvider` doing the SPEC §2.4 IAM login for each state request: POSTs
 * `{"uid","token":<login JWT>}` to the login endpoint with the state request's own client
 * (same TLS settings) and signal (same timeout), and returns `token=<token>` from the
 * `{"token"}` answer. Fails with "IAM authentication failed: ..." otherwise.
 */
export function iamAuthorization(login: IamLogin): AuthorizationProvider {
  const endpoint = showEndpoint(login.loginEndpoint);
  const now = login.now ?? Date.now;
  return async (ctx: AuthContext) => {
    const jwt = await signLoginJwt(login.privateKey, login.uid, now() / 1000);
    let res: Response;
    try {
      res = await ctx.fetch(login.loginEndpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "Mesos-DNS", "Connection": "close" },
        body: JSON.stringify({ uid: login.uid, token: jwt }),
        signal: ctx.signal,
        ...(ctx.client ? { client: ctx.client } : {}),
      } as RequestInit);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new Error(`IAM authentication failed: cannot reach ${endpoint}: ${clip(cause, 200)}`);
    }
    if (res.status !== 200) {
      const detail = await errorDetail(res);
      throw new Error(
        `IAM authentication failed: HTTP ${res.status}${
          res.statusText ? ` ${res.statusText}` : ""
        } from ${endpoint} for uid ${JSON.stringify(login.uid)}${detail}`,
      );
    }
    let token: unknown;
    try {
      token = (await res.json() as Record<string, unknown>)?.token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || token === "") {
      throw new Error(`IAM authentication failed: no token in the answer of ${endpoint}`);
    }
    return `token=${token}`;
  };
}

/**
 * Reads the IAM file (SPEC §2.2 `IAMConfigFile`: `{"uid","private_key","login_endpoint"}`),
 * imports its key and returns the provider. Throws an Error naming the file on any problem.
 */
export async function createIamAuthorization(
  iamConfigFile: string,
  opts: { now?: () => number } = {},
): Promise<AuthorizationProvider> {
  let iam: IamConfig;
  try {
    iam = decodeIamConfig(await Deno.readTextFile(iamConfigFile));
  } catch (err) {
    throw new Error(`failed to load IAM config from file ${iamConfigFile}: ${(err as Error).message}`);
  }
  const missing = (["uid", "private_key", "login_endpoint"] as const).filter((f) => iam[f] === "");
  if (missing.length > 0) {
    throw new Error(`invalid HTTP IAM configuration in ${iamConfigFile}: missing ${missing.join(", ")}`);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await importRsaPrivateKey(iam.private_key);
  } catch (err) {
    throw new Error(`IAM config file ${iamConfigFile}: ${(err as Error).message}`);
  }
  return iamAuthorization({ uid: iam.uid, privateKey, loginEndpoint: iam.login_endpoint, now: opts.now });
}
