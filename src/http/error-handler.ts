import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { isUnavailable } from "../storage/db.ts";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function sendError(reply: FastifyReply, error: AppError, instance?: string): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header("Retry-After", String(Math.ceil(error.retryAfterSeconds)));
  return reply.code(error.status).type(JSON_CONTENT_TYPE).send(error.toBody(instance));
}

/** Maps anything thrown by a route to Unipile's error shape; internals never reach the client. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError;
  if (e?.validation) {
    const first = e.validation[0];
    const where = e.validationContext ?? "request";
    const path = first?.instancePath ? first.instancePath.replace(/^\//, "").replace(/\//g, ".") : "";
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const field = missing ?? path;
    const detail = `${where}${field ? `.${field}` : ""}: ${first?.message ?? "is invalid"}`;
    return new AppError("invalid_parameters", { detail, cause: error });
  }
  switch (e?.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("malformed_request", {
        detail: "The request body is not valid JSON.",
        cause: error,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("unsupported_media_type", {
        detail: `Content-Type ${JSON.stringify(e.message.split(": ")[1] ?? "")} is not accepted here.`,
        cause: error,
      });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("content_too_large", { detail: "The request body is too large.", cause: error });
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new AppError("malformed_request", { detail: "The request body is not valid JSON.", cause: error });
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

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error, request: FastifyRequest, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      log.error({ err: error, reqId: request.id, url: request.routeOptions.url }, "request failed");
    }
    return sendError(reply, appError, request.url.split("?")[0]);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new AppError("resource_not_found", {
        detail: `No route ${request.method} ${request.url.split("?")[0]}`,
      }),
      request.url.split("?")[0],
    ),
  );
}
