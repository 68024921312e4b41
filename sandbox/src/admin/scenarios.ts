// `POST /_sandbox/scenarios`: the switches that make the world misbehave the way Microsoft does —
// revoked consent, changed passwords, expired tokens and secrets, disabled users, throttling,
// failures, latency and subscription lifecycle events.
import type { FastifyInstance } from "fastify";
import { resetRequestWindows } from "../graph/throttling.ts";
import type { FaultSwitches, SandboxState, SandboxUser } from "../state.ts";
import { isLifecycleEvent, LIFECYCLE_EVENTS } from "../subscriptions/engine.ts";
import { subscriptionEngineOf } from "../subscriptions/routes.ts";
import { appJson } from "./apps.ts";
import { asBody, bad, findApp, findUser, optBool, optNumber, optString } from "./input.ts";
import { userJson } from "./users.ts";

const SCENARIO_ACTIONS = [
  "revoke_consent",
  "change_password",
  "expire_refresh_tokens",
  "revoke_tokens",
  "expire_secret",
  "disable_user",
  "throttle",
  "fail",
  "latency",
  "send_answer_delay",
  "clear_faults",
  "reset_request_windows",
  "subscription_lifecycle",
] as const;

export function registerScenarioRoutes(app: FastifyInstance, state: SandboxState): void {
  app.post("/_sandbox/scenarios", async (req) => {
    const body = asBody(req.body);
    const action = optString(body, "action");
    if (!action) bad("'action' is required.");
    const now = state.now();
    const userRef = optString(body, "user");
    const clientId = optString(body, "client_id");

    const matches = (rec: { userId: string; clientId: string }, user?: SandboxUser) =>
      (!user || rec.userId === user.id) && (!clientId || rec.clientId === clientId);

    switch (action) {
      case "revoke_consent": {
        const reg = findApp(state, clientId);
        if (userRef) {
          const user = findUser(state, userRef);
          const consent = state.consents.get(`${user.id}|${reg.clientId}`);
          if (consent) consent.revoked = true;
        }
        const tenantRef = optString(body, "tenant_id");
        if (tenantRef || !userRef) {
          for (const t of state.tenants.values()) {
            if (!tenantRef || t.id === tenantRef || t.domain === tenantRef)
              t.adminConsentedApps.delete(reg.clientId);
          }
          if (!userRef) {
            for (const c of state.consents.values()) if (c.clientId === reg.clientId) c.revoked = true;
          }
        }
        return { ok: true, action };
      }
      case "change_password": {
        // Models an admin password reset, which revokes refresh tokens (AADSTS50173 on refresh).
        const user = findUser(state, userRef);
        const password =
          optString(body, "password") ?? `${user.password.replace(/\d+$/, "")}${Math.floor(now % 100000)}`;
        user.password = password;
        user.passwordChangedAt = now;
        return { ok: true, action, user: userJson(user) };
      }
      case "expire_refresh_tokens": {
        const user = userRef ? findUser(state, userRef) : undefined;
        let count = 0;
        for (const rt of state.refreshTokens.values()) {
          if (matches(rt, user) && rt.expiresAt > now) {
            rt.expiresAt = now;
            count++;
          }
        }
        return { ok: true, action, refresh_tokens: count };
      }
      case "revoke_tokens": {
        const user = userRef ? findUser(state, userRef) : undefined;
        let refreshCount = 0;
        let accessCount = 0;
        for (const rt of state.refreshTokens.values()) {
          if (matches(rt, user) && !rt.revoked) {
            rt.revoked = true;
            refreshCount++;
          }
        }
        for (const at of state.accessTokens.values()) {
          if (matches(at, user) && !at.revoked) {
            at.revoked = true;
            accessCount++;
          }
        }
        return { ok: true, action, refresh_tokens: refreshCount, access_tokens: accessCount };
      }
      case "expire_secret": {
        const reg = findApp(state, clientId);
        const secretId = optString(body, "secret_id");
        for (const s of reg.secrets)
          if (!secretId || s.id === secretId) s.expiresAt = Math.min(s.expiresAt, now);
        return { ok: true, action, app: appJson(reg) };
      }
      case "disable_user": {
        const user = findUser(state, userRef);
        user.disabled = optBool(body, "disabled") ?? true;
        return { ok: true, action, user: userJson(user) };
      }
      case "reset_request_windows": {
        // Not a Microsoft behaviour: lets a load test start every run with empty 10-minute windows.
        const user = userRef ? findUser(state, userRef) : undefined;
        if (clientId) findApp(state, clientId);
        const reset = resetRequestWindows(state, (key) => {
          const [keyClient, keyUser] = key.split("|");
          return (!user || keyUser === user.id) && (!clientId || keyClient === clientId);
        });
        return { ok: true, action, reset };
      }
      case "throttle":
      case "fail":
      case "latency":
      case "send_answer_delay":
      case "clear_faults": {
        const user = userRef ? findUser(state, userRef) : undefined;
        if (clientId) findApp(state, clientId);
        // One scope per switch: a user (any app), an app (any user), or that user through that app.
        const [map, key] =
          user && clientId
            ? [state.pairFaults, `${clientId}|${user.id}`]
            : user
              ? [state.userFaults, user.id]
              : clientId
                ? [state.appFaults, clientId]
                : [null, ""];
        if (action === "clear_faults") {
          if (!map) {
            state.userFaults.clear();
            state.appFaults.clear();
            state.pairFaults.clear();
            return { ok: true, action };
          }
          map.delete(key);
          // Clearing a user (or an app) also clears its per-pair switches.
          if (map !== state.pairFaults) {
            for (const pair of [...state.pairFaults.keys()]) {
              const [pairClient, pairUser] = pair.split("|");
              if (pairUser === user?.id || pairClient === clientId) state.pairFaults.delete(pair);
            }
          }
          return { ok: true, action };
        }
        if (!map) bad("'user' or 'client_id' is required for this action.");
        let patch: FaultSwitches;
        if (action === "throttle") {
          const count = optNumber(body, "count") ?? 1;
          const retryAfter = optNumber(body, "retry_after") ?? 1;
          if (count < 1 || retryAfter < 0) bad("'count' must be ≥ 1 and 'retry_after' ≥ 0.");
          patch = { throttleNext: { count: Math.floor(count), retryAfterSeconds: retryAfter } };
        } else if (action === "fail") {
          const count = optNumber(body, "count") ?? 1;
          const status = optNumber(body, "status") ?? 503;
          if (status !== 500 && status !== 502 && status !== 503 && status !== 504) {
            bad("'status' must be 500, 502, 503 or 504.");
          }
          if (count < 1) bad("'count' must be ≥ 1.");
          patch = { failNext: { count: Math.floor(count), status } };
        } else {
          const ms = optNumber(body, "ms");
          if (ms === undefined || ms < 0) bad("'ms' (≥ 0) is required.");
          patch = action === "latency" ? { latencyMs: ms } : { sendAnswerDelayMs: ms };
        }
        map.set(key, { ...(map.get(key) ?? {}), ...patch });
        return { ok: true, action };
      }
      case "subscription_lifecycle": {
        const event = optString(body, "event");
        if (!isLifecycleEvent(event)) bad(`'event' must be one of ${LIFECYCLE_EVENTS.join(", ")}.`);
        const engine = subscriptionEngineOf(state);
        if (!engine) bad("Change notifications are not enabled in this sandbox.");
        const user = userRef ? findUser(state, userRef) : undefined;
        if (clientId) findApp(state, clientId);
        const subscriptionId = optString(body, "subscription_id");
        if (subscriptionId && !engine.get(subscriptionId)) bad(`Unknown subscription '${subscriptionId}'.`);
        const matched = engine.fireLifecycle(event, {
          ...(subscriptionId ? { subscriptionId } : {}),
          ...(user ? { userId: user.id } : {}),
          ...(clientId ? { clientId } : {}),
        });
        return {
          ok: true,
          action,
          event,
          subscriptions: matched.map((s) => ({
            id: s.id,
            notified: s.lifecycleNotificationUrl !== null,
          })),
        };
      }
      default:
        // A typo must not look like a scenario that ran.
        return bad(`Unknown action '${action}'. Known actions: ${SCENARIO_ACTIONS.join(", ")}.`);
    }
  });
}
