// Attachments (reference §3.6): list/get/$value/add/delete, and upload sessions for 3–150 MB files.
// The upload URL is pre-authenticated (no Authorization header) and, like Outlook's, answers in
// the Outlook REST v2.0 shape (PascalCase `NextExpectedRanges`/`ExpirationDateTime`).
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SandboxState } from "../state.ts";
import {
  baseUrl,
  contextUrl,
  empty,
  type GraphResponse,
  type HandlerContext,
  json,
  jsonBody,
} from "./context.ts";
import { badRequest, GRAPH_MESSAGES, GraphError, itemNotFound } from "./errors.ts";
import { type AttachmentRecord, type MessageRecord, mailboxes, messageSizeBytes } from "./mailbox-store.ts";
import { ATTACHMENT_UPLOAD_SESSION_MIN_BYTES, parseFileAttachment } from "./message-input.ts";
import { findMessage } from "./messages.ts";
import { ATTACHMENT_PROPERTIES, isoDate, parseSelect, renderAttachment } from "./serialize.ts";

export const MAX_UPLOAD_SESSION_BYTES = 150 * 1024 * 1024;
const UPLOAD_SESSION_LIFETIME_MS = 6 * 60 * 60 * 1000;

interface UploadSession {
  id: string;
  token: string;
  userId: string;
  messageImmutableId: string;
  name: string;
  contentType: string;
  contentId: string | null;
  isInline: boolean;
  size: number;
  buffer: Buffer;
  received: number;
  expiresAt: number;
}

const sessionsByState = new WeakMap<SandboxState, Map<string, UploadSession>>();
function sessions(state: SandboxState): Map<string, UploadSession> {
  let map = sessionsByState.get(state);
  if (!map) {
    map = new Map();
    sessionsByState.set(state, map);
  }
  return map;
}

function findAttachment(ctx: HandlerContext, message: MessageRecord): AttachmentRecord {
  const id = ctx.params.attachmentId ?? "";
  const attachment = message.attachments.find((candidate) => id.endsWith(`BEgAQA${candidate.key}`));
  if (!attachment) throw itemNotFound();
  return attachment;
}

function attachmentSelect(ctx: HandlerContext): string[] | null {
  return parseSelect(ctx.request.query.get("$select"), ATTACHMENT_PROPERTIES, "microsoft.graph.attachment");
}

export function listAttachments(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const select = attachmentSelect(ctx);
  return json(200, {
    "@odata.context": contextUrl(ctx, `messages('${encodeURIComponent(ctx.params.id ?? "")}')/attachments`),
    value: message.attachments.map((attachment) => renderAttachment(message, attachment, ctx.prefer, select)),
  });
}

export function getAttachment(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const attachment = findAttachment(ctx, message);
  return json(200, {
    "@odata.context": contextUrl(
      ctx,
      `messages('${encodeURIComponent(ctx.params.id ?? "")}')/attachments/$entity`,
    ),
    ...renderAttachment(message, attachment, ctx.prefer, attachmentSelect(ctx)),
  });
}

export function getAttachmentValue(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const attachment = findAttachment(ctx, message);
  return {
    status: 200,
    headers: { "Content-Type": attachment.contentType, "Content-Length": String(attachment.content.length) },
    raw: attachment.content,
  };
}

export function addAttachment(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const input = parseFileAttachment(jsonBody(ctx), ctx.state.now());
  if (messageSizeBytes(message) + input.content.length > ctx.store.maxMessageBytes) {
    throw new GraphError(400, "ErrorMessageSizeExceeded", GRAPH_MESSAGES.messageSizeExceeded);
  }
  const attachment = ctx.store.addAttachment(message, input);
  return json(201, {
    "@odata.context": contextUrl(
      ctx,
      `messages('${encodeURIComponent(ctx.params.id ?? "")}')/attachments/$entity`,
    ),
    ...renderAttachment(message, attachment, ctx.prefer, null),
  });
}

export function deleteAttachment(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  ctx.store.removeAttachment(message, findAttachment(ctx, message));
  return empty(204);
}

export function createUploadSession(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const body = jsonBody(ctx);
  const item = (body.AttachmentItem ?? body.attachmentItem) as Record<string, unknown> | undefined;
  if (!item || typeof item !== "object") throw badRequest("The AttachmentItem parameter is required.");
  if (item.attachmentType !== undefined && item.attachmentType !== "file") {
    throw badRequest("Only attachmentType 'file' is supported.");
  }
  if (typeof item.name !== "string" || item.name === "") throw badRequest("The attachment name is required.");
  const size = Number(item.size);
  if (!Number.isInteger(size) || size < 0) throw badRequest("The attachment size is required.");
  // Smaller files are POSTed inline (reference §3.6).
  if (size < ATTACHMENT_UPLOAD_SESSION_MIN_BYTES) {
    throw new GraphError(
      400,
      "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
      "Attachment size must be greater than the minimum size.",
    );
  }
  if (size > MAX_UPLOAD_SESSION_BYTES || messageSizeBytes(message) + size > ctx.store.maxMessageBytes) {
    throw new GraphError(400, "ErrorMessageSizeExceeded", GRAPH_MESSAGES.messageSizeExceeded);
  }
  const session: UploadSession = {
    id: `AAMkAG${randomBytes(48).toString("base64url")}`,
    token: `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(48).toString("base64url")}.${randomBytes(32).toString("base64url")}`,
    userId: ctx.user.id,
    messageImmutableId: message.immutableId,
    name: item.name,
    contentType: typeof item.contentType === "string" ? item.contentType : "application/octet-stream",
    contentId: typeof item.contentId === "string" ? item.contentId : null,
    isInline: item.isInline === true,
    size,
    buffer: Buffer.alloc(size),
    received: 0,
    expiresAt: ctx.state.now() + UPLOAD_SESSION_LIFETIME_MS,
  };
  sessions(ctx.state).set(session.id, session);
  return json(201, {
    "@odata.context": `${baseUrl(ctx.state)}/v1.0/$metadata#microsoft.graph.uploadSession`,
    uploadUrl: uploadUrl(ctx.state, session, ctx.user.tenantId),
    expirationDateTime: isoDate(session.expiresAt),
    nextExpectedRanges: ["0-"],
  });
}

function uploadUrl(state: SandboxState, session: UploadSession, tenantId: string): string {
  const user = encodeURIComponent(`${session.userId}@${tenantId}`);
  return `${baseUrl(state)}/api/v2.0/Users('${user}')/Messages('${encodeURIComponent(session.messageImmutableId)}')/AttachmentSessions('${encodeURIComponent(session.id)}')?authtoken=${session.token}`;
}

function uploadError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type("application/json").send({ error: { code, message } });
}

/** PUT/DELETE on an upload URL: no Authorization header; the URL's authtoken authenticates. */
export function handleUploadRequest(
  state: SandboxState,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const url = request.url;
  const match = /AttachmentSessions\('([^']+)'\)/.exec(decodeURIComponent(url.split("?")[0] ?? ""));
  const token = new URLSearchParams(url.split("?")[1] ?? "").get("authtoken");
  const session = match ? sessions(state).get(match[1]!) : undefined;
  if (!session || session.token !== token) {
    return uploadError(reply, 404, "ErrorItemNotFound", GRAPH_MESSAGES.itemNotFound);
  }
  if (state.now() > session.expiresAt) {
    sessions(state).delete(session.id);
    return uploadError(reply, 404, "ErrorItemNotFound", GRAPH_MESSAGES.itemNotFound);
  }
  if (request.method === "DELETE") {
    sessions(state).delete(session.id);
    return reply.code(204).send();
  }
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(request.headers["content-range"] ?? "").trim());
  if (!range)
    return uploadError(
      reply,
      400,
      "ErrorInvalidRequest",
      "The Content-Range header is missing or malformed.",
    );
  const start = Number(range[1]);
  const end = Number(range[2]);
  const total = Number(range[3]);
  if (total !== session.size || end < start || end >= total || end - start + 1 !== body.length) {
    return uploadError(
      reply,
      400,
      "ErrorInvalidRequest",
      "The Content-Range header does not match the upload session.",
    );
  }
  if (start !== session.received) {
    return uploadError(
      reply,
      416,
      "InvalidRange",
      `The uploaded fragment overlaps or skips data; expected ${session.received}-.`,
    );
  }
  body.copy(session.buffer, start);
  session.received = end + 1;
  const context = `https://outlook.office.com/api/v2.0/$metadata#Users('${encodeURIComponent(session.userId)}')/Messages('${encodeURIComponent(session.messageImmutableId)}')/AttachmentSessions/$entity`;
  if (session.received < session.size) {
    return reply
      .code(200)
      .type(
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
      )
      .send({
        "@odata.context": context,
        ExpirationDateTime: new Date(session.expiresAt).toISOString(),
        NextExpectedRanges: [String(session.received)],
      });
  }
  sessions(state).delete(session.id);
  const store = mailboxes(state).get(session.userId);
  const message = store.resolveMessage(session.messageImmutableId);
  if (!message) return uploadError(reply, 404, "ErrorItemNotFound", GRAPH_MESSAGES.itemNotFound);
  const attachment = store.addAttachment(message, {
    name: session.name,
    contentType: session.contentType,
    content: session.buffer,
    contentId: session.contentId,
    contentLocation: null,
    isInline: session.isInline,
  });
  const attachmentId = `${message.immutableId.replace(/=+$/, "")}BEgAQA${attachment.key}`;
  return reply
    .code(201)
    .header(
      "Location",
      `https://outlook.office.com/api/v2.0/Users('${encodeURIComponent(session.userId)}')/Messages('${encodeURIComponent(message.immutableId)}')/Attachments('${encodeURIComponent(attachmentId)}')`,
    )
    .send();
}
