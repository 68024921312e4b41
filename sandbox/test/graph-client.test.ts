// Fidelity: the official @microsoft/microsoft-graph-client 3.0.7 reads, pages, uploads and sends
// mail through the sandbox. Its AuthenticationHandler only attaches the token for https URLs on a
// host listed in `customHosts` (reference §7.4), so the sandbox runs on https with a local CA, and
// the client trusts that CA through a fetch dispatcher (no process-wide TLS switches).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, FileUpload, LargeFileUploadTask } from "@microsoft/microsoft-graph-client";
import { until } from "../../test/support/until.ts";
import { ensureLocalCertificates } from "../src/local-ca.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";
import type { SandboxUser } from "../src/state.ts";
import { ALL_SCOPES } from "./graph-helpers.ts";

/**
 * An undici Agent trusting `ca`. Node 20 bundles undici without exporting it; the global fetch
 * dispatcher is an Agent, so its constructor builds one with our TLS options.
 */
async function agentTrusting(ca: string): Promise<unknown> {
  const key = Symbol.for("undici.globalDispatcher.1");
  if (!(globalThis as Record<symbol, unknown>)[key]) await fetch("data:,init");
  const dispatcher = (globalThis as Record<symbol, unknown>)[key] as {
    constructor: new (options: unknown) => unknown;
  };
  return new dispatcher.constructor({ connect: { ca } });
}

describe("@microsoft/microsoft-graph-client 3.0.7 against the sandbox", () => {
  let sandbox: Sandbox;
  let dir: string;
  let client: Client;
  let alice: SandboxUser;
  let bob: SandboxUser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "graph-client-ca-"));
    const certs = ensureLocalCertificates(dir);
    sandbox = await startSandbox({
      port: 0,
      host: "127.0.0.1",
      seedCorpus: false,
      https: { key: certs.key, cert: certs.cert },
    });
    const port = new URL(sandbox.url).port;
    // The client's customHosts match host names; serve as https://localhost:<port>.
    (sandbox.state.options as { baseUrl: string }).baseUrl = `https://localhost:${port}`;
    const tenant = [...sandbox.state.tenants.values()][0]!;
    const app = [...sandbox.state.apps.values()][0]!;
    const make = (local: string): SandboxUser => {
      const user: SandboxUser = {
        id: crypto.randomUUID(),
        tenantId: tenant.id,
        email: `${local}@${tenant.domain}`,
        password: "x",
        displayName: local,
        givenName: local,
        surname: "Client",
        kind: "work",
        hasMailbox: true,
        isTenantAdmin: false,
        passwordChangedAt: 0,
        disabled: false,
      };
      sandbox.state.users.set(user.id, user);
      return user;
    };
    alice = make("alice.client");
    bob = make("bob.client");
    const token = `eyJ0eXAiOiJKV1QifQ.${crypto.randomUUID()}.client`;
    sandbox.state.accessTokens.set(token, {
      token,
      userId: alice.id,
      clientId: app.clientId,
      scopes: ALL_SCOPES,
      expiresAt: sandbox.state.now() + 3_600_000,
      revoked: false,
    });
    const dispatcher = await agentTrusting(readFileSync(certs.caCertPath, "utf8"));
    client = Client.init({
      authProvider: (done) => done(null, token),
      baseUrl: `https://localhost:${port}`,
      customHosts: new Set(["localhost"]),
      defaultVersion: "v1.0",
      fetchOptions: { dispatcher } as RequestInit,
    });
  });

  after(async () => {
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the client sends the bearer token and reads /me", async () => {
    const me = (await client.api("/me").get()) as { userPrincipalName: string };
    assert.equal(me.userPrincipalName, alice.email);
  });

  test("sendMail, then the recipient's and sender's folders show the message", async () => {
    await client.api("/me/sendMail").post({
      message: {
        subject: "From the SDK",
        body: { contentType: "Text", content: "hello" },
        toRecipients: [{ emailAddress: { address: bob.email } }],
      },
    });
    const sent = await until("the sent copy", async () => {
      const page = (await client
        .api("/me/mailFolders/sentitems/messages")
        .header("Prefer", 'IdType="ImmutableId"')
        .select("subject")
        .top(5)
        .get()) as { value: { subject: string }[] };
      return page.value.find((m) => m.subject === "From the SDK");
    });
    assert.ok(sent);
  });

  test("listing with filter/orderby/top and following nextLink through the client", async () => {
    for (let index = 0; index < 7; index++) {
      await client
        .api("/me/messages")
        .post({ subject: `Draft ${index}`, toRecipients: [{ emailAddress: { address: bob.email } }] });
    }
    const first = (await client
      .api("/me/mailFolders/drafts/messages")
      .filter("receivedDateTime ge 2000-01-01T00:00:00Z")
      .orderby("receivedDateTime desc")
      .select("subject")
      .top(3)
      .get()) as { value: { subject: string }[]; "@odata.nextLink"?: string };
    assert.equal(first.value.length, 3);
    let count = first.value.length;
    let next = first["@odata.nextLink"];
    while (next) {
      const page = (await client.api(next).get()) as { value: unknown[]; "@odata.nextLink"?: string };
      count += page.value.length;
      next = page["@odata.nextLink"];
    }
    assert.equal(count, 7);
  });

  test("Graph errors surface as GraphError with code and statusCode", async () => {
    await assert.rejects(
      client.api("/me/messages/AAMkAGdoesnotexistdoesnotexistdoesnotexist0000=").get(),
      (error: { statusCode: number; code: string }) => {
        assert.equal(error.statusCode, 404);
        assert.equal(error.code, "ErrorItemNotFound");
        return true;
      },
    );
  });

  test("LargeFileUploadTask uploads a 4 MB attachment through an upload session", async () => {
    const draft = (await client
      .api("/me/messages")
      .post({ subject: "Large", toRecipients: [{ emailAddress: { address: bob.email } }] })) as {
      id: string;
    };
    const content = randomBytes(4 * 1024 * 1024 + 17);
    const session = await LargeFileUploadTask.createUploadSession(
      client,
      `https://localhost:${new URL(sandbox.url).port}/v1.0/me/messages/${draft.id}/attachments/createUploadSession`,
      {
        AttachmentItem: { attachmentType: "file", name: "large.bin", size: content.length },
      },
    );
    const task = new LargeFileUploadTask(
      client,
      new FileUpload(content, "large.bin", content.length),
      session,
      { rangeSize: 1024 * 1024 },
    );
    await task.upload();
    const attachments = (await client
      .api(`/me/messages/${draft.id}/attachments`)
      .select("name,size")
      .get()) as { value: { name: string; size: number }[] };
    assert.deepEqual(
      attachments.value.map((a) => [a.name, a.size]),
      [["large.bin", content.length]],
    );
  });
});
