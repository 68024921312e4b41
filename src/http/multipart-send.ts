// Reads a send or draft request (reference unipile §2.1.8) without holding its files whole
// (ADR 0012). Unipile's SDK sends `body`, `account_id` and `subject`, then the files, then `to`, `cc`,
// `from`, `reply_to`…, so the draft can only be shaped once the whole body is read; and Graph creates
// an upload session with the file's size, which a multipart part does not carry. Each file part is
// therefore spooled as it arrives — in memory while small (within a few MiB per request), else to a
// temporary file — while the message's size is counted against its limit, then attached from there
// chunk by chunk; the temporary files go when the request is done, whatever its outcome.
import type { FastifyReply, FastifyRequest } from "fastify";
import { UPLOAD_SESSION_MIN_BYTES } from "../domain/email/attachment-upload.ts";
import {
  MAX_MESSAGE_BYTES,
  messageTooLarge,
  type OutgoingAttachment,
  type SendInput,
} from "../domain/email/send.service.ts";
import { contentTypeOf, parseSendInput, SEND_FIELDS } from "../domain/email/send-input.ts";
import { AppError } from "../lib/errors.ts";
import { Spool } from "../lib/spool.ts";
import { unknownFieldsError } from "../lib/unknown-fields.ts";

/** Multipart limits: past Microsoft's message ceiling per file (the message limit is counted here), generous text fields (HTML bodies). */
export const MULTIPART_LIMITS = {
  fileSize: MAX_MESSAGE_BYTES + 1,
  files: 250,
  fields: 100,
  fieldSize: 32 * 1024 * 1024,
  parts: 400,
};

/** Room a multipart body needs beyond its message: boundaries, part headers, recipient fields. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;
/** What one request may keep in memory of its small files before it spools them to disk too. */
const MEMORY_BUDGET_BYTES = 4 * 1024 * 1024;

/**
 * Reads the request (multipart or JSON) into a SendInput and runs `use` on it while its attachments
 * are readable; spooled files are removed once `use` settles.
 */
export async function withSendRequest<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  maxMessageBytes: number,
  use: (input: SendInput) => Promise<T>,
): Promise<T> {
  if (!request.isMultipart()) {
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body))
      throw new AppError("malformed_request", {
        detail: "Send multipart/form-data (as Unipile's SDK does) or a JSON object.",
      });
    return use(parseSendInput(body as Record<string, unknown>, []));
  }
  const declared = Number.parseInt(String(request.headers["content-length"] ?? ""), 10);
  if (declared > maxMessageBytes + FORM_OVERHEAD_BYTES) {
    // Not a byte of it is read: the connection closes after the answer instead of draining it.
    reply.header("connection", "close");
    throw messageTooLarge(undefined, maxMessageBytes);
  }
  const spool = new Spool({
    memoryFileBytes: UPLOAD_SESSION_MIN_BYTES,
    memoryBudgetBytes: MEMORY_BUDGET_BYTES,
  });
  try {
    let input: SendInput;
    try {
      input = await readMultipart(request, spool, maxMessageBytes);
    } catch (error) {
      discardRest(request, reply, maxMessageBytes + FORM_OVERHEAD_BYTES);
      throw error;
    }
    return await use(input);
  } finally {
    await spool.dispose();
  }
}

async function readMultipart(
  request: FastifyRequest,
  spool: Spool,
  maxMessageBytes: number,
): Promise<SendInput> {
  const fields: Record<string, unknown> = {};
  const files: OutgoingAttachment[] = [];
  // An idempotent request's fingerprint names each file's hash: computed as the file arrives.
  const sha256 = request.headers["idempotency-key"] !== undefined;
  let messageBytes = 0;
  const count = (length: number) => {
    messageBytes += length;
    if (messageBytes > maxMessageBytes) throw messageTooLarge(undefined, maxMessageBytes);
  };
  try {
    for await (const part of request.parts()) {
      if (!part.fieldname)
        throw new AppError("malformed_request", {
          detail: 'A multipart part has no name: send `Content-Disposition: form-data; name="…"`.',
        });
      if (part.type === "file") {
        // Files come as `attachments` (the SDK), `attachments[]` or `attachments[0]`; any other name
        // is an unknown field, as a text field would be.
        if (part.fieldname.replace(/\[\d*\]$/, "") !== "attachments")
          throw unknownFieldsError("body", [part.fieldname], SEND_FIELDS);
        const content = await spool.add(part.file, count, { sha256 });
        if (part.file.truncated) throw messageTooLarge(undefined, maxMessageBytes);
        const name = part.filename || `attachment-${files.length + 1}`;
        files.push({
          name,
          contentType: contentTypeOf(name, part.mimetype),
          size: content.size,
          ...(content.sha256 !== undefined ? { sha256: content.sha256 } : {}),
          bytes: () => content.bytes(),
          range: (start, end) => content.range(start, end),
          read: (start, end, lend) => content.read(start, end, lend),
        });
        continue;
      }
      if (part.valueTruncated)
        throw new AppError("content_too_large", {
          detail: `The form field ${JSON.stringify(part.fieldname.slice(0, 64))} exceeds ${MULTIPART_LIMITS.fieldSize} bytes.`,
        });
      const value = typeof part.value === "string" ? part.value : String(part.value);
      // The body is part of the message's size (as validate() counts it); recipient fields are not.
      if (part.fieldname === "body") count(Buffer.byteLength(value));
      // `attachments[0]`-style names and repeated fields: the last text value wins.
      fields[part.fieldname.replace(/\[\d*\]$/, "")] = value;
    }
  } catch (error) {
    throw multipartError(error);
  }
  return parseSendInput(fields, files);
}

function multipartError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const code = (error as { code?: string }).code;
  if (code === "FST_REQ_FILE_TOO_LARGE")
    return new AppError("content_too_large", {
      detail: `An attachment exceeds ${MAX_MESSAGE_BYTES} bytes, Microsoft's message limit.`,
      cause: error,
    });
  if (code === "FST_FILES_LIMIT" || code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT")
    return new AppError("invalid_parameters", { detail: "Too many parts in the form.", cause: error });
  if (code === "FST_MP_PREMATURE_CLOSE")
    return new AppError("malformed_request", {
      detail: "The request was closed before its body ended; nothing was sent.",
      cause: error,
    });
  const broken = brokenMultipart(error);
  if (broken) return new AppError("malformed_request", { detail: broken, cause: error });
  return error;
}

/**
 * After a refusal mid-body, the rest of the body is read and dropped (so the client, still
 * uploading, gets the answer on a connection that stays usable), up to `limitBytes`; a body still
 * going past that is cut off.
 */
function discardRest(request: FastifyRequest, reply: FastifyReply, limitBytes: number): void {
  const raw = request.raw;
  if (raw.readableEnded || raw.destroyed) return;
  raw.unpipe();
  let dropped = 0;
  raw.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limitBytes) {
      reply.header("connection", "close");
      raw.destroy();
    }
  });
  raw.resume();
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
