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
  /** Rows housekeeping deleted, by step (docs/adr/0006-retention.md). */
  housekeepingDeleted: Counter<"step">;
  /** Rows the last (or running) housekeeping pass has deleted so far, by step: its progress. */
  housekeepingPassDeleted: Gauge<"step">;
  housekeepingLastRun: Gauge<"outcome">;
  /** Polling lag (now − last completed poll) over polled accounts, by stat (p99, max), in seconds. */
  pollingLag: Gauge<"stat">;
  /** The factor every poll interval is stretched by while polling cannot keep up (1 = not stretched). */
  pollingStretch: Gauge;
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
    housekeepingDeleted: new Counter({
      name: "mailroom_housekeeping_deleted_rows_total",
      help: "Rows past their retention deleted by housekeeping, by step (jobs, webhook_events, …)",
      labelNames: ["step"],
      registers: [registry],
    }),
    housekeepingPassDeleted: new Gauge({
      name: "mailroom_housekeeping_pass_deleted_rows",
      help: "Rows deleted so far by the current or last housekeeping pass, by step",
      labelNames: ["step"],
      registers: [registry],
    }),
    housekeepingLastRun: new Gauge({
      name: "mailroom_housekeeping_last_run_timestamp_seconds",
      help: "When the last housekeeping pass ended, by outcome (complete, aborted)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    pollingLag: new Gauge({
      name: "mailroom_polling_lag_seconds",
      help: "Polling lag (now − last completed delta poll) over polled accounts, by stat (p99, max)",
      labelNames: ["stat"],
      registers: [registry],
    }),
    pollingStretch: new Gauge({
      name: "mailroom_polling_interval_stretch",
      help: "Factor every poll interval is stretched by while polling cannot keep up (1 = configured)",
      registers: [registry],
    }),
  };
}
