// The send side of Unipile's email API for Microsoft accounts (reference unipile §2.1.8, §2.1.9;
// microsoft §3.5–3.7). Graph's `sendMail` answers 202 with no id, so every send goes through a
// draft: create it (or `createReply` for `reply_to`, which threads it), attach (attachment-upload.ts:
// upload sessions from 3 MB), then `POST …/send`. With immutable ids the draft's id is the sent
// message's id, so the `EmailSent` answer carries real `id`/`provider_id`. Custom headers Graph's JSON
// message cannot carry (List-Unsubscribe…) make the draft from MIME instead (mime-draft.ts); the rest is
// the same.
import { randomBytes } from "node:crypto";
import { AppError, isAppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { extendedPropertyBody, SENT_MARK_PROPERTY } from "../../providers/microsoft/extended-properties.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import { attachFiles } from "./attachment-upload.ts";
import { type DraftState, DraftStates } from "./draft-state.ts";
import type { AccountLookup } from "./email.service.ts";
import { isMessageIdRef, mailroomId, parseEmailRef } from "./email-ids.ts";
import { findByMessageId, unresolvedDetail } from "./email-ref.ts";
import { createMimeDraft, readReplyParent } from "./mime-draft.ts";
import {
  graphMessage,
  isHtmlBody,
  MAX_MESSAGE_BYTES,
  messageTooLarge,
  sentAnswer,
  translateSendError,
  validate,
} from "./send-message.ts";
import { sentMark } from "./sent-mark.ts";

export { isHtmlBody, MAX_MESSAGE_BYTES, messageTooLarge, sentAnswer };

export interface SendAttendee {
  display_name?: string;
  identifier: string;
}

/**
 * A file to attach. Its bytes are read only while it is uploaded, from memory or from where the
 * request spooled them (ADR 0012), so a 150 MB message is never held whole.
 */
export interface OutgoingAttachment {
  name: string;
  contentType: string;
  /** Known before the upload: Graph's upload session is created with it (microsoft §3.6). */
  size: number;
  /** The content's SHA-256 (hex) when it was computed as the bytes arrived (idempotent requests). */
  sha256?: string;
  /** The whole content (read only for files under UPLOAD_SESSION_MIN_BYTES, POSTed inline). */
  bytes(): Promise<Buffer>;
  /** Bytes `start` to `end` (exclusive) in pieces as they are read; a piece stays valid once given. */
  range(start: number, end: number): AsyncIterable<Buffer>;
  /**
   * Bytes `start` to `end` (exclusive) at once: a view of bytes held in memory, or read into the buffer
   * `lend` gives (at least `end - start` long), valid until that buffer is reused. Fails if the
   * content ends before `end`.
   */
  read(start: number, end: number, lend: () => Buffer): Promise<Buffer>;
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
  /** `tracking_options` (reference unipile §3.5): a pixel and tracked links in an HTML body. */
  tracking?: TrackingOptions;
}

export interface TrackingOptions {
  opens: boolean;
  links: boolean;
  label?: string;
  /** A host name that is a CNAME of PUBLIC_URL's host; the tracked URLs then use https://{it}. */
  customDomain?: string;
}

/** What a send with `tracking_options` tracks, in its answer (Mailroom's extra key). */
export interface TrackingAnswer {
  opens: boolean;
  links: boolean;
  /** How many links of the body go through Mailroom. */
  tracked_links: number;
  /** Why nothing is tracked (`plain_text_body`). */
  reason?: string;
}

/**
 * Email tracking as the send path sees it (domain/tracking): `prepare` instruments the body before
 * the draft is built, `remember` records the sent mail so its events can name it.
 */
export interface SendTracking {
  prepare(
    input: SendInput,
    trackingId: string,
  ): Promise<{ body: string; answer: TrackingAnswer; tracked: boolean }>;
  remember(sent: { trackingId: string; accountId: string; emailId: string; input: SendInput }): Promise<void>;
}

export interface EmailSent {
  object: "EmailSent";
  tracking_id: string;
  id: string;
  provider_id: string;
  tracking?: TrackingAnswer;
}

export interface DraftCreated {
  object: "DraftCreated";
  draft_id: string;
}

/**
 * Where sends are recorded (realtime's sent-mail log): before `/send`, so a sync that sees the mail in
 * Sent Items knows it went out through the API; forgotten again when `/send` fails.
 */
export interface SentRecorder {
  record(accountId: string, graphId: string, trackingId: string): Promise<void>;
  forget(accountId: string, graphId: string): Promise<void>;
}

export class SendService {
  private readonly draftStates: DraftStates;

  constructor(
    private readonly deps: {
      accounts: AccountLookup;
      graph: GraphClient;
      log: Logger;
      random?: (size: number) => Buffer;
      sent?: SentRecorder;
      /** MAX_MESSAGE_MB: at most Microsoft's 150 MB. */
      maxMessageBytes?: number;
      tracking?: SendTracking;
    },
  ) {
    this.draftStates = new DraftStates(deps.graph);
  }

  /** The largest message accepted (body and attachments); multipart reads stop at it (ADR 0012). */
  get maxMessageBytes(): number {
    return Math.min(this.deps.maxMessageBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
  }

  async send(input: SendInput): Promise<EmailSent> {
    const trackingId = this.newTrackingId();
    const { account, draftId, tracking } = await this.prepareSend(input, trackingId);
    const sent = await this.sendDraft(account.id, draftId, trackingId, {
      discardOnFailure: input.draft_id === undefined,
    });
    return tracking ? { ...sent, tracking } : sent;
  }

  /** A new `tracking_id` for a send. */
  newTrackingId(): string {
    return (this.deps.random ?? randomBytes)(16).toString("base64url");
  }

  /**
   * The first step of a send: the draft, built and marked with `trackingId`, ready for `sendDraft`.
   * With `tracking_options` the body is instrumented first and the tracked mail remembered once its
   * draft exists (a tracked mail's first events may come within a second of its delivery); `tracking`
   * says what is tracked. `onDraft` runs as soon as the draft exists (before its attachments), for
   * callers that record it.
   */
  async prepareSend(
    request: SendInput,
    trackingId: string,
    onDraft?: (accountId: string, draftId: string) => Promise<void>,
  ): Promise<{ account: AccountRow; draftId: string; tracking?: TrackingAnswer }> {
    const tracking =
      request.tracking && this.deps.tracking
        ? await this.deps.tracking.prepare(request, trackingId)
        : undefined;
    const input = tracking ? { ...request, body: tracking.body } : request;
    const { account, draftId } = await this.prepare(input, trackingId, onDraft);
    if (tracking?.tracked)
      await this.step(request.draft_id === undefined ? account.id : undefined, draftId, () =>
        this.deps.tracking!.remember({
          trackingId,
          accountId: account.id,
          emailId: mailroomId(account.id, draftId),
          input: request,
        }),
      );
    return { account, draftId, ...(tracking ? { tracking: tracking.answer } : {}) };
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

  /** Where a draft Mailroom built stands (draft-state.ts). */
  draftState(accountId: string, draftId: string): Promise<DraftState> {
    return this.draftStates.of(accountId, draftId);
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
    const headerRoute = validate(input, this.maxMessageBytes);
    const account = await this.deps.accounts.findById(input.account_id);
    if (!account)
      throw new AppError("resource_not_found", { detail: `Account ${input.account_id} not found` });
    const message = graphMessage(input);
    const mark =
      trackingId !== undefined
        ? extendedPropertyBody(SENT_MARK_PROPERTY, sentMark(account.email, trackingId))
        : undefined;
    if (mark) message.singleValueExtendedProperties = mark;

    let draftId: string;
    let created = false;
    if (headerRoute === "mime") {
      if (input.draft_id !== undefined)
        throw new AppError("invalid_headers", {
          detail:
            "custom_headers: headers other than X- and Reply-To can only be set on a new message or a reply (Microsoft takes them as MIME when the message is created), not on an existing draft_id",
        });
      const parent =
        input.reply_to !== undefined
          ? await readReplyParent(
              this.deps.graph,
              account.id,
              await this.resolveParent(account.id, input.reply_to),
              input.reply_to,
            )
          : undefined;
      draftId = await createMimeDraft(this.deps.graph, account, input, {
        isHtml: isHtmlBody(input.body),
        parent,
      }).catch((error: unknown) => {
        throw translateSendError(error);
      });
      created = true;
      // MIME carries no MAPI named property: the mark is set on the draft once it exists.
      if (mark)
        await this.step(account.id, draftId, () =>
          this.deps.graph.json(account.id, {
            method: "PATCH",
            path: `/me/messages/${draftId}`,
            body: { singleValueExtendedProperties: mark },
          }),
        );
    } else if (input.draft_id !== undefined) {
      draftId = await this.resolveOwn(account.id, input.draft_id, "draft_id");
      await this.deps.graph.json(account.id, {
        method: "PATCH",
        path: `/me/messages/${draftId}`,
        body: message,
      });
    } else if (input.reply_to !== undefined) {
      const parentId = await this.resolveParent(account.id, input.reply_to);
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
      attachFiles(this.deps.graph, account.id, draftId, input.attachments ?? []),
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

  /** `reply_to` in any id form (email-ids.ts); an unknown or ambiguous one is 422 parent_mail_not_found. */
  private async resolveParent(accountId: string, value: string): Promise<string> {
    return this.resolve(accountId, value, "reply_to", "parent_mail_not_found");
  }

  /** `draft_id` in any id form; an unknown or ambiguous one is 404. */
  private async resolveOwn(accountId: string, value: string, field: string): Promise<string> {
    return this.resolve(accountId, value, field, "resource_not_found");
  }

  private async resolve(
    accountId: string,
    value: string,
    field: string,
    code: "parent_mail_not_found" | "resource_not_found",
  ): Promise<string> {
    const ref = parseEmailRef(value);
    const missing = (detail = `${field}: email ${value} not found in this account`) =>
      new AppError(code, { detail });
    if (!ref) throw missing();
    if (!isMessageIdRef(ref)) {
      if (ref.accountId !== undefined && ref.accountId !== accountId) throw missing();
      return ref.graphId;
    }
    const match = await findByMessageId(this.deps.graph, accountId, ref.messageId);
    if ("graphId" in match) return match.graphId;
    throw missing(`${field}: ${unresolvedDetail("email", ref.messageId, match)}`);
  }
}
