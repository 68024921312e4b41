// The subscription engine's place in the sandbox: created per sandbox, closed with it, and the
// test-only GET /_sandbox/subscriptions. The Graph endpoints (/v1.0/subscriptions…) are handlers of
// the Graph pipeline (handlers.ts), so faults, throttling and `$batch` treat them like mail requests.
import type { FastifyInstance } from "fastify";
import type { SandboxState } from "../state.ts";
import { SubscriptionEngine } from "./engine.ts";
import { attachSubscriptionEngine, subscriptionView } from "./handlers.ts";

export { subscriptionEngineOf } from "./handlers.ts";

export async function registerSubscriptionRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  const engine = new SubscriptionEngine(state);
  attachSubscriptionEngine(state, engine);
  app.addHook("onClose", async () => engine.close());

  app.get("/_sandbox/subscriptions", async (_request, reply) => {
    return reply.send({
      subscriptions: engine.active().map((s) => ({
        ...subscriptionView(state, s),
        userId: s.userId,
        tenantId: s.tenantId,
        reauthorizationSent: s.reauthorizationSent,
      })),
      deliveries: engine.attempts.slice(-200),
    });
  });
}
