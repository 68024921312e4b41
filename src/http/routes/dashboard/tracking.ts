// The account page's tracked mail: recent sends with tracking_options, their counts and latest events.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DASHBOARD_ENDPOINTS as API, type TrackedMailResponse } from "../../../contracts/dashboard/index.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

const MAIL_LIMIT = 20;
const EVENTS_PER_MAIL = 5;

export function trackingRoutes({ services }: DashboardDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOf(API["GET /accounts/:id/tracking"]),
      handler: async (request): Promise<TrackedMailResponse> => {
        const views = await services.tracking.recentOfAccount(request.params.id, MAIL_LIMIT, EVENTS_PER_MAIL);
        return {
          mail: views.map(({ row, events }) => ({
            trackingId: row.tracking_id,
            emailId: row.email_id,
            subject: row.subject,
            recipient: row.recipient,
            label: row.label,
            customDomain: row.custom_domain,
            sentAt: row.sent_at,
            opensTracked: row.opens === 1,
            linksTracked: row.links === 1,
            openCount: row.open_count,
            clickCount: row.click_count,
            prefetchCount: row.prefetch_count,
            firstOpenAt: row.first_open_at,
            lastEventAt: row.last_event_at,
            events: events.map((e) => ({
              type: e.type,
              at: e.occurred_at,
              url: e.url,
              userAgent: e.user_agent,
              isPrefetch: e.is_prefetch === 1,
              prefetchReason: e.prefetch_reason,
            })),
          })),
        };
      },
    });
  };
}
