// Reading message JSON from requests (create draft, PATCH, sendMail, reply `message`).
import { normalizeHtml } from "./body.ts";
import { badRequest, GraphError } from "./errors.ts";
import { IN_REPLY_TO_ID, mergeExtendedProperties, parseExtendedProperties } from "./extended-properties.ts";
import type {
  AttachmentRecord,
  EmailAddress,
  FollowupFlag,
  MessageInit,
  MessageRecord,
} from "./mailbox-store.ts";

/**
 * Microsoft's "3 MB" (reference §3.6): inline attachments (POST /attachments, JSON messages) are
 * "< 3 MB", upload sessions "3–150 MB". Taken as decimal, so the two ranges meet with no size that
 * neither accepts: 3 MiB inline would be a base64 request over the 4 MB request limit.
 */
export const ATTACHMENT_UPLOAD_SESSION_MIN_BYTES = 3_000_000;

function invalidType(property: string): GraphError {
  return badRequest(`Invalid value for property '${property}'.`);
}

export function parseRecipients(value: unknown, property: string): EmailAddress[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw invalidType(property);
  return value.map((entry) => parseRecipient(entry, property));
}

export function parseRecipient(entry: unknown, property: string): EmailAddress {
  const email = (entry as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
  if (!email || typeof email !== "object") throw invalidType(property);
  const address = typeof email.address === "string" ? email.address.trim() : "";
  const name = typeof email.name === "string" && email.name !== "" ? email.name : address;
  return { name, address };
}

function parseBody(value: unknown): { contentType: "html" | "text"; content: string } {
  const body = value as { contentType?: unknown; content?: unknown } | null;
  if (!body || typeof body !== "object") throw invalidType("body");
  const type = typeof body.contentType === "string" ? body.contentType.toLowerCase() : "text";
  if (type !== "html" && type !== "text") throw invalidType("body");
  const content = typeof body.content === "string" ? body.content : "";
  return type === "html"
    ? { contentType: "html", content: normalizeHtml(content) }
    : { contentType: "text", content };
}

function parseFlag(value: unknown): FollowupFlag {
  const flag = value as Record<string, unknown> | null;
  if (!flag || typeof flag !== "object") throw invalidType("flag");
  const status = flag.flagStatus ?? "notFlagged";
  if (status !== "notFlagged" && status !== "flagged" && status !== "complete") throw invalidType("flag");
  const out: FollowupFlag = { flagStatus: status };
  for (const key of ["startDateTime", "dueDateTime", "completedDateTime"] as const) {
    const entry = flag[key] as { dateTime?: unknown; timeZone?: unknown } | undefined;
    if (entry && typeof entry.dateTime === "string") {
      out[key] = {
        dateTime: entry.dateTime,
        timeZone: typeof entry.timeZone === "string" ? entry.timeZone : "UTC",
      };
    }
  }
  return out;
}

export function parseFileAttachment(
  value: unknown,
  now: number,
): Omit<AttachmentRecord, "key" | "lastModifiedAt"> & { lastModifiedAt: number } {
  const input = value as Record<string, unknown> | null;
  if (!input || typeof input !== "object") throw invalidType("attachments");
  const type = input["@odata.type"];
  if (type !== "#microsoft.graph.fileAttachment" && type !== "microsoft.graph.fileAttachment") {
    throw badRequest("Only #microsoft.graph.fileAttachment attachments are supported by the sandbox.");
  }
  if (typeof input.name !== "string" || input.name === "")
    throw badRequest("The attachment name is required.");
  if (typeof input.contentBytes !== "string") throw badRequest("The attachment contentBytes is required.");
  const content = Buffer.from(input.contentBytes, "base64");
  if (content.length >= ATTACHMENT_UPLOAD_SESSION_MIN_BYTES) {
    throw new GraphError(413, "ErrorRequestEntityTooLarge", "The request entity is too large.");
  }
  return {
    name: input.name,
    contentType: typeof input.contentType === "string" ? input.contentType : "application/octet-stream",
    content,
    contentId: typeof input.contentId === "string" ? input.contentId : null,
    contentLocation: typeof input.contentLocation === "string" ? input.contentLocation : null,
    isInline: input.isInline === true,
    lastModifiedAt: now,
  };
}

const IMPORTANCE = new Set(["low", "normal", "high"]);
const CLASSIFICATION = new Set(["focused", "other"]);

/** Properties writable on any message. */
const ALWAYS_WRITABLE = new Set([
  "isRead",
  "categories",
  "flag",
  "importance",
  "inferenceClassification",
  "singleValueExtendedProperties",
]);
/** Properties writable only on drafts (message.md: "Updatable only if isDraft = true"). */
const DRAFT_WRITABLE = new Set([
  "subject",
  "body",
  "toRecipients",
  "ccRecipients",
  "bccRecipients",
  "replyTo",
  "from",
  "sender",
  "internetMessageId",
  "isDeliveryReceiptRequested",
  "isReadReceiptRequested",
  "internetMessageHeaders",
]);

/** Reads writable message properties; unknown/read-only members are ignored (message is an OpenType). */
export function parseMessageInput(input: Record<string, unknown>, now: number): MessageInit {
  const init: MessageInit = {};
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case "subject":
        if (typeof value !== "string" && value !== null) throw invalidType(key);
        init.subject = value ?? "";
        break;
      case "body":
        init.body = parseBody(value);
        break;
      case "toRecipients":
      case "ccRecipients":
      case "bccRecipients":
      case "replyTo":
        init[key] = parseRecipients(value, key);
        break;
      case "from":
      case "sender":
        init[key] = value === null ? null : parseRecipient(value, key);
        break;
      case "isRead":
      case "isDeliveryReceiptRequested":
      case "isReadReceiptRequested":
        if (typeof value !== "boolean") throw invalidType(key);
        init[key] = value;
        break;
      case "importance":
        if (typeof value !== "string" || !IMPORTANCE.has(value.toLowerCase())) throw invalidType(key);
        init.importance = value.toLowerCase() as "low" | "normal" | "high";
        break;
      case "inferenceClassification":
        if (typeof value !== "string" || !CLASSIFICATION.has(value.toLowerCase())) throw invalidType(key);
        init.inferenceClassification = value.toLowerCase() as "focused" | "other";
        break;
      case "categories":
        if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) throw invalidType(key);
        init.categories = value as string[];
        break;
      case "flag":
        init.flag = parseFlag(value);
        break;
      case "internetMessageId":
        if (typeof value !== "string") throw invalidType(key);
        init.internetMessageId = value;
        break;
      case "internetMessageHeaders": {
        if (!Array.isArray(value)) throw invalidType(key);
        const headers = value.map((header) => {
          const entry = header as { name?: unknown; value?: unknown };
          if (typeof entry?.name !== "string" || typeof entry.value !== "string") throw invalidType(key);
          // Exchange only accepts custom x- headers on create (message.md).
          if (!/^x-/i.test(entry.name)) {
            throw new GraphError(
              400,
              "InvalidInternetMessageHeader",
              `The internet message header name '${entry.name}' should start with 'x-' or 'X-'.`,
            );
          }
          return { name: entry.name, value: entry.value };
        });
        init.headers = headers;
        break;
      }
      case "singleValueExtendedProperties": {
        // PidTagInReplyToId is the message's In-Reply-To (Exchange maps the header to it).
        const properties = parseExtendedProperties(value);
        const inReplyTo = properties.find((p) => p.id === IN_REPLY_TO_ID);
        if (inReplyTo) init.inReplyTo = inReplyTo.value === "" ? null : inReplyTo.value;
        init.extendedProperties = properties.filter((p) => p.id !== IN_REPLY_TO_ID);
        break;
      }
      case "attachments":
        if (!Array.isArray(value)) throw invalidType(key);
        init.attachments = value.map((attachment) => ({
          ...parseFileAttachment(attachment, now),
          key: "",
        }));
        break;
      default:
        break;
    }
  }
  return init;
}

/** Applies a PATCH: draft-only properties on a sent/received item are rejected. */
export function applyPatch(message: MessageRecord, input: Record<string, unknown>, now: number): MessageInit {
  for (const key of Object.keys(input)) {
    if (!message.isDraft && DRAFT_WRITABLE.has(key) && !ALWAYS_WRITABLE.has(key)) {
      throw new GraphError(
        400,
        "ErrorInvalidPropertyUpdateSentMessage",
        "Update operation is not supported for the property for sent messages.",
      );
    }
  }
  const { attachments: _ignored, ...init } = parseMessageInput(input, now);
  if (init.extendedProperties)
    init.extendedProperties = mergeExtendedProperties(message.extendedProperties, init.extendedProperties);
  return init;
}
