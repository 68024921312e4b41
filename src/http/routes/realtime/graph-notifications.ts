import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import {
  LIFECYCLE_PATH,
  NOTIFICATION_PATH,
  type RealtimeService,
} from "../../../domain/realtime/realtime.service.ts";

/**
 * Where Microsoft Graph posts change and lifecycle notifications (reference §4.2–4.5). Public: Graph
 * sends no API key; each item is trusted only when its clientState matches its subscription's.
 * - `?validationToken=…`: echo the decoded token as text/plain within 10 s (the handshake).
 * - Otherwise accept with 202 as soon as the work is queued (Graph's budget is 3 s); a failure to
 *   queue is a 5xx, so Graph retries.
 */
export function graphNotificationRoutes(realtime: RealtimeService): FastifyPluginAsync {
  return async (app) => {
    const handshake = (request: FastifyRequest, reply: FastifyReply): boolean => {
      const token = (request.query as { validationToken?: unknown }).validationToken;
      if (typeof token !== "string") return false;
      // Sent back as plain text, never HTML (the token is attacker-controllable).
      void reply
        .code(200)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-content-type-options", "nosniff")
        .send(token);
      return true;
    };
    const body = (request: FastifyRequest): unknown => {
      if (typeof request.body !== "string") return request.body;
      try {
        return JSON.parse(request.body);
      } catch {
        return undefined;
      }
    };

    app.post(NOTIFICATION_PATH, { config: { public: true } }, async (request, reply) => {
      if (handshake(request, reply)) return reply;
      await realtime.acceptNotifications(body(request));
      return reply.code(202).send();
    });

    app.post(LIFECYCLE_PATH, { config: { public: true } }, async (request, reply) => {
      if (handshake(request, reply)) return reply;
      await realtime.acceptLifecycle(body(request));
      return reply.code(202).send();
    });
  };
}
