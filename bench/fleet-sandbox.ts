// The Microsoft sandbox for the `fleet` scenario, in its own process: creates FLEET_SIZE empty work
// mailboxes through its admin API (`POST /_sandbox/users`) and grants each a refresh token for the
// seeded app (as a completed consent would), written to FLEET_TOKENS_FILE as JSON lines
// {email, access_token, refresh_token}. Prints one JSON line {url} once ready, or {error}.
import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";

const port = Number(process.env.PORT ?? 0);
const baseUrl = process.env.SANDBOX_BASE_URL || undefined;
const size = Number(process.env.FLEET_SIZE ?? 1000);
const file = process.env.FLEET_TOKENS_FILE ?? "";
const GRAPH = ["Mail.ReadWrite", "Mail.Send", "User.Read"];
const DAY = 24 * 3600_000;

try {
  const { startSandbox } = await import("../sandbox/src/server.ts");
  const { SEEDED_APP } = await import("../sandbox/src/seed.ts");
  const sandbox = await startSandbox({ port, host: "127.0.0.1", ...(baseUrl ? { baseUrl } : {}) });
  const { state } = sandbox;
  const out = createWriteStream(file);
  const run = `${Date.now().toString(36)}`;
  let next = 0;
  const worker = async () => {
    while (next < size) {
      const i = next++;
      const email = `fleet${i}.${run}@contoso.onmicrosoft.com`;
      const res = await fetch(`${sandbox.url}/_sandbox/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, display_name: `Fleet ${i}`, kind: "work" }),
      });
      if (res.status >= 300) throw new Error(`user ${email}: ${res.status} ${await res.text()}`);
      const user = state.userByEmail(email);
      if (!user) throw new Error(`user ${email} was not created`);
      const now = state.now();
      // The user's consent to the app, as the sign-in pages record it.
      state.consents.set(`${user.id}|${SEEDED_APP.clientId}`, {
        userId: user.id,
        clientId: SEEDED_APP.clientId,
        scopes: new Set(["openid", "profile", "email", "offline_access", "Mail.Read", ...GRAPH]),
        grantedAt: now,
        revoked: false,
      });
      const access = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fleet-${randomUUID()}.sig`;
      state.accessTokens.set(access, {
        token: access,
        userId: user.id,
        clientId: SEEDED_APP.clientId,
        scopes: GRAPH,
        expiresAt: now + 3600_000,
        revoked: false,
      });
      const refresh = `0.A${100 + (i % 900)}_${randomBytes(72).toString("base64url")}`;
      state.refreshTokens.set(refresh, {
        token: refresh,
        userId: user.id,
        clientId: SEEDED_APP.clientId,
        scopes: ["openid", "profile", "email", "offline_access", "Mail.Read", ...GRAPH],
        issuedAt: now,
        expiresAt: now + 90 * DAY,
        usedAt: null,
        revoked: false,
      });
      out.write(`${JSON.stringify({ email, access_token: access, refresh_token: refresh })}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await new Promise<void>((resolve) => out.end(resolve));
  process.stdout.write(`${JSON.stringify({ url: sandbox.url, users: size })}\n`);
} catch (error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split("\n").slice(0, 6).join("\n") })}\n`);
  process.exit(0);
}
