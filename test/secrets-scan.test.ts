// Every secret Mailroom handles in its real flows — Microsoft's access and refresh tokens, the client
// secret, API keys, a webhook's signing secret, the notify_url callback secret, the dashboard's
// session cookie and setup token, a hosted link's token — is looked for, in plain text, in every
// debug-level log line and in the stored data: the raw SQLite files, and every text, JSON and bytea
// column of every PostgreSQL table. secrets-at-rest.test.ts covers the encryption itself.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { InjectOptions } from "fastify";
import pg from "pg";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";

const API = "/dashboard/api";
const ADMIN_PASSWORD = "secrets-scan admin password 1";
/** Stored in plain text on purpose: finding it proves the scan reads the data it claims to. */
const CONTROL = new Map([["account email", "megan.bowen@contoso.onmicrosoft.com"]]);

/** Drives the flows that handle secrets and returns every secret seen, by name. */
async function driveSecretFlows(h: ConnectHarness, receiverUrl: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const inject = (options: InjectOptions) => h.app.inject(options);

  // Dashboard: first admin through the setup link, then a fresh sign-in.
  const setup = await h.services.admins.createLink();
  const setupToken = new URL(setup.url).searchParams.get("token")!;
  seen.set("dashboard setup token", setupToken);
  const created = await inject({
    method: "POST",
    url: `${API}/setup`,
    payload: { token: setupToken, email: "ops@example.com", password: ADMIN_PASSWORD },
    headers: { "x-mailroom-csrf": "1" },
  });
  assert.equal(created.statusCode, 200, created.body);
  seen.set("admin password", ADMIN_PASSWORD);
  const signedIn = await inject({
    method: "POST",
    url: `${API}/sign-in`,
    payload: { email: "ops@example.com", password: ADMIN_PASSWORD },
    headers: { "x-mailroom-csrf": "1" },
  });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const sessionToken = /mailroom_session=([^;]+)/.exec(String(signedIn.headers["set-cookie"]))![1]!;
  seen.set("session cookie", sessionToken);
  const cookie = `mailroom_session=${sessionToken}`;
  const csrf = (await inject({ url: `${API}/session`, headers: { cookie } })).json().csrfToken as string;
  const authed = (method: "POST" | "PUT", url: string, payload?: object) =>
    inject({
      method,
      url: `${API}${url}`,
      headers: { cookie, "x-mailroom-csrf": csrf },
      ...(payload ? { payload } : {}),
    });

  // The Microsoft client secret, set from the dashboard (checked against the sandbox).
  const settings = await authed("PUT", "/settings/microsoft", {
    clientId: SEEDED_APP.clientId,
    clientSecret: SEEDED_APP.clientSecret,
  });
  assert.equal(settings.statusCode, 200, settings.body);
  seen.set("Microsoft client secret", SEEDED_APP.clientSecret);

  // API keys: the harness's, and one created from the dashboard.
  seen.set("API key (service)", h.t.apiKey);
  const key = await authed("POST", "/api-keys", { name: "scan" });
  assert.equal(key.statusCode, 201, key.body);
  seen.set("API key (dashboard)", key.json().key);

  // A webhook through the API (its signing secret answered once), rotated, and the callback secret.
  const webhook = await inject({
    method: "POST",
    url: "/api/v1/webhooks",
    headers: { "x-api-key": h.t.apiKey },
    payload: { request_url: receiverUrl, source: "account_status", name: "scan" },
  });
  assert.equal(webhook.statusCode, 201, webhook.body);
  seen.set("webhook secret", webhook.json().secret);
  const rotated = await inject({
    method: "POST",
    url: `/api/v1/webhooks/${webhook.json().webhook_id}/rotate_secret`,
    headers: { "x-api-key": h.t.apiKey },
    payload: {},
  });
  assert.equal(rotated.statusCode, 200, rotated.body);
  seen.set("webhook secret (rotated)", rotated.json().secret);
  const callback = await authed("POST", "/callback-signing/reveal");
  assert.equal(callback.statusCode, 200, callback.body);
  seen.set("notify_url callback secret", callback.json().secret);

  // A hosted link's token, and a mailbox connected through the wizard (which the webhook announces).
  const link = await h.createLink({ type: "create", providers: "*" });
  seen.set("hosted link token", new URL(link.json.url as string).pathname.split("/").pop()!);
  const ids = await h.connectMailboxes(["megan.bowen@contoso.onmicrosoft.com"]);
  const accountId = Object.values(ids)[0]!;

  // A token refresh, as when Graph rejects an access token.
  await h.services.tokens.getAccessToken(accountId, { forceRefresh: true });

  for (const token of h.sandbox.state.accessTokens.keys())
    seen.set(`access token ${token.slice(0, 6)}`, token);
  for (const token of h.sandbox.state.refreshTokens.keys())
    seen.set(`refresh token ${token.slice(0, 6)}`, token);
  return seen;
}

function leaks(haystack: string | Buffer, secrets: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [name, secret] of secrets) {
    if (secret.length < 8) throw new Error(`${name} is too short to scan for`);
    const present =
      typeof haystack === "string" ? haystack.includes(secret) : haystack.includes(Buffer.from(secret));
    if (present) found.push(name);
  }
  return found;
}

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`secrets scan (${dialect})`, () => {
    let h: ConnectHarness;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let secrets: Map<string, string>;

    before(async () => {
      receiver = await startReceiver();
      h = await startConnectHarness(dialect, { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" } });
      secrets = await driveSecretFlows(h, receiver.url);
      const deadline = Date.now() + 10_000;
      while (receiver.received.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    });
    after(async () => {
      await h?.dispose();
      await receiver?.close();
    });

    it("the flows saw every kind of secret, and the webhook signed a delivery with one", () => {
      const names = [...secrets.keys()].join(", ");
      for (const kind of ["access token", "refresh token", "client secret", "API key", "webhook secret"])
        assert.ok(names.includes(kind), `no ${kind} among: ${names}`);
      assert.ok(
        h.t.logs.lines.some((l) => l.includes('"level":20')),
        `debug lines were captured (${h.t.logs.lines.length} lines)`,
      );
      assert.ok(receiver.received.length > 0, "the account_status webhook was delivered");
    });

    it("no secret appears in plain text in any debug log line", () => {
      const found = leaks(h.t.logs.text, secrets);
      assert.deepEqual(found, [], `in the logs: ${found.join(", ")}`);
    });

    if (dialect === "sqlite") {
      it("no secret appears in plain text in the SQLite files (database, WAL, shared memory)", async () => {
        // A checkpoint-free read: the WAL holds the newest pages, so it is scanned as it is.
        const path = h.t.database.sqlitePath!;
        const files = readdirSync(dirname(path)).filter((f) => f.startsWith(path.split("/").pop()!));
        assert.ok(files.length > 0);
        let control = 0;
        for (const file of files) {
          control += leaks(readFileSync(join(dirname(path), file)), CONTROL).length;
          const found = leaks(readFileSync(join(dirname(path), file)), secrets);
          assert.deepEqual(found, [], `in ${file}: ${found.join(", ")}`);
        }
        assert.ok(control > 0, "the scan finds the account's email address, stored in plain text");
      });
    } else {
      it("no secret appears in plain text in any text, JSON or bytea column of any table", async () => {
        const client = new pg.Client({ connectionString: (h.t.database.config as { url: string }).url });
        await client.connect();
        try {
          const columns = await client.query<{ table_name: string; column_name: string; data_type: string }>(
            `SELECT table_name, column_name, data_type FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')`,
          );
          assert.ok(columns.rows.length > 20, `scanned ${columns.rows.length} columns`);
          let cells = 0;
          let control = 0;
          for (const { table_name, column_name, data_type } of columns.rows) {
            const column = `"${column_name.replaceAll('"', '""')}"`;
            const expression = data_type === "bytea" ? `encode(${column}, 'escape')` : `${column}::text`;
            const rows = await client.query<{ v: string | null }>(
              `SELECT ${expression} AS v FROM "${table_name.replaceAll('"', '""')}"`,
            );
            for (const { v } of rows.rows) {
              if (v === null) continue;
              cells++;
              control += leaks(v, CONTROL).length;
              const found = leaks(v, secrets);
              assert.deepEqual(found, [], `in ${table_name}.${column_name}: ${found.join(", ")}`);
            }
          }
          assert.ok(cells > 0);
          assert.ok(control > 0, "the scan finds the account's email address, stored in plain text");
        } finally {
          await client.end();
        }
      });
    }
  });
}
