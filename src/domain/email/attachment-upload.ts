// Attaching files to a draft (reference microsoft §3.6): files under 3 MB are POSTed inline as
// base64; from 3 MB each goes through an upload session, one chunk at a time (a multiple of 320 KiB,
// at most 4 MiB), each chunk a request of its own that takes a mailbox slot (limiter.ts). A chunk's
// bytes are streamed into its request as they are read from the spool, so memory holds a few small
// pieces, not a chunk, let alone the file (ADR 0012).
import { AppError } from "../../lib/errors.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { OutgoingAttachment } from "./send.service.ts";

/**
 * Files from this size on go through an upload session; smaller ones are POSTed inline (§3.6:
 * inline "< 3 MB", sessions "3–150 MB"). Decimal, not 3 MiB: inline, a file just under 3 MiB is a
 * base64 JSON request over Graph's 4 MB request limit, while a session for it is allowed; 3,000,000
 * bytes in base64 (4,000,000) still fit one request.
 */
export const UPLOAD_SESSION_MIN_BYTES = 3_000_000;
/** Outlook recommends chunks of at most 4 MB; Graph wants multiples of 320 KiB. */
export const UPLOAD_CHUNK_BYTES = 320 * 1024 * 12;

/** An attachment whose bytes are already in memory (JSON bodies' base64 attachments, tests). */
export function bufferedAttachment(name: string, contentType: string, content: Buffer): OutgoingAttachment {
  return {
    name,
    contentType,
    size: content.length,
    bytes: async () => content,
    async *range(start: number, end: number) {
      // subarray shares the buffer: nothing is copied.
      if (end > start) yield content.subarray(start, end);
    },
  };
}

/**
 * Attaches every file in order, one request or upload session at a time: a small file's inline POST
 * holds its bytes three times (bytes, base64, JSON), so running them one by one bounds memory.
 */
export async function attachFiles(
  graph: GraphClient,
  accountId: string,
  draftId: string,
  attachments: readonly OutgoingAttachment[],
): Promise<void> {
  for (const file of attachments) {
    if (file.size < UPLOAD_SESSION_MIN_BYTES) await attachInline(graph, accountId, draftId, file);
    else await uploadInChunks(graph, accountId, draftId, file);
  }
}

async function attachInline(
  graph: GraphClient,
  accountId: string,
  draftId: string,
  file: OutgoingAttachment,
) {
  await graph.json(accountId, {
    method: "POST",
    path: `/me/messages/${draftId}/attachments`,
    body: {
      "@odata.type": "#microsoft.graph.fileAttachment",
      name: file.name,
      contentType: file.contentType,
      contentBytes: (await file.bytes()).toString("base64"),
    },
  });
}

async function uploadInChunks(
  graph: GraphClient,
  accountId: string,
  draftId: string,
  file: OutgoingAttachment,
): Promise<void> {
  const session = await graph.json<{ uploadUrl?: string }>(accountId, {
    method: "POST",
    path: `/me/messages/${draftId}/attachments/createUploadSession`,
    body: {
      AttachmentItem: {
        attachmentType: "file",
        name: file.name,
        size: file.size,
        contentType: file.contentType,
      },
    },
  });
  if (!session?.uploadUrl)
    throw new AppError("provider_error", { detail: "Microsoft returned no upload URL." });
  const total = file.size;
  // Chunks go out in order, each awaited before the next is read: Graph's pace is the backpressure on
  // the reads.
  for (let start = 0; start < total; start += UPLOAD_CHUNK_BYTES) {
    const end = Math.min(total, start + UPLOAD_CHUNK_BYTES);
    const body = { length: end - start, pieces: () => exactly(file, start, end) };
    const answer = await graph.uploadChunk(accountId, session.uploadUrl, body, { start, total });
    if (answer.status === 201) {
      if (end === total) return;
      throw new AppError("provider_error", {
        detail: `Microsoft closed the upload session of ${JSON.stringify(file.name)} after ${end} of ${total} bytes.`,
      });
    }
    const next = Number.parseInt(answer.nextExpectedRanges[0] ?? "", 10);
    // Outlook names the next byte it expects; anything but the one after this chunk is a broken session.
    if (Number.isFinite(next) && next !== end)
      throw new AppError("provider_error", {
        detail: `Microsoft expected byte ${next} of the upload session, not ${end}.`,
      });
  }
}

/** The range's bytes, failing the request (instead of leaving Graph waiting) if the file is shorter. */
async function* exactly(file: OutgoingAttachment, start: number, end: number): AsyncIterable<Buffer> {
  let at = start;
  for await (const piece of file.range(start, end)) {
    at += piece.length;
    yield piece;
  }
  if (at !== end)
    throw new AppError("provider_error", {
      detail: `The attachment ${JSON.stringify(file.name)} ended after ${at} of ${file.size} bytes.`,
    });
}
