// Transport between sandbox mailboxes: recipient checks, the headers Exchange stamps on sent mail,
// delivery into recipients' Inboxes, and non-delivery reports for unknown sandbox addresses.
// Graph answers 202 before transport runs, so delivery is scheduled on the next event-loop turn.
import type { SandboxState } from "../state.ts";
import { escapeHtml, normalizeHtml } from "./body.ts";
import { GRAPH_MESSAGES, GraphError, unresolvedRecipient } from "./errors.ts";
import { childConversationIndex, newAttachmentKey, newInternetMessageId } from "./ids.ts";
import {
  type EmailAddress,
  type MailboxStore,
  type MessageInit,
  type MessageRecord,
  mailboxes,
} from "./mailbox-store.ts";

const ADDRESS = /^[^@\s<>()",;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

export function ownerAddress(ctx: { user: { email: string; displayName: string } }): EmailAddress {
  return { name: ctx.user.displayName, address: ctx.user.email };
}

export function formatAddresses(addresses: EmailAddress[]): string {
  return addresses
    .map((entry) =>
      entry.name && entry.name !== entry.address ? `${entry.name} <${entry.address}>` : entry.address,
    )
    .join(", ");
}

export function transportHeaders(
  message: MessageInit & { internetMessageId: string },
  sentAt: number,
): { name: string; value: string }[] {
  const headers = [
    {
      name: "Received",
      value: `from AM0PR07MB4417.eurprd07.prod.outlook.com by AM0PR07MB4417.eurprd07.prod.outlook.com with HTTPS; ${new Date(sentAt).toUTCString()}`,
    },
    { name: "From", value: message.from ? formatAddresses([message.from]) : "" },
    { name: "To", value: formatAddresses(message.toRecipients ?? []) },
  ];
  if ((message.ccRecipients ?? []).length > 0)
    headers.push({ name: "CC", value: formatAddresses(message.ccRecipients ?? []) });
  headers.push(
    { name: "Subject", value: message.subject ?? "" },
    { name: "Thread-Topic", value: (message.subject ?? "").replace(/^((re|fw|fwd):\s*)+/i, "") },
    { name: "Date", value: new Date(sentAt).toUTCString().replace("GMT", "+0000") },
    { name: "Message-ID", value: message.internetMessageId },
  );
  if (message.inReplyTo) headers.push({ name: "In-Reply-To", value: message.inReplyTo });
  if ((message.references ?? []).length > 0)
    headers.push({ name: "References", value: (message.references ?? []).join(" ") });
  if (message.conversationIndex) headers.push({ name: "Thread-Index", value: message.conversationIndex });
  headers.push(
    {
      name: "Content-Type",
      value:
        message.body?.contentType === "html" ? 'text/html; charset="utf-8"' : 'text/plain; charset="utf-8"',
    },
    { name: "MIME-Version", value: "1.0" },
    { name: "X-MS-Has-Attach", value: (message.attachments ?? []).some((a) => !a.isInline) ? "yes" : "" },
    { name: "X-MS-Exchange-Organization-SCL", value: "1" },
  );
  // The message's own headers (X- from JSON; any from MIME, List-Unsubscribe included) travel with it
  // unless the transport wrote that header itself.
  const written = new Set(headers.map((h) => h.name.toLowerCase()));
  for (const custom of message.headers ?? [])
    if (!written.has(custom.name.toLowerCase())) headers.push(custom);
  return headers;
}

function sandboxDomains(state: SandboxState): Set<string> {
  const domains = new Set<string>();
  for (const tenant of state.tenants.values()) domains.add(tenant.domain.toLowerCase());
  for (const user of state.users.values()) {
    const domain = user.email.split("@")[1];
    if (domain) domains.add(domain.toLowerCase());
  }
  return domains;
}

export function validateRecipients(message: {
  toRecipients?: EmailAddress[];
  ccRecipients?: EmailAddress[];
  bccRecipients?: EmailAddress[];
}): void {
  const all = [
    ...(message.toRecipients ?? []),
    ...(message.ccRecipients ?? []),
    ...(message.bccRecipients ?? []),
  ];
  if (all.length === 0) throw new GraphError(400, "ErrorInvalidRecipients", GRAPH_MESSAGES.noRecipients);
  if (all.length > 500)
    throw new GraphError(400, "ErrorTooManyRecipients", "The message has too many recipients.");
  for (const recipient of all)
    if (!ADDRESS.test(recipient.address)) throw unresolvedRecipient(recipient.address || recipient.name);
}

export interface Outgoing extends MessageInit {
  internetMessageId: string;
  conversationIndex: string;
  conversationId: string;
}

/**
 * Delivers a sent message: a copy into each sandbox recipient's Inbox (new ids, same
 * internetMessageId and conversationId, no Bcc), an NDR to the sender for unknown addresses in
 * sandbox domains. External recipients are accepted silently. Returns the recipient copies.
 */
export function deliverToRecipients(
  state: SandboxState,
  message: Outgoing,
  sender: { store: MailboxStore | null; address: EmailAddress },
): { userId: string; email: string; message: MessageRecord }[] {
  const registry = mailboxes(state);
  const domains = sandboxDomains(state);
  const now = state.now();
  const delivered: { userId: string; email: string; message: MessageRecord }[] = [];
  const seen = new Set<string>();
  const recipients = [
    ...(message.toRecipients ?? []),
    ...(message.ccRecipients ?? []),
    ...(message.bccRecipients ?? []),
  ];
  for (const recipient of recipients) {
    const address = recipient.address.toLowerCase();
    if (seen.has(address)) continue;
    seen.add(address);
    const user = state.userByEmail(address);
    // A shared mailbox's account has sign-in blocked (`disabled`), and its mailbox receives mail.
    if (user?.hasMailbox && (!user.disabled || user.kind === "shared")) {
      const store = registry.get(user.id);
      const copy = store.insertMessage(store.wellKnownFolder("inbox").id, {
        ...message,
        bccRecipients: [],
        isRead: false,
        isDraft: false,
        receivedAt: now,
        createdAt: now,
        lastModifiedAt: now,
        categories: [],
        flag: { flagStatus: "notFlagged" },
        inferenceClassification: "focused",
        headers: transportHeaders(message, message.sentAt ?? now),
        // The sender's named properties stay in the sender's mailbox: transport carries the MIME
        // message (In-Reply-To included, hence PidTagInReplyToId), not the item's MAPI properties.
        extendedProperties: [],
        attachments: (message.attachments ?? []).map((attachment) => ({
          ...attachment,
          key: newAttachmentKey(),
        })),
      });
      delivered.push({ userId: user.id, email: user.email, message: copy });
    } else if (sender.store && domains.has(address.split("@")[1] ?? "")) {
      sender.store.insertMessage(
        sender.store.wellKnownFolder("inbox").id,
        nonDeliveryReport(message, recipient, sender.address, now),
      );
    }
  }
  return delivered;
}

function nonDeliveryReport(
  message: Outgoing,
  recipient: EmailAddress,
  sender: EmailAddress,
  now: number,
): MessageInit {
  const domain = sender.address.split("@")[1] ?? "outlook.com";
  const postmaster = {
    name: "Microsoft Outlook",
    address: `MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@${domain}`,
  };
  const html = `<p><b><font color="#000066" size="3" face="Arial">Your message to ${escapeHtml(recipient.address)} couldn't be delivered.</font></b></p>
<p>${escapeHtml(recipient.address)} wasn't found at ${escapeHtml(recipient.address.split("@")[1] ?? "")}.</p>
<p>Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'</p>
<p>Original message headers:</p><pre>Subject: ${escapeHtml(message.subject ?? "")}
Message-ID: ${escapeHtml(message.internetMessageId)}</pre>`;
  return {
    subject: `Undeliverable: ${message.subject ?? ""}`,
    body: { contentType: "html", content: normalizeHtml(html) },
    from: postmaster,
    sender: postmaster,
    toRecipients: [sender],
    receivedAt: now,
    sentAt: now,
    isRead: false,
    importance: "normal",
    conversationId: message.conversationId,
    conversationIndex: childConversationIndex(message.conversationIndex),
    internetMessageId: newInternetMessageId(),
    inReplyTo: message.internetMessageId,
    headers: [
      { name: "Content-Type", value: 'multipart/report; report-type=delivery-status; boundary="sandbox"' },
      { name: "X-MS-Exchange-Message-Is-Ndr", value: "" },
    ],
  };
}

export function scheduleDelivery(state: SandboxState, task: () => void): void {
  // Graph returns 202 before transport runs (reference §3.5: "Sent copies appear ... asynchronously").
  setImmediate(() => {
    try {
      task();
    } catch (error) {
      state.events.emit("graph-delivery-error", error);
    }
  });
}
