// The sandbox's own control API under /_sandbox/: users, app registrations, scenario switches
// and counters. Not part of Microsoft's surface; tests and developers drive the world with it.
import { randomBytes, randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { escapeHtml } from "../identity/pages.ts";
import { KNOWN_GRAPH_SCOPES, OIDC_SCOPES } from "../identity/scopes.ts";
import { deterministicGuid, personalAccountOid, SEEDED_APP } from "../seed.ts";
import {
  type AppRegistration,
  type AppSecret,
  CONSUMERS_TENANT_ID,
  type FaultSwitches,
  type SandboxState,
  type SandboxUser,
  type SignInAudience,
  type UserKind,
} from "../state.ts";
import { isLifecycleEvent, LIFECYCLE_EVENTS } from "../subscriptions/engine.ts";
import { subscriptionEngineOf } from "../subscriptions/routes.ts";

const AUDIENCES: readonly SignInAudience[] = [
  "AzureADandPersonalMicrosoftAccount",
  "AzureADMultipleOrgs",
  "AzureADMyOrg",
  "PersonalMicrosoftAccount",
];
const KINDS: readonly UserKind[] = ["work", "personal", "no_mailbox", "admin"];
const SCENARIO_ACTIONS = [
  "revoke_consent",
  "change_password",
  "expire_refresh_tokens",
  "revoke_tokens",
  "expire_secret",
  "disable_user",
  "throttle",
  "fail",
  "latency",
  "clear_faults",
  "subscription_lifecycle",
] as const;
const DEFAULT_PERMISSIONS = ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send", "offline_access"];
/** Entra caps client secrets at 24 months (reference §2). */
const MAX_SECRET_LIFETIME_MS = 2 * 366 * 24 * 3600 * 1000;
const DEFAULT_SECRET_LIFETIME_MS = 180 * 24 * 3600 * 1000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class BadInput extends Error {}

function bad(message: string): never {
  throw new BadInput(message);
}

type Body = Record<string, unknown>;

function asBody(value: unknown): Body {
  if (!value || typeof value !== "object" || Array.isArray(value)) bad("Body must be a JSON object.");
  return value as Body;
}

function optString(body: Body, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") bad(`'${name}' must be a string.`);
  return v;
}

function optBool(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") bad(`'${name}' must be a boolean.`);
  return v;
}

function optNumber(body: Body, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) bad(`'${name}' must be a number.`);
  return v;
}

function optStringArray(body: Body, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    bad(`'${name}' must be an array of strings.`);
  return v as string[];
}

/** Accepts an ISO date string or epoch milliseconds. */
function optTime(body: Body, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  bad(`'${name}' must be an ISO-8601 date or epoch milliseconds.`);
}

export function userJson(user: SandboxUser): Record<string, unknown> {
  return {
    id: user.id,
    email: user.email,
    password: user.password,
    kind: user.kind,
    tenant_id: user.tenantId,
    display_name: user.displayName,
    has_mailbox: user.hasMailbox,
    is_admin: user.isTenantAdmin,
    disabled: user.disabled,
  };
}

function appJson(app: AppRegistration): Record<string, unknown> {
  const latest = [...app.secrets].sort((a, b) => b.expiresAt - a.expiresAt)[0];
  return {
    client_id: app.clientId,
    name: app.name,
    redirect_uris: app.redirectUris,
    sign_in_audience: app.signInAudience,
    permissions: app.permissions,
    home_tenant_id: app.homeTenantId,
    secret_expires_at: latest ? new Date(latest.expiresAt).toISOString() : null,
    secrets: app.secrets.map((s) => ({
      id: s.id,
      hint: s.hint,
      expires_at: new Date(s.expiresAt).toISOString(),
    })),
    created_at: new Date(app.createdAt).toISOString(),
  };
}

/** Entra-style secret value: three characters, "8Q~", then 34 more. */
function newSecretValue(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~";
  const bytes = randomBytes(37);
  let out = "";
  for (let i = 0; i < 37; i++) out += alphabet[(bytes[i] ?? 0) % alphabet.length];
  return `${out.slice(0, 3)}8Q~${out.slice(3)}`;
}

function newSecret(state: SandboxState, expiresAt: number | undefined): AppSecret {
  const now = state.now();
  const exp = expiresAt ?? now + DEFAULT_SECRET_LIFETIME_MS;
  if (exp - now > MAX_SECRET_LIFETIME_MS) bad("Client secrets can be valid for at most 24 months.");
  const value = newSecretValue();
  return { id: randomUUID(), value, hint: value.slice(0, 3), expiresAt: exp };
}

/** Redirect URI rules of reply-url.md: https (http only for localhost), ≤ 256 chars, no wildcards. */
function validateRedirectUris(uris: string[], audience: SignInAudience): void {
  for (const uri of uris) {
    if (uri.length > 256) bad(`Redirect URI '${uri}' is longer than 256 characters.`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      bad(`Redirect URI '${uri}' is not an absolute URI.`);
    }
    const loopback = url.hostname === "localhost" || url.hostname === "127.0.0.1";
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
      bad(`Redirect URI '${uri}' must use https (http is allowed only for localhost).`);
    }
    if (uri.includes("*")) bad(`Redirect URI '${uri}' must not contain wildcards.`);
    if (audience !== "AzureADMyOrg" && audience !== "AzureADMultipleOrgs" && url.search) {
      bad(`Redirect URI '${uri}' must not contain a query string for apps that allow personal accounts.`);
    }
  }
}

function validatePermissions(perms: string[]): string[] {
  const known = new Map<string, string>(
    [...KNOWN_GRAPH_SCOPES, ...OIDC_SCOPES].map((s) => [s.toLowerCase(), s] as [string, string]),
  );
  return perms.map((p) => {
    const short = p.replace(/^https:\/\/graph\.microsoft\.com\//i, "");
    const canonical = known.get(short.toLowerCase());
    if (!canonical) bad(`Unknown permission '${p}'.`);
    return canonical;
  });
}

function findUser(state: SandboxState, ref: string | undefined): SandboxUser {
  if (!ref) bad("'user' (email or id) is required for this action.");
  const user = state.users.get(ref) ?? state.userByEmail(ref);
  if (!user) bad(`Unknown user '${ref}'.`);
  return user;
}

function findApp(state: SandboxState, clientId: string | undefined): AppRegistration {
  if (!clientId) bad("'client_id' is required for this action.");
  const app = state.apps.get(clientId);
  if (!app) bad(`Unknown client_id '${clientId}'.`);
  return app;
}

function mapToObject(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries(map);
}

export async function registerAdminRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((error, _req, reply) => {
      if (error instanceof BadInput)
        return reply.code(400).send({ error: "invalid_request", message: error.message });
      const err = error as { statusCode?: number; message?: string };
      const status = err.statusCode ?? 500;
      return reply
        .code(status)
        .send({ error: status >= 500 ? "server_error" : "invalid_request", message: err.message ?? "" });
    });
    registerRoutes(scope, state);
  });
}

function registerRoutes(app: FastifyInstance, state: SandboxState): void {
  // ---------- users ----------
  app.get("/_sandbox/users", async () => [...state.users.values()].map(userJson));

  app.get<{ Params: { id: string } }>("/_sandbox/users/:id", async (req, reply) => {
    const user = state.users.get(req.params.id) ?? state.userByEmail(req.params.id);
    if (!user) return reply.code(404).send({ error: "not_found", message: "Unknown user." });
    return userJson(user);
  });

  app.post("/_sandbox/users", async (req, reply) => {
    const body = asBody(req.body);
    const email = optString(body, "email")?.trim();
    if (!email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) bad("'email' must be an email address.");
    if (state.userByEmail(email)) bad(`A user with email '${email}' already exists.`);
    const kindRaw = optString(body, "kind") ?? "work";
    if (!(KINDS as readonly string[]).includes(kindRaw)) bad(`'kind' must be one of ${KINDS.join(", ")}.`);
    const kind = kindRaw as UserKind;
    const password = optString(body, "password") ?? "Sandbox!2345";
    if (password.length < 8) bad("'password' must be at least 8 characters.");
    let tenantId: string;
    if (kind === "personal") {
      tenantId = CONSUMERS_TENANT_ID;
    } else {
      const tenantRef =
        optString(body, "tenant_id") ?? optString(body, "tenant") ?? email.split("@")[1] ?? "";
      const tenant = [...state.tenants.values()].find(
        (t) =>
          t.id !== CONSUMERS_TENANT_ID &&
          (t.id.toLowerCase() === tenantRef.toLowerCase() ||
            t.domain.toLowerCase() === tenantRef.toLowerCase()),
      );
      if (!tenant) bad(`Unknown tenant '${tenantRef}' (give 'tenant_id' as a tenant GUID or domain).`);
      tenantId = tenant.id;
    }
    const local = email.split("@")[0] ?? email;
    const [first = local, ...rest] = local.split(/[._-]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1));
    const displayName = optString(body, "display_name") ?? [first, ...rest].join(" ");
    const hasMailbox = optBool(body, "has_mailbox") ?? kind !== "no_mailbox";
    const user: SandboxUser = {
      id: kind === "personal" ? personalAccountOid(email) : deterministicGuid(`user:${email.toLowerCase()}`),
      tenantId,
      email,
      password,
      displayName,
      givenName: optString(body, "given_name") ?? first,
      surname: optString(body, "surname") ?? rest.join(" "),
      kind,
      hasMailbox,
      isTenantAdmin: optBool(body, "is_admin") ?? kind === "admin",
      passwordChangedAt: 0,
      disabled: false,
    };
    state.users.set(user.id, user);
    // The Graph module listens for this to create a mailbox for users added at runtime.
    state.events.emit("user-created", user);
    return reply.code(201).send(userJson(user));
  });

  // ---------- apps ----------
  app.get("/_sandbox/apps", async () => [...state.apps.values()].map(appJson));

  app.get<{ Params: { id: string } }>("/_sandbox/apps/:id", async (req, reply) => {
    const reg = state.apps.get(req.params.id);
    if (!reg) return reply.code(404).send({ error: "not_found", message: "Unknown client_id." });
    return appJson(reg);
  });

  app.post("/_sandbox/apps", async (req, reply) => {
    const body = asBody(req.body);
    const name = optString(body, "name");
    if (!name?.trim()) bad("'name' is required.");
    const audienceRaw = optString(body, "sign_in_audience") ?? "AzureADandPersonalMicrosoftAccount";
    if (!(AUDIENCES as readonly string[]).includes(audienceRaw)) {
      bad(`'sign_in_audience' must be one of ${AUDIENCES.join(", ")}.`);
    }
    const audience = audienceRaw as SignInAudience;
    const redirectUris = optStringArray(body, "redirect_uris") ?? [];
    validateRedirectUris(redirectUris, audience);
    const permissions = validatePermissions(optStringArray(body, "permissions") ?? DEFAULT_PERMISSIONS);
    const clientId = optString(body, "client_id") ?? randomUUID();
    if (!GUID.test(clientId)) bad("'client_id' must be a GUID.");
    if (state.apps.has(clientId)) bad(`An app with client_id '${clientId}' already exists.`);
    const homeRef = optString(body, "home_tenant_id") ?? SEEDED_APP.homeTenantId;
    const home = [...state.tenants.values()].find(
      (t) => t.id === homeRef || t.domain.toLowerCase() === homeRef.toLowerCase(),
    );
    if (!home || home.id === CONSUMERS_TENANT_ID) bad(`Unknown home tenant '${homeRef}'.`);
    const secret = newSecret(state, optTime(body, "secret_expires_at"));
    const reg: AppRegistration = {
      clientId,
      name: name.trim(),
      redirectUris,
      signInAudience: audience,
      permissions,
      secrets: [secret],
      homeTenantId: home.id,
      createdAt: state.now(),
    };
    state.apps.set(clientId, reg);
    return reply.code(201).send({
      ...appJson(reg),
      client_secret: secret.value,
      secret_id: secret.id,
      secret_expires_at: new Date(secret.expiresAt).toISOString(),
    });
  });

  app.post<{ Params: { id: string } }>("/_sandbox/apps/:id/secrets", async (req, reply) => {
    const reg = findApp(state, req.params.id);
    const body = req.body === undefined || req.body === null ? {} : asBody(req.body);
    const secret = newSecret(state, optTime(body, "expires_at") ?? optTime(body, "secret_expires_at"));
    reg.secrets.push(secret);
    return reply.code(201).send({
      client_id: reg.clientId,
      secret_id: secret.id,
      client_secret: secret.value,
      hint: secret.hint,
      secret_expires_at: new Date(secret.expiresAt).toISOString(),
    });
  });

  app.patch<{ Params: { id: string } }>("/_sandbox/apps/:id", async (req) => {
    const reg = findApp(state, req.params.id);
    const body = asBody(req.body);
    const audienceRaw = optString(body, "sign_in_audience");
    if (audienceRaw !== undefined && !(AUDIENCES as readonly string[]).includes(audienceRaw)) {
      bad(`'sign_in_audience' must be one of ${AUDIENCES.join(", ")}.`);
    }
    const audience = (audienceRaw as SignInAudience | undefined) ?? reg.signInAudience;
    const redirectUris = optStringArray(body, "redirect_uris");
    if (redirectUris) validateRedirectUris(redirectUris, audience);
    const permissions = optStringArray(body, "permissions");
    const validated = permissions ? validatePermissions(permissions) : undefined;
    const name = optString(body, "name");
    if (redirectUris) reg.redirectUris = redirectUris;
    if (validated) reg.permissions = validated;
    if (name?.trim()) reg.name = name.trim();
    reg.signInAudience = audience;
    return appJson(reg);
  });

  // ---------- scenarios ----------
  app.post("/_sandbox/scenarios", async (req) => {
    const body = asBody(req.body);
    const action = optString(body, "action");
    if (!action) bad("'action' is required.");
    const now = state.now();
    const userRef = optString(body, "user");
    const clientId = optString(body, "client_id");

    const matches = (rec: { userId: string; clientId: string }, user?: SandboxUser) =>
      (!user || rec.userId === user.id) && (!clientId || rec.clientId === clientId);

    switch (action) {
      case "revoke_consent": {
        const reg = findApp(state, clientId);
        if (userRef) {
          const user = findUser(state, userRef);
          const consent = state.consents.get(`${user.id}|${reg.clientId}`);
          if (consent) consent.revoked = true;
        }
        const tenantRef = optString(body, "tenant_id");
        if (tenantRef || !userRef) {
          for (const t of state.tenants.values()) {
            if (!tenantRef || t.id === tenantRef || t.domain === tenantRef)
              t.adminConsentedApps.delete(reg.clientId);
          }
          if (!userRef) {
            for (const c of state.consents.values()) if (c.clientId === reg.clientId) c.revoked = true;
          }
        }
        return { ok: true, action };
      }
      case "change_password": {
        // Models an admin password reset, which revokes refresh tokens (AADSTS50173 on refresh).
        const user = findUser(state, userRef);
        const password =
          optString(body, "password") ?? `${user.password.replace(/\d+$/, "")}${Math.floor(now % 100000)}`;
        user.password = password;
        user.passwordChangedAt = now;
        return { ok: true, action, user: userJson(user) };
      }
      case "expire_refresh_tokens": {
        const user = userRef ? findUser(state, userRef) : undefined;
        let count = 0;
        for (const rt of state.refreshTokens.values()) {
          if (matches(rt, user) && rt.expiresAt > now) {
            rt.expiresAt = now;
            count++;
          }
        }
        return { ok: true, action, refresh_tokens: count };
      }
      case "revoke_tokens": {
        const user = userRef ? findUser(state, userRef) : undefined;
        let refreshCount = 0;
        let accessCount = 0;
        for (const rt of state.refreshTokens.values()) {
          if (matches(rt, user) && !rt.revoked) {
            rt.revoked = true;
            refreshCount++;
          }
        }
        for (const at of state.accessTokens.values()) {
          if (matches(at, user) && !at.revoked) {
            at.revoked = true;
            accessCount++;
          }
        }
        return { ok: true, action, refresh_tokens: refreshCount, access_tokens: accessCount };
      }
      case "expire_secret": {
        const reg = findApp(state, clientId);
        const secretId = optString(body, "secret_id");
        for (const s of reg.secrets)
          if (!secretId || s.id === secretId) s.expiresAt = Math.min(s.expiresAt, now);
        return { ok: true, action, app: appJson(reg) };
      }
      case "disable_user": {
        const user = findUser(state, userRef);
        user.disabled = optBool(body, "disabled") ?? true;
        return { ok: true, action, user: userJson(user) };
      }
      case "throttle":
      case "fail":
      case "latency":
      case "clear_faults": {
        const user = userRef ? findUser(state, userRef) : undefined;
        if (clientId) findApp(state, clientId);
        // One scope per switch: a user (any app), an app (any user), or that user through that app.
        const [map, key] =
          user && clientId
            ? [state.pairFaults, `${clientId}|${user.id}`]
            : user
              ? [state.userFaults, user.id]
              : clientId
                ? [state.appFaults, clientId]
                : [null, ""];
        if (action === "clear_faults") {
          if (!map) {
            state.userFaults.clear();
            state.appFaults.clear();
            state.pairFaults.clear();
            return { ok: true, action };
          }
          map.delete(key);
          // Clearing a user (or an app) also clears its per-pair switches.
          if (map !== state.pairFaults) {
            for (const pair of [...state.pairFaults.keys()]) {
              const [pairClient, pairUser] = pair.split("|");
              if (pairUser === user?.id || pairClient === clientId) state.pairFaults.delete(pair);
            }
          }
          return { ok: true, action };
        }
        if (!map) bad("'user' or 'client_id' is required for this action.");
        let patch: FaultSwitches;
        if (action === "throttle") {
          const count = optNumber(body, "count") ?? 1;
          const retryAfter = optNumber(body, "retry_after") ?? 1;
          if (count < 1 || retryAfter < 0) bad("'count' must be ≥ 1 and 'retry_after' ≥ 0.");
          patch = { throttleNext: { count: Math.floor(count), retryAfterSeconds: retryAfter } };
        } else if (action === "fail") {
          const count = optNumber(body, "count") ?? 1;
          const status = optNumber(body, "status") ?? 503;
          if (status !== 500 && status !== 502 && status !== 503 && status !== 504) {
            bad("'status' must be 500, 502, 503 or 504.");
          }
          if (count < 1) bad("'count' must be ≥ 1.");
          patch = { failNext: { count: Math.floor(count), status } };
        } else {
          const ms = optNumber(body, "ms");
          if (ms === undefined || ms < 0) bad("'ms' (≥ 0) is required.");
          patch = { latencyMs: ms };
        }
        map.set(key, { ...(map.get(key) ?? {}), ...patch });
        return { ok: true, action };
      }
      case "subscription_lifecycle": {
        const event = optString(body, "event");
        if (!isLifecycleEvent(event)) bad(`'event' must be one of ${LIFECYCLE_EVENTS.join(", ")}.`);
        const engine = subscriptionEngineOf(state);
        if (!engine) bad("Change notifications are not enabled in this sandbox.");
        const user = userRef ? findUser(state, userRef) : undefined;
        if (clientId) findApp(state, clientId);
        const subscriptionId = optString(body, "subscription_id");
        if (subscriptionId && !engine.get(subscriptionId)) bad(`Unknown subscription '${subscriptionId}'.`);
        const matched = engine.fireLifecycle(event, {
          ...(subscriptionId ? { subscriptionId } : {}),
          ...(user ? { userId: user.id } : {}),
          ...(clientId ? { clientId } : {}),
        });
        return {
          ok: true,
          action,
          event,
          subscriptions: matched.map((s) => ({
            id: s.id,
            notified: s.lifecycleNotificationUrl !== null,
          })),
        };
      }
      default:
        // A typo must not look like a scenario that ran.
        return bad(`Unknown action '${action}'. Known actions: ${SCENARIO_ACTIONS.join(", ")}.`);
    }
  });

  // ---------- stats ----------
  app.get("/_sandbox/stats", async () => ({
    requests: mapToObject(state.counters.requests),
    peak_concurrency: mapToObject(state.counters.peakConcurrency),
    in_flight: mapToObject(state.counters.inFlight),
    throttled: mapToObject(state.counters.throttled),
    token_grants: state.counters.tokenGrants,
    token_refreshes: state.counters.tokenRefreshes,
    token_errors: mapToObject(state.counters.tokenErrors),
  }));

  app.post("/_sandbox/stats/reset", async () => {
    const c = state.counters;
    c.requests.clear();
    c.throttled.clear();
    c.tokenErrors.clear();
    c.tokenGrants = 0;
    c.tokenRefreshes = 0;
    // Requests still running keep their in-flight count; peaks restart from it.
    c.peakConcurrency.clear();
    for (const [key, n] of c.inFlight) if (n > 0) c.peakConcurrency.set(key, n);
    return { ok: true };
  });

  // ---------- index page ----------
  app.get("/_sandbox", async (_req, reply: FastifyReply) => reply.redirect("/_sandbox/"));
  app.get("/_sandbox/", async (_req, reply) => {
    const base = state.options.baseUrl;
    const rows = [...state.users.values()]
      .map((u) => {
        const tenant = state.tenants.get(u.tenantId);
        return `<tr><td>${escapeHtml(u.email)}</td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.kind)}${u.isTenantAdmin ? " (admin)" : ""}${u.disabled ? " (disabled)" : ""}</td><td>${escapeHtml(tenant?.displayName ?? u.tenantId)}</td><td>${u.hasMailbox ? "yes" : "no"}</td><td><code>${escapeHtml(u.id)}</code></td></tr>`;
      })
      .join("\n");
    const apps = [...state.apps.values()]
      .map((a) => {
        const secret =
          a.clientId === SEEDED_APP.clientId ? SEEDED_APP.clientSecret : `${a.secrets[0]?.hint ?? ""}…`;
        return `<tr><td>${escapeHtml(a.name)}</td><td><code>${escapeHtml(a.clientId)}</code></td><td><code>${escapeHtml(secret)}</code></td><td>${escapeHtml(a.signInAudience)}</td><td>${a.redirectUris.map((r) => escapeHtml(r)).join("<br>")}</td></tr>`;
      })
      .join("\n");
    const tenants = [...state.tenants.values()]
      .map(
        (t) =>
          `<tr><td>${escapeHtml(t.displayName)}</td><td><code>${escapeHtml(t.id)}</code></td><td>${escapeHtml(t.domain)}</td><td>${t.requiresAdminConsent ? "admin consent required" : "users may consent"}</td></tr>`,
      )
      .join("\n");
    const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Mailroom sandbox</title>
<style>body{font-family:"Segoe UI",Roboto,Arial,sans-serif;margin:32px;color:#1b1b1b}table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:14px}th{background:#f2f2f2}code{font-size:13px}</style></head>
<body><h1>Mailroom sandbox</h1>
<p>A local stand-in for Microsoft login (Entra ID v2.0) and Microsoft Graph mail. Authority: <code>${escapeHtml(base)}/common</code> · discovery <a href="${escapeHtml(base)}/common/v2.0/.well-known/openid-configuration">openid-configuration</a> · <a href="${escapeHtml(base)}/common/discovery/v2.0/keys">keys</a> · Graph <code>${escapeHtml(base)}/v1.0</code></p>
<h2>Users</h2><table><tr><th>Email</th><th>Password</th><th>Kind</th><th>Tenant</th><th>Mailbox</th><th>Id (oid)</th></tr>${rows}</table>
<h2>Apps</h2><table><tr><th>Name</th><th>Client id</th><th>Secret</th><th>Audience</th><th>Redirect URIs</th></tr>${apps}</table>
<h2>Tenants</h2><table><tr><th>Name</th><th>Id</th><th>Domain</th><th>Consent</th></tr>${tenants}</table>
<p>Admin API: <code>GET/POST /_sandbox/users</code>, <code>GET/POST /_sandbox/apps</code>, <code>POST /_sandbox/scenarios</code>, <code>GET /_sandbox/stats</code>.</p>
</body></html>`;
    return reply.header("content-type", "text/html; charset=utf-8").send(page);
  });
}
