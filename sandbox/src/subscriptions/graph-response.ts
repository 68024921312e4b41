// Graph's response conventions for the subscription endpoints (reference §3.10, §5): OData JSON
// content type, request-id / client-request-id headers, and the `{"error":{code,message,innerError}}` body.
import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

export const GRAPH_JSON =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/** innerError.date has no "Z" and no fraction (reference §5). */
function graphErrorDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

export function graphHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
): { requestId: string; clientRequestId: string } {
  const requestId = randomUUID();
  const header = request.headers["client-request-id"];
  const clientRequestId = (Array.isArray(header) ? header[0] : header) ?? requestId;
  reply.header("request-id", requestId);
  reply.header("client-request-id", clientRequestId);
  reply.header("OData-Version", "4.0");
  return { requestId, clientRequestId };
}

export function sendGraphJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header("content-type", GRAPH_JSON).send(JSON.stringify(body));
}

export function sendGraphError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  nowMs: number,
): FastifyReply {
  const { requestId, clientRequestId } = graphHeaders(request, reply);
  if (status === 401) {
    reply.header(
      "WWW-Authenticate",
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
    );
  }
  return sendGraphJson(reply, status, {
    error: {
      code,
      message,
      innerError: {
        date: graphErrorDate(nowMs),
        "request-id": requestId,
        "client-request-id": clientRequestId,
      },
    },
  });
}

/** Graph prints DateTimeOffset with 7 fractional digits, e.g. 2016-11-20T18:23:45.9356913Z. */
export function graphDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}
