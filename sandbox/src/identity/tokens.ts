// Token minting: id_token (RS256, v2.0 claims), Graph access token (a JWT for work accounts,
// an opaque compact token for personal accounts), rotated refresh tokens (reference §1.5–1.7).
import { createHash, randomInt } from "node:crypto";
import { SignJWT } from "jose";
import {
  type AccessTokenRecord,
  type AppRegistration,
  CONSUMERS_TENANT_ID,
  type RefreshTokenRecord,
  type SandboxState,
  type SandboxUser,
} from "../state.ts";
import type { IdentityRuntime } from "./runtime.ts";
import { randomToken } from "./runtime.ts";
import { formatTokenScope, GRAPH_APP_ID, GRAPH_RESOURCE } from "./scopes.ts";

/** Refresh tokens of web apps expire after 90 days without use (reference §1.6). */
export const REFRESH_INACTIVITY_MS = 90 * 24 * 3600 * 1000;
const ID_TOKEN_LIFETIME_S = 3600;

export function issuerFor(state: SandboxState, tenantId: string): string {
  return `${state.options.baseUrl}/${tenantId}/v2.0`;
}

/** `sub` is pairwise: the same user has a different, stable subject in every app. */
export function pairwiseSubject(userId: string, clientId: string): string {
  return createHash("sha256").update(`${userId}|${clientId}`).digest("base64url").slice(0, 43);
}

export function clientInfo(user: SandboxUser): string {
  return Buffer.from(JSON.stringify({ uid: user.id, utid: user.tenantId })).toString("base64url");
}

function isPersonal(user: SandboxUser): boolean {
  return user.tenantId === CONSUMERS_TENANT_ID;
}

export interface TokenSetInput {
  user: SandboxUser;
  app: AppRegistration;
  oidc: ReadonlySet<string>;
  graph: string[];
  nonce?: string | undefined;
  authTime?: number | undefined;
  includeClientInfo: boolean;
  /** A refresh token exists for the grant (offline_access was consented). */
  offline: boolean;
}

export async function mintTokenResponse(
  state: SandboxState,
  runtime: IdentityRuntime,
  input: TokenSetInput,
): Promise<Record<string, unknown>> {
  const { user, app } = input;
  const now = state.now();
  const iat = Math.floor(now / 1000);
  // Access-token lifetime is random between 60 and 90 minutes (access-tokens.md), minus the
  // second Entra subtracts (3599 for an hour).
  const expiresIn = randomInt(3599, 5400);
  const accessToken = await mintAccessToken(runtime, user, app, input.graph, iat, expiresIn);
  const record: AccessTokenRecord = {
    token: accessToken,
    userId: user.id,
    clientId: app.clientId,
    scopes: [...input.graph],
    expiresAt: now + expiresIn * 1000,
    revoked: false,
  };
  state.accessTokens.set(accessToken, record);

  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope: formatTokenScope(input.graph, input.oidc),
    expires_in: expiresIn,
    ext_expires_in: expiresIn,
    access_token: accessToken,
  };
  if (input.offline) {
    const refresh: RefreshTokenRecord = {
      token: `${isPersonal(user) ? "M.C" : "0.A"}${randomInt(100, 999)}_${randomToken(96)}`,
      userId: user.id,
      clientId: app.clientId,
      scopes: [...input.oidc, ...input.graph],
      issuedAt: now,
      expiresAt: now + REFRESH_INACTIVITY_MS,
      usedAt: null,
      revoked: false,
    };
    state.refreshTokens.set(refresh.token, refresh);
    body.refresh_token = refresh.token;
  }
  if (input.oidc.has("openid")) {
    body.id_token = await mintIdToken(state, runtime, input, iat);
  }
  if (input.includeClientInfo) body.client_info = clientInfo(user);
  return body;
}

async function mintIdToken(
  state: SandboxState,
  runtime: IdentityRuntime,
  input: TokenSetInput,
  iat: number,
): Promise<string> {
  const { user, app } = input;
  const claims: Record<string, unknown> = {
    aud: app.clientId,
    iss: issuerFor(state, user.tenantId),
    iat,
    nbf: iat,
    exp: iat + ID_TOKEN_LIFETIME_S,
    sub: pairwiseSubject(user.id, app.clientId),
    tid: user.tenantId,
    ver: "2.0",
    aio: randomToken(48),
    rh: `0.${randomToken(40)}.`,
    uti: randomToken(16),
  };
  if (input.oidc.has("profile")) {
    claims.oid = user.id;
    claims.name = user.displayName;
    claims.preferred_username = user.email;
  }
  if (input.oidc.has("email")) claims.email = user.email;
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  if (isPersonal(user)) claims.idp = `https://sts.windows.net/${CONSUMERS_TENANT_ID}/`;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: "JWT", alg: "RS256", kid: runtime.key.kid })
    .sign(runtime.key.privateKey);
}

async function mintAccessToken(
  runtime: IdentityRuntime,
  user: SandboxUser,
  app: AppRegistration,
  graph: string[],
  iat: number,
  expiresIn: number,
): Promise<string> {
  if (isPersonal(user)) {
    // MSA Graph tokens are compact/encrypted blobs, not JWTs (reference §1.5).
    return `EwB${randomToken(600)}`;
  }
  // Work-account Graph tokens are v1.0 JWTs meant for Graph only; clients must not validate them.
  return new SignJWT({
    aud: GRAPH_RESOURCE,
    iss: `https://sts.windows.net/${user.tenantId}/`,
    iat,
    nbf: iat,
    exp: iat + expiresIn,
    appid: app.clientId,
    app_displayname: app.name,
    appidacr: "1",
    idtyp: "user",
    name: user.displayName,
    family_name: user.surname,
    given_name: user.givenName,
    oid: user.id,
    scp: graph.join(" "),
    sub: pairwiseSubject(user.id, GRAPH_APP_ID),
    tid: user.tenantId,
    unique_name: user.email,
    upn: user.email,
    uti: randomToken(16),
    ver: "1.0",
    xms_tcdt: iat,
  })
    .setProtectedHeader({ typ: "JWT", alg: "RS256", kid: runtime.key.kid, nonce: randomToken(32) })
    .sign(runtime.key.privateKey);
}
