import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { unknownFieldsError, unknownKeys } from "../lib/unknown-fields.ts";
import { isUnavailable } from "../storage/db.ts";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** The router's limit on one path parameter; Graph ids are ~150 characters (docs/adr/0003-email-ids.md). */
export const MAX_PARAM_LENGTH = 2048;

export function sendError(reply: FastifyReply, error: AppError, instance?: string): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header("Retry-After", String(Math.ceil(error.retryAfterSeconds)));
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(error.toBody(instance));
}

/** Maps anything thrown by a route to Unipile's error shape; internals never reach the client. */
export function toAppError(error: unknown, request?: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError;
  if (e?.validation) {
    const first = e.validation[0];
    const where = e.validationContext ?? "request";
    const path = first?.instancePath ? first.instancePath.replace(/^\//, "").replace(/\//g, ".") : "";
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = missing ?? path;
    if (first?.keyword === "additionalProperties") return unknownFields(where, path, first, error);
    const detail = `${where}${field ? `.${field}` : ""}: ${first?.message ?? "is invalid"}`;
    return new AppError(first?.keyword === "maxLength" ? "too_many_characters" : "invalid_parameters", {
      detail,
      cause: error,
    });
  }
  switch (e?.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("malformed_request", {
        detail: "The request body is not valid JSON.",
        cause: error,
      });
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("malformed_request", {
        detail: "The request body's length does not match its Content-Length header.",
        cause: error,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE": {
      const type = request?.headers["content-type"];
      return new AppError("unsupported_media_type", {
        detail: `Content-Type ${JSON.stringify((type ?? "").slice(0, 100))} is not accepted here.`,
        cause: error,
      });
    }
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("content_too_large", {
        detail: `The request body is larger than this endpoint accepts${request ? ` (${request.routeOptions.bodyLimit} bytes)` : ""}.`,
        cause: error,
      });
    case "FST_ERR_BAD_URL":
      return new AppError("invalid_parameters", {
        detail: "The path is not a valid URL: a percent-encoded sequence is malformed.",
        cause: error,
      });
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new AppError("too_many_characters", {
        detail: `A path parameter exceeds ${MAX_PARAM_LENGTH} characters.`,
        cause: error,
      });
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new AppError("malformed_request", { detail: "The request body is not valid JSON.", cause: error });
  }
  // Scaled mode: a request that enqueues a job while Redis is unreachable (the job runner's error).
  if ((e as { code?: unknown } | undefined)?.code === "redis_unavailable") {
    return new AppError("service_unavailable", {
      detail: "The job queue (Redis) is unreachable. Retry shortly.",
      retryAfterSeconds: 5,
      cause: error,
    });
  }
  if (isUnavailable(error)) {
    return new AppError("service_unavailable", {
      detail: "The database is unreachable. Retry shortly.",
      retryAfterSeconds: 5,
      cause: error,
    });
  }
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode === 415 ? "unsupported_media_type" : "malformed_request", {
      detail: e.message,
      cause: error,
    });
  }
  return new AppError("unexpected_error", { detail: "Something went wrong.", cause: error });
}

/**
 * A closed schema (`additionalProperties: false`) met a field it does not know. Ajv reports the first
 * one; with its `verbose` option the error carries the object and its schema, so every unknown field
 * is named at once, and the known ones listed.
 */
function unknownFields(
  where: string,
  path: string,
  first: { params?: unknown; data?: unknown; parentSchema?: unknown },
  cause: unknown,
): AppError {
  const properties =
    (first.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const data = first.data;
  const named = (first.params as { additionalProperty?: string } | undefined)?.additionalProperty;
  const unknown =
    data !== null && typeof data === "object" && !Array.isArray(data)
      ? unknownKeys(data, Object.keys(properties))
      : named !== undefined
        ? [named]
        : [];
  return unknownFieldsError(`${where}${path ? `.${path}` : ""}`, unknown, Object.keys(properties), cause);
}

/**
 * Fastify's `frameworkErrors`: failures found while routing (a malformed percent-encoding, a path
 * parameter over the router's limit) that would otherwise get Fastify's own body.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const appError = toAppError(error, request);
  sendError(reply, appError, safeInstance(request.url));
}

/**
 * Node's `clientError`: the request could not be parsed (headers over the size limit, a bad
 * Content-Length, a timeout), so there is no route and no Fastify reply; the answer is written raw.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const appError =
    error.code === "HPE_HEADER_OVERFLOW"
      ? new AppError("too_many_characters", { detail: "The request headers exceed 16 KB." })
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new AppError("malformed_request", { detail: "The request was not received in time." })
        : new AppError("malformed_request", {
            detail:
              error.code === "HPE_INVALID_CONTENT_LENGTH" || error.code === "HPE_UNEXPECTED_CONTENT_LENGTH"
                ? "The Content-Length header is invalid."
                : "The request is not valid HTTP.",
          });
  const body = JSON.stringify(appError.toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\nConnection: close\r\n` +
        `Content-Type: ${JSON_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The path of a URL for `instance`, without the query and cut short: it may be what was too long. */
function safeInstance(url: string): string {
  const path = url.split("?")[0] ?? "";
  return path.length > 256 ? `${path.slice(0, 256)}…` : path;
}

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  // Instead of Fastify's return503OnClosing (a fixed body of its own): requests that arrive on a
  // kept-alive connection while the server drains get Unipile's 503.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // Callback style: every request passes here, and an async hook would cost each one a promise.
  app.addHook("onRequest", (request, reply, done) => {
    if (!closing) return done();
    reply.header("Connection", "close");
    sendError(
      reply,
      new AppError("service_unavailable", {
        detail: "Mailroom is shutting down; retry on another instance or shortly.",
        retryAfterSeconds: 5,
      }),
      safeInstance(request.url),
    );
  });
  app.setErrorHandler((error, request: FastifyRequest, reply) => {
    const appError = toAppError(error, request);
    if (appError.status >= 500) {
      log.error({ err: error, reqId: request.id, url: request.routeOptions.url }, "request failed");
    }
    return sendError(reply, appError, safeInstance(request.url));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new AppError("resource_not_found", {
        detail: `No route ${request.method} ${safeInstance(request.url)}`,
      }),
      safeInstance(request.url),
    ),
  );
}
