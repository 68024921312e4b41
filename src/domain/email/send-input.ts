// Reads a send/draft request (reference unipile §2.1.8). The SDK sends multipart with `to`, `cc`,
// `bcc`, `from`, `custom_headers` and `tracking_options` as JSON strings; JSON clients send the same
// fields as values. Both arrive here as one record of fields. A field outside SEND_FIELDS is a 400
// naming it (a misspelt `tracking_option` would otherwise be dropped unnoticed).
import { AppError } from "../../lib/errors.ts";
import { refuseUnknownFields } from "../../lib/unknown-fields.ts";
import { bufferedAttachment } from "./attachment-upload.ts";
import type { OutgoingAttachment, SendAttendee, SendInput, TrackingOptions } from "./send.service.ts";

/** A host name (RFC 1123 labels, at least two), as `custom_domain` must be. */
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const MAX_LABEL_LENGTH = 1000;

/** Every field of a send or draft request: what the SDK's `send` writes (reference §2.1.8) and `draft_id`. */
export const SEND_FIELDS = [
  "account_id",
  "send_at",
  "body",
  "to",
  "cc",
  "bcc",
  "from",
  "subject",
  "reply_to",
  "draft_id",
  "custom_headers",
  "tracking_options",
  "attachments",
] as const;

export function parseSendInput(
  fields: Record<string, unknown>,
  attachments: OutgoingAttachment[],
): SendInput {
  refuseUnknownFields("body", fields, SEND_FIELDS);
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
    // An empty send_at is kept, to be refused as no date: dropped, the email would go out at once.
    if (value === undefined || (value === "" && key !== "send_at")) continue;
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
  const tracking = trackingOptions(jsonField(fields.tracking_options, "tracking_options"));
  if (tracking) input.tracking = tracking;
  const all = [...attachments, ...jsonAttachments(fields.attachments)];
  if (all.length > 0) input.attachments = all;
  return input;
}

/** `tracking_options` (§2.1.8, §3.5): `{opens?, links?, label?, custom_domain?}`; other keys are ignored. */
function trackingOptions(value: unknown): TrackingOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new AppError("invalid_parameters", { detail: "tracking_options: must be an object" });
  const { opens, links, label, custom_domain } = value as Record<string, unknown>;
  for (const [name, flag] of [
    ["opens", opens],
    ["links", links],
  ] as const)
    if (flag !== undefined && typeof flag !== "boolean")
      throw new AppError("invalid_parameters", { detail: `tracking_options.${name}: must be true or false` });
  const options: TrackingOptions = { opens: opens === true, links: links === true };
  if (label !== undefined && label !== null) {
    if (typeof label !== "string" || label.length > MAX_LABEL_LENGTH)
      throw new AppError("invalid_parameters", {
        detail: `tracking_options.label: must be a string of at most ${MAX_LABEL_LENGTH} characters`,
      });
    options.label = label;
  }
  if (custom_domain !== undefined && custom_domain !== null && custom_domain !== "") {
    const host = typeof custom_domain === "string" ? custom_domain.trim().toLowerCase() : "";
    if (!HOST_NAME.test(host))
      throw new AppError("invalid_parameters", {
        detail:
          "tracking_options.custom_domain: must be a host name such as track.example.com (a CNAME of Mailroom's PUBLIC_URL host), without scheme or path",
      });
    options.customDomain = host;
  }
  return options;
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
    return bufferedAttachment(
      name,
      contentTypeOf(name, typeof type === "string" ? type : undefined),
      Buffer.from(content, "base64"),
    );
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
