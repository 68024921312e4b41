// Unipile's email and folder shapes (reference unipile-api-v1.md §2.1.2, §2.1.6) for validation of
// inputs, response serialisation and the OpenAPI document.
import { Type } from "typebox";
import {
  MAX_ADDRESS_CHARS,
  MAX_ANY_EMAIL_ADDRESSES,
  MAX_ANY_EMAIL_CHARS,
  MAX_FOLDER_CHARS,
  MAX_ID_FILTER_CHARS,
} from "../../domain/email/list-filters.ts";
import { MAX_SEARCH_CHARS, SEARCH_RESULT_CAP } from "../../domain/email/list-search.ts";

export const FolderRoleSchema = Type.Union([
  Type.Literal("inbox"),
  Type.Literal("sent"),
  Type.Literal("archive"),
  Type.Literal("drafts"),
  Type.Literal("trash"),
  Type.Literal("spam"),
  Type.Literal("all"),
  Type.Literal("important"),
  Type.Literal("starred"),
  Type.Literal("unknown"),
]);

/** Unipile's `before`/`after` pattern: `toISOString()` form. */
const UTC_MS = "^[1-2]\\d{3}-[0-1]\\d-[0-3]\\dT\\d{2}:\\d{2}:\\d{2}.\\d{3}Z$";

export const ListEmailsQuery = Type.Object(
  {
    account_id: Type.String({ minLength: 1 }),
    role: Type.Optional(FolderRoleSchema),
    folder: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_FOLDER_CHARS,
        description: "A folder's provider_id (its Mailroom id and name also work)",
      }),
    ),
    from: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ADDRESS_CHARS })),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_ADDRESS_CHARS,
        description: "A recipient in to, cc or bcc",
      }),
    ),
    any_email: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_ANY_EMAIL_CHARS,
        description: `Comma-separated addresses (at most ${MAX_ANY_EMAIL_ADDRESSES}): from, to, cc or bcc any of them`,
      }),
    ),
    before: Type.Optional(Type.String({ pattern: UTC_MS, description: "Exclusive" })),
    after: Type.Optional(Type.String({ pattern: UTC_MS, description: "Exclusive" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 100 })),
    cursor: Type.Optional(Type.String({ minLength: 1 })),
    meta_only: Type.Optional(Type.Boolean()),
    include_headers: Type.Optional(Type.Boolean()),
    thread_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID_FILTER_CHARS })),
    message_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID_FILTER_CHARS })),
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_SEARCH_CHARS,
        description: `Full-text search (Microsoft's KQL: words, "phrases", from:, to:, subject:, hasattachments:true …), ranked as Microsoft returns it, at most ${SEARCH_RESULT_CAP} results. Combines with folder and role (except starred/important); not with from, to, any_email, before, after, thread_id or message_id. See docs/search.md.`,
      }),
    ),
  },
  // Unknown parameters are refused by name (http/unknown-query.ts) before this schema is checked.
  { additionalProperties: false },
);

export const EmailIdParams = Type.Object({
  id: Type.String({
    minLength: 1,
    description:
      'A Mailroom email id; or, with `account_id`, a provider id, Unipile\'s JSON form `{"message_id":"<…>","uid":"…"}` or an RFC 822 Message-ID `<…@…>` (percent-encoded)',
  }),
});
export const AttachmentParams = Type.Object({
  id: Type.String({ minLength: 1 }),
  attachment_id: Type.String({ minLength: 1 }),
});
export const AccountIdQuery = Type.Object({ account_id: Type.Optional(Type.String({ minLength: 1 })) });
export const GetEmailQuery = Type.Object({
  account_id: Type.Optional(Type.String({ minLength: 1 })),
  include_headers: Type.Optional(Type.Boolean()),
});

const Attendee = Type.Object({
  display_name: Type.Optional(Type.String()),
  identifier: Type.String(),
  identifier_type: Type.Literal("EMAIL_ADDRESS"),
});

const Attachment = Type.Object({
  id: Type.String(),
  name: Type.String(),
  size: Type.Number(),
  extension: Type.String(),
  mime: Type.String(),
  cid: Type.Optional(Type.String()),
});

export const EmailSchema = Type.Object({
  object: Type.Literal("Email"),
  id: Type.String(),
  deprecated_id: Type.String(),
  kind: Type.Union([Type.Literal("0_ref"), Type.Literal("1_meta"), Type.Literal("2_full")]),
  account_id: Type.String(),
  type: Type.Literal("OUTLOOK"),
  date: Type.String({ format: "date-time" }),
  role: FolderRoleSchema,
  folders: Type.Array(Type.String()),
  folderIds: Type.Array(Type.String()),
  read_date: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  message_id: Type.String(),
  provider_id: Type.String({ description: "The Graph immutable id (path-safe)" }),
  from_attendee: Type.Optional(Attendee),
  to_attendees: Type.Optional(Type.Array(Attendee)),
  cc_attendees: Type.Optional(Type.Array(Attendee)),
  bcc_attendees: Type.Optional(Type.Array(Attendee)),
  reply_to_attendees: Type.Optional(Type.Array(Attendee)),
  subject: Type.Optional(Type.String()),
  has_attachments: Type.Optional(Type.Boolean()),
  origin: Type.Optional(Type.Union([Type.Literal("unipile"), Type.Literal("external")])),
  in_reply_to: Type.Optional(
    Type.Object({
      message_id: Type.String(),
      id: Type.String({ minLength: 1, description: "The parent email's id (in this account)" }),
    }),
  ),
  tracking_id: Type.Optional(Type.String({ minLength: 1, description: "Set on mail sent through the API" })),
  thread_id: Type.Optional(Type.String()),
  attachments: Type.Optional(Type.Array(Attachment)),
  body: Type.Optional(Type.String({ description: "HTML; empty for 1_meta" })),
  body_plain: Type.Optional(Type.String({ description: "Text; empty for 1_meta" })),
  headers: Type.Optional(Type.Array(Type.Object({ name: Type.String(), value: Type.String() }))),
});

export const EmailListSchema = Type.Object({
  object: Type.Literal("EmailList"),
  items: Type.Array(EmailSchema),
  cursor: Type.Union([Type.String({ description: "Standard base64" }), Type.Null()]),
});

export const FolderSchema = Type.Object({
  object: Type.Literal("Folder"),
  id: Type.String(),
  name: Type.String(),
  account_id: Type.String(),
  role: FolderRoleSchema,
  nb_mails: Type.Number(),
  provider_id: Type.String(),
});

export const FolderListSchema = Type.Object({
  object: Type.Literal("FolderList"),
  items: Type.Array(FolderSchema),
  /** Only when listing every account's folders: the next page of accounts, null after the last. */
  cursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const EmailUpdatedSchema = Type.Object({ object: Type.Literal("EmailUpdated") });
export const EmailDeletedSchema = Type.Object({ object: Type.Literal("EmailDeleted") });
