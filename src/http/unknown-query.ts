// A query parameter a route does not know is refused by name rather than dropped: a misspelt or
// unsupported filter (Unipile's newer `exclude_folders`, say) would otherwise widen the answer unnoticed.
// Bodies get the same answer from closed schemas (closed-bodies.ts, error-handler.ts).
import type { FastifyRequest } from "fastify";
import { refuseUnknownFields } from "../lib/unknown-fields.ts";

export function refuseUnknownQuery(known: readonly string[]): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    refuseUnknownFields("querystring", (request.query ?? {}) as object, known);
  };
}
