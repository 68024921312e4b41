// `/_sandbox/apps`: app registrations with Entra's rules for redirect URIs, permissions and
// client secrets.
import { randomBytes, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { KNOWN_GRAPH_SCOPES, OIDC_SCOPES } from "../identity/scopes.ts";
import { SEEDED_APP } from "../seed.ts";
import {
  type AppRegistration,
  type AppSecret,
  CONSUMERS_TENANT_ID,
  type SandboxState,
  type SignInAudience,
} from "../state.ts";
import { asBody, bad, findApp, optString, optStringArray, optTime } from "./input.ts";

const AUDIENCES: readonly SignInAudience[] = [
  "AzureADandPersonalMicrosoftAccount",
  "AzureADMultipleOrgs",
  "AzureADMyOrg",
  "PersonalMicrosoftAccount",
];
const DEFAULT_PERMISSIONS = ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send", "offline_access"];
/** Entra caps client secrets at 24 months (reference §2). */
const MAX_SECRET_LIFETIME_MS = 2 * 366 * 24 * 3600 * 1000;
const DEFAULT_SECRET_LIFETIME_MS = 180 * 24 * 3600 * 1000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function appJson(app: AppRegistration): Record<string, unknown> {
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

export function registerAppRoutes(app: FastifyInstance, state: SandboxState): void {
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
}
