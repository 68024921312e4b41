// GET /me (reference §3.1) and translateExchangeIds (§3.7).
import { baseUrl, type GraphResponse, type HandlerContext, json, jsonBody } from "./context.ts";
import { badRequest } from "./errors.ts";

/** The user resource with Graph's default properties. Personal accounts have no `mail`. */
export function renderUser(ctx: HandlerContext): GraphResponse {
  const user = ctx.user;
  const hasMail = user.kind !== "personal" && user.hasMailbox;
  return json(200, {
    "@odata.context": `${baseUrl(ctx.state)}/v1.0/$metadata#users/$entity`,
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.givenName,
    jobTitle: null,
    mail: hasMail ? user.email : null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: user.kind === "personal" ? null : "en-US",
    surname: user.surname,
    userPrincipalName: user.email,
    id: user.id,
  });
}

const ID_TYPES = new Set(["entryId", "ewsId", "immutableEntryId", "restId", "restImmutableEntryId"]);

/** POST /me/translateExchangeIds between restId and restImmutableEntryId (≤ 1000 ids). */
export function translateExchangeIds(ctx: HandlerContext): GraphResponse {
  const body = jsonBody(ctx);
  const ids = body.inputIds;
  const source = body.sourceIdType;
  const target = body.targetIdType;
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > 1000 ||
    ids.some((id) => typeof id !== "string")
  ) {
    throw badRequest("inputIds must contain between 1 and 1000 ids.");
  }
  if (
    typeof source !== "string" ||
    !ID_TYPES.has(source) ||
    typeof target !== "string" ||
    !ID_TYPES.has(target)
  ) {
    throw badRequest("Invalid sourceIdType or targetIdType.");
  }
  const value = (ids as string[]).map((sourceId) => {
    const message = ctx.store.resolveMessage(sourceId);
    const targetId = !message
      ? null
      : target === "restImmutableEntryId"
        ? message.immutableId
        : target === "restId"
          ? message.restId
          : null;
    return targetId
      ? { sourceId, targetId }
      : {
          sourceId,
          errorDetails: {
            code: "ErrorItemNotFound",
            message: "The specified object was not found in the store.",
          },
        };
  });
  return json(200, {
    "@odata.context": `${baseUrl(ctx.state)}/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)`,
    value,
  });
}
