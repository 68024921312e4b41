// Accounts for the operator: list and search, connect and reconnect links, the account page, delete.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import {
  ACCOUNTS_PAGE_SIZE,
  type AccountDetailResponse,
  type AccountEvent,
  type AccountItem,
  type AccountStatus,
  DASHBOARD_ENDPOINTS as API,
} from "../../../contracts/dashboard/index.ts";
import { AppError } from "../../../lib/errors.ts";
import type { AccountRow } from "../../../storage/repositories/account.repository.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

/** Links made from the dashboard are meant to be opened now. */
const LINK_TTL_MS = 24 * 3600_000;
const EVENT_LIMIT = 50;

const STATUS_TEXT: Record<string, string> = {
  OK: "Account usable (OK).",
  CREATION_SUCCESS: "Account connected (CREATION_SUCCESS).",
  RECONNECTED: "Account reconnected (RECONNECTED).",
  CREDENTIALS: "The mailbox must sign in again (CREDENTIALS)",
  DELETED: "Account deleted (DELETED).",
};

/** One webhook event as a line of the account's history. */
function describeEvent(e: {
  id: string;
  type: string;
  name: string;
  payload: Record<string, unknown>;
  at: number;
}): AccountEvent {
  const p = e.payload;
  if (e.type === "account_status") {
    const status = (p.AccountStatus ?? {}) as { message?: string; reason?: string };
    const message = status.message ?? "";
    const base = STATUS_TEXT[message] ?? `Account status ${message}.`;
    return {
      at: e.at,
      kind: e.name,
      detail: status.reason ? `${base.replace(/\.$/, "")}: ${status.reason.replaceAll("_", " ")}.` : base,
    };
  }
  if (e.type === "mail_opened" || e.type === "mail_link_clicked") {
    const what = e.type === "mail_opened" ? "Tracked mail opened" : `Tracked link clicked: ${String(p.url)}`;
    const machine =
      p.is_prefetch === true ? ` (machine: ${String(p.prefetch_reason).replaceAll("_", " ")})` : "";
    return { at: e.at, kind: e.name, detail: `${what}${machine}.` };
  }
  const subject = typeof p.subject === "string" && p.subject ? `“${p.subject}”` : "(no subject)";
  const from = (p.from_attendee as { identifier?: string } | undefined)?.identifier;
  const folders = Array.isArray(p.folders) ? (p.folders as unknown[]).join(", ") : "";
  const detail =
    e.type === "mail_received"
      ? `Mail received: ${subject}${from ? ` from ${from}` : ""}.`
      : e.type === "mail_sent"
        ? `Mail sent: ${subject}.`
        : e.type === "mail_moved"
          ? `Mail moved: ${subject}${folders ? ` to ${folders}` : ""}.`
          : `${e.type}: ${subject}.`;
  return { at: e.at, kind: e.name, detail };
}

function toItem(row: AccountRow, delegates: ReadonlyMap<string, string>): AccountItem {
  const through = row.delegate_account_id;
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    status: row.status as AccountStatus,
    statusReason: row.status_reason,
    tenantId: row.tenant_id,
    reachedThrough: through ? { accountId: through, email: delegates.get(through) ?? "" } : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function accountsRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { services, admins } = deps;
  const publicUrl = services.config.publicUrl;

  const notFound = (id: string) =>
    new AppError("resource_not_found", {
      detail: `Account ${id} does not exist (it may have been deleted). Go back to Accounts.`,
    });

  /** Addresses of the accounts these shared mailboxes are reached through. */
  function delegatesOf(rows: AccountRow[]): Promise<Map<string, string>> {
    const ids = rows.flatMap((row) => (row.delegate_account_id ? [row.delegate_account_id] : []));
    return services.repos.accounts.emailsByIds([...new Set(ids)]);
  }

  async function findOrThrow(id: string): Promise<AccountRow> {
    const row = await services.accounts.find(id);
    if (!row) throw notFound(id);
    return row;
  }

  return async (app) => {
    app.route({
      ...routeOf(API["GET /accounts"]),
      handler: async (request) => {
        const { q = "", cursor, limit = ACCOUNTS_PAGE_SIZE } = request.query;
        const page = await admins.accountsPage(q, limit, cursor);
        const delegates = await delegatesOf(page.accounts);
        return {
          accounts: page.accounts.map((row) => toItem(row, delegates)),
          nextCursor: page.nextCursor,
          truncated: page.nextCursor !== null,
        };
      },
    });

    app.route({
      ...routeOf(API["GET /accounts/:id"]),
      handler: async (request): Promise<AccountDetailResponse> => {
        const row = await findOrThrow(request.params.id);
        const account = {
          ...toItem(row, await delegatesOf([row])),
          lastRefreshedAt: row.last_refreshed_at,
          accessTokenExpiresAt: row.access_token_expires_at,
          refreshFailures: row.refresh_failures,
          refreshRetryAt: row.refresh_retry_at,
          scopes: row.scopes,
        };
        const links = await admins.linksOfAccount(row.id);
        const callbacks = await services.notifyLog.ofLinks(links);
        const published = await services.webhooks.eventsOfAccount(row.id, EVENT_LIMIT);
        if (published.length > 0)
          return {
            account,
            callbacks,
            events: published.map(describeEvent),
            eventsSource: `The account's newest events (up to ${EVENT_LIMIT}), as Mailroom published them to webhooks.`,
          };
        const events: AccountEvent[] = [];
        for (const link of links) {
          const verb = link.type === "reconnect" ? "Reconnect" : "Connect";
          if (link.used_at !== null)
            events.push({
              at: link.used_at,
              kind: link.type === "reconnect" ? "reconnected" : "connected",
              detail: `${verb} link used: the mailbox signed in through the hosted wizard${link.name ? ` (name "${link.name}")` : ""}.`,
            });
          else
            events.push({
              at: link.created_at,
              kind: "link_created",
              detail: `${verb} link created, not used yet (expires ${new Date(link.expires_at).toISOString()}).`,
            });
        }
        if (!events.some((e) => e.kind === "connected"))
          events.push({ at: row.created_at, kind: "connected", detail: "Account created." });
        if (row.last_refreshed_at)
          events.push({
            at: row.last_refreshed_at,
            kind: "tokens_refreshed",
            detail: "Access token refreshed.",
          });
        if (row.refresh_failures)
          events.push({
            at: row.updated_at,
            kind: "refresh_failed",
            detail: `Token refresh failed ${row.refresh_failures} time(s) in a row${row.refresh_retry_at ? `; next try ${new Date(row.refresh_retry_at).toISOString()}` : ""}.`,
          });
        if (row.status !== "OK")
          events.push({
            at: row.updated_at,
            kind: "status",
            detail: `Status ${row.status}${row.status_reason ? ` (${row.status_reason})` : ""}${row.status === "CREDENTIALS" ? ": the mailbox must sign in again through a reconnect link." : "."}`,
          });
        events.sort((a, b) => b.at - a.at);
        return {
          account,
          callbacks,
          events,
          eventsSource:
            "No webhook events for this account yet: built from its connection links and token state.",
        };
      },
    });

    app.route({
      ...routeOf(API["POST /accounts/link"]),
      handler: async (request) => {
        const name = request.body.name?.trim();
        const link = await services.hostedAuth.createLink({
          type: "create",
          providers: "*",
          expiresOn: new Date(services.clock.now() + LINK_TTL_MS).toISOString(),
          name: name || undefined,
          successRedirectUrl: `${publicUrl}/accounts?connected=1`,
        });
        return { url: link.url, expiresAt: link.expiresAt };
      },
    });

    app.route({
      ...routeOf(API["POST /accounts/:id/reconnect-link"]),
      handler: async (request) => {
        const row = await findOrThrow(request.params.id);
        const link = await services.hostedAuth.createLink({
          type: "reconnect",
          providers: "*",
          reconnectAccount: row.id,
          expiresOn: new Date(services.clock.now() + LINK_TTL_MS).toISOString(),
          successRedirectUrl: `${publicUrl}/accounts/${row.id}?reconnected=1`,
        });
        return { url: link.url, expiresAt: link.expiresAt };
      },
    });

    app.route({
      ...routeOf(API["DELETE /accounts/:id"]),
      handler: async (request) => {
        const row = await services.accounts.delete(request.params.id, "dashboard");
        if (!row) throw notFound(request.params.id);
        return { deleted: true as const };
      },
    });
  };
}
