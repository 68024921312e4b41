// The sandbox's own control API under /_sandbox/: users, app registrations, scenario switches
// and counters. Not part of Microsoft's surface; tests and developers drive the world with it.
import type { FastifyInstance } from "fastify";
import type { SandboxState } from "../state.ts";
import { registerAppRoutes } from "./apps.ts";
import { registerIndexPage } from "./index-page.ts";
import { BadInput } from "./input.ts";
import { registerMailboxPermissionRoutes } from "./mailbox-permissions.ts";
import { registerScenarioRoutes } from "./scenarios.ts";
import { registerStatsRoutes } from "./stats.ts";
import { registerUserRoutes } from "./users.ts";

export { userJson } from "./users.ts";

export async function registerAdminRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((error, _req, reply) => {
      if (error instanceof BadInput)
        return reply.code(400).send({ error: "invalid_request", message: error.message });
      const err = error as { statusCode?: number; message?: string };
      const status = err.statusCode ?? 500;
      return reply
        .code(status)
        .send({ error: status >= 500 ? "server_error" : "invalid_request", message: err.message ?? "" });
    });
    registerUserRoutes(scope, state);
    registerAppRoutes(scope, state);
    registerMailboxPermissionRoutes(scope, state);
    registerScenarioRoutes(scope, state);
    registerStatsRoutes(scope, state);
    registerIndexPage(scope, state);
  });
}
