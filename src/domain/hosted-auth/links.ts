// Hosted links: creating one (Unipile's POST /hosted/accounts/link) and opening one from the wizard URL.
import { randomBytes } from "node:crypto";
import { hashToken } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import { checkLink, checkLinkInput } from "./link-rules.ts";
import type { FailureOutcome, HostedAuthDeps, LinkInput } from "./types.ts";

export async function createLink(
  d: HostedAuthDeps,
  input: LinkInput,
): Promise<{ url: string; id: string; expiresAt: number }> {
  const now = d.clock.now();
  const { expiresAt } = checkLinkInput(input, now, d.linkMaxDays);
  // Redirects are followed by the user's browser; notify_url is called by Mailroom, so it must
  // also pass the destination policy (WEBHOOK_ALLOW_PRIVATE_ADDRESSES).
  if (input.successRedirectUrl !== undefined)
    d.destinations.url(input.successRedirectUrl, "success_redirect_url");
  if (input.failureRedirectUrl !== undefined)
    d.destinations.url(input.failureRedirectUrl, "failure_redirect_url");
  if (input.notifyUrl !== undefined) await d.destinations.callable(input.notifyUrl, "notify_url");
  let reconnect: string | null = null;
  if (input.type === "reconnect") {
    if (!input.reconnectAccount)
      throw new AppError("invalid_parameters", {
        detail: "reconnect_account: required when type is reconnect",
      });
    const account = await d.accounts.findById(input.reconnectAccount);
    if (!account)
      throw new AppError("resource_not_found", {
        detail: `reconnect_account: account ${input.reconnectAccount} not found`,
      });
    // A shared mailbox has no sign-in of its own: its delegate signs in again (docs/shared-mailboxes.md).
    reconnect = account.delegate_account_id ?? account.id;
  }
  const token = randomBytes(32).toString("base64url");
  const id = newId();
  await d.repo.insertLink({
    id,
    token_hash: hashToken(token),
    type: input.type,
    reconnect_account_id: reconnect,
    name: input.name ?? null,
    notify_url: input.notifyUrl ?? null,
    success_redirect_url: input.successRedirectUrl ?? null,
    failure_redirect_url: input.failureRedirectUrl ?? null,
    bypass_success_screen: input.bypassSuccessScreen ? 1 : 0,
    expires_at: expiresAt,
    used_at: null,
    account_id: null,
    created_at: now,
  });
  return { url: `${d.publicUrl}/hosted/connect/${token}`, id, expiresAt };
}

/** The link behind a wizard URL, or why it can no longer be used. */
export async function openLink(
  d: HostedAuthDeps,
  token: string,
): Promise<{ link: HostedLinkRow } | { failure: FailureOutcome }> {
  const link = await d.repo.findLinkByTokenHash(hashToken(token));
  return checkLink(link, d.clock.now());
}
