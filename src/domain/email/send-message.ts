// The pure parts of a send (send.service.ts): checking the request, the draft's JSON properties, the
// EmailSent answer and how Microsoft's send errors read in Unipile's catalogue.
import { AppError, isAppError } from "../../lib/errors.ts";
import { checkCustomHeaders, type HeaderRoute, replyToAddresses } from "./custom-headers.ts";
import { encodeProviderId, mailroomId } from "./email-ids.ts";
import type { EmailSent, SendInput } from "./send.service.ts";

/** Microsoft's message ceiling (§3.6: upload sessions up to 150 MB; tenant send limits may be lower). */
export const MAX_MESSAGE_BYTES = 150 * 1024 * 1024;
const ADDRESS = /^[^@\s<>()",;:]+@[^@\s<>()",;:]+\.[^@\s<>()",;:]+$/;

export function validate(input: SendInput, maxMessageBytes: number): HeaderRoute {
  const recipients = [...input.to, ...(input.cc ?? []), ...(input.bcc ?? [])];
  for (const recipient of recipients)
    if (!ADDRESS.test(recipient.identifier.trim()))
      throw new AppError("invalid_recipient", {
        detail: `Recipient '${recipient.identifier}' is not a valid email address.`,
      });
  const size = Buffer.byteLength(input.body) + (input.attachments ?? []).reduce((n, a) => n + a.size, 0);
  if (size > maxMessageBytes) throw messageTooLarge(size, maxMessageBytes);
  return checkCustomHeaders(input.custom_headers ?? []);
}

/** The answer to a message over the limit, whether found while it streams in or afterwards. */
export function messageTooLarge(size: number | undefined, maxMessageBytes: number): AppError {
  const which =
    maxMessageBytes < MAX_MESSAGE_BYTES
      ? `this server accepts at most ${maxMessageBytes} (MAX_MESSAGE_MB)`
      : `Microsoft accepts at most ${maxMessageBytes}`;
  return new AppError("content_too_large", {
    detail: `The message is ${size === undefined ? `over ${maxMessageBytes}` : size} bytes; ${which}. Nothing was sent.`,
  });
}

function recipient(attendee: { display_name?: string | undefined; identifier: string }) {
  return {
    emailAddress: {
      address: attendee.identifier.trim(),
      ...(attendee.display_name ? { name: attendee.display_name } : {}),
    },
  };
}

/** Whether a body is sent as HTML: it has a tag; anything else is sent as text (and is not tracked). */
export function isHtmlBody(body: string): boolean {
  return /<[a-z!][\s\S]*>/i.test(body);
}

/** The draft's properties (JSON path). */
export function graphMessage(input: SendInput): Record<string, unknown> {
  const message: Record<string, unknown> = {
    body: { contentType: isHtmlBody(input.body) ? "html" : "text", content: input.body },
    toRecipients: input.to.map(recipient),
  };
  if (input.subject !== undefined) message.subject = input.subject;
  if (input.cc) message.ccRecipients = input.cc.map(recipient);
  if (input.bcc) message.bccRecipients = input.bcc.map(recipient);
  if (input.from?.identifier)
    message.from = recipient({ identifier: input.from.identifier, display_name: input.from.display_name });
  const headers = input.custom_headers ?? [];
  const replyTo = replyToAddresses(headers);
  if (replyTo.length > 0) message.replyTo = replyTo.map((identifier) => recipient({ identifier }));
  const custom = headers.filter((h) => /^x-/i.test(h.name));
  if (custom.length > 0) message.internetMessageHeaders = custom;
  return message;
}

/** The `EmailSent` answer of a draft that was sent. */
export function sentAnswer(accountId: string, draftId: string, trackingId: string): EmailSent {
  return {
    object: "EmailSent",
    tracking_id: trackingId,
    id: mailroomId(accountId, draftId),
    provider_id: encodeProviderId(draftId),
  };
}

export function translateSendError(error: unknown): unknown {
  if (!isAppError(error)) return error;
  const code = (error.cause as { graphCode?: string } | undefined)?.graphCode;
  if (code === "ErrorSendAsDenied")
    return new AppError("send_as_denied", {
      detail:
        "Microsoft refused to send as this address: the mailbox may not send as the `from` address, or, for a shared mailbox, its connected user lacks Send As on it (an Exchange admin grants it: Add-RecipientPermission -Identity <mailbox> -Trustee <user> -AccessRights SendAs).",
      cause: error,
    });
  return error;
}
