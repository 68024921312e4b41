// POST /api/v1/emails (reference unipile §2.1.8): multipart as the SDK sends it (JSON-string
// recipient fields, repeated `attachments` file parts) or JSON → 201 EmailSent with real ids.
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import {
  MAX_MESSAGE_BYTES,
  type OutgoingAttachment,
  type SendInput,
  type SendService,
} from "../../../domain/email/send.service.ts";
import { contentTypeOf, parseSendInput } from "../../../domain/email/send-input.ts";
import type { IdempotencyService } from "../../../domain/idempotency/idempotency.service.ts";
import { type SendCheckpoint, sendOnce } from "../../../domain/idempotency/send-once.ts";
import type { ScheduledSendService } from "../../../domain/scheduled/scheduled-send.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { answerOnce } from "../../idempotency.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { EmailScheduledSchema } from "./scheduled.ts";

export const EmailSentSchema = Type.Object({
  object: Type.Literal("EmailSent"),
  tracking_id: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  provider_id: Type.String({ minLength: 1 }),
});

export const sendErrors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
  415: ErrorSchema,
  422: ErrorSchema,
  429: ErrorSchema,
  500: ErrorSchema,
  503: ErrorSchema,
  504: ErrorSchema,
};

/** Multipart limits: Microsoft's message ceiling per file, generous text fields (HTML bodies). */
export const MULTIPART_LIMITS = {
  fileSize: MAX_MESSAGE_BYTES,
  files: 250,
  fields: 100,
  fieldSize: 32 * 1024 * 1024,
  parts: 400,
};

/** Reads a send/draft request body, multipart or JSON, into one SendInput. */
export async function readSendRequest(request: FastifyRequest): Promise<SendInput> {
  if (!request.isMultipart()) {
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body))
      throw new AppError("malformed_request", {
        detail: "Send multipart/form-data (as Unipile's SDK does) or a JSON object.",
      });
    return parseSendInput(body as Record<string, unknown>, []);
  }
  const fields: Record<string, unknown> = {};
  const files: OutgoingAttachment[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === "file") {
        // One copy per file, held until it is sent; upload chunks are views of it.
        const content = await part.toBuffer();
        const name = part.filename || `attachment-${files.length + 1}`;
        files.push({ name, content, contentType: contentTypeOf(name, part.mimetype) });
      } else {
        if (!part.fieldname)
          throw new AppError("malformed_request", {
            detail: 'A multipart part has no name: send `Content-Disposition: form-data; name="…"`.',
          });
        if (part.valueTruncated)
          throw new AppError("content_too_large", {
            detail: `The form field ${JSON.stringify(part.fieldname.slice(0, 64))} exceeds ${MULTIPART_LIMITS.fieldSize} bytes.`,
          });
        const value = typeof part.value === "string" ? part.value : String(part.value);
        // `attachments[0]`-style names and repeated fields: the last text value wins.
        fields[part.fieldname.replace(/\[\d*\]$/, "")] = value;
      }
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "FST_REQ_FILE_TOO_LARGE")
      throw new AppError("content_too_large", {
        detail: `An attachment exceeds ${MAX_MESSAGE_BYTES} bytes, Microsoft's message limit.`,
        cause: error,
      });
    if (code === "FST_FILES_LIMIT" || code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT")
      throw new AppError("invalid_parameters", { detail: "Too many parts in the form.", cause: error });
    const broken = brokenMultipart(error);
    if (broken) throw new AppError("malformed_request", { detail: broken, cause: error });
    throw error;
  }
  return parseSendInput(fields, files);
}

/**
 * What is wrong with a multipart body the parser gave up on, or undefined when the failure is not the
 * body's (busboy reports a broken body with plain Errors; only their known messages are matched, so a
 * fault of Mailroom's own is never blamed on the client).
 */
export function brokenMultipart(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : "";
  if (/boundary not found/i.test(message))
    return "The multipart body has no boundary: send `Content-Type: multipart/form-data; boundary=…`.";
  if (/unexpected end of (multipart data|form)/i.test(message))
    return "The multipart body ends before its closing boundary (truncated, or a boundary that never closes).";
  if (/malformed (part )?header|header (size|pairs)|too many header/i.test(message))
    return "A multipart part has malformed headers.";
  return undefined;
}

export interface SendRouteServices {
  send: SendService;
  idempotency: IdempotencyService;
  scheduled: ScheduledSendService;
}

export function sendEmailRoute({
  send,
  idempotency,
  scheduled,
}: SendRouteServices): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart, { limits: MULTIPART_LIMITS });
    app.post(
      "/api/v1/emails",
      {
        // Large attachments: the upload to Microsoft may take a while.
        bodyLimit: MAX_MESSAGE_BYTES + 16 * 1024 * 1024,
        schema: {
          summary: "Send an email",
          description:
            "multipart/form-data as Unipile's SDK sends it (`to`, `cc`, `bcc`, `from`, `custom_headers`, `tracking_options` as JSON strings; repeated `attachments` file parts), or the same fields as JSON. `reply_to` (an email id, or a provider id of this account) sends a reply in that thread. `custom_headers` accepts X- headers and Reply-To. `tracking_options` is accepted and ignored. Attachments up to 150 MB in total (upload sessions from 3 MB). `id` and `provider_id` are the sent message's ids. Mailroom extension: an `Idempotency-Key` header (up to 255 characters) makes retries safe: within its lifetime the same key and body get the first answer again and send nothing; another body gets 422 `errors/unprocessable_entity`. Mailroom extension: `send_at` (ISO 8601, in the future, at most SCHEDULE_MAX_DAYS ahead) keeps the email as a draft in the mailbox and sends it then: 202 `EmailScheduled` (see GET /api/v1/emails/scheduled).",
          tags: ["Emails"],
          consumes: ["multipart/form-data", "application/json"],
          response: { 201: EmailSentSchema, 202: EmailScheduledSchema, ...sendErrors },
        },
      },
      async (request, reply) => {
        const input = await readSendRequest(request);
        if (input.send_at !== undefined)
          return answerOnce(idempotency, request, reply, input, async (run) => ({
            status: 202,
            body: await scheduled.schedule(input, run as Parameters<typeof scheduled.schedule>[1]),
          }));
        return answerOnce<SendCheckpoint>(idempotency, request, reply, input, async (run) => ({
          status: 201,
          body: await sendOnce(send, input, run),
        }));
      },
    );
  };
}
