// The Microsoft sandbox alone, with its default corpus, for the `sandbox` scenario. Prints one JSON
// line on stdout: {"url","token","userId","clientId"} once listening, or {"error"} if it cannot
// start (the sandbox is still being built; the runner then reports the scenario as skipped).
import { randomUUID } from "node:crypto";

const port = Number(process.env.PORT ?? 0);
/** The URL the sandbox puts in issuer and redirect URLs (the email scenarios use http://localhost:PORT). */
const baseUrl = process.env.SANDBOX_BASE_URL || undefined;
const SCOPES = ["Mail.ReadWrite", "Mail.Send", "User.Read"];
const TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;

function fail(error: unknown): never {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split("\n").slice(0, 6).join("\n") })}\n`);
  process.exit(0);
}

let sandbox: { url: string; close(): Promise<void>; state: import("../sandbox/src/state.ts").SandboxState };
try {
  const { startSandbox } = await import("../sandbox/src/server.ts");
  sandbox = await startSandbox({
    port,
    host: "127.0.0.1",
    ...(baseUrl ? { baseUrl } : {}),
    // Graph notifications to Mailroom's http URL (the webhooks scenario's subscription path).
    ...(process.env.SANDBOX_ALLOW_HTTP_NOTIFICATIONS === "on" ? { allowHttpNotifications: true } : {}),
  });
} catch (error) {
  fail(error);
}

const { state } = sandbox;
// The first work user with a mailbox holds the seeded corpus.
const user = [...state.users.values()].find((u) => u.kind === "work" && u.hasMailbox && !u.disabled);
const app = [...state.apps.values()][0];
if (!user || !app)
  fail(
    new Error(
      `no work user or app in the seeded sandbox (users ${state.users.size}, apps ${state.apps.size})`,
    ),
  );

// Work-account Graph tokens are JWTs: the sandbox tells "no dots" apart from an unknown token.
const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.bench-${randomUUID()}.sig`;
state.accessTokens.set(token, {
  token,
  userId: user.id,
  clientId: app.clientId,
  scopes: SCOPES,
  expiresAt: state.now() + TOKEN_LIFETIME_MS,
  revoked: false,
});
process.stdout.write(
  `${JSON.stringify({ url: sandbox.url, token, userId: user.id, email: user.email, clientId: app.clientId })}\n`,
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    sandbox.close().then(() => process.exit(0));
  });
}
