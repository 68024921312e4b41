// Microsoft's front end (HTTP.sys) refuses a request before Graph sees it when the URL or the header
// block is too long. Graph then answers with the front end's HTML page wrapped in an `UnknownError`
// body: 414 for the URL, 400 "Request Too Long" for headers (seen in microsoft-graph-explorer-v4#3184
// and microsoft-graph-docs#21903). The limits are HTTP.sys defaults.
import { STATUS_CODES } from "node:http";
import type { FastifyInstance } from "fastify";
import { newRequestId } from "./ids.ts";

/** HTTP.sys `MaxFieldLength`/`MaxRequestBytes` defaults, applied to the URL and to the header block. */
export const MAX_URL_BYTES = 16_384;
export const MAX_HEADER_BYTES = 16_384;
/** Node's own parser limit for the sandbox, above Microsoft's so that the sandbox decides. */
export const PARSER_MAX_HEADER_BYTES = 64 * 1024;

function frontEndPage(title: string, status: number, text: string): string {
  return `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD><TITLE>${STATUS_CODES[status]}</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>${title}</h2>\r\n<hr><p>HTTP Error ${status}. ${text}</p>\r\n</BODY></HTML>\r\n`;
}

/** The front end's refusal for a request, or undefined when it passes. */
export function frontEndRefusal(
  url: string,
  rawHeaders: string[],
): { status: number; message: string } | undefined {
  if (Buffer.byteLength(url) > MAX_URL_BYTES)
    return {
      status: 414,
      message: frontEndPage("Request URL Too Long", 414, "The request URL is too long."),
    };
  let headerBytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    headerBytes += Buffer.byteLength(rawHeaders[i] ?? "") + Buffer.byteLength(rawHeaders[i + 1] ?? "") + 4;
  if (headerBytes > MAX_HEADER_BYTES)
    return {
      status: 400,
      message: frontEndPage(
        "Bad Request - Request Too Long",
        400,
        "The size of the request headers is too long.",
      ),
    };
  return undefined;
}

export function registerRequestLimits(app: FastifyInstance, now: () => number): void {
  app.addHook("onRequest", async (request, reply) => {
    const refusal = frontEndRefusal(request.raw.url ?? "", request.raw.rawHeaders);
    if (!refusal) return;
    const requestId = newRequestId();
    return reply
      .code(refusal.status)
      .header("connection", "close")
      .send({
        error: {
          code: "UnknownError",
          message: refusal.message,
          innerError: {
            date: new Date(now()).toISOString().slice(0, 19),
            "request-id": requestId,
            "client-request-id": String(request.headers["client-request-id"] ?? requestId),
          },
        },
      });
  });
}
