import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  httpRequests: Histogram<"method" | "route" | "status">;
  ready: Gauge;
  jobs: Counter<"kind" | "outcome">;
  tokenRefreshes: Counter<"outcome">;
  /** Days until the Microsoft client secret expires (negative once expired); absent while unknown. */
  secretExpiryDays: Gauge;
  /** 1 while Microsoft rejects the app's credentials (wrong, expired secret, unknown app). */
  appProblem: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mailroom_" });
  return {
    registry,
    httpRequests: new Histogram({
      name: "mailroom_http_request_duration_seconds",
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    ready: new Gauge({
      name: "mailroom_ready",
      help: "1 when the database answers, 0 otherwise",
      registers: [registry],
    }),
    jobs: new Counter({
      name: "mailroom_jobs_total",
      help: "Background jobs finished, by kind and outcome (completed, retried, snoozed, dead)",
      labelNames: ["kind", "outcome"],
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: "mailroom_token_refreshes_total",
      help: "Token refreshes sent to Microsoft, by outcome (ok, reauth_required, app_misconfigured, unavailable)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    secretExpiryDays: new Gauge({
      name: "mailroom_microsoft_secret_expiry_days",
      help: "Days until the Microsoft client secret expires, as entered in the settings (alert below 30)",
      registers: [registry],
    }),
    appProblem: new Gauge({
      name: "mailroom_microsoft_app_problem",
      help: "1 while Microsoft rejects the app's credentials (wrong or expired secret, unknown app)",
      registers: [registry],
    }),
  };
}
