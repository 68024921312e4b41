// Reads served as Mailroom last saw the mailbox (docs/adr/0008-email-cache.md, amendment;
// EMAIL_CACHE_REVALIDATE=on-change): when they may be, and how a page is named. Pure decisions; the
// email service reads the account and asks the email cache.

/** What the account read says about the mailbox (AccountRow with its `realtime_accounts` columns). */
export interface MailboxSeen {
  status: string;
  delegate_account_id: string | null;
  /** The mailbox's change counter; null without realtime. */
  mail_version: number | null;
  /** When realtime's last delta sync of the mailbox ended; null before the first. */
  last_sync_at: number | null;
}

/**
 * The change count reads may be served at without asking Graph, or undefined: realtime completed a
 * sync of the mailbox within `trustMs` (0: never), and the account is OK and signs in itself (a shared
 * mailbox, or one whose sign-in was lost, always asks Graph, so the token and Microsoft decide).
 */
export function seenVersion(mailbox: MailboxSeen, trustMs: number, now: number): number | undefined {
  if (trustMs <= 0 || mailbox.mail_version === null || mailbox.last_sync_at === null) return undefined;
  if (mailbox.status !== "OK" || mailbox.delegate_account_id) return undefined;
  if (now - mailbox.last_sync_at > trustMs) return undefined;
  return mailbox.mail_version;
}

/**
 * A page's name in the cache: everything that decides which emails it lists and how (the kind of
 * email, the Graph path and query, and the read's whole state: filters, limit, cursor).
 */
export function pageKey(kind: string, path: string, query: object, state: object): string {
  return `${kind}\n${path}\n${JSON.stringify(query)}\n${JSON.stringify(state)}`;
}
