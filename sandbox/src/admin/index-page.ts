// `GET /_sandbox/` (and `/`): a human-readable page of the sandbox's users, apps and tenants.
import type { FastifyInstance, FastifyReply } from "fastify";
import { escapeHtml } from "../identity/pages.ts";
import { SEEDED_APP } from "../seed.ts";
import type { SandboxState } from "../state.ts";

export function registerIndexPage(app: FastifyInstance, state: SandboxState): void {
  app.get("/_sandbox", async (_req, reply: FastifyReply) => reply.redirect("/_sandbox/"));
  // The address the start-up banner prints: someone opening it lands on this page, not a 404.
  app.get("/", async (_req, reply: FastifyReply) => reply.redirect("/_sandbox/"));
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
