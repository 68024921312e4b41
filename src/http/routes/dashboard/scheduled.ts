// The account page's scheduled emails and their cancel button (docs/adr/0011-send-once-and-scheduled.md).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DASHBOARD_ENDPOINTS as API, type ScheduledItem } from "../../../contracts/dashboard/index.ts";
import type { ScheduledEmail } from "../../../domain/scheduled/scheduled-send.service.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

function toItem(view: ScheduledEmail): ScheduledItem {
  return {
    id: view.schedule_id,
    sendAt: Date.parse(view.send_at),
    status: view.status,
    subject: view.subject,
    to: view.to_attendees.map((a) => a.identifier),
    error: view.error ?? null,
    waitingReason: view.waiting_reason ?? null,
    sentAt: view.sent_at !== undefined ? Date.parse(view.sent_at) : null,
  };
}

export function scheduledRoutes({ services }: DashboardDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.route({
      ...routeOf(API["GET /accounts/:id/scheduled"]),
      handler: async (request) => {
        const page = await services.scheduled.list({ account_id: request.params.id, limit: 100 });
        return { items: page.items.map(toItem) };
      },
    });
    app.route({
      ...routeOf(API["DELETE /scheduled/:id"]),
      handler: async (request) => toItem(await services.scheduled.cancel(request.params.id)),
    });
  };
}
