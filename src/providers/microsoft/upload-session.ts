// Attachment upload sessions (reference §3.6): one `PUT` of a chunk to the session's upload URL.
import { AppError } from "../../lib/errors.ts";
import { translateGraphError } from "./graph-errors.ts";
import { parseBody } from "./graph-request.ts";
import type { GraphTransport, TransportAnswer } from "./graph-transport.ts";
import type { MailboxLimiter } from "./limiter.ts";

/**
 * One `PUT` of an attachment upload session (reference §3.6). The upload URL is pre-authenticated
 * (no Authorization header) and lives on Outlook's host, not Graph's; the mailbox's limiter slot
 * and the timeout still apply. Intermediate answers are Outlook's PascalCase
 * (`NextExpectedRanges`); the last chunk answers 201 with a `Location`.
 */
export async function putChunk(
  via: { limiter: MailboxLimiter; transport: GraphTransport; timeoutMs: number },
  accountId: string,
  uploadUrl: string,
  chunk: Uint8Array,
  range: { start: number; total: number },
): Promise<{ status: number; nextExpectedRanges: string[] }> {
  if (!/^https?:\/\//.test(uploadUrl))
    throw new AppError("provider_error", { detail: "Microsoft returned an invalid upload URL." });
  const end = range.start + chunk.byteLength - 1;
  let answer: TransportAnswer;
  try {
    // Through the transport (node:http in production: the chunk is written out as it is, not copied).
    answer = await via.limiter.run(accountId, () =>
      via.transport(uploadUrl, {
        method: "PUT",
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `bytes ${range.start}-${end}/${range.total}`,
        },
        body: chunk,
        timeoutMs: via.timeoutMs,
      }),
    );
  } catch (error) {
    if ((error as Error)?.name === "TimeoutError")
      throw new AppError("request_timeout", { detail: "The attachment upload timed out.", cause: error });
    // Already Mailroom's own answer (the limiter's), not the network's.
    if (error instanceof AppError) throw error;
    throw new AppError("service_unavailable", {
      detail: "Microsoft's upload endpoint could not be reached.",
      retryAfterSeconds: 1,
      cause: error,
    });
  }
  if (answer.status >= 400) throw translateGraphError(answer.status, parseBody(answer));
  const body = (answer.bytes.length > 0 ? parseBody(answer) : {}) as {
    NextExpectedRanges?: string[];
    nextExpectedRanges?: string[];
  };
  return {
    status: answer.status,
    nextExpectedRanges: body?.NextExpectedRanges ?? body?.nextExpectedRanges ?? [],
  };
}
