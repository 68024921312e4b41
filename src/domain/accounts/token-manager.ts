// The only way anything gets a Microsoft access token for an account. Reads the current tokens from
// the database on every demand (field lessons FL-1: no long-lived in-memory copies), and when they
// must be refreshed, makes sure one refresh happens per account: concurrent demands in this process
// share one promise, and processes sharing the database take a lease on the account row; the others
// poll the row until the winner has stored the new tokens or its lease lapses.
//
// Outcomes are recorded as account events (CREDENTIALS, in the same unit of work as the status
// change) and reported to the settings service (app-level problems); this module never calls webhooks. See MS reference §1.6 and §1.9.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Clock } from "../../lib/clock.ts";
import { DecryptedEnvelopes } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { Logger } from "../../lib/logger.ts";
import {
  appProblem,
  type MicrosoftApp,
  reauthReason,
  type TokenSet,
} from "../../providers/microsoft/identity.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventRecorder } from "./account-events.ts";
import {
  appUnavailable,
  classifyRefreshFailure,
  cooldownMs,
  DEFAULT_TUNING,
  disconnected,
  type RefreshFailure,
  type RefreshOutcome,
  type TokenLifecycleTuning,
} from "./token-refresh-policy.ts";

export interface TokenManagerDeps {
  accounts: AccountRepository;
  settings: {
    app(): Promise<MicrosoftApp>;
    reportAppProblem(code: string, message: string): Promise<void>;
  };
  tokens: { refresh(app: MicrosoftApp, refreshToken: string): Promise<TokenSet> };
  secrets: { encrypt(plaintext: string): string; decrypt(envelope: string): string };
  /** CREDENTIALS is written with its account event in one unit of work. */
  transaction: UnitOfWorkRunner;
  events: AccountEventRecorder;
  clock: Clock;
  log: Logger;
  /** One call per refresh attempt that reached Microsoft (metrics). Must not throw. */
  onOutcome?: (outcome: RefreshOutcome) => void;
  tuning?: Partial<TokenLifecycleTuning>;
  /** Lease owner written to the account row; unique per manager. Default: host, pid and a random suffix. */
  owner?: string;
  sleep?: (ms: number) => Promise<void>;
}

/** What a caller needs from the stored tokens; the refresh is skipped when the row already satisfies it. */
interface Need {
  /** The access token must stay valid at least this long. */
  minValidMs: number;
  /** After a Graph 401: the token the caller saw is not good enough, whatever its expiry. */
  rejectedAccessToken?: string | null | undefined;
  /** Proactive refresh: tokens older than this are refreshed even when still valid. */
  maxAgeMs?: number;
  /** A demand may use a still-valid token while refreshes cool down; the proactive job may not. */
  allowStaleWhileCooling: boolean;
}

interface FlightResult {
  accessToken: string;
  refreshed: boolean;
}

/** Decrypted access tokens kept (one per account in use; ~2 KB each with its envelope). */
const ACCESS_TOKENS_KEPT = 1_000;

export type ProactiveRefreshResult = "refreshed" | "fresh" | "gone" | "disconnected";

export class TokenManager {
  private readonly flights = new Map<string, Promise<FlightResult>>();
  /** Set after Microsoft rejected the app's credentials; keyed to those credentials. */
  private appCooldown: { fingerprint: string; failures: number; until: number } | undefined;
  private readonly tuning: TokenLifecycleTuning;
  private readonly owner: string;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Access tokens decrypted once per stored envelope. The row is still read on every demand, so a
   * refresh, a disconnect or a delete by another process is seen at once; only AES-GCM is skipped.
   */
  private readonly accessTokens: DecryptedEnvelopes;

  constructor(private readonly d: TokenManagerDeps) {
    this.tuning = { ...DEFAULT_TUNING, ...d.tuning };
    this.owner = d.owner ?? `${hostname()}:${process.pid}:${newId().slice(0, 8)}`;
    this.sleep = d.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.accessTokens = new DecryptedEnvelopes(d.secrets, ACCESS_TOKENS_KEPT);
  }

  /**
   * A valid access token for the account. `forceRefresh`: the caller's token was just rejected (Graph
   * 401); refresh once unless someone already replaced it.
   * Throws `disconnected_account` (the mailbox must reconnect), `resource_not_found`, or
   * `service_unavailable` with `retryAfterSeconds` (Microsoft unreachable, app credentials rejected).
   */
  async getAccessToken(accountId: string, options: { forceRefresh?: boolean } = {}): Promise<string> {
    return this.tokenFor(await this.load(accountId), options);
  }

  /**
   * The token and the Graph path root of the account's mailbox: `/me` for a mailbox that signed in
   * itself; for a shared mailbox (docs/shared-mailboxes.md), `/users/{address}` with the token of the
   * account that opened it, so refresh, re-authentication and CREDENTIALS follow that account.
   */
  async getMailboxAccess(
    accountId: string,
    options: { forceRefresh?: boolean } = {},
  ): Promise<{ token: string; root: string }> {
    const row = await this.load(accountId);
    if (!row.delegate_account_id) return { token: await this.tokenFor(row, options), root: "/me" };
    const token = await this.getAccessToken(row.delegate_account_id, options);
    return { token, root: `/users/${encodeURIComponent(row.email)}` };
  }

  private async tokenFor(row: AccountRow, options: { forceRefresh?: boolean }): Promise<string> {
    const accountId = row.id;
    const need: Need = {
      minValidMs: this.tuning.marginMs,
      allowStaleWhileCooling: options.forceRefresh !== true,
      ...(options.forceRefresh ? { rejectedAccessToken: row.access_token } : {}),
    };
    if (this.satisfies(row, need, this.d.clock.now()))
      return this.accessTokens.decrypt(row.access_token ?? "");
    const result = await this.singleFlight(accountId, () => this.refreshShared(accountId, need));
    return result.accessToken;
  }

  /**
   * Refreshes when the tokens are older than `maxAgeMs` or the access token expires within
   * `minValidMs` (the proactive sweep, so the 90-day inactivity expiry never hits; FL-3).
   */
  async refreshIfDue(
    accountId: string,
    due: { maxAgeMs: number; minValidMs: number },
  ): Promise<ProactiveRefreshResult> {
    const row = await this.d.accounts.findById(accountId);
    if (!row) return "gone";
    if (row.status === "CREDENTIALS") return "disconnected";
    const need: Need = { minValidMs: due.minValidMs, maxAgeMs: due.maxAgeMs, allowStaleWhileCooling: false };
    if (this.satisfies(row, need, this.d.clock.now())) return "fresh";
    try {
      const result = await this.singleFlight(accountId, () => this.refreshShared(accountId, need));
      return result.refreshed ? "refreshed" : "fresh";
    } catch (error) {
      if (error instanceof AppError && error.code === "disconnected_account") return "disconnected";
      if (error instanceof AppError && error.code === "resource_not_found") return "gone";
      throw error;
    }
  }

  private singleFlight(accountId: string, run: () => Promise<FlightResult>): Promise<FlightResult> {
    const current = this.flights.get(accountId);
    if (current) return current;
    const flight = run().finally(() => {
      if (this.flights.get(accountId) === flight) this.flights.delete(accountId);
    });
    this.flights.set(accountId, flight);
    return flight;
  }

  /** Refreshes under the account's lease, or waits for the process holding it. */
  private async refreshShared(accountId: string, need: Need): Promise<FlightResult> {
    const polls = Math.ceil(this.tuning.maxWaitMs / this.tuning.pollIntervalMs);
    for (let poll = 0; ; poll++) {
      const now = this.d.clock.now();
      const row = await this.load(accountId);
      if (this.satisfies(row, need, now)) return this.stored(row);
      if (this.isCoolingDown(row, now)) return this.cooling(row, need, now);
      if (await this.d.accounts.tryTakeRefreshLease(accountId, this.owner, now, this.tuning.leaseMs)) {
        return this.refreshHoldingLease(accountId, need);
      }
      if (poll >= polls) {
        throw new AppError("service_unavailable", {
          detail: "The account's tokens are being refreshed by another process; retry shortly.",
          retryAfterSeconds: 1,
        });
      }
      await this.sleep(this.tuning.pollIntervalMs);
    }
  }

  private async refreshHoldingLease(accountId: string, need: Need): Promise<FlightResult> {
    // Set once an UPDATE that also released the lease has run; otherwise `finally` releases it.
    let released = false;
    try {
      // Re-read under the lease: another process may have stored new tokens just before we took it.
      const now = this.d.clock.now();
      const row = await this.load(accountId);
      if (this.satisfies(row, need, now)) return this.stored(row);
      if (this.isCoolingDown(row, now)) return this.cooling(row, need, now);
      if (!row.refresh_token) {
        released = true;
        return await this.needsReconnect(row, reauthReason(undefined), undefined);
      }
      const app = await this.d.settings.app();
      this.checkAppCooldown(app);
      let tokens: TokenSet;
      try {
        tokens = await this.d.tokens.refresh(app, this.d.secrets.decrypt(row.refresh_token));
      } catch (error) {
        const failure = classifyRefreshFailure(error);
        if (!failure) throw error;
        this.d.onOutcome?.(failure.kind);
        if (failure.kind === "app_misconfigured")
          return await this.onAppFailure(app, failure, error as Error);
        released = true;
        return await this.onAccountFailure(row, need, { ...failure, kind: failure.kind }, error as Error);
      }
      const fields = {
        access_token: this.d.secrets.encrypt(tokens.accessToken),
        // A response without a refresh token keeps the old one (it is not revoked by a redemption).
        refresh_token: tokens.refreshToken ? this.d.secrets.encrypt(tokens.refreshToken) : row.refresh_token,
        access_token_expires_at: tokens.expiresAt,
        scopes: tokens.scopes.length > 0 ? tokens.scopes.join(" ") : row.scopes,
      };
      released = await this.d.accounts.storeRefreshedTokens(
        accountId,
        this.owner,
        row.refresh_token,
        fields,
        this.d.clock.now(),
      );
      this.d.onOutcome?.("ok");
      if (released) {
        this.d.log.debug(
          { accountId, expiresAt: tokens.expiresAt },
          "Refreshed the account's Microsoft tokens",
        );
      } else {
        // The lease lapsed or a reconnect replaced the tokens meanwhile; what is stored now wins, and
        // this access token is still valid for the caller (redeeming did not revoke anything).
        this.d.log.warn(
          { accountId },
          "Refreshed tokens were not stored: the account changed during the refresh",
        );
      }
      return { accessToken: tokens.accessToken, refreshed: true };
    } finally {
      if (!released) {
        await this.d.accounts
          .releaseRefreshLease(accountId, this.owner)
          .catch((error) =>
            this.d.log.error({ err: error, accountId }, "Could not release the refresh lease"),
          );
      }
    }
  }

  /** Microsoft refused the grant, or was unavailable; the lease is released by the UPDATE written here. */
  private async onAccountFailure(
    row: AccountRow,
    need: Need,
    failure: RefreshFailure & { kind: "reauth_required" | "unavailable" },
    error: Error,
  ): Promise<FlightResult> {
    if (failure.kind === "reauth_required") {
      return this.needsReconnect(row, reauthReason(failure.aadsts), failure.aadsts);
    }
    const now = this.d.clock.now();
    const failures = (row.refresh_failures ?? 0) + 1;
    const retryAt = now + cooldownMs(failures, this.tuning.cooldown);
    await this.d.accounts.recordRefreshFailure(row.id, this.owner, failures, retryAt);
    const retryAfterSeconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
    this.d.log.warn(
      { accountId: row.id, failures, retryAfterSeconds, aadsts: failure.aadsts, err: error },
      "Refreshing the account's Microsoft tokens failed; retrying after a cooldown",
    );
    if (need.allowStaleWhileCooling && this.validFor(row, now) >= this.tuning.minUsableMs)
      return this.stored(row);
    throw new AppError("service_unavailable", {
      detail: `Microsoft's token endpoint is unavailable; retry in ${retryAfterSeconds} s.`,
      retryAfterSeconds,
      cause: error,
    });
  }

  /**
   * The app's credentials were rejected: one app-level incident, not N account failures (FL-6). The
   * accounts stay as they are; this process stops asking Microsoft with these credentials for a
   * while, and a new secret saved by the operator is tried at once.
   */
  private async onAppFailure(app: MicrosoftApp, failure: RefreshFailure, error: Error): Promise<never> {
    const now = this.d.clock.now();
    const fingerprint = appFingerprint(app);
    const failures = this.appCooldown?.fingerprint === fingerprint ? this.appCooldown.failures + 1 : 1;
    const until = now + cooldownMs(failures, this.tuning.cooldown);
    this.appCooldown = { fingerprint, failures, until };
    const code = appProblem(failure.aadsts) ?? "app_misconfigured";
    await this.d.settings.reportAppProblem(code, error.message);
    throw appUnavailable(code, failure.aadsts, until - now, error);
  }

  private checkAppCooldown(app: MicrosoftApp): void {
    const cooldown = this.appCooldown;
    if (!cooldown || cooldown.fingerprint !== appFingerprint(app)) return;
    const left = cooldown.until - this.d.clock.now();
    if (left > 0) throw appUnavailable("app_misconfigured", undefined, left, undefined);
  }

  /** Terminal: the grant is gone (FL-4: loud at the first failure). */
  private async needsReconnect(row: AccountRow, reason: string, aadsts: number | undefined): Promise<never> {
    let marked: boolean;
    try {
      // The status and the CREDENTIALS event (with its fan-out job) commit together.
      marked = await this.d.transaction(async (uow) => {
        const changed = await uow.accounts.markNeedsReconnect(
          row.id,
          this.owner,
          row.refresh_token,
          reason,
          this.d.clock.now(),
        );
        if (!changed) return false;
        await this.d.events.record(uow, { accountId: row.id, type: "CREDENTIALS", reason });
        // The shared mailboxes it opened are reached with its tokens: they need the same sign-in.
        const now = this.d.clock.now();
        for (const sharedId of await uow.accounts.setOpenedThroughStatus(row.id, "CREDENTIALS", reason, now))
          await this.d.events.record(uow, { accountId: sharedId, type: "CREDENTIALS", reason });
        return true;
      });
    } catch (error) {
      // Nothing was written, the lease included: release it so the next demand need not wait it out.
      await this.d.accounts.releaseRefreshLease(row.id, this.owner).catch(() => {});
      throw error;
    }
    if (!marked) {
      // A reconnect replaced the tokens while this refresh ran: the refused token is no longer ours.
      await this.d.accounts.releaseRefreshLease(row.id, this.owner);
      throw new AppError("service_unavailable", {
        detail: "The account was reconnected during a token refresh; retry.",
        retryAfterSeconds: 1,
      });
    }
    this.d.log.warn(
      { accountId: row.id, reason, aadsts },
      "Microsoft refused the account's refresh token: the mailbox must reconnect",
    );
    throw disconnected(reason);
  }

  private async load(accountId: string): Promise<AccountRow> {
    const row = await this.d.accounts.findById(accountId);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${accountId} does not exist.` });
    if (row.status === "CREDENTIALS") throw disconnected(row.status_reason);
    return row;
  }

  private satisfies(row: AccountRow, need: Need, now: number): boolean {
    if (!row.access_token) return false;
    if (need.rejectedAccessToken !== undefined && row.access_token === need.rejectedAccessToken) return false;
    if (need.maxAgeMs !== undefined && (row.last_refreshed_at ?? 0) <= now - need.maxAgeMs) return false;
    return this.validFor(row, now) > need.minValidMs;
  }

  private validFor(row: AccountRow, now: number): number {
    return row.access_token && row.access_token_expires_at !== null ? row.access_token_expires_at - now : 0;
  }

  private isCoolingDown(row: AccountRow, now: number): boolean {
    return row.refresh_retry_at !== null && row.refresh_retry_at > now;
  }

  /** A recent refresh failed: do not ask Microsoft again before `refresh_retry_at`. */
  private cooling(row: AccountRow, need: Need, now: number): FlightResult {
    if (need.allowStaleWhileCooling && this.validFor(row, now) >= this.tuning.minUsableMs)
      return this.stored(row);
    const retryAfterSeconds = Math.max(1, Math.ceil(((row.refresh_retry_at ?? now) - now) / 1000));
    throw new AppError("service_unavailable", {
      detail: `Refreshing this account's Microsoft tokens failed recently; retry in ${retryAfterSeconds} s.`,
      retryAfterSeconds,
    });
  }

  private stored(row: AccountRow): FlightResult {
    return { accessToken: this.accessTokens.decrypt(row.access_token ?? ""), refreshed: false };
  }
}

function appFingerprint(app: MicrosoftApp): string {
  return createHash("sha256")
    .update(`${app.clientId}\0${app.clientSecret}\0${app.audience}`)
    .digest("base64url");
}
