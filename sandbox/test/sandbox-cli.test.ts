import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseSandboxArgs, type SandboxCliOptions, startSandboxFromCli } from "../src/cli.ts";

function httpsGet(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ...(ca ? { ca } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("standalone sandbox (mailroom sandbox)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mailroom-sandbox-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const options = (extra: Partial<SandboxCliOptions> = {}): SandboxCliOptions => ({
    port: 0,
    host: "127.0.0.1",
    https: true,
    stateFile: join(dir, "state.json"),
    caDir: join(dir, "ca"),
    ...extra,
  });

  test("parses its flags with the documented defaults and rejects bad ones", () => {
    assert.deepEqual(parseSandboxArgs([]), {
      port: 3001,
      host: "127.0.0.1",
      https: false,
      stateFile: null,
      caDir: "./data/sandbox-ca",
    });
    const parsed = parseSandboxArgs([
      "--port",
      "0",
      "--host",
      "0.0.0.0",
      "--https",
      "--state-file",
      "s.json",
    ]);
    assert.ok(parsed !== "help");
    assert.equal(parsed.port, 0);
    assert.equal(parsed.https, true);
    assert.match(parsed.stateFile ?? "", /s\.json$/);
    assert.throws(() => parseSandboxArgs(["--port", "http"]), /--port/);
    assert.throws(() => parseSandboxArgs(["--bogus"]));
  });

  test("--https serves TLS with a generated local CA that clients can trust; the CA is reused", async () => {
    const lines: string[] = [];
    const first = await startSandboxFromCli(options(), (line) => lines.push(line));
    let caPem = "";
    try {
      assert.match(first.sandbox.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(first.caCertPath);
      caPem = readFileSync(first.caCertPath, "utf8");
      assert.match(caPem, /BEGIN CERTIFICATE/);
      assert.equal(statSync(join(dir, "ca", "ca-key.pem")).mode & 0o077, 0, "the CA key is owner-only");

      const trusted = await httpsGet(
        `${first.sandbox.url}/common/v2.0/.well-known/openid-configuration`,
        caPem,
      );
      assert.equal(trusted.status, 200);
      assert.ok(JSON.parse(trusted.body).token_endpoint);
      await assert.rejects(
        httpsGet(`${first.sandbox.url}/common/v2.0/.well-known/openid-configuration`),
        /self.signed|unable to verify|certificate/i,
      );

      const banner = lines.join("\n");
      assert.match(banner, /Microsoft sandbox listening on https:\/\/127\.0\.0\.1:\d+/);
      assert.match(banner, /MICROSOFT_LOGIN_URL=https:\/\/127\.0\.0\.1:\d+/);
      assert.match(banner, /MICROSOFT_GRAPH_URL=https:\/\/127\.0\.0\.1:\d+/);
      assert.match(
        banner,
        new RegExp(`NODE_EXTRA_CA_CERTS=${first.caCertPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
      );
      const someUser = [...first.sandbox.state.users.values()][0]!;
      assert.ok(
        banner.includes(someUser.email) && banner.includes(someUser.password),
        "users are printed with passwords",
      );
    } finally {
      await first.stop();
    }

    const second = await startSandboxFromCli(options(), () => {});
    try {
      assert.equal(readFileSync(second.caCertPath!, "utf8"), caPem, "the CA is generated once and reused");
      const again = await httpsGet(
        `${second.sandbox.url}/common/v2.0/.well-known/openid-configuration`,
        caPem,
      );
      assert.equal(again.status, 200);
    } finally {
      await second.stop();
    }
  });

  test("--state-file keeps users, apps, consents (Sets included) and tokens across restarts", async () => {
    const stateFile = join(dir, "persist.json");
    const first = await startSandboxFromCli(options({ https: false, stateFile }), () => {});
    const user = [...first.sandbox.state.users.values()][0]!;
    const app = [...first.sandbox.state.apps.values()][0]!;
    first.sandbox.state.consents.set(`${user.id}|${app.clientId}`, {
      userId: user.id,
      clientId: app.clientId,
      scopes: new Set(["Mail.Read", "offline_access"]),
      grantedAt: 1,
      revoked: false,
    });
    first.sandbox.state.accessTokens.set("persisted-token", {
      token: "persisted-token",
      userId: user.id,
      clientId: app.clientId,
      scopes: ["Mail.Read"],
      expiresAt: Date.now() + 60_000,
      revoked: false,
    });
    user.displayName = "Renamed Before Restart";
    await first.stop();
    assert.equal(statSync(stateFile).mode & 0o077, 0, "the state file is owner-only");

    const lines: string[] = [];
    const second = await startSandboxFromCli(options({ https: false, stateFile }), (line) =>
      lines.push(line),
    );
    try {
      const consent = second.sandbox.state.consents.get(`${user.id}|${app.clientId}`);
      assert.ok(consent);
      assert.ok(consent.scopes instanceof Set && consent.scopes.has("offline_access"));
      assert.equal(second.sandbox.state.accessTokens.get("persisted-token")?.userId, user.id);
      assert.equal(second.sandbox.state.users.get(user.id)?.displayName, "Renamed Before Restart");
      assert.ok(second.sandbox.state.apps.has(app.clientId));
      const tenant = [...second.sandbox.state.tenants.values()][0]!;
      assert.ok(tenant.adminConsentedApps instanceof Set);
      assert.match(lines.join("\n"), /\(restored\)/);
    } finally {
      await second.stop();
    }
  });
});
