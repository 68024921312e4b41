// Scope parsing for the v2.0 endpoints: OIDC scopes, Graph scopes in short form ("Mail.Read"),
// URL form ("https://graph.microsoft.com/Mail.Read") and "/.default" (reference §1.2).
import type { AppRegistration } from "../state.ts";

export const GRAPH_RESOURCE = "https://graph.microsoft.com";
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;

/** Delegated Graph permissions the sandbox knows (a subset of Graph's, enough for mail). */
export const KNOWN_GRAPH_SCOPES = [
  "User.Read",
  "User.ReadBasic.All",
  "Mail.Read",
  "Mail.ReadBasic",
  "Mail.ReadWrite",
  "Mail.Send",
  "Mail.Read.Shared",
  "Mail.ReadWrite.Shared",
  "Mail.Send.Shared",
  "MailboxSettings.Read",
  "MailboxSettings.ReadWrite",
  "Calendars.Read",
  "Contacts.Read",
] as const;

/** Plain-words descriptions, as the consent page shows them. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: "Sign you in",
  profile: "View your basic profile",
  email: "View your email address",
  offline_access: "Maintain access to data you have given it access to",
  "User.Read": "Sign you in and read your profile",
  "User.ReadBasic.All": "Read all users' basic profiles",
  "Mail.Read": "Read your mail",
  "Mail.ReadBasic": "Read your basic mail",
  "Mail.ReadWrite": "Read and write access to your mail",
  "Mail.Send": "Send mail as you",
  "Mail.Read.Shared": "Read mail you can access",
  "Mail.ReadWrite.Shared": "Read and write mail you can access",
  "Mail.Send.Shared": "Send mail on behalf of others",
  "MailboxSettings.Read": "Read your mailbox settings",
  "MailboxSettings.ReadWrite": "Read and write to your mailbox settings",
  "Calendars.Read": "Read your calendars",
  "Contacts.Read": "Read your contacts",
};

export interface ParsedScopes {
  /** OIDC scopes requested, lower-case. */
  oidc: Set<string>;
  /** Graph scopes requested, canonical short form ("Mail.Read"). */
  graph: Set<string>;
  /** `https://graph.microsoft.com/.default` was requested. */
  graphDefault: boolean;
}

export type ScopeParseResult = { ok: true; scopes: ParsedScopes } | { ok: false; invalid: string };

const canonicalGraph = new Map(KNOWN_GRAPH_SCOPES.map((s) => [s.toLowerCase(), s]));

export function parseScopes(raw: string): ScopeParseResult {
  const scopes: ParsedScopes = { oidc: new Set(), graph: new Set(), graphDefault: false };
  for (const item of raw.split(/[\s+]+/).filter(Boolean)) {
    const lower = item.toLowerCase();
    if ((OIDC_SCOPES as readonly string[]).includes(lower)) {
      scopes.oidc.add(lower);
      continue;
    }
    let name = item;
    if (lower.startsWith("https://graph.microsoft.com/"))
      name = item.slice("https://graph.microsoft.com/".length);
    else if (lower.startsWith(`${GRAPH_APP_ID}/`)) name = item.slice(GRAPH_APP_ID.length + 1);
    else if (/^[a-z][a-z0-9]*:\/\//i.test(item) || item.includes("/")) return { ok: false, invalid: item };
    if (name === ".default") {
      scopes.graphDefault = true;
      continue;
    }
    const canonical = canonicalGraph.get(name.toLowerCase());
    if (!canonical) return { ok: false, invalid: item };
    scopes.graph.add(canonical);
  }
  // ".default" cannot be combined with individual scopes of the same resource.
  if (scopes.graphDefault && scopes.graph.size > 0)
    return { ok: false, invalid: `${GRAPH_RESOURCE}/.default` };
  return { ok: true, scopes };
}

/** The Graph scopes a request asks for, resolving `.default` to the app's configured permissions. */
export function requestedGraphScopes(parsed: ParsedScopes, app: AppRegistration): string[] {
  if (parsed.graphDefault) return app.permissions.filter((p) => canonicalGraph.has(p.toLowerCase()));
  return [...parsed.graph];
}

/** `scope` of the token response: Graph scopes in URL form, then the OIDC scopes. */
export function formatTokenScope(graph: readonly string[], oidc: ReadonlySet<string>): string {
  const parts = graph.map((s) => `${GRAPH_RESOURCE}/${s}`);
  for (const s of OIDC_SCOPES) if (oidc.has(s) && s !== "offline_access") parts.push(s);
  return parts.join(" ");
}
