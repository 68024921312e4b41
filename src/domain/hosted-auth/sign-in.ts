// The wizard's sign-in start: an attempt bound to the browser, with PKCE, state and nonce.
import { randomBytes } from "node:crypto";
import { hashToken } from "../../lib/crypto.ts";
import { newId } from "../../lib/ids.ts";
import { authorizeUrl, newPkce } from "../../providers/microsoft/identity.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import type { HostedAuthDeps } from "./types.ts";

const ATTEMPT_TTL_MS = 30 * 60 * 1000;

/** Starts the Microsoft sign-in: returns where to send the browser and the attempt id to bind to it. */
export async function startMicrosoft(
  d: HostedAuthDeps,
  redirectUri: string,
  link: HostedLinkRow,
): Promise<{ authorizeUrl: string; attemptId: string }> {
  const app = await d.settings.app();
  const state = randomBytes(32).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  const pkce = newPkce();
  const now = d.clock.now();
  const attemptId = newId();
  await d.repo.insertAttempt({
    id: attemptId,
    state_hash: hashToken(state),
    link_id: link.id,
    nonce,
    code_verifier: d.secrets.encrypt(pkce.verifier),
    redirect_uri: redirectUri,
    created_at: now,
    expires_at: now + ATTEMPT_TTL_MS,
    completed_at: null,
  });
  let loginHint: string | undefined;
  if (link.type === "reconnect" && link.reconnect_account_id) {
    loginHint = (await d.accounts.findById(link.reconnect_account_id))?.email;
  }
  return {
    attemptId,
    authorizeUrl: authorizeUrl({ loginUrl: d.loginUrl }, app, {
      redirectUri,
      state,
      nonce,
      codeChallenge: pkce.challenge,
      loginHint,
    }),
  };
}
