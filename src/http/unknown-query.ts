// A query parameter a route does not know is refused by name rather than dropped: a misspelt or
// unsupported filter (Unipile's newer `exclude_folders`, say) would otherwise widen the answer unnoticed.
import type { FastifyRequest } from "fastify";
import { AppError } from "../lib/errors.ts";

export function refuseUnknownQuery(known: readonly string[]): (request: FastifyRequest) => Promise<void> {
  const allowed = new Set(known);
  return async (request) => {
    const unknown = Object.keys((request.query ?? {}) as Record<string, unknown>).filter(
      (k) => !allowed.has(k),
    );
    if (unknown.length === 0) return;
    const names = unknown.slice(0, 10).map((k) => JSON.stringify(k.slice(0, 100)));
    throw new AppError("invalid_parameters", {
      detail: `querystring: unknown parameter${unknown.length > 1 ? "s" : ""} ${names.join(", ")}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ""}; this endpoint takes ${[...allowed].join(", ")}`,
    });
  };
}
