// Every property the sandbox's Graph emits must exist on the Graph v1.0 CSDL type (with BaseType
// inheritance) and carry a JSON value of the declared EDM type (reference §7.1, §8 item 7).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";
import { type CsdlModel, checkObject, checkValue, lineage, loadCsdl, type Mismatch } from "./support/csdl.ts";

const GRAPH = "microsoft.graph";

function report(mismatches: Mismatch[]): string {
  return `\n${mismatches
    .slice(0, 40)
    .map((m) => `  ${m.path}: ${m.problem}`)
    .join("\n")}${mismatches.length > 40 ? `\n  … and ${mismatches.length - 40} more` : ""}`;
}

describe("Graph output matches the v1.0 CSDL", () => {
  let model: CsdlModel;
  let sandbox: Sandbox;
  let token = "";
  let userId = "";
  let receiver: Server;
  let receiverUrl = "";
  const notifications: unknown[] = [];

  before(async () => {
    model = loadCsdl();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const token = new URL(request.url ?? "/", "http://x").searchParams.get("validationToken");
        if (token !== null) {
          response.writeHead(200, { "content-type": "text/plain" }).end(token);
          return;
        }
        notifications.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    sandbox = await startSandbox({
      port: 0,
      allowHttpNotifications: true,
      corpusSize: 80,
      subscriptions: { batchWindowMs: 20 },
    });
    const user = [...sandbox.state.users.values()].find((u) => u.hasMailbox && u.kind === "work");
    const app = [...sandbox.state.apps.values()][0];
    assert.ok(user && app, "the sandbox seeds a work user with a mailbox and an app");
    userId = user.id;
    token = `eyJ0eXAiOiJKV1QifQ.${randomUUID()}.csdl`;
    sandbox.state.accessTokens.set(token, {
      token,
      userId: user.id,
      clientId: app.clientId,
      scopes: ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send"],
      expiresAt: sandbox.state.now() + 3_600_000,
      revoked: false,
    });
  });

  after(async () => {
    await sandbox?.close();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  async function graph(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
    const response = await fetch(`${sandbox.url}/v1.0${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(init.headers ?? {}),
      },
    });
    const text = await response.text();
    assert.ok(response.ok, `GET/POST ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  function expectMatches(value: unknown, type: string, label: string): void {
    const mismatches: Mismatch[] = [];
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        checkObject(model, item as Record<string, unknown>, type, `${label}[${index}]`, mismatches);
      });
    } else checkObject(model, value as Record<string, unknown>, type, label, mismatches);
    assert.deepEqual(mismatches, [], `${label} does not match ${type}:${report(mismatches)}`);
  }

  function structuralProperties(type: string): string[] {
    return lineage(model, type).flatMap((t) =>
      [...t.properties.values()].filter((p) => !p.navigation).map((p) => p.name),
    );
  }

  test("the CSDL parser resolves inheritance and complex types", () => {
    assert.deepEqual(
      lineage(model, `${GRAPH}.message`).map((t) => t.fullName),
      [`${GRAPH}.message`, `${GRAPH}.outlookItem`, `${GRAPH}.entity`],
    );
    for (const complex of [
      "recipient",
      "emailAddress",
      "itemBody",
      "followupFlag",
      "dateTimeTimeZone",
      "internetMessageHeader",
    ]) {
      assert.equal(model.types.get(`${GRAPH}.${complex}`.toLowerCase())?.kind, "complex", complex);
    }
    const mismatches: Mismatch[] = [];
    checkValue(
      model,
      { isRead: "no", subject: null, toRecipients: {} },
      `${GRAPH}.message`,
      "$",
      true,
      mismatches,
    );
    assert.deepEqual(
      mismatches.map((m) => m.path),
      ["$.isRead", "$.toRecipients"],
    );
  });

  test("/me is a user", async () => {
    const me = await graph("/me");
    expectMatches(me, `${GRAPH}.user`, "/me");
  });

  test("messages with default properties are messages", async () => {
    const page = await graph("/me/messages?$top=50");
    const value = page.value as unknown[];
    assert.ok(Array.isArray(value) && value.length > 0, "the seeded mailbox has messages");
    expectMatches(value, `${GRAPH}.message`, "/me/messages");
  });

  test("messages with every property selected (incl. internetMessageHeaders, uniqueBody) are messages", async () => {
    const select = structuralProperties(`${GRAPH}.message`).join(",");
    const page = await graph(`/me/messages?$top=25&$select=${encodeURIComponent(select)}`);
    const value = page.value as Record<string, unknown>[];
    assert.ok(value.length > 0);
    assert.ok(
      value.some((m) => Array.isArray(m.internetMessageHeaders)),
      "internetMessageHeaders returned when selected",
    );
    assert.ok(
      value.some((m) => m.uniqueBody && typeof m.uniqueBody === "object"),
      "uniqueBody returned when selected",
    );
    expectMatches(value, `${GRAPH}.message`, "/me/messages?$select=all");
  });

  test("mail folders and child folders are mailFolders", async () => {
    const folders = (await graph("/me/mailFolders?$top=100")).value as Record<string, unknown>[];
    assert.ok(folders.length >= 5);
    expectMatches(folders, `${GRAPH}.mailFolder`, "/me/mailFolders");
    const withChildren = folders.find(
      (f) => typeof f.childFolderCount === "number" && f.childFolderCount > 0,
    );
    if (withChildren) {
      const children = (await graph(`/me/mailFolders/${withChildren.id}/childFolders`)).value;
      expectMatches(children, `${GRAPH}.mailFolder`, "childFolders");
    }
  });

  test("attachments (fileAttachment with contentBytes) are attachments", async () => {
    const page = await graph("/me/messages?$filter=hasAttachments eq true&$top=10&$select=id,hasAttachments");
    const messages = page.value as { id: string }[];
    assert.ok(messages.length > 0, "some messages have attachments");
    let checked = 0;
    for (const message of messages.slice(0, 3)) {
      const attachments = (await graph(`/me/messages/${message.id}/attachments`)).value as Record<
        string,
        unknown
      >[];
      expectMatches(attachments, `${GRAPH}.attachment`, `attachments of ${message.id}`);
      for (const attachment of attachments.slice(0, 1)) {
        const one = await graph(`/me/messages/${message.id}/attachments/${attachment.id}`);
        assert.equal(one["@odata.type"], "#microsoft.graph.fileAttachment");
        assert.equal(typeof one.contentBytes, "string");
        expectMatches(one, `${GRAPH}.attachment`, "attachment");
        checked++;
      }
    }
    assert.ok(checked > 0);
  });

  test("a subscription and a delivered change-notification collection match the CSDL", async () => {
    const subscription = await graph("/subscriptions", {
      method: "POST",
      body: JSON.stringify({
        changeType: "created,updated,deleted",
        notificationUrl: receiverUrl,
        resource: "me/messages",
        expirationDateTime: new Date(sandbox.state.now() + 3_600_000).toISOString(),
        clientState: "csdl-test",
      }),
    });
    expectMatches(subscription, `${GRAPH}.subscription`, "subscription");
    const list = (await graph("/subscriptions")).value;
    expectMatches(list, `${GRAPH}.subscription`, "/subscriptions");

    const messageId = ((await graph("/me/messages?$top=1&$select=id")).value as { id: string }[])[0]!.id;
    const patched = await fetch(`${sandbox.url}/v1.0/me/messages/${messageId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ isRead: true }),
    });
    assert.equal(patched.status, 200, "PATCH a message (the Graph module emits mail-change events)");
    const collection = await until("a change notification for the PATCH", () => notifications[0]);
    const mismatches: Mismatch[] = [];
    checkValue(model, collection, `${GRAPH}.changeNotificationCollection`, "notification", false, mismatches);
    assert.deepEqual(mismatches, [], `change notification does not match the CSDL:${report(mismatches)}`);
    const item = (collection as { value: { resource: string }[] }).value[0]!;
    assert.equal(item.resource, `Users/${userId}/Messages/${messageId}`);
  });
});
