// `/_sandbox/stats`: request, throttling and token counters, and their reset.
import type { FastifyInstance } from "fastify";
import type { SandboxState } from "../state.ts";

function mapToObject(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries(map);
}

export function registerStatsRoutes(app: FastifyInstance, state: SandboxState): void {
  app.get("/_sandbox/stats", async () => ({
    requests: mapToObject(state.counters.requests),
    peak_concurrency: mapToObject(state.counters.peakConcurrency),
    in_flight: mapToObject(state.counters.inFlight),
    throttled: mapToObject(state.counters.throttled),
    token_grants: state.counters.tokenGrants,
    token_refreshes: state.counters.tokenRefreshes,
    token_errors: mapToObject(state.counters.tokenErrors),
  }));

  app.post("/_sandbox/stats/reset", async () => {
    const c = state.counters;
    c.requests.clear();
    c.throttled.clear();
    c.tokenErrors.clear();
    c.tokenGrants = 0;
    c.tokenRefreshes = 0;
    // Requests still running keep their in-flight count; peaks restart from it.
    c.peakConcurrency.clear();
    for (const [key, n] of c.inFlight) if (n > 0) c.peakConcurrency.set(key, n);
    return { ok: true };
  });
}
