// Unipile's v1 email and folder objects (reference §2.1.2, §2.1.6), as Mailroom returns them.

export type FolderRole =
  | "inbox"
  | "sent"
  | "archive"
  | "drafts"
  | "trash"
  | "spam"
  | "all"
  | "important"
  | "starred"
  | "unknown";

export const FOLDER_ROLES: readonly FolderRole[] = [
  "inbox",
  "sent",
  "archive",
  "drafts",
  "trash",
  "spam",
  "all",
  "important",
  "starred",
  "unknown",
];

/** Graph well-known folder names for the roles Outlook has (reference §3.4, §3.8). */
export const WELL_KNOWN_BY_ROLE: Partial<Record<FolderRole, string>> = {
  inbox: "inbox",
  sent: "sentitems",
  archive: "archive",
  drafts: "drafts",
  trash: "deleteditems",
  spam: "junkemail",
};

export interface Attendee {
  display_name?: string;
  identifier: string;
  identifier_type: "EMAIL_ADDRESS";
}

export interface MailAttachment {
  id: string;
  name: string;
  size: number;
  extension: string;
  mime: string;
  cid?: string;
}

export interface EmailObject {
  object: "Email";
  id: string;
  deprecated_id: string;
  kind: "0_ref" | "1_meta" | "2_full";
  account_id: string;
  type: "OUTLOOK";
  date: string;
  role: FolderRole;
  folders: string[];
  folderIds: string[];
  read_date: string | null;
  message_id: string;
  provider_id: string;
  from_attendee?: Attendee;
  to_attendees?: Attendee[];
  cc_attendees?: Attendee[];
  bcc_attendees?: Attendee[];
  reply_to_attendees?: Attendee[];
  subject?: string;
  has_attachments?: boolean;
  origin?: "unipile" | "external";
  in_reply_to?: { message_id: string; id: string };
  tracking_id?: string;
  thread_id?: string;
  attachments?: MailAttachment[];
  body?: string;
  body_plain?: string;
  headers?: { name: string; value: string }[];
}

export interface FolderObject {
  object: "Folder";
  id: string;
  name: string;
  account_id: string;
  role: FolderRole;
  nb_mails: number;
  provider_id: string;
}

export interface EmailPage {
  object: "EmailList";
  items: EmailObject[];
  cursor: string | null;
  /**
   * Set when the page is one the cache remembered, served unchanged: the same object for as long as
   * the cache holds that page (the HTTP layer keeps the page's JSON by it).
   */
  remembered?: object;
}
