// The send side of Unipile's email API for Microsoft accounts (reference unipile §2.1.8, §2.1.9;
// microsoft §3.5–3.7). Graph's `sendMail` answers 202 with no id, so every send goes through a
// draft: create it (or `createReply` for `reply_to`, which threads it), attach (upload sessions from
// 3 MB), then `POST …/send`. With immutable ids the draft's id is the sent message's id, so the
// `EmailSent` answer carries real `id`/`provider_id`.
import { randomBytes } from "node:crypto";
import { AppError, isAppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { extendedPropertyBody, SENT_MARK_PROPERTY } from "../../providers/microsoft/extended-properties.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { AccountLookup } from "./email.service.ts";
import { encodeProviderId, mailroomId, parseIdRef } from "./email-ids.ts";
import { sentMark } from "./sent-mark.ts";

export interface SendAttendee {
  display_name?: string;
  identifier: string;
}

export interface OutgoingAttachment {
  name: string;
  contentType: string;
  content: Buffer;
}

/** A send or draft request after parsing (multipart and JSON alike). */
export interface SendInput {
  account_id: string;
  body: string;
  to: SendAttendee[];
  cc?: SendAttendee[];
  bcc?: SendAttendee[];
  from?: { display_name?: string; identifier?: string };
  subject?: string;
  reply_to?: string;
  draft_id?: string;
  /** ISO 8601: send at that time instead of now (domain/scheduled). */
  send_at?: string;
  custom_headers?: { name: string; value: string }[];
  attachments?: OutgoingAttachment[];
}

export interface EmailSent {
  object: "EmailSent";
  tracking_id: string;
  id: string;
  provider_id: string;
}

export interface DraftCreated {
  object: "DraftCreated";
  draft_id: string;
}

/** Files from this size on go through an upload session; smaller ones are POSTed inline (§3.6). */
export const UPLOAD_SESSION_MIN_BYTES = 3 * 1024 * 1024;
/** Microsoft's message ceiling (§3.6: upload sessions up to 150 MB; tenant send limits may be lower). */
export const MAX_MESSAGE_BYTES = 150 * 1024 * 1024;
/** Outlook recommends chunks of at most 4 MB; Graph wants multiples of 320 KiB. */
const UPLOAD_CHUNK_BYTES = 320 * 1024 * 12;
const ADDRESS = /^[^@\s<>()",;:]+@[^@\s<>()",;:]+\.[^@\s<>()",;:]+$/;

/**
 * Where sends are recorded (realtime's sent-mail log): before `/send`, so a sync that sees the mail in
 * Sent Items knows it went out through the API; forgotten again when `/send` fails.
 */
export interface SentRecorder {
  record(accountId: string, graphId: string, trackingId: string): Promise<void>;
  forget(accountId: string, graphId: string): Promise<void>;
}

export class SendService {
  constructor(
    private readonly deps: {
      accounts: AccountLookup;
      graph: GraphClient;
      log: Logger;
      random?: (size: number) => Buffer;
      sent?: SentRecorder;
    },
  ) {}

  async send(input: SendInput): Promise<EmailSent> {
    const trackingId = this.newTrackingId();
    const { account, draftId } = await this.prepareSend(input, trackingId);
    return this.sendDraft(account.id, draftId, trackingId, {
      discardOnFailure: input.draft_id === undefined,
    });
  }

  /** A new `tracking_id` for a send. */
  newTrackingId(): string {
    return (this.deps.random ?? randomBytes)(16).toString("base64url");
  }

  /**
   * The first step of a send: the draft, built and marked with `trackingId`, ready for `sendDraft`.
   * `onDraft` runs as soon as the draft exists (before its attachments), for callers that record it.
   */
  prepareSend(
    input: SendInput,
    trackingId: string,
    onDraft?: (accountId: string, draftId: string) => Promise<void>,
  ): Promise<{ account: AccountRow; draftId: string }> {
    return this.prepare(input, trackingId, onDraft);
  }

  /**
   * The second step: records the send in the sent-mail log (origin and tracking_id of mail_sent),
   * then `POST …/send`. When it fails the record is forgotten and, with `discardOnFailure`, the draft
   * deleted; the error is thrown translated.
   */
  async sendDraft(
    accountId: string,
    draftId: string,
    trackingId: string,
    options: { discardOnFailure: boolean },
  ): Promise<EmailSent> {
    try {
      await this.deps.sent?.record(accountId, draftId, trackingId);
      await this.deps.graph.json(accountId, { method: "POST", path: `/me/messages/${draftId}/send` });
    } catch (error) {
      await this.deps.sent
        ?.forget(accountId, draftId)
        .catch((e: unknown) => this.deps.log.warn({ accountId, err: e }, "could not forget a failed send"));
      if (options.discardOnFailure) await this.discard(accountId, draftId);
      throw translateSendError(error);
    }
    return sentAnswer(accountId, draftId, trackingId);
  }

  /**
   * Where a draft Mailroom built stands: still a draft, sent (with immutable ids a sent draft keeps its
   * id, in Sent Items with `isDraft: false`), deleted (moved to Deleted Items, as Outlook's Delete
   * does), or missing (deleted for good, or discarded).
   */
  async draftState(accountId: string, draftId: string): Promise<"draft" | "sent" | "deleted" | "missing"> {
    try {
      const message = await this.deps.graph.json<{ isDraft?: boolean; parentFolderId?: string }>(accountId, {
        method: "GET",
        path: `/me/messages/${draftId}?$select=isDraft,parentFolderId`,
      });
      if (message?.isDraft === false) return "sent";
      const trash = await this.deps.graph.json<{ id?: string }>(accountId, {
        method: "GET",
        path: "/me/mailFolders/deleteditems?$select=id",
      });
      return trash?.id !== undefined && trash.id === message?.parentFolderId ? "deleted" : "draft";
    } catch (error) {
      if (isAppError(error) && error.code === "resource_not_found") return "missing";
      throw error;
    }
  }

  /** Deletes a draft Mailroom built; a failure is logged, not thrown. */
  async discard(accountId: string, draftId: string): Promise<void> {
    try {
      await this.deps.graph.json(accountId, { method: "DELETE", path: `/me/messages/${draftId}` });
    } catch (error) {
      this.deps.log.warn({ accountId, err: error }, "could not delete a draft left by a failed send");
    }
  }

  async createDraft(input: SendInput): Promise<DraftCreated> {
    const { account, draftId } = await this.prepare(input);
    return { object: "DraftCreated", draft_id: mailroomId(account.id, draftId) };
  }

  /**
   * Validates, then builds the draft (new, reply or existing) with its attachments. A draft about to
   * be sent carries Mailroom's mark with the send's tracking id (origin and tracking_id on read).
   */
  private async prepare(
    input: SendInput,
    trackingId?: string,
    onDraft?: (accountId: string, draftId: string) => Promise<void>,
  ): Promise<{ account: AccountRow; draftId: string }> {
    validate(input);
    const account = await this.deps.accounts.findById(input.account_id);
    if (!account)
      throw new AppError("resource_not_found", { detail: `Account ${input.account_id} not found` });
    const message = graphMessage(input);
    if (trackingId !== undefined)
      message.singleValueExtendedProperties = extendedPropertyBody(
        SENT_MARK_PROPERTY,
        sentMark(account.email, trackingId),
      );

    let draftId: string;
    let created = false;
    if (input.draft_id !== undefined) {
      draftId = this.resolveOwn(account.id, input.draft_id, "draft_id");
      await this.deps.graph.json(account.id, {
        method: "PATCH",
        path: `/me/messages/${draftId}`,
        body: message,
      });
    } else if (input.reply_to !== undefined) {
      const parentId = this.resolveParent(account.id, input.reply_to);
      const draft = await this.deps.graph
        .json<{ id: string }>(account.id, {
          method: "POST",
          path: `/me/messages/${parentId}/createReply`,
          body: {},
        })
        .catch((error: unknown) => {
          if (isAppError(error) && error.code === "resource_not_found")
            throw new AppError("parent_mail_not_found", {
              detail: `reply_to: email ${input.reply_to} not found in this account`,
              cause: error,
            });
          throw error;
        });
      draftId = draft.id;
      created = true;
      // createReply set the recipients, `RE:` subject and threading headers; what the caller sent wins.
      await this.step(account.id, draftId, () =>
        this.deps.graph.json(account.id, {
          method: "PATCH",
          path: `/me/messages/${draftId}`,
          body: message,
        }),
      );
    } else {
      const draft = await this.deps.graph
        .json<{ id: string }>(account.id, { method: "POST", path: "/me/messages", body: message })
        .catch((error: unknown) => {
          throw translateSendError(error);
        });
      draftId = draft.id;
      created = true;
    }
    if (onDraft)
      await this.step(created ? account.id : undefined, draftId, () => onDraft(account.id, draftId));
    await this.step(created ? account.id : undefined, draftId, () =>
      this.attach(account.id, draftId, input.attachments ?? []),
    );
    return { account, draftId };
  }

  /** Runs a step on a draft Mailroom created; on failure the draft is removed so no half-built mail stays. */
  private async step(accountId: string | undefined, draftId: string, task: () => Promise<unknown>) {
    try {
      await task();
    } catch (error) {
      if (accountId !== undefined) await this.discard(accountId, draftId);
      throw translateSendError(error);
    }
  }

  private async attach(accountId: string, draftId: string, attachments: OutgoingAttachment[]) {
    // Small files in parallel (the mailbox limiter caps concurrency); upload sessions one at a time.
    const small = attachments.filter((a) => a.content.length < UPLOAD_SESSION_MIN_BYTES);
    const large = attachments.filter((a) => a.content.length >= UPLOAD_SESSION_MIN_BYTES);
    await Promise.all(
      small.map((file) =>
        this.deps.graph.json(accountId, {
          method: "POST",
          path: `/me/messages/${draftId}/attachments`,
          body: {
            "@odata.type": "#microsoft.graph.fileAttachment",
            name: file.name,
            contentType: file.contentType,
            contentBytes: file.content.toString("base64"),
          },
        }),
      ),
    );
    for (const file of large) await this.upload(accountId, draftId, file);
  }

  private async upload(accountId: string, draftId: string, file: OutgoingAttachment): Promise<void> {
    const session = await this.deps.graph.json<{ uploadUrl?: string }>(accountId, {
      method: "POST",
      path: `/me/messages/${draftId}/attachments/createUploadSession`,
      body: {
        AttachmentItem: {
          attachmentType: "file",
          name: file.name,
          size: file.content.length,
          contentType: file.contentType,
        },
      },
    });
    if (!session?.uploadUrl)
      throw new AppError("provider_error", { detail: "Microsoft returned no upload URL." });
    const total = file.content.length;
    let start = 0;
    while (start < total) {
      // subarray shares the request's buffer: the file is not copied again per chunk.
      const chunk = file.content.subarray(start, Math.min(total, start + UPLOAD_CHUNK_BYTES));
      const answer = await this.deps.graph.uploadChunk(accountId, session.uploadUrl, chunk, {
        start,
        total,
      });
      if (answer.status === 201) return;
      const next = Number.parseInt(answer.nextExpectedRanges[0] ?? "", 10);
      start = Number.isFinite(next) && next > start ? next : start + chunk.length;
    }
  }

  private resolveParent(accountId: string, value: string): string {
    const ref = parseIdRef(value);
    if (!ref || (ref.accountId !== undefined && ref.accountId !== accountId))
      throw new AppError("parent_mail_not_found", {
        detail: `reply_to: email ${value} not found in this account`,
      });
    return ref.graphId;
  }

  private resolveOwn(accountId: string, value: string, field: string): string {
    const ref = parseIdRef(value);
    if (!ref || (ref.accountId !== undefined && ref.accountId !== accountId))
      throw new AppError("resource_not_found", { detail: `${field}: ${value} not found in this account` });
    return ref.graphId;
  }
}

function validate(input: SendInput): void {
  const recipients = [...input.to, ...(input.cc ?? []), ...(input.bcc ?? [])];
  for (const recipient of recipients)
    if (!ADDRESS.test(recipient.identifier.trim()))
      throw new AppError("invalid_recipient", {
        detail: `Recipient '${recipient.identifier}' is not a valid email address.`,
      });
  const size =
    Buffer.byteLength(input.body) + (input.attachments ?? []).reduce((n, a) => n + a.content.length, 0);
  if (size > MAX_MESSAGE_BYTES)
    throw new AppError("content_too_large", {
      detail: `The message is ${size} bytes; Microsoft accepts at most ${MAX_MESSAGE_BYTES}.`,
    });
  for (const header of input.custom_headers ?? []) {
    // Graph sets only `x-` internet headers (microsoft §3.2); Reply-To maps to the replyTo property.
    if (!/^x-/i.test(header.name) && header.name.toLowerCase() !== "reply-to")
      throw new AppError("invalid_parameters", {
        detail: `custom_headers: '${header.name}' is not allowed; Microsoft accepts X- headers (and Reply-To) only`,
      });
  }
}

function recipient(attendee: { display_name?: string | undefined; identifier: string }) {
  return {
    emailAddress: {
      address: attendee.identifier.trim(),
      ...(attendee.display_name ? { name: attendee.display_name } : {}),
    },
  };
}

/** The draft's properties. HTML is recognised by a tag; anything else is sent as text. */
function graphMessage(input: SendInput): Record<string, unknown> {
  const isHtml = /<[a-z!][\s\S]*>/i.test(input.body);
  const message: Record<string, unknown> = {
    body: { contentType: isHtml ? "html" : "text", content: input.body },
    toRecipients: input.to.map(recipient),
  };
  if (input.subject !== undefined) message.subject = input.subject;
  if (input.cc) message.ccRecipients = input.cc.map(recipient);
  if (input.bcc) message.bccRecipients = input.bcc.map(recipient);
  if (input.from?.identifier)
    message.from = recipient({ identifier: input.from.identifier, display_name: input.from.display_name });
  const headers = input.custom_headers ?? [];
  const replyTo = headers.filter((h) => h.name.toLowerCase() === "reply-to");
  if (replyTo.length > 0)
    message.replyTo = replyTo.flatMap((h) =>
      h.value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean)
        .map((identifier) => recipient({ identifier })),
    );
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

function translateSendError(error: unknown): unknown {
  if (!isAppError(error)) return error;
  const code = (error.cause as { graphCode?: string } | undefined)?.graphCode;
  if (code === "ErrorSendAsDenied")
    return new AppError("send_as_denied", {
      detail: "The mailbox may not send as the `from` address.",
      cause: error,
    });
  return error;
}
