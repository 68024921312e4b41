// Who just signed in, and can their mailbox be connected: the step the hosted wizard and native
// connect share between getting tokens and storing the account. The id_token names the tenant and
// object id (the account's key); Graph's /me names the mailbox address and proves there is a mailbox.
import {
  IdentityError,
  type IdTokenClaims,
  type IdTokenValidator,
  type TokenSet,
} from "../../providers/microsoft/identity.ts";
import { fetchMeWithMailbox } from "../../providers/microsoft/me.ts";
import type { MailboxIdentity } from "./connected-mailbox.ts";

export type MailboxIdentification =
  | { ok: true; identity: MailboxIdentity; claims: IdTokenClaims }
  /** The token response had no id_token (openid not granted). */
  | { ok: false; reason: "no_id_token"; error: IdentityError }
  /** The id_token failed validation (signature, audience, issuer, nonce, time) or the keys were unreachable. */
  | { ok: false; reason: "invalid_id_token"; error: unknown }
  /** Graph could not be asked who signed in. */
  | { ok: false; reason: "graph_failed"; error: unknown }
  /** The account signed in but has no Exchange Online / Outlook.com mailbox. */
  | { ok: false; reason: "no_mailbox"; email: string };

export interface IdentifyMailboxDeps {
  idTokens: IdTokenValidator;
  graphUrl: string;
  fetch?: typeof fetch | undefined;
}

export async function identifyMailbox(
  deps: IdentifyMailboxDeps,
  tokens: Pick<TokenSet, "idToken" | "accessToken">,
  expected: {
    clientId: string;
    /** The nonce sent to /authorize; id_tokens from a refresh grant carry none. */
    nonce?: string | undefined;
    /** An address the caller already knows (native connect's `username`), used before the object id. */
    fallbackEmail?: string | undefined;
  },
): Promise<MailboxIdentification> {
  if (!tokens.idToken) {
    return {
      ok: false,
      reason: "no_id_token",
      error: new IdentityError(
        "invalid_response",
        "Microsoft returned no id_token (is the openid scope allowed?)",
        {},
      ),
    };
  }
  let claims: IdTokenClaims;
  try {
    claims = await deps.idTokens.validate(tokens.idToken, {
      clientId: expected.clientId,
      nonce: expected.nonce,
    });
  } catch (error) {
    return { ok: false, reason: "invalid_id_token", error };
  }
  const objectId = claims.oid ?? claims.sub;
  let found: Awaited<ReturnType<typeof fetchMeWithMailbox>>;
  try {
    found = await fetchMeWithMailbox(deps.graphUrl, tokens.accessToken, deps.fetch);
  } catch (error) {
    return { ok: false, reason: "graph_failed", error };
  }
  // Personal accounts and some work accounts have no `mail`: fall back to the UPN, then the token.
  const email =
    found.me.mail ||
    found.me.userPrincipalName ||
    claims.email ||
    claims.preferred_username ||
    expected.fallbackEmail ||
    objectId;
  if (!found.hasMailbox) return { ok: false, reason: "no_mailbox", email };
  return { ok: true, identity: { tenantId: claims.tid, objectId, email }, claims };
}
