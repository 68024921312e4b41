// The operator's Azure app: client id, write-only secret (encrypted), its expiry, audience, extra
// scopes; and the credential check that tells the operator in plain words what is wrong.
import type { CheckResult } from "../../contracts/credential-check.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import {
  appProblem,
  IdentityError,
  type MicrosoftApp,
  SHARED_MAILBOX_SCOPES,
  type TokenClient,
} from "../../providers/microsoft/identity.ts";
import type { SettingsRepository } from "../../storage/repositories/settings.repository.ts";

const KEY = "microsoft_oauth";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const SECRET_EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

export type { CheckResult };

/** The delegated Graph permissions the operator adds in Azure (the seed's three, plus the shared-mailbox ones when on). */
export function delegatedPermissions(sharedMailboxes: boolean): string[] {
  const base = ["Mail.ReadWrite", "Mail.Send", "Mail.Read"];
  return sharedMailboxes ? [...base, ...SHARED_MAILBOX_SCOPES] : base;
}

export interface CredentialCheck {
  result: CheckResult;
  checkedAt: number;
  /** What happened, in plain words. */
  message: string;
  /** What the operator should do, or null when valid. */
  fix: string | null;
  aadsts?: number;
}

export interface MicrosoftSettings {
  clientId: string;
  /** Product name shown to end users in the connect wizard. */
  displayName: string | null;
  audience: string;
  extraScopes: string[];
  /** Connected users may open shared mailboxes: sign-in also asks for SHARED_MAILBOX_SCOPES. */
  sharedMailboxes: boolean;
  secretExpiresAt: number | null;
  hasSecret: boolean;
  /** Last credential check. */
  check: CredentialCheck | null;
  /** App-level failure seen while refreshing tokens (e.g. the secret expired), until the settings change. */
  appProblem: { code: string; message: string; at: number } | null;
  updatedAt: number;
}

interface Stored {
  clientId: string;
  displayName: string | null;
  audience: string;
  extraScopes: string[];
  /** Absent in settings saved before shared mailboxes existed: off. */
  sharedMailboxes?: boolean;
  secretExpiresAt: number | null;
  check: CredentialCheck | null;
  appProblem: MicrosoftSettings["appProblem"];
}

export interface SaveInput {
  clientId: string;
  displayName?: string | null | undefined;
  clientSecret?: string | undefined;
  secretExpiresAt?: number | null | undefined;
  audience?: string | undefined;
  extraScopes?: string[] | undefined;
  /** Absent keeps the stored choice. */
  sharedMailboxes?: boolean | undefined;
}

const CHECK_TEXT: Record<Exclude<CheckResult, "valid">, { message: string; fix: string }> = {
  wrong_secret: {
    message: "Microsoft rejected the client secret (AADSTS7000215).",
    fix: "Paste the secret's Value, not its Secret ID: in Azure → App registrations → your app → Certificates & secrets, create a new client secret and copy the Value column right away (it is shown only once).",
  },
  expired_secret: {
    message:
      "The client secret has expired (AADSTS7000222). Every connected mailbox stops syncing until it is replaced.",
    fix: "In Azure → App registrations → your app → Certificates & secrets, create a new client secret, paste its Value here and record its expiry date.",
  },
  unknown_app: {
    message: "Microsoft does not know an application with this client ID (AADSTS700016).",
    fix: "Copy the Application (client) ID from Azure → App registrations → your app → Overview. Check the app was not deleted and that it is registered for 'Accounts in any organizational directory and personal Microsoft accounts'.",
  },
  single_tenant_app: {
    message:
      "The app is registered for a single tenant only (AADSTS50194), so other organisations and personal accounts cannot connect.",
    fix: "In Azure → App registrations → your app → Authentication, set Supported account types to 'Accounts in any organizational directory and personal Microsoft accounts' (or change the audience here to your tenant id).",
  },
  unreachable: {
    message: "Microsoft's token endpoint could not be reached, so the credentials were not checked.",
    fix: "Check that this server can reach MICROSOFT_LOGIN_URL over HTTPS (proxy, firewall, DNS), then save again.",
  },
  unknown_error: {
    message: "Microsoft answered the credential check with an unexpected error.",
    fix: "Check the app registration in Azure; the server log has Microsoft's full answer.",
  },
};

export class MicrosoftSettingsService {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly secrets: SecretBox,
    private readonly tokens: TokenClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly redirectUri: string,
  ) {}

  async get(): Promise<MicrosoftSettings | null> {
    const row = await this.repo.get(KEY);
    if (!row?.value) return null;
    const stored = JSON.parse(row.value) as Stored;
    return {
      ...stored,
      displayName: stored.displayName ?? null,
      sharedMailboxes: stored.sharedMailboxes === true,
      hasSecret: row.secret !== null,
      updatedAt: row.updated_at,
    };
  }

  /** The app with its decrypted secret, for token requests; throws when not configured. */
  async app(): Promise<MicrosoftApp> {
    const row = await this.repo.get(KEY);
    if (!row?.value || !row.secret) {
      throw new AppError("service_unavailable", {
        detail:
          "Microsoft OAuth is not configured: set the Application (client) ID and secret in Settings → Microsoft OAuth.",
      });
    }
    const stored = JSON.parse(row.value) as Stored;
    return {
      clientId: stored.clientId,
      clientSecret: this.secrets.decrypt(row.secret),
      audience: stored.audience,
      extraScopes: stored.extraScopes,
      sharedMailboxes: stored.sharedMailboxes === true,
    };
  }

  /** Validates, checks against Microsoft, then stores (even when the check fails, so the operator can fix one thing at a time). */
  async save(input: SaveInput): Promise<MicrosoftSettings> {
    const clientId = input.clientId.trim();
    if (!GUID.test(clientId)) {
      throw new AppError("invalid_parameters", {
        detail:
          "client_id: must be the Application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000",
      });
    }
    const audience = (input.audience ?? "common").trim();
    if (!["common", "organizations", "consumers"].includes(audience) && !GUID.test(audience)) {
      throw new AppError("invalid_parameters", {
        detail: "audience: must be common, organizations, consumers or a tenant id",
      });
    }
    const extraScopes = (input.extraScopes ?? []).map((s) => s.trim()).filter(Boolean);
    for (const scope of extraScopes) {
      if (!/^[A-Za-z0-9._:/-]+$/.test(scope))
        throw new AppError("invalid_parameters", { detail: `extra_scopes: "${scope}" is not a scope` });
    }
    const existing = await this.repo.get(KEY);
    const secretEnvelope =
      input.clientSecret !== undefined && input.clientSecret.trim() !== ""
        ? this.secrets.encrypt(input.clientSecret.trim())
        : (existing?.secret ?? null);
    if (!secretEnvelope)
      throw new AppError("invalid_parameters", { detail: "client_secret: required the first time" });
    const previous = existing?.value ? (JSON.parse(existing.value) as Stored) : undefined;
    const secretExpiresAt =
      input.secretExpiresAt === undefined ? (previous?.secretExpiresAt ?? null) : input.secretExpiresAt;

    const app: MicrosoftApp = {
      clientId,
      clientSecret: this.secrets.decrypt(secretEnvelope),
      audience,
      extraScopes,
    };
    const check = await this.check(app);
    const displayName =
      input.displayName === undefined ? (previous?.displayName ?? null) : input.displayName?.trim() || null;
    const stored: Stored = {
      clientId,
      displayName,
      audience,
      extraScopes,
      sharedMailboxes: input.sharedMailboxes ?? previous?.sharedMailboxes === true,
      secretExpiresAt,
      check,
      appProblem: null,
    };
    await this.repo.put({
      key: KEY,
      value: JSON.stringify(stored),
      secret: secretEnvelope,
      updated_at: this.clock.now(),
    });
    this.log.info(
      { clientId, audience, check: check.result },
      `Microsoft OAuth settings saved (credential check: ${check.result})`,
    );
    this.warnIfExpiring(secretExpiresAt);
    return (await this.get())!;
  }

  /**
   * Turns shared mailboxes on or off, nothing else changed (no credential check: the app is the same).
   * Takes effect at the next sign-in; users connected before must reconnect to consent to the scopes.
   */
  async setSharedMailboxes(on: boolean): Promise<MicrosoftSettings> {
    if (!(await this.repo.get(KEY))?.value) {
      throw new AppError("invalid_parameters", {
        detail:
          "Microsoft OAuth is not configured yet: save the Application (client) ID and secret first, then turn on shared mailboxes.",
      });
    }
    await this.update((s) => ({ ...s, sharedMailboxes: on }));
    this.log.info({ sharedMailboxes: on }, `Shared mailboxes turned ${on ? "on" : "off"}`);
    return (await this.get())!;
  }

  /** Re-runs the credential check on the stored settings. */
  async recheck(): Promise<MicrosoftSettings> {
    const app = await this.app();
    const check = await this.check(app);
    await this.update((s) => ({ ...s, check, appProblem: check.result === "valid" ? null : s.appProblem }));
    return (await this.get())!;
  }

  /**
   * Asks the token endpoint to redeem a code that cannot exist. Microsoft authenticates the client
   * before it looks at the code, so `invalid_grant` means the client id and secret are right.
   */
  async check(app: MicrosoftApp): Promise<CredentialCheck> {
    const checkedAt = this.clock.now();
    try {
      await this.tokens.redeemCode(app, {
        code: "mailroom-credential-check",
        redirectUri: this.redirectUri,
        codeVerifier: "mailroom-credential-check-verifier-0000000000",
      });
      return {
        result: "valid",
        checkedAt,
        message: "Microsoft accepted the client ID and secret.",
        fix: null,
      };
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      const aadsts = error.details.aadsts;
      if (error.kind === "unavailable")
        return { result: "unreachable", checkedAt, ...CHECK_TEXT.unreachable };
      const problem = appProblem(aadsts);
      if (
        problem === "wrong_secret" ||
        problem === "expired_secret" ||
        problem === "unknown_app" ||
        problem === "single_tenant_app"
      ) {
        return { result: problem, checkedAt, ...CHECK_TEXT[problem], ...(aadsts ? { aadsts } : {}) };
      }
      if (
        error.details.error === "invalid_grant" ||
        error.kind === "flow_failed" ||
        error.kind === "reauth_required"
      ) {
        return {
          result: "valid",
          checkedAt,
          message: "Microsoft accepted the client ID and secret.",
          fix: null,
        };
      }
      this.log.warn(
        { err: error, details: error.details },
        "Unexpected answer to the Microsoft credential check",
      );
      return {
        result: "unknown_error",
        checkedAt,
        ...CHECK_TEXT.unknown_error,
        ...(aadsts ? { aadsts } : {}),
      };
    }
  }

  /** Called by token refresh when Microsoft blames the app, not the mailbox (7000215, 7000222, 700016). */
  async reportAppProblem(code: string, message: string): Promise<void> {
    await this.update((s) => ({ ...s, appProblem: { code, message, at: this.clock.now() } }));
    this.log.error(
      { code },
      `Microsoft rejected the app's credentials: ${message}. Fix them in Settings → Microsoft OAuth.`,
    );
  }

  /** Days until the secret expires, when within the warning window (or already expired: ≤ 0). */
  async secretExpiryWarning(): Promise<{ daysLeft: number; expiresAt: number } | null> {
    const settings = await this.get();
    if (!settings?.secretExpiresAt) return null;
    const daysLeft = Math.floor((settings.secretExpiresAt - this.clock.now()) / DAY_MS);
    return daysLeft <= SECRET_EXPIRY_WARNING_DAYS ? { daysLeft, expiresAt: settings.secretExpiresAt } : null;
  }

  warnIfExpiring(expiresAt: number | null): void {
    if (!expiresAt) return;
    const daysLeft = Math.floor((expiresAt - this.clock.now()) / DAY_MS);
    if (daysLeft < 0) {
      this.log.error(
        { expiresAt: new Date(expiresAt).toISOString() },
        "The Microsoft client secret has expired: create a new one in Azure and paste it in Settings → Microsoft OAuth.",
      );
    } else if (daysLeft <= SECRET_EXPIRY_WARNING_DAYS) {
      this.log.warn(
        { expiresAt: new Date(expiresAt).toISOString(), daysLeft },
        `The Microsoft client secret expires in ${daysLeft} day(s): create a new one in Azure and paste it in Settings → Microsoft OAuth before then.`,
      );
    }
  }

  private async update(fn: (s: Stored) => Stored): Promise<void> {
    const row = await this.repo.get(KEY);
    if (!row?.value) return;
    const next = fn(JSON.parse(row.value) as Stored);
    await this.repo.put({ ...row, value: JSON.stringify(next), updated_at: this.clock.now() });
  }
}
