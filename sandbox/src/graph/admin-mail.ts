// Operator routes for mail: inject a message from outside (POST /_sandbox/mail) and watch a
// mailbox (GET /_sandbox/mailboxes/{email}, JSON or HTML), plus expiring delta tokens so a client's
// 410 resync path can be exercised.
import type { FastifyInstance } from "fastify";
import type { SandboxState } from "../state.ts";
import { bodyPreview, escapeHtml, normalizeHtml } from "./body.ts";
import { conversationIdFromIndex, newConversationIndex, newInternetMessageId } from "./ids.ts";
import { type EmailAddress, type FolderRecord, type MailboxStore, mailboxes } from "./mailbox-store.ts";
import { deliverToRecipients } from "./send.ts";
import { isoDate } from "./serialize.ts";

interface InboundMail {
  from?: unknown;
  to?: unknown;
  cc?: unknown;
  subject?: unknown;
  body?: unknown;
  body_type?: unknown;
  attachments?: unknown;
  in_reply_to?: unknown;
}

function address(value: unknown): EmailAddress | null {
  if (typeof value === "string" && value.includes("@")) {
    const match = /^(.*)<([^>]+)>$/.exec(value.trim());
    const email = (match?.[2] ?? value).trim();
    return { name: (match?.[1] ?? "").trim().replace(/^"|"$/g, "") || email, address: email };
  }
  const entry = value as { name?: unknown; address?: unknown; email?: unknown } | null;
  const email =
    typeof entry?.address === "string"
      ? entry.address
      : typeof entry?.email === "string"
        ? entry.email
        : null;
  if (!email?.includes("@")) return null;
  return { name: typeof entry?.name === "string" && entry.name ? entry.name : email, address: email };
}

function addresses(value: unknown): EmailAddress[] | null {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const out = list.map(address);
  return out.every((entry): entry is EmailAddress => entry !== null) ? out : null;
}

function folderTree(
  store: MailboxStore,
  parentId: string,
  path: string,
): { path: string; folder: FolderRecord }[] {
  const out: { path: string; folder: FolderRecord }[] = [];
  for (const folder of store.childFolders(parentId, false)) {
    const folderPath = path ? `${path}/${folder.displayName}` : folder.displayName;
    out.push({ path: folderPath, folder }, ...folderTree(store, folder.id, folderPath));
  }
  return out;
}

export function registerAdminMailRoutes(app: FastifyInstance, state: SandboxState): void {
  app.post("/_sandbox/mail", async (request, reply) => {
    const input = (request.body ?? {}) as InboundMail;
    const from = address(input.from);
    const to = addresses(input.to);
    const cc = addresses(input.cc);
    if (!from || !to || !cc || to.length + cc.length === 0) {
      return reply.code(400).send({
        error: "invalid_request",
        message: "from and at least one valid to/cc address are required",
      });
    }
    const attachments = [];
    for (const entry of Array.isArray(input.attachments) ? input.attachments : []) {
      const attachment = entry as {
        name?: unknown;
        content_type?: unknown;
        content_base64?: unknown;
        content_id?: unknown;
        inline?: unknown;
      };
      if (typeof attachment.name !== "string" || typeof attachment.content_base64 !== "string") {
        return reply
          .code(400)
          .send({ error: "invalid_request", message: "attachments need name and content_base64" });
      }
      attachments.push({
        key: "",
        name: attachment.name,
        contentType:
          typeof attachment.content_type === "string" ? attachment.content_type : "application/octet-stream",
        content: Buffer.from(attachment.content_base64, "base64"),
        contentId: typeof attachment.content_id === "string" ? attachment.content_id : null,
        contentLocation: null,
        isInline: attachment.inline === true,
        lastModifiedAt: state.now(),
      });
    }
    const now = state.now();
    const text = typeof input.body === "string" ? input.body : "";
    const isHtml = input.body_type === "html";
    const conversationIndex = newConversationIndex(now);
    const delivered = deliverToRecipients(
      state,
      {
        subject: typeof input.subject === "string" ? input.subject : "",
        body: isHtml
          ? { contentType: "html", content: normalizeHtml(text) }
          : { contentType: "text", content: text },
        from,
        sender: from,
        toRecipients: to,
        ccRecipients: cc,
        sentAt: now,
        receivedAt: now,
        internetMessageId: newInternetMessageId(),
        conversationIndex,
        conversationId: conversationIdFromIndex(conversationIndex),
        ...(typeof input.in_reply_to === "string" ? { inReplyTo: input.in_reply_to } : {}),
        attachments,
      },
      { store: null, address: from },
    );
    return reply.code(201).send({
      delivered: delivered.map((entry) => ({
        user: entry.email,
        user_id: entry.userId,
        message_id: entry.message.immutableId,
      })),
    });
  });

  app.get<{ Params: { email: string }; Querystring: { format?: string; limit?: string } }>(
    "/_sandbox/mailboxes/:email",
    async (request, reply) => {
      const user = state.userByEmail(request.params.email) ?? state.users.get(request.params.email);
      if (!user) return reply.code(404).send({ error: "not_found", message: "no such sandbox user" });
      if (!user.hasMailbox)
        return reply.code(404).send({ error: "no_mailbox", message: "this user has no mailbox" });
      const store = mailboxes(state).get(user.id);
      const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 50) || 50));
      const folders = folderTree(store, store.rootId, "").map(({ path, folder }) => ({
        id: folder.id,
        path,
        well_known_name: folder.wellKnownName,
        total: folder.messages.length,
        unread: store.unreadCount(folder),
      }));
      const latest = store.all.slice(0, limit).map((message) => ({
        id: message.immutableId,
        rest_id: message.restId,
        folder: store.folders.get(message.folderId)?.displayName ?? "",
        received: isoDate(message.receivedAt),
        from: message.from?.address ?? null,
        to: message.toRecipients.map((entry) => entry.address),
        subject: message.subject,
        preview: bodyPreview(message.body),
        is_read: message.isRead,
        is_draft: message.isDraft,
        attachments: message.attachments.map((attachment) => ({
          name: attachment.name,
          size: attachment.content.length,
        })),
        internet_message_id: message.internetMessageId,
      }));
      const wantsHtml =
        request.query.format === "html" ||
        (request.query.format !== "json" && /text\/html/.test(String(request.headers.accept ?? "")));
      if (!wantsHtml) return reply.send({ user: user.email, user_id: user.id, folders, messages: latest });
      const rows = latest
        .map(
          (message) =>
            `<tr><td>${escapeHtml(message.received)}</td><td>${escapeHtml(message.folder)}</td><td>${escapeHtml(message.from ?? "")}</td><td>${escapeHtml(message.to.join(", "))}</td><td>${message.is_read ? "" : "<b>"}${escapeHtml(message.subject)}${message.is_read ? "" : "</b>"}<br><small>${escapeHtml(message.preview)}</small></td><td>${message.attachments.map((a) => escapeHtml(a.name)).join(", ")}</td></tr>`,
        )
        .join("\n");
      const folderList = folders
        .map((folder) => `<li>${escapeHtml(folder.path)} — ${folder.total} (${folder.unread} unread)</li>`)
        .join("");
      return reply
        .type("text/html; charset=utf-8")
        .send(
          `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(user.email)} — sandbox mailbox</title><style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}</style></head><body><h1>${escapeHtml(user.email)}</h1><ul>${folderList}</ul><table><tr><th>Received</th><th>Folder</th><th>From</th><th>To</th><th>Subject</th><th>Attachments</th></tr>${rows}</table></body></html>`,
        );
    },
  );

  /** Makes every delta token issued so far stale (next use → 410 SyncStateNotFound). */
  app.post<{ Params: { email: string } }>(
    "/_sandbox/mailboxes/:email/expire-delta-tokens",
    async (request, reply) => {
      const user = state.userByEmail(request.params.email) ?? state.users.get(request.params.email);
      if (!user) return reply.code(404).send({ error: "not_found", message: "no such sandbox user" });
      const store = mailboxes(state).get(user.id);
      store.deltaGeneration += 1;
      return reply.code(204).send();
    },
  );
}
