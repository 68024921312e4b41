// GET / PUT / DELETE /api/v1/emails/{id}: `id` is a Mailroom id, or a provider id with `?account_id=`.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { refuseUnknownFields } from "../../../lib/unknown-fields.ts";
import {
  AccountIdQuery,
  EmailDeletedSchema,
  EmailIdParams,
  EmailSchema,
  EmailUpdatedSchema,
  GetEmailQuery,
} from "../../schemas/email.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { sendEmail } from "./serialized-email.ts";

const errors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  422: ErrorSchema,
  429: ErrorSchema,
  500: ErrorSchema,
  503: ErrorSchema,
};

const UPDATE_FIELDS = ["unread", "folders", "categories"] as const;

/**
 * Unipile's SDK sends the update as `text/plain` with the body `[object Object]` (reference §1.2,
 * §2.1.5): anything that is not a JSON object is an empty update, never a 400. A JSON object with a
 * field other than UPDATE_FIELDS is a 400 naming it.
 */
export function parseUpdate(body: unknown): { unread?: boolean; folders?: string[]; categories?: string[] } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return {};
  const input = body as Record<string, unknown>;
  refuseUnknownFields("body", input, UPDATE_FIELDS);
  const out: { unread?: boolean; folders?: string[]; categories?: string[] } = {};
  if (input.unread !== undefined) {
    if (typeof input.unread !== "boolean")
      throw new AppError("invalid_parameters", { detail: "body.unread: must be boolean" });
    out.unread = input.unread;
  }
  if (input.folders !== undefined) {
    const folders = typeof input.folders === "string" ? [input.folders] : input.folders;
    if (!Array.isArray(folders) || !folders.every((f) => typeof f === "string" && f.length > 0))
      throw new AppError("invalid_parameters", { detail: "body.folders: must be an array of folder names" });
    out.folders = folders as string[];
  }
  if (input.categories !== undefined) {
    // Outlook categories by name (Graph message `categories`); the list replaces the email's, [] clears it.
    const categories = typeof input.categories === "string" ? [input.categories] : input.categories;
    if (!Array.isArray(categories) || !categories.every((c) => typeof c === "string" && c.trim().length > 0))
      throw new AppError("invalid_parameters", {
        detail: "body.categories: must be an array of category names",
      });
    out.categories = [...new Set(categories as string[])];
  }
  return out;
}

export function emailRoutes(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Scoped to this plugin: PUT bodies of any type reach the handler as text (see parseUpdate).
    app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));

    app.get(
      "/api/v1/emails/:id",
      {
        schema: {
          summary: "Get an email",
          tags: ["Emails"],
          params: EmailIdParams,
          querystring: GetEmailQuery,
          response: { 200: EmailSchema, ...errors },
        },
      },
      async (request, reply) => {
        const found = await email.get(request.params.id, request.query.account_id, {
          includeHeaders: request.query.include_headers === true,
        });
        return sendEmail(reply, found);
      },
    );

    app.put(
      "/api/v1/emails/:id",
      {
        schema: {
          summary: "Update an email",
          description:
            "`unread` marks it read or unread; `categories` (Outlook category names) replaces its categories, `[]` clears them; `folders` (exactly one folder name or id) moves it. The email keeps its id across moves. A body that is not a JSON object is an empty update.",
          tags: ["Emails"],
          params: EmailIdParams,
          querystring: AccountIdQuery,
          response: { 200: EmailUpdatedSchema, ...errors },
        },
      },
      async (request) => {
        await email.update(request.params.id, request.query.account_id, parseUpdate(request.body));
        return { object: "EmailUpdated" as const };
      },
    );

    app.delete(
      "/api/v1/emails/:id",
      {
        schema: {
          summary: "Delete an email",
          description: "Moves the email to Deleted Items (Unipile's Trash); it keeps its id.",
          tags: ["Emails"],
          params: EmailIdParams,
          querystring: AccountIdQuery,
          response: { 200: EmailDeletedSchema, ...errors },
        },
      },
      async (request) => {
        await email.trash(request.params.id, request.query.account_id);
        return { object: "EmailDeleted" as const };
      },
    );
  };
}
