// Reads a send/draft request (reference unipile §2.1.8). The SDK sends multipart with `to`, `cc`,
// `bcc`, `from`, `custom_headers` and `tracking_options` as JSON strings; JSON clients send the same
// fields as values. Both arrive here as one record of fields. Unknown fields are ignored (§6.12).
import { AppError } from "../../lib/errors.ts";
import type { OutgoingAttachment, SendAttendee, SendInput } from "./send.service.ts";

export function parseSendInput(
  fields: Record<string, unknown>,
  attachments: OutgoingAttachment[],
): SendInput {
  const accountId = fields.account_id;
  if (typeof accountId !== "string" || accountId === "")
    throw new AppError("missing_parameters", { detail: "account_id: required" });
  const to = attendees(fields.to, "to");
  if (to === undefined || to.length === 0)
    throw new AppError("missing_parameters", { detail: "to: at least one recipient is required" });
  const body = fields.body;
  if (body === undefined) throw new AppError("missing_parameters", { detail: "body: required" });
  if (typeof body !== "string")
    throw new AppError("invalid_parameters", { detail: "body: must be a string" });

  const input: SendInput = { account_id: accountId, body, to };
  const cc = attendees(fields.cc, "cc");
  if (cc) input.cc = cc;
  const bcc = attendees(fields.bcc, "bcc");
  if (bcc) input.bcc = bcc;
  for (const key of ["subject", "reply_to", "draft_id", "send_at"] as const) {
    const value = fields[key];
    if (value === undefined || value === "") continue;
    if (typeof value !== "string")
      throw new AppError("invalid_parameters", { detail: `${key}: must be a string` });
    input[key] = value;
  }
  const from = jsonField(fields.from, "from");
  if (from !== undefined) {
    if (from === null || typeof from !== "object" || Array.isArray(from))
      throw new AppError("invalid_parameters", {
        detail: "from: must be an object {display_name?, identifier?}",
      });
    const { display_name, identifier } = from as Record<string, unknown>;
    input.from = {
      ...(typeof display_name === "string" ? { display_name } : {}),
      ...(typeof identifier === "string" && identifier !== "" ? { identifier } : {}),
    };
  }
  const headers = jsonField(fields.custom_headers, "custom_headers");
  if (headers !== undefined) {
    if (
      !Array.isArray(headers) ||
      !headers.every(
        (h) =>
          h !== null &&
          typeof h === "object" &&
          typeof (h as { name?: unknown }).name === "string" &&
          typeof (h as { value?: unknown }).value === "string",
      )
    )
      throw new AppError("invalid_parameters", {
        detail: "custom_headers: must be an array of {name, value}",
      });
    input.custom_headers = (headers as { name: string; value: string }[]).map(({ name, value }) => ({
      name,
      value,
    }));
  }
  // tracking_options is accepted and ignored: Mailroom does not rewrite links or add pixels (§3.5).
  const tracking = jsonField(fields.tracking_options, "tracking_options");
  if (tracking !== undefined && (tracking === null || typeof tracking !== "object"))
    throw new AppError("invalid_parameters", { detail: "tracking_options: must be an object" });
  const all = [...attachments, ...jsonAttachments(fields.attachments)];
  if (all.length > 0) input.attachments = all;
  return input;
}

function jsonField(value: unknown, name: string): unknown {
  if (typeof value !== "string") return value;
  // The SDK stringifies an absent `to`/`cc` as "undefined" (JSON.stringify(undefined) in FormData).
  if (value === "" || value === "undefined") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new AppError("invalid_parameters", { detail: `${name}: must be JSON` });
  }
}

function attendees(value: unknown, name: string): SendAttendee[] | undefined {
  const parsed = jsonField(value, name);
  if (parsed === undefined) return undefined;
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.map((entry, index) => {
    if (typeof entry === "string" && entry !== "") return { identifier: entry };
    const { identifier, display_name } = (entry ?? {}) as Record<string, unknown>;
    if (typeof identifier !== "string" || identifier === "")
      throw new AppError("invalid_parameters", { detail: `${name}[${index}].identifier: required` });
    return { identifier, ...(typeof display_name === "string" ? { display_name } : {}) };
  });
}

/** JSON bodies may carry attachments as `[filename, base64]` pairs or `{filename|name, content, content_type?}`. */
function jsonAttachments(value: unknown): OutgoingAttachment[] {
  if (value === undefined || value === null || typeof value === "string") return [];
  if (!Array.isArray(value))
    throw new AppError("invalid_parameters", { detail: "attachments: must be an array" });
  return value.map((entry, index) => {
    const [name, content, type] = Array.isArray(entry)
      ? [entry[0], entry[1], undefined]
      : [
          (entry as Record<string, unknown>)?.filename ?? (entry as Record<string, unknown>)?.name,
          (entry as Record<string, unknown>)?.content,
          (entry as Record<string, unknown>)?.content_type,
        ];
    if (typeof name !== "string" || typeof content !== "string")
      throw new AppError("invalid_parameters", {
        detail: `attachments[${index}]: expected [filename, base64] or {filename, content}`,
      });
    return {
      name,
      content: Buffer.from(content, "base64"),
      contentType: contentTypeOf(name, typeof type === "string" ? type : undefined),
    };
  });
}

const MIME_BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  html: "text/html",
  htm: "text/html",
  json: "application/json",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  zip: "application/zip",
  ics: "text/calendar",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
};

/** The SDK wraps every file in an untyped Blob (octet-stream): the extension tells more. */
export function contentTypeOf(name: string, declared: string | undefined): string {
  if (declared && declared !== "application/octet-stream") return declared;
  const extension = name.split(".").pop()?.toLowerCase() ?? "";
  return MIME_BY_EXTENSION[extension] ?? "application/octet-stream";
}
