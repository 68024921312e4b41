// Admin users of the operator dashboard: first-run setup and invitations (one-time links), sign-in
// with a rate limit, and sessions with idle and absolute expiry. Only hashes are stored: scrypt for
// passwords, SHA-256 for session and link tokens.
import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import { hashToken } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { inProcessRateLimiters, type RateLimiter, type RateLimiterFactory } from "../../lib/limits.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type {
  AdminRepository,
  AdminRow,
  AdminSessionRow,
} from "../../storage/repositories/admin.repository.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import { decoyHash, hashPassword, verifyPassword } from "./password.ts";

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 2 * 3600_000;
/** …and at the latest this long after sign-in. */
export const SESSION_ABSOLUTE_MS = 24 * 3600_000;
/** `last_seen_at` is written at most this often per session. */
const TOUCH_INTERVAL_MS = 60_000;
export const INVITE_TTL_MS = 7 * 24 * 3600_000;
export const MIN_PASSWORD_LENGTH = 12;
/** Failed sign-ins allowed per email and per client address in the window. */
export const SIGN_IN_LIMIT = { perEmail: 5, perAddress: 20, windowMs: 15 * 60_000 };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface AdminSummary {
  id: string;
  email: string;
  createdAt: number;
  lastSignInAt: number | null;
}

export interface SessionContext {
  session: AdminSessionRow;
  admin: AdminSummary;
  /** Token the dashboard echoes in a header on every state change (bound to this session). */
  csrfToken: string;
}

export interface SetupLink {
  url: string;
  kind: "setup" | "invite";
  expiresAt: number | null;
}

export class AdminService {
  private readonly failures: { email: RateLimiter; address: RateLimiter };

  /** `rateLimiters`: where failed sign-ins are counted (in-process by default; Redis in scaled mode). */
  constructor(
    private readonly repo: AdminRepository,
    private readonly clock: Clock,
    private readonly publicUrl: string,
    rateLimiters: RateLimiterFactory = inProcessRateLimiters,
  ) {
    const windowMs = SIGN_IN_LIMIT.windowMs;
    this.failures = {
      email: rateLimiters("sign-in-email", { limit: SIGN_IN_LIMIT.perEmail, windowMs }),
      address: rateLimiters("sign-in-address", { limit: SIGN_IN_LIMIT.perAddress, windowMs }),
    };
  }

  /** The dashboard's account search: name or address contains the query, newest first (all when empty). */
  searchAccounts(query: string, limit: number): Promise<AccountRow[]> {
    return this.repo.searchAccounts(query, limit);
  }

  /** The hosted links made for an account, for its history on the dashboard. */
  linksOfAccount(accountId: string): Promise<HostedLinkRow[]> {
    return this.repo.linksOfAccount(accountId);
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.repo.count()) > 0;
  }

  async list(): Promise<AdminSummary[]> {
    return (await this.repo.list()).map(toSummary);
  }

  /**
   * A link to create the first admin (while none exists) or, once one does, an invitation for another.
   * The token is shown once; a setup link stays valid until an admin is created, an invite for 7 days.
   */
  async createLink(
    options: { email?: string | undefined; createdBy?: string | undefined } = {},
  ): Promise<SetupLink> {
    const email = options.email === undefined ? null : normaliseEmail(options.email);
    const kind = (await this.hasAdmin()) ? "invite" : "setup";
    if (kind === "invite" && email !== null && (await this.repo.findByEmail(email))) {
      throw new AppError("already_exists", { detail: `${email} is already an admin.` });
    }
    const token = randomBytes(32).toString("base64url");
    const now = this.clock.now();
    const expiresAt = kind === "setup" ? null : now + INVITE_TTL_MS;
    await this.repo.insertInvite({
      id: newId(),
      token_hash: hashToken(token),
      kind,
      email,
      created_by: options.createdBy ?? null,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    });
    return { url: `${this.publicUrl}/setup?token=${token}`, kind, expiresAt };
  }

  async pendingInvites(): Promise<
    { id: string; email: string | null; createdAt: number; expiresAt: number }[]
  > {
    return (await this.repo.listOpenInvites(this.clock.now())).map((i) => ({
      id: i.id,
      email: i.email,
      createdAt: i.created_at,
      expiresAt: i.expires_at ?? 0,
    }));
  }

  /** What a setup link is for, or why it cannot be used (in words the person holding it can act on). */
  async inspectLink(token: string): Promise<{ kind: "setup" | "invite"; email: string | null }> {
    const invite = await this.repo.findInviteByHash(hashToken(token));
    const unusable = (detail: string) => new AppError("expired_link", { detail });
    if (!invite)
      throw unusable(
        "This setup link is not valid. Ask for a new one: npx mailroom admin create prints one.",
      );
    if (invite.used_at !== null)
      throw unusable("This setup link was already used. Sign in, or ask an admin for a new invitation.");
    if (invite.kind === "setup" && (await this.hasAdmin()))
      throw unusable("An admin already exists, so this first-run link no longer works. Sign in instead.");
    if (invite.expires_at !== null && invite.expires_at <= this.clock.now())
      throw unusable("This invitation has expired. Ask an admin for a new one.");
    return { kind: invite.kind, email: invite.email };
  }

  /** Redeems a setup or invite link: creates the admin and signs them in. */
  async acceptLink(
    token: string,
    input: { email: string; password: string },
  ): Promise<{ admin: AdminSummary; sessionToken: string }> {
    const info = await this.inspectLink(token);
    const email = normaliseEmail(info.email ?? input.email);
    checkPassword(input.password, email);
    if (await this.repo.findByEmail(email))
      throw new AppError("already_exists", { detail: `${email} is already an admin. Sign in instead.` });
    const invite = (await this.repo.findInviteByHash(hashToken(token)))!;
    const now = this.clock.now();
    const row: AdminRow = {
      id: newId(),
      email,
      password_hash: await hashPassword(input.password),
      created_at: now,
      last_sign_in_at: now,
    };
    if (!(await this.repo.insertWithInvite(row, invite.id, now)))
      throw new AppError("expired_link", { detail: "This setup link was just used. Sign in instead." });
    return { admin: toSummary(row), sessionToken: await this.startSession(row.id) };
  }

  /** Checks email and password; failures are counted per email and per client address. */
  async signIn(
    input: { email: string; password: string },
    clientAddress: string,
  ): Promise<{ admin: AdminSummary; sessionToken: string }> {
    const email = input.email.trim().toLowerCase();
    const now = this.clock.now();
    const wait = Math.max(
      ...(await Promise.all([
        this.failures.email.retryAfterMs(email, now),
        this.failures.address.retryAfterMs(clientAddress, now),
      ])),
    );
    if (wait > 0) {
      throw new AppError("too_many_requests", {
        detail: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60_000)} minute(s).`,
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    const admin = await this.repo.findByEmail(email);
    const ok = await verifyPassword(input.password, admin?.password_hash ?? (await decoyHash()));
    if (!admin || !ok) {
      await Promise.all([this.failures.email.hit(email, now), this.failures.address.hit(clientAddress, now)]);
      throw new AppError("invalid_credentials", { detail: "The email or password is not correct." });
    }
    await this.failures.email.reset(email);
    await this.repo.touchSignIn(admin.id, now);
    return {
      admin: toSummary({ ...admin, last_sign_in_at: now }),
      sessionToken: await this.startSession(admin.id),
    };
  }

  private async startSession(adminId: string): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const now = this.clock.now();
    await this.repo.deleteExpiredSessions(now, SESSION_IDLE_MS);
    await this.repo.insertSession({
      id: newId(),
      token_hash: hashToken(token),
      admin_id: adminId,
      created_at: now,
      last_seen_at: now,
      expires_at: now + SESSION_ABSOLUTE_MS,
    });
    return token;
  }

  /** The signed-in admin behind a session cookie, or undefined when it is unknown or expired. */
  async resolveSession(token: string | undefined): Promise<SessionContext | undefined> {
    if (!token) return undefined;
    const session = await this.repo.findSessionByHash(hashToken(token));
    if (!session) return undefined;
    const now = this.clock.now();
    if (session.expires_at <= now || session.last_seen_at + SESSION_IDLE_MS <= now) {
      await this.repo.deleteSession(session.id);
      return undefined;
    }
    const admin = await this.repo.findById(session.admin_id);
    if (!admin) return undefined;
    if (now - session.last_seen_at >= TOUCH_INTERVAL_MS) {
      await this.repo.touchSession(session.id, now);
      session.last_seen_at = now;
    }
    return { session, admin: toSummary(admin), csrfToken: csrfTokenFor(token) };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.repo.deleteSession(sessionId);
  }
}

/** Derived from the session token, so it needs no storage and changes with every session. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`mailroom-csrf:${sessionToken}`).digest("base64url");
}

function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 320)
    throw new AppError("invalid_parameters", {
      detail: "email: enter an email address like you@example.com",
    });
  return email;
}

function checkPassword(password: string, email: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new AppError("invalid_parameters", {
      detail: `password: use at least ${MIN_PASSWORD_LENGTH} characters (a passphrase of a few words works well).`,
    });
  if (password.length > 1024)
    throw new AppError("invalid_parameters", { detail: "password: at most 1024 characters." });
  if (password.toLowerCase() === email)
    throw new AppError("invalid_parameters", { detail: "password: must not be your email address." });
}

function toSummary(row: AdminRow): AdminSummary {
  return { id: row.id, email: row.email, createdAt: row.created_at, lastSignInAt: row.last_sign_in_at };
}
