// The end user's side: provider choice, the hop to Microsoft, and the OAuth callback.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CallbackOutcome, HostedAuthService } from "../../../domain/hosted-auth/hosted-auth.service.ts";
import { callbackPath } from "../../../domain/hosted-auth/hosted-auth.service.ts";
import type { MicrosoftSettingsService } from "../../../domain/settings/microsoft-settings.service.ts";
import type { Logger } from "../../../lib/logger.ts";
import { FAILURE_TITLES, failurePage, providerPage, successPage } from "../../views/hosted-pages.ts";

const COOKIE = "mr_connect";

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .header("x-frame-options", "DENY")
    .header(
      "content-security-policy",
      "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'",
    )
    .type("text/html; charset=utf-8")
    .send(page);
}

export function wizardRoutes(deps: {
  hosted: HostedAuthService;
  settings: MicrosoftSettingsService;
  publicUrl: string;
  log: Logger;
}): FastifyPluginAsync {
  const secureCookie = deps.publicUrl.startsWith("https:");
  const productName = async () =>
    (await deps.settings.get())?.displayName ?? new URL(deps.publicUrl).hostname;

  // The product name (a settings read) is fetched only for a page; a redirect needs none.
  async function renderOutcome(reply: FastifyReply, outcome: CallbackOutcome): Promise<FastifyReply> {
    if (outcome.kind === "success") {
      // Unipile shows its success screen, then continues to success_redirect_url;
      // bypass_success_screen goes there straight away.
      const continueUrl = outcome.link.success_redirect_url ?? undefined;
      if (continueUrl && outcome.link.bypass_success_screen) return reply.redirect(continueUrl, 302);
      return sendPage(
        reply,
        200,
        successPage({
          product: await productName(),
          email: outcome.account.email,
          reconnected: outcome.status === "RECONNECTED",
          continueUrl,
        }),
      );
    }
    if (outcome.link?.failure_redirect_url) {
      const url = new URL(outcome.link.failure_redirect_url);
      url.searchParams.set("reason", outcome.reason);
      if (outcome.accountId) url.searchParams.set("account_id", outcome.accountId);
      return reply.redirect(url.toString(), 302);
    }
    return sendPage(
      reply,
      outcome.reason === "invalid_state" || outcome.reason.endsWith("_link") ? 410 : 400,
      failurePage({
        product: await productName(),
        title: FAILURE_TITLES[outcome.reason] ?? "Connection failed",
        message: outcome.message,
        reason: outcome.reason,
        adminConsentUrl: outcome.adminConsentUrl,
      }),
    );
  }

  return async (app) => {
    app.get<{ Params: { token: string } }>(
      "/hosted/connect/:token",
      { config: { public: true } },
      async (request, reply) => {
        const opened = await deps.hosted.openLink(request.params.token);
        if ("failure" in opened) return renderOutcome(reply, opened.failure);
        const reconnectEmail =
          opened.link.type === "reconnect" ? await deps.hosted.reconnectEmail(opened.link) : undefined;
        return sendPage(
          reply,
          200,
          providerPage({
            product: await productName(),
            actionUrl: `/hosted/connect/${encodeURIComponent(request.params.token)}`,
            reconnectEmail,
          }),
        );
      },
    );

    app.post<{ Params: { token: string } }>(
      "/hosted/connect/:token",
      { config: { public: true } },
      async (request, reply) => {
        const opened = await deps.hosted.openLink(request.params.token);
        if ("failure" in opened) return renderOutcome(reply, opened.failure);
        let started: Awaited<ReturnType<HostedAuthService["startMicrosoft"]>>;
        try {
          started = await deps.hosted.startMicrosoft(opened.link);
        } catch (error) {
          deps.log.error(
            { err: error },
            "Cannot start a Microsoft sign-in: configure the app in Settings → Microsoft OAuth.",
          );
          return renderOutcome(reply, {
            kind: "failure",
            reason: "app_misconfigured",
            link: opened.link,
            message: "This service is not set up to connect Microsoft accounts yet.",
          });
        }
        reply.header(
          "set-cookie",
          `${COOKIE}=${started.attemptId}; Path=/api/v1/hosted; HttpOnly; SameSite=Lax; Max-Age=1800${secureCookie ? "; Secure" : ""}`,
        );
        return reply.redirect(started.authorizeUrl, 303);
      },
    );

    const callback = async (
      request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>,
      reply: FastifyReply,
    ) => {
      const outcome = await deps.hosted.handleCallback(request.query, readCookie(request, COOKIE));
      reply.header(
        "set-cookie",
        `${COOKIE}=; Path=/api/v1/hosted; HttpOnly; SameSite=Lax; Max-Age=0${secureCookie ? "; Secure" : ""}`,
      );
      return renderOutcome(reply, outcome);
    };
    app.get(callbackPath(), { config: { public: true } }, callback);
    app.get(`${callbackPath()}/:port`, { config: { public: true } }, callback);
  };
}
