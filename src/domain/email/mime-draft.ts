// A draft created from MIME (Graph: `POST /me/messages`, `Content-Type: text/plain`, the message in
// base64; 201 with the draft, as a JSON create). The path for sends whose `custom_headers` Graph's
// JSON message cannot carry (custom-headers.ts). A reply's threading is what createReply would set:
// In-Reply-To and References from the parent, and `RE:` before the parent's subject unless a subject
// is given. Attachments and Mailroom's mark are added to the draft afterwards (send.service.ts):
// MIME carries no MAPI named property, and the create request stays under Graph's 4 MB limit.
import { AppError, isAppError } from "../../lib/errors.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import { buildMime, type MimeAddress, parseMessageIds, type ReplyParent } from "./mime-message.ts";
import type { SendAttendee, SendInput } from "./send.service.ts";

/** Graph refuses requests over 4 MB (microsoft §3.6); a few KB are kept for the request line and headers. */
export const MAX_MIME_REQUEST_BYTES = 4 * 1024 * 1024 - 16 * 1024;

const address = (a: SendAttendee): MimeAddress => ({
  address: a.identifier.trim(),
  ...(a.display_name ? { name: a.display_name } : {}),
});

/** What the reply needs from its parent: its Message-ID, References and subject. */
export async function readReplyParent(
  graph: GraphClient,
  accountId: string,
  parentId: string,
  replyTo: string,
): Promise<ReplyParent> {
  const parent = await graph
    .json<{
      internetMessageId?: string;
      subject?: string | null;
      internetMessageHeaders?: { name: string; value: string }[];
    }>(accountId, {
      path: `/me/messages/${parentId}`,
      query: { $select: "internetMessageId,subject,internetMessageHeaders" },
    })
    .catch((error: unknown) => {
      if (isAppError(error) && error.code === "resource_not_found")
        throw new AppError("parent_mail_not_found", {
          detail: `reply_to: email ${replyTo} not found in this account`,
          cause: error,
        });
      throw error;
    });
  const references = (parent.internetMessageHeaders ?? [])
    .filter((h) => h.name.toLowerCase() === "references")
    .flatMap((h) => parseMessageIds(h.value));
  return {
    internetMessageId: parent.internetMessageId ?? "",
    references,
    subject: parent.subject ?? "",
  };
}

/** Creates the draft from MIME; returns its (immutable) id. */
export async function createMimeDraft(
  graph: GraphClient,
  account: AccountRow,
  input: SendInput,
  options: { isHtml: boolean; parent?: ReplyParent | undefined },
): Promise<string> {
  // No display name unless given: Exchange writes the mailbox's own, as for a JSON draft.
  const from: MimeAddress = input.from?.identifier
    ? { address: input.from.identifier, name: input.from.display_name }
    : { address: account.email, name: input.from?.display_name };
  const mime = await buildMime({
    from,
    to: input.to.map(address),
    cc: input.cc?.map(address),
    bcc: input.bcc?.map(address),
    subject: input.subject,
    body: input.body,
    isHtml: options.isHtml,
    headers: input.custom_headers ?? [],
    replyTo: options.parent,
  });
  const encoded = mime.toString("base64");
  if (encoded.length > MAX_MIME_REQUEST_BYTES)
    throw new AppError("content_too_large", {
      detail: `With custom_headers other than X- and Reply-To the message is created from MIME, which Microsoft takes up to 4 MB per request (base64); this body makes ${encoded.length} bytes. Attachments do not count: they are uploaded separately.`,
    });
  const draft = await graph.json<{ id: string }>(account.id, {
    method: "POST",
    path: "/me/messages",
    mime: encoded,
  });
  return draft.id;
}
