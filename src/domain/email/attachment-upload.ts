// Attaching files to a draft (reference microsoft §3.6): files under 3 MB are POSTed inline as
// base64; from 3 MB each goes through an upload session, one chunk at a time (a multiple of 320 KiB,
// at most 4 MiB), each chunk a request of its own that takes a mailbox slot (limiter.ts). A chunk is
// read from the spool into a pooled buffer and written out from it in one piece, so memory holds one
// chunk whatever the file's size, the same buffer for every upload (ADR 0012).
import { BufferPool } from "../../lib/buffer-pool.ts";
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
/** A chunk buffer per upload from disk under way; one stays between uploads, the same one every time. */
const chunkBuffers = new BufferPool(UPLOAD_CHUNK_BYTES, 1);

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
    read: async (start: number, end: number) => {
      if (end > content.length)
        throw new RangeError(`the content ends after ${content.length} bytes, before ${end}`);
      return content.subarray(start, end);
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
  // Chunks go out in order, each read and then awaited before the next is read: Graph's pace is the
  // backpressure on the reads. A chunk from disk is read into one buffer, the same for every chunk
  // and, from the pool, for every upload: before it is read into again, its last chunk was answered
  // with a 2xx, so Outlook had all of its bytes and nothing reads them any more.
  let buffer: Buffer | undefined;
  const lend = () => (buffer ??= chunkBuffers.take());
  for (let start = 0; start < total; start += UPLOAD_CHUNK_BYTES) {
    const end = Math.min(total, start + UPLOAD_CHUNK_BYTES);
    const chunk = await file.read(start, end, lend).catch((error: unknown) => {
      throw new AppError("provider_error", {
        detail: `The attachment ${JSON.stringify(file.name)} could not be read back where it waited (${file.size} bytes were received).`,
        cause: error,
      });
    });
    const answer = await graph.uploadChunk(accountId, session.uploadUrl, chunk, { start, total });
    if (answer.status === 201) {
      if (end !== total)
        throw new AppError("provider_error", {
          detail: `Microsoft closed the upload session of ${JSON.stringify(file.name)} after ${end} of ${total} bytes.`,
        });
      break;
    }
    const expected = Number.parseInt(answer.nextExpectedRanges[0] ?? "", 10);
    // Outlook names the next byte it expects; anything but the one after this chunk is a broken session.
    if (Number.isFinite(expected) && expected !== end)
      throw new AppError("provider_error", {
        detail: `Microsoft expected byte ${expected} of the upload session, not ${end}.`,
      });
  }
  // Back to the pool only once every chunk was taken: a request that failed may still be writing it.
  if (buffer) chunkBuffers.give(buffer);
}
