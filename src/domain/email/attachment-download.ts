// GET /api/v1/emails/{id}/attachments/{attachment_id}: the bytes as Graph streams them from
// `…/attachments/{id}/$value` (reference microsoft §3.6), never held whole (ADR 0012).
import type { Readable } from "node:stream";
import { AppError } from "../../lib/errors.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { GraphAttachment } from "../../providers/microsoft/graph-types.ts";
import { decodeProviderId } from "./email-ids.ts";

export interface AttachmentDownload {
  /** Graph's body, unread: the caller pipes it on or destroys it (it holds a mailbox slot). */
  body: Readable;
  contentType: string;
  name: string;
  /** Content-Length when Graph gave one. */
  size: number | undefined;
}

/** `signal` is the client going away: it cancels the download. */
export async function downloadAttachment(
  graph: GraphClient,
  accountId: string,
  graphId: string,
  attachmentIdParam: string,
  signal?: AbortSignal,
): Promise<AttachmentDownload> {
  const attachmentId = decodeProviderId(attachmentIdParam);
  if (attachmentId === undefined)
    throw new AppError("resource_not_found", { detail: `Attachment ${attachmentIdParam} not found` });
  const path = `/me/messages/${graphId}/attachments/${attachmentId}`;
  const [meta, content] = await Promise.allSettled([
    graph.json<GraphAttachment>(accountId, { path, query: { $select: "id,name,contentType,size" } }),
    graph.stream(accountId, { path: `${path}/$value` }, signal),
  ]);
  if (meta.status === "rejected") {
    // The body nobody will read must not keep its mailbox slot.
    if (content.status === "fulfilled") content.value.body.destroy();
    throw meta.reason;
  }
  if (content.status === "rejected") throw content.reason;
  const length = Number.parseInt(content.value.header("content-length") ?? "", 10);
  return {
    body: content.value.body,
    contentType: meta.value.contentType || content.value.header("content-type") || "application/octet-stream",
    name: meta.value.name ?? "attachment",
    size: Number.isFinite(length) && length >= 0 ? length : undefined,
  };
}
