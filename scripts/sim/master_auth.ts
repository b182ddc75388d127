/**
 * Authentication of the simulated masters (owns: checking the `Authorization` header of
 * requests to the master endpoints — HTTP basic with a principal and secret, or an IAM token —
 * and the IAM login endpoint `POST /acs/api/v1/auth/login`, which checks an RS256 service
 * login JWT against the account's public key and hands out a token, as DC/OS does).
 *
 * A request without acceptable credentials gets 401 with a `WWW-Authenticate` challenge and
 * a short body, as Mesos answers when HTTP authentication is on.
 */
import { decodePem, encodePem } from "../../src/mesos/iam_auth.ts";

/** Path of the IAM login endpoint (DC/OS's). */
export const IAM_LOGIN_PATH = "/acs/api/v1/auth/login";

/** Who may call the masters. Either or both; neither means no authentication. */
export interface SimAuthOptions {
  basic?: { principal: string; secret: string };
  /** A service account: its uid and RSA public key (PEM `PUBLIC KEY`, SPKI). */
  iam?: { uid: string; publicKey: string };
}

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

function base64urlDecode(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("not base64url");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function problem(status: number, title: string, description: string, challenge?: string): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (challenge) headers["www-authenticate"] = challenge;
  return new Response(JSON.stringify({ title, description, code: "ERR_INVALID_CREDENTIALS" }), {
    status,
    headers,
  });
}

/** A fresh RSA key pair for a simulated service account, as PEM (PKCS#8 private, SPKI public). */
export async function generateServiceAccountKeys(): Promise<{ privateKey: string; publicKey: string }> {
  const pair = await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return { privateKey: encodePem("PRIVATE KEY", pkcs8), publicKey: encodePem("PUBLIC KEY", spki) };
}

/** The credential checks of one simulator (shared by all its masters). */
export class MasterAuth {
  /** Successful IAM logins so far. */
  logins = 0;
  /** Requests refused with 401 so far (master endpoints and login). */
  refused = 0;
  readonly #basic?: string;
  readonly #uid?: string;
  readonly #key?: CryptoKey;
  readonly #tokens = new Set<string>();

  private constructor(basic: string | undefined, uid: string | undefined, key: CryptoKey | undefined) {
    this.#basic = basic;
    this.#uid = uid;
    this.#key = key;
  }

  /** Builds the checks; throws if the IAM public key is not an RSA `PUBLIC KEY` PEM. */
  static async create(opts: SimAuthOptions): Promise<MasterAuth> {
    let basic: string | undefined;
    if (opts.basic) {
      const bytes = new TextEncoder().encode(`${opts.basic.principal}:${opts.basic.secret}`);
      basic = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    }
    let key: CryptoKey | undefined;
    if (opts.iam) {
      const block = decodePem(opts.iam.publicKey);
      if (block.label !== "PUBLIC KEY") throw new Error(`IAM public key: expected a PUBLIC KEY PEM`);
      key = await crypto.subtle.importKey("spki", block.der as BufferSource, RSA, false, ["verify"]);
    }
    return new MasterAuth(basic, opts.iam?.uid, key);
  }

  /** True when some authentication is required. */
  get enabled(): boolean {
    return this.#basic !== undefined || this.#key !== undefined;
  }

  /** null when `req` may reach a master endpoint, else the 401 to answer. */
  check(req: Request): Response | null {
    if (!this.enabled) return null;
    const given = req.headers.get("authorization") ?? "";
    if (this.#basic !== undefined && given === this.#basic) return null;
    if (this.#key !== undefined && given.startsWith("token=") && this.#tokens.has(given.slice(6))) {
      return null;
    }
    this.refused++;
    const challenge = this.#basic !== undefined ? 'Basic realm="mesos"' : "acsjwt";
    return new Response("401 Unauthorized.\n", {
      status: 401,
      headers: { "content-type": "text/plain", "www-authenticate": challenge },
    });
  }

  /** Handles `POST /acs/api/v1/auth/login` with `{"uid","token":<RS256 JWT>}`. */
  async login(req: Request): Promise<Response> {
    if (req.method !== "POST") return problem(405, "Method Not Allowed", "use POST");
    if (!this.#key || this.#uid === undefined) {
      return problem(501, "Not Implemented", "IAM is not enabled on this simulator");
    }
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      this.refused++;
      return problem(400, "Bad Request", "request body is not JSON");
    }
    const reason = await this.#verify(body);
    if (reason) {
      this.refused++;
      return problem(401, "Invalid authentication credentials", reason, "acsjwt");
    }
    const token = crypto.randomUUID();
    this.#tokens.add(token);
    this.logins++;
    return new Response(JSON.stringify({ token }), { headers: { "content-type": "application/json" } });
  }

  /** Why the login is refused, or null when the JWT is good for the account. */
  async #verify(body: Record<string, unknown>): Promise<string | null> {
    if (body.uid !== this.#uid) return "unknown uid";
    if (typeof body.token !== "string") return "missing service login token";
    const parts = body.token.split(".");
    if (parts.length !== 3) return "the service login token is not a JWT";
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    let sig: Uint8Array;
    try {
      header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0])));
      claims = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[1])));
      sig = base64urlDecode(parts[2]);
    } catch {
      return "the service login token is not a JWT";
    }
    if (header.alg !== "RS256") return "the service login token must be RS256";
    const ok = await crypto.subtle.verify(
      RSA,
      this.#key!,
      sig as BufferSource,
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return "the service login token signature is not valid for this account";
    if (claims.uid !== this.#uid) return "the service login token is for another uid";
    if (typeof claims.exp !== "number" || claims.exp <= Date.now() / 1000) {
      return "the service login token has expired";
    }
    return null;
  }
}
