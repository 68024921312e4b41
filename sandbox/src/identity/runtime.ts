// Identity state that only the login host needs (signing key, codes, sessions, sign-in
// transactions). Kept beside SandboxState, keyed by it, so the shared model stays small.
import { createHash, randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { SandboxState } from "../state.ts";

export interface AuthorizationCode {
  code: string;
  clientId: string;
  redirectUri: string;
  userId: string;
  /** Tenant path segment the code was issued through (`common`, a GUID, a domain...). */
  tenantSegment: string;
  oidc: Set<string>;
  graph: string[];
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: "S256" | "plain" | undefined;
  issuedAt: number;
  expiresAt: number;
  redeemedAt: number | null;
}

export interface SignInSession {
  id: string;
  /** Users signed in on this browser, most recent last. */
  userIds: string[];
  authTimes: Map<string, number>;
  createdAt: number;
}

/** One pass through /authorize: the validated request, waiting for the user's pages. */
export interface SignInTransaction {
  id: string;
  tenantSegment: string;
  clientId: string;
  redirectUri: string;
  responseMode: "query" | "fragment" | "form_post";
  state: string | undefined;
  nonce: string | undefined;
  oidc: Set<string>;
  graph: string[];
  graphDefault: boolean;
  codeChallenge: string | undefined;
  codeChallengeMethod: "S256" | "plain" | undefined;
  prompt: string | undefined;
  loginHint: string | undefined;
  clientInfo: boolean;
  /** Set once the user has typed an email / picked an account. */
  email: string | undefined;
  /** Set once the user is authenticated in this transaction. */
  userId: string | undefined;
  createdAt: number;
  /** Admin-consent endpoint transactions grant for the whole tenant. */
  adminConsent: boolean;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface IdentityRuntime {
  key: SigningKey;
  codes: Map<string, AuthorizationCode>;
  sessions: Map<string, SignInSession>;
  transactions: Map<string, SignInTransaction>;
}

const runtimes = new WeakMap<SandboxState, IdentityRuntime>();

export async function createIdentityRuntime(state: SandboxState): Promise<IdentityRuntime> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    modulusLength: 2048,
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  // Entra's kid and x5t are the base64url SHA-1 thumbprint of the signing certificate; the
  // sandbox has no certificate, so it hashes the modulus instead.
  const kid = createHash("sha1")
    .update(publicJwk.n ?? "")
    .digest("base64url");
  const runtime: IdentityRuntime = {
    key: { kid, privateKey, publicJwk: { ...publicJwk, kid, use: "sig", alg: "RS256" } },
    codes: new Map(),
    sessions: new Map(),
    transactions: new Map(),
  };
  runtimes.set(state, runtime);
  return runtime;
}

export function identityRuntime(state: SandboxState): IdentityRuntime | undefined {
  return runtimes.get(state);
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}
