// Settings → Microsoft OAuth and the publisher-verification self-check.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import {
  DASHBOARD_ENDPOINTS as API,
  type MicrosoftSettingsResponse,
  type PublisherCheckResponse,
} from "../../../contracts/dashboard/index.ts";
import { delegatedPermissions } from "../../../domain/settings/microsoft-settings.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

export const REQUESTED_SCOPES = ["offline_access", "openid", "profile", "email", "User.Read"];
const AUDIENCE_LABEL = "Accounts in any organizational directory and personal Microsoft accounts";
const PUBLISHER_PATH = "/.well-known/microsoft-identity-association.json";

export function publisherJson(clientId: string): string {
  return JSON.stringify({ associatedApplications: [{ applicationId: clientId }] });
}

export function settingsRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { services } = deps;
  const publicUrl = services.config.publicUrl;
  const fetchImpl = deps.fetch ?? fetch;

  async function describe(): Promise<MicrosoftSettingsResponse> {
    const settings = await services.microsoftSettings.get();
    return {
      settings: settings
        ? {
            clientId: settings.clientId,
            displayName: settings.displayName,
            audience: settings.audience,
            sharedMailboxes: settings.sharedMailboxes,
            secretExpiresAt: settings.secretExpiresAt,
            hasSecret: settings.hasSecret,
            check: settings.check,
            appProblem: settings.appProblem,
            updatedAt: settings.updatedAt,
          }
        : null,
      redirectUris: services.hostedAuth.redirectUris(),
      audienceLabel: AUDIENCE_LABEL,
      delegatedPermissions: delegatedPermissions(settings?.sharedMailboxes === true),
      requestedScopes: REQUESTED_SCOPES,
      expiryWarning: await services.microsoftSettings.secretExpiryWarning(),
      publisher: {
        url: `${publicUrl}${PUBLISHER_PATH}`,
        json: settings ? publisherJson(settings.clientId) : null,
      },
    };
  }

  return async (app) => {
    app.route({ ...routeOf(API["GET /settings/microsoft"]), handler: describe });

    app.route({
      ...routeOf(API["PUT /settings/microsoft"]),
      handler: async (request) => {
        const { clientId, clientSecret, secretExpiresOn, displayName, sharedMailboxes } = request.body;
        let secretExpiresAt: number | null | undefined;
        if (secretExpiresOn === null || secretExpiresOn === "") secretExpiresAt = null;
        else if (secretExpiresOn !== undefined) {
          secretExpiresAt = Date.parse(`${secretExpiresOn}T23:59:59Z`);
          if (!/^\d{4}-\d{2}-\d{2}$/.test(secretExpiresOn) || Number.isNaN(secretExpiresAt))
            throw new AppError("invalid_parameters", {
              detail: "secretExpiresOn: enter the date Azure shows in the Expires column, like 2027-06-30.",
            });
        }
        if (!clientSecret?.trim() && !(await services.microsoftSettings.get())?.hasSecret)
          throw new AppError("invalid_parameters", {
            detail: "clientSecret: paste the client secret's Value from Azure → Certificates & secrets.",
          });
        await services.microsoftSettings.save({
          clientId,
          clientSecret: clientSecret?.trim() ? clientSecret : undefined,
          secretExpiresAt,
          displayName,
          sharedMailboxes,
        });
        return describe();
      },
    });

    /** Fetches the publisher file the way Microsoft does: over PUBLIC_URL, no redirects followed. */
    app.route({
      ...routeOf(API["POST /settings/microsoft/publisher-check"]),
      handler: async (): Promise<PublisherCheckResponse> => {
        const url = `${publicUrl}${PUBLISHER_PATH}`;
        const settings = await services.microsoftSettings.get();
        const checks: PublisherCheckResponse["checks"] = [];
        checks.push({
          name: "Served over https",
          passed: url.startsWith("https://"),
          detail: url.startsWith("https://")
            ? "PUBLIC_URL is https."
            : "Microsoft fetches this file over https only. Set PUBLIC_URL to your verified https domain (e.g. https://mail.example.com).",
        });
        try {
          const res = await fetchImpl(url, { redirect: "manual", signal: AbortSignal.timeout(5000) });
          const body = await res.text();
          const redirected = res.status >= 300 && res.status < 400;
          checks.push({
            name: "Answers 200 without a redirect",
            passed: res.status === 200,
            detail: redirected
              ? `It redirects (${res.status}); Microsoft does not follow redirects. Serve it directly at ${url}.`
              : `HTTP ${res.status}.`,
          });
          const type = res.headers.get("content-type") ?? "";
          checks.push({
            name: "Content-Type application/json",
            passed: type.startsWith("application/json"),
            detail: type ? `Content-Type: ${type}.` : "No Content-Type header.",
          });
          const expected = settings ? publisherJson(settings.clientId) : null;
          checks.push({
            name: "Names this application",
            passed: expected !== null && body.trim() === expected,
            detail:
              expected === null
                ? "Save the Application (client) ID first."
                : body.trim() === expected
                  ? "The JSON matches the saved Application (client) ID."
                  : "The JSON served differs from the saved Application (client) ID; a proxy may be rewriting it.",
          });
        } catch (error) {
          checks.push({
            name: "Reachable at PUBLIC_URL",
            passed: false,
            detail: `Mailroom could not fetch ${url} (${(error as Error).message}). Check that PUBLIC_URL reaches this server.`,
          });
        }
        return { url, ok: checks.every((c) => c.passed), checks };
      },
    });
  };
}
