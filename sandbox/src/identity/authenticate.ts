// Bearer-token check for the emulated Graph host. Graph answers every token problem with
// 401 InvalidAuthenticationToken; the messages are the ones real Graph sends (reference §5).
import type { AccessTokenRecord, AppRegistration, SandboxState, SandboxUser } from "../state.ts";

export type GraphAuthResult =
  | { ok: true; user: SandboxUser; app: AppRegistration; scopes: string[]; token: AccessTokenRecord }
  | { ok: false; status: 401; code: "InvalidAuthenticationToken"; message: string };

export const GRAPH_AUTH_MESSAGES = {
  empty: "Access token is empty.",
  notWellFormed:
    "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
  compactToken: "CompactToken parsing failed with error code: 80049217",
  expired: "Access token has expired or is not yet valid.",
  invalid: "Access token validation failure.",
} as const;

function fail(message: string): GraphAuthResult {
  return { ok: false, status: 401, code: "InvalidAuthenticationToken", message };
}

/**
 * Resolves `Authorization: Bearer <token>` to the user, app and granted Graph scopes (short form,
 * e.g. "Mail.Read"). Tokens are looked up in `state.accessTokens`, so revocation and expiry
 * (against `state.now()`) take effect immediately.
 */
export function authenticateGraphRequest(
  state: SandboxState,
  authorizationHeader: string | undefined,
):
  | { ok: true; user: SandboxUser; app: AppRegistration; scopes: string[]; token: AccessTokenRecord }
  | {
      ok: false;
      status: 401;
      code: "InvalidAuthenticationToken";
      message: string;
    } {
  const header = (authorizationHeader ?? "").trim();
  const match = /^bearer\s+(.*)$/i.exec(header);
  const raw = match?.[1]?.trim() ?? "";
  if (raw === "") return fail(GRAPH_AUTH_MESSAGES.empty);
  const record = state.accessTokens.get(raw);
  if (!record) {
    // Personal-account (MSA) Graph tokens are compact, not JWTs; work-account tokens are JWTs.
    if (!raw.includes(".")) {
      return fail(
        raw.startsWith("Ew") ? GRAPH_AUTH_MESSAGES.compactToken : GRAPH_AUTH_MESSAGES.notWellFormed,
      );
    }
    return fail(GRAPH_AUTH_MESSAGES.invalid);
  }
  if (record.revoked) return fail(GRAPH_AUTH_MESSAGES.invalid);
  if (state.now() >= record.expiresAt) return fail(GRAPH_AUTH_MESSAGES.expired);
  const user = state.users.get(record.userId);
  const app = state.apps.get(record.clientId);
  if (!user || !app) return fail(GRAPH_AUTH_MESSAGES.invalid);
  return { ok: true, user, app, scopes: [...record.scopes], token: record };
}
