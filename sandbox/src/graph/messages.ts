// Message and folder endpoints: list with query options, get, patch, delete, move, copy, drafts,
// folder CRUD (reference §3.3–3.5).
import {
  baseUrl,
  contextUrl,
  empty,
  type GraphResponse,
  type HandlerContext,
  intOption,
  json,
  jsonBody,
} from "./context.ts";
import { badRequest, GraphError, idMalformed, itemNotFound } from "./errors.ts";
import { type MessageExpand, messageContextSuffix, parseMessageExpand } from "./expand.ts";
import { isWellFormedId } from "./ids.ts";
import type { FolderRecord, MessageInit, MessageRecord } from "./mailbox-store.ts";
import { applyPatch, parseMessageInput } from "./message-input.ts";
import { messageMime } from "./mime.ts";
import { parseMimeMessage } from "./mime-input.ts";
import {
  assertEfficient,
  assertSearchable,
  decodeSearchSkipToken,
  encodeSearchSkipToken,
  evaluate,
  parseFilter,
  parseOrderBy,
  parseSearch,
  searchMessages,
  sortMessages,
} from "./query.ts";
import {
  FOLDER_PROPERTIES,
  MESSAGE_PROPERTIES,
  parseSelect,
  renderFolder,
  renderMessage,
} from "./serialize.ts";

export function findMessage(ctx: HandlerContext, id: string | undefined): MessageRecord {
  if (!id || !isWellFormedId(id)) throw idMalformed();
  const message = ctx.store.resolveMessage(id);
  if (!message) throw itemNotFound();
  return message;
}

export function findFolder(ctx: HandlerContext, reference: string | undefined): FolderRecord {
  if (!reference) throw idMalformed();
  const folder = ctx.store.resolveFolder(reference);
  if (folder) return folder;
  if (!isWellFormedId(reference)) throw idMalformed();
  throw itemNotFound();
}

export function messageSelect(ctx: HandlerContext): string[] | null {
  return parseSelect(ctx.request.query.get("$select"), MESSAGE_PROPERTIES, "microsoft.graph.message");
}

export function messageExpand(ctx: HandlerContext): MessageExpand | null {
  return parseMessageExpand(ctx.request.query.get("$expand"));
}

export function renderOne(
  ctx: HandlerContext,
  message: MessageRecord,
  select: string[] | null = null,
  expand: MessageExpand | null = null,
): Record<string, unknown> {
  return renderMessage(ctx.store, message, ctx.prefer, select, expand);
}

function selectSuffix(select: string[] | null): string {
  return select ? `(${select.join(",")})` : "";
}

/** nextLink: the request's own query options with `$skip` advanced (reference §3.3). */
export function nextLink(ctx: HandlerContext, overrides: Record<string, string>): string {
  const params = new Map<string, string>();
  for (const [key, value] of ctx.request.query) params.set(key, value);
  for (const [key, value] of Object.entries(overrides)) params.set(key, value);
  const query = [...params].map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&");
  return `${baseUrl(ctx.state)}/v1.0${ctx.request.rawPath}?${query}`;
}

/** A search's next page: the same options, `$skip` folded into an opaque `$skiptoken`. */
function searchNextLink(ctx: HandlerContext, offset: number): string {
  const params: string[] = [];
  for (const [key, value] of ctx.request.query)
    if (key !== "$skip" && key !== "$skiptoken") params.push(`${key}=${encodeURIComponent(value)}`);
  params.push(`$skiptoken=${encodeSearchSkipToken(offset)}`);
  return `${baseUrl(ctx.state)}/v1.0${ctx.request.rawPath}?${params.join("&")}`;
}

function withPreferenceApplied(ctx: HandlerContext, response: GraphResponse): GraphResponse {
  if (ctx.prefer.applied.length > 0) response.headers["Preference-Applied"] = ctx.prefer.applied.join(", ");
  return response;
}

export function listMessages(ctx: HandlerContext, folder: FolderRecord | null): GraphResponse {
  const { query } = ctx.request;
  const select = messageSelect(ctx);
  const expand = messageExpand(ctx);
  const top = intOption(ctx, "$top", 1, 1000) ?? 10;
  let skip = intOption(ctx, "$skip", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const rawFilter = query.get("$filter");
  const rawOrder = query.get("$orderby");
  const rawSearch = query.get("$search");
  const filter = rawFilter !== null && rawFilter.trim() !== "" ? parseFilter(rawFilter) : null;
  const order = rawOrder !== null && rawOrder.trim() !== "" ? parseOrderBy(rawOrder) : null;
  let source: MessageRecord[] = folder ? folder.messages : ctx.store.all;

  const searching = rawSearch !== null;
  if (searching) {
    assertSearchable(rawFilter !== null, rawOrder !== null);
    source = searchMessages(parseSearch(rawSearch), source);
    const token = query.get("$skiptoken");
    if (token !== null) skip += decodeSearchSkipToken(token);
  } else {
    if (filter && order) assertEfficient(filter, order);
    if (filter) source = source.filter((message) => evaluate(filter, message));
    if (order) {
      const only = order.length === 1 ? order[0]! : null;
      if (only && only.path.toLowerCase() === "receiveddatetime") {
        if (!only.descending) source = [...source].reverse();
      } else source = sortMessages(source, order);
    }
  }

  const page = source.slice(skip, skip + top);
  const fragment = folder
    ? `mailFolders('${encodeURIComponent(folder.id)}')/messages${messageContextSuffix(select, expand)}`
    : `messages${messageContextSuffix(select, expand)}`;
  const body: Record<string, unknown> = { "@odata.context": contextUrl(ctx, fragment) };
  if (query.get("$count") === "true") body["@odata.count"] = source.length;
  body.value = page.map((message) => renderOne(ctx, message, select, expand));
  if (skip + top < source.length)
    body["@odata.nextLink"] = searching
      ? searchNextLink(ctx, skip + top)
      : nextLink(ctx, { $skip: String(skip + top) });
  return withPreferenceApplied(ctx, json(200, body));
}

export function getMessage(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const select = messageSelect(ctx);
  const expand = messageExpand(ctx);
  const body = {
    "@odata.context": contextUrl(ctx, `messages${messageContextSuffix(select, expand)}/$entity`),
    ...renderOne(ctx, message, select, expand),
  };
  return withPreferenceApplied(ctx, json(200, body));
}

/**
 * `GET /me/messages/{id}/$value`: the MIME content (mime.ts). Graph documents no media type for it;
 * Mailroom does not rely on one.
 */
export function getMessageValue(ctx: HandlerContext): GraphResponse {
  const bytes = messageMime(findMessage(ctx, ctx.params.id));
  return {
    status: 200,
    headers: { "Content-Type": "text/plain", "Content-Length": String(bytes.length) },
    raw: bytes,
  };
}

function entity(ctx: HandlerContext, message: MessageRecord, status: number): GraphResponse {
  return withPreferenceApplied(
    ctx,
    json(status, { "@odata.context": contextUrl(ctx, "messages/$entity"), ...renderOne(ctx, message) }),
  );
}

export function patchMessage(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  const init = applyPatch(message, jsonBody(ctx), ctx.state.now());
  ctx.store.updateMessage(message, (target) => Object.assign(target, init));
  return entity(ctx, message, 200);
}

export function deleteMessage(ctx: HandlerContext): GraphResponse {
  ctx.store.softDelete(findMessage(ctx, ctx.params.id));
  return empty(204);
}

export function permanentDeleteMessage(ctx: HandlerContext): GraphResponse {
  ctx.store.purge(findMessage(ctx, ctx.params.id));
  return empty(204);
}

function destination(ctx: HandlerContext): FolderRecord {
  const body = jsonBody(ctx);
  if (typeof body.destinationId !== "string" || body.destinationId === "") {
    throw badRequest("The destinationId parameter is required.");
  }
  return findFolder(ctx, body.destinationId);
}

export function moveMessage(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  ctx.store.moveMessage(message, destination(ctx));
  return entity(ctx, message, 201);
}

export function copyMessage(ctx: HandlerContext): GraphResponse {
  const message = findMessage(ctx, ctx.params.id);
  return entity(ctx, ctx.store.copyMessage(message, destination(ctx)), 201);
}

/** Whether the request carries a message in MIME format (base64 as `text/plain`) rather than JSON. */
export function isMimeRequest(ctx: HandlerContext): boolean {
  return (ctx.request.headers["content-type"] ?? "").toLowerCase().startsWith("text/plain");
}

/** `POST /messages`: a draft from JSON, or from MIME (its internet headers kept). */
export function createDraft(
  ctx: HandlerContext,
  folder: FolderRecord | null,
): GraphResponse | Promise<GraphResponse> {
  const now = ctx.state.now();
  if (isMimeRequest(ctx))
    return parseMimeMessage(ctx.request.body, ctx.store, now).then((init) => insertDraft(ctx, folder, init));
  return insertDraft(ctx, folder, parseMessageInput(jsonBody(ctx), now));
}

function insertDraft(ctx: HandlerContext, folder: FolderRecord | null, init: MessageInit): GraphResponse {
  const now = ctx.state.now();
  const target = folder ?? ctx.store.wellKnownFolder("drafts");
  const message = ctx.store.insertMessage(target.id, {
    ...init,
    isDraft: true,
    isRead: true,
    from: init.from ?? null,
    sender: init.sender ?? init.from ?? null,
    receivedAt: now,
    sentAt: now,
    createdAt: now,
    lastModifiedAt: now,
  });
  return entity(ctx, message, 201);
}

// ---- folders ----

function folderSelect(ctx: HandlerContext): string[] | null {
  return parseSelect(ctx.request.query.get("$select"), FOLDER_PROPERTIES, "microsoft.graph.mailFolder");
}

export function listFolders(ctx: HandlerContext, parent: FolderRecord | null): GraphResponse {
  const select = folderSelect(ctx);
  const top = intOption(ctx, "$top", 1, 1000) ?? 10;
  const skip = intOption(ctx, "$skip", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const includeHidden = ctx.request.query.get("includeHiddenFolders") === "true";
  const folders = ctx.store.childFolders(parent?.id ?? ctx.store.rootId, includeHidden);
  const fragment = parent
    ? `mailFolders('${encodeURIComponent(parent.id)}')/childFolders${selectSuffix(select)}`
    : `mailFolders${selectSuffix(select)}`;
  const body: Record<string, unknown> = { "@odata.context": contextUrl(ctx, fragment) };
  if (ctx.request.query.get("$count") === "true") body["@odata.count"] = folders.length;
  body.value = folders.slice(skip, skip + top).map((folder) => renderFolder(ctx.store, folder, select));
  if (skip + top < folders.length) body["@odata.nextLink"] = nextLink(ctx, { $skip: String(skip + top) });
  return json(200, body);
}

export function getFolder(ctx: HandlerContext): GraphResponse {
  const folder = findFolder(ctx, ctx.params.folderId);
  const select = folderSelect(ctx);
  return json(200, {
    "@odata.context": contextUrl(ctx, `mailFolders${selectSuffix(select)}/$entity`),
    ...renderFolder(ctx.store, folder, select),
  });
}

function folderEntity(ctx: HandlerContext, folder: FolderRecord, status: number): GraphResponse {
  return json(status, {
    "@odata.context": contextUrl(ctx, "mailFolders/$entity"),
    ...renderFolder(ctx.store, folder, null),
  });
}

export function createFolder(ctx: HandlerContext, parent: FolderRecord | null): GraphResponse {
  const body = jsonBody(ctx);
  if (typeof body.displayName !== "string" || body.displayName.trim() === "") {
    throw badRequest("The displayName property is required.");
  }
  const parentId = parent?.id ?? ctx.store.rootId;
  if (ctx.store.findChildFolder(parentId, body.displayName)) {
    throw new GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.");
  }
  const folder = ctx.store.createFolder(parentId, body.displayName, body.isHidden === true);
  return folderEntity(ctx, folder, 201);
}

export function patchFolder(ctx: HandlerContext): GraphResponse {
  const folder = findFolder(ctx, ctx.params.folderId);
  const body = jsonBody(ctx);
  if (body.displayName !== undefined) {
    if (typeof body.displayName !== "string" || body.displayName.trim() === "")
      throw badRequest("Invalid displayName.");
    const sibling = ctx.store.findChildFolder(folder.parentFolderId, body.displayName);
    if (sibling && sibling !== folder) {
      throw new GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.");
    }
    ctx.store.renameFolder(folder, body.displayName);
  }
  return folderEntity(ctx, folder, 200);
}

export function deleteFolder(ctx: HandlerContext): GraphResponse {
  const folder = findFolder(ctx, ctx.params.folderId);
  if (folder.wellKnownName) {
    throw new GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.");
  }
  ctx.store.deleteFolder(folder);
  return empty(204);
}

export function moveFolder(ctx: HandlerContext): GraphResponse {
  const folder = findFolder(ctx, ctx.params.folderId);
  const target = destination(ctx);
  if (folder.wellKnownName)
    throw new GraphError(400, "ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved.");
  if (ctx.store.isDescendant(target, folder.id)) {
    throw new GraphError(400, "ErrorMoveCopyFailed", "The move or copy operation failed.");
  }
  if (ctx.store.findChildFolder(target.id, folder.displayName)) {
    throw new GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.");
  }
  ctx.store.moveFolder(folder, target);
  return folderEntity(ctx, folder, 201);
}
