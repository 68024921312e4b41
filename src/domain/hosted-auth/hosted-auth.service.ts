// The hosted connect wizard's entry point: links, the OAuth attempt, the callback, and the account it
// yields. HTTP renders outcomes; this module and its parts decide them.
import { adminConsentUrl } from "../../providers/microsoft/identity.ts";
import { GraphCallError } from "../../providers/microsoft/me.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import { handleCallback } from "./callback.ts";
import { createLink, openLink } from "./links.ts";
import { startMicrosoft } from "./sign-in.ts";
import {
  type CallbackOutcome,
  callbackPath,
  type FailureOutcome,
  type HostedAuthDeps,
  type LinkInput,
} from "./types.ts";

export type { CallbackOutcome, FailureReason, HostedAuthDeps, LinkInput } from "./types.ts";
export { callbackPath } from "./types.ts";

export class HostedAuthService {
  constructor(private readonly d: HostedAuthDeps) {}

  get redirectUri(): string {
    return `${this.d.publicUrl}${callbackPath()}`;
  }

  /** Both URIs to register in Azure (Unipile also uses the port-less variant). */
  redirectUris(): string[] {
    // The second form drops the port from the host and names it in the path, for deployments
    // whose public host cannot carry a port (Unipile documents both).
    const url = new URL(this.d.publicUrl);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return [this.redirectUri, `${url.protocol}//${url.hostname}${callbackPath()}/port${port}`];
  }

  createLink(input: LinkInput): Promise<{ url: string; id: string; expiresAt: number }> {
    return createLink(this.d, input);
  }

  /** The link behind a wizard URL, or why it can no longer be used. */
  openLink(token: string): Promise<{ link: HostedLinkRow } | { failure: FailureOutcome }> {
    return openLink(this.d, token);
  }

  async reconnectEmail(link: HostedLinkRow): Promise<string | undefined> {
    return link.reconnect_account_id
      ? (await this.d.accounts.findById(link.reconnect_account_id))?.email
      : undefined;
  }

  /** Starts the Microsoft sign-in: returns where to send the browser and the attempt id to bind to it. */
  startMicrosoft(link: HostedLinkRow): Promise<{ authorizeUrl: string; attemptId: string }> {
    return startMicrosoft(this.d, this.redirectUri, link);
  }

  handleCallback(
    query: Record<string, string | undefined>,
    boundAttemptId: string | undefined,
  ): Promise<CallbackOutcome> {
    return handleCallback(
      {
        ...this.d,
        adminConsentLink: (clientId, extraScopes) => this.adminConsentLink(clientId, extraScopes),
      },
      query,
      boundAttemptId,
    );
  }

  /** Where a tenant admin approves the app for the whole organisation; it returns to the callback. */
  adminConsentLink(clientId: string, extraScopes: string[], tenant?: string): string {
    return adminConsentUrl(
      { loginUrl: this.d.loginUrl },
      { clientId, extraScopes },
      { tenant, redirectUri: this.redirectUri },
    );
  }
}

export { GraphCallError };
