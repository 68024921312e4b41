// One Graph request from arrival to response, independent of the transport so that `$batch`
// sub-requests take exactly the same path: authentication (401), mailbox resolution, Outlook's
// per app+mailbox limits and the fault switches (reference §5), permissions (403), routing.
import { authenticateGraphRequest } from "../identity/authenticate.ts";
import type { SandboxState, SandboxUser } from "../state.ts";
import { SUBSCRIPTION_ROUTES } from "../subscriptions/handlers.ts";
import {
  addAttachment,
  createUploadSession,
  deleteAttachment,
  getAttachment,
  getAttachmentValue,
  listAttachments,
} from "./attachments.ts";
import {
  type GraphRequest,
  type GraphResponse,
  type HandlerContext,
  parsePrefer,
  type ResourceContext,
  type ResourceHandler,
} from "./context.ts";
import { authorizeMailboxCall, type Permission } from "./delegation.ts";
import { messageDelta } from "./delta.ts";
import { GRAPH_MESSAGES, GraphError, graphErrorBody, resourceNotFound } from "./errors.ts";
import { newRequestId } from "./ids.ts";
import { mailboxes } from "./mailbox-store.ts";
import {
  copyMessage,
  createDraft,
  createFolder,
  deleteFolder,
  deleteMessage,
  findFolder,
  getFolder,
  getMessage,
  getMessageValue,
  listFolders,
  listMessages,
  moveFolder,
  moveMessage,
  patchFolder,
  patchMessage,
  permanentDeleteMessage,
} from "./messages.ts";
import { createResponseDraft, sendResponse } from "./replies.ts";
import { sendDraft, sendMail } from "./send.ts";
import { type Admission, admit, release } from "./throttling.ts";
import { renderUser, translateExchangeIds } from "./users.ts";

export { MAX_CONCURRENT_REQUESTS, MAX_REQUESTS_PER_WINDOW, WINDOW_MS } from "./throttling.ts";

/** MIME bodies are parsed asynchronously (mime-input.ts); every other handler answers at once. */
type Handler = (ctx: HandlerContext) => GraphResponse | Promise<GraphResponse>;

interface Route {
  method: string;
  pattern: string[];
  permission: Permission;
  handler: Handler;
}

const ROUTES: Route[] = [];
function route(method: string, path: string, permission: Permission, handler: Handler): void {
  ROUTES.push({ method, pattern: path === "" ? [] : path.split("/"), permission, handler });
}

route("GET", "", "user", renderUser);
route("GET", "messages", "read", (ctx) => listMessages(ctx, null));
route("POST", "messages", "write", (ctx) => createDraft(ctx, null));
route("GET", "messages/:id", "read", getMessage);
route("GET", "messages/:id/$value", "read", getMessageValue);
route("PATCH", "messages/:id", "write", patchMessage);
route("DELETE", "messages/:id", "write", deleteMessage);
route("POST", "messages/:id/permanentDelete", "write", permanentDeleteMessage);
route("POST", "messages/:id/move", "write", moveMessage);
route("POST", "messages/:id/copy", "write", copyMessage);
route("POST", "messages/:id/send", "send", sendDraft);
for (const action of ["createReply", "createReplyAll", "createForward"]) {
  route("POST", `messages/:id/${action}`, "write", (ctx) => createResponseDraft(ctx, action));
}
for (const action of ["reply", "replyAll", "forward"]) {
  route("POST", `messages/:id/${action}`, "send", (ctx) => sendResponse(ctx, action));
}
route("GET", "messages/:id/attachments", "read", listAttachments);
route("POST", "messages/:id/attachments", "write", addAttachment);
route("POST", "messages/:id/attachments/createUploadSession", "write", createUploadSession);
route("GET", "messages/:id/attachments/:attachmentId", "read", getAttachment);
route("GET", "messages/:id/attachments/:attachmentId/$value", "read", getAttachmentValue);
route("DELETE", "messages/:id/attachments/:attachmentId", "write", deleteAttachment);
route("POST", "sendMail", "send", sendMail);
route("POST", "translateExchangeIds", "read", translateExchangeIds);
route("GET", "mailFolders", "read", (ctx) => listFolders(ctx, null));
route("POST", "mailFolders", "write", (ctx) => createFolder(ctx, null));
route("GET", "mailFolders/:folderId", "read", getFolder);
route("PATCH", "mailFolders/:folderId", "write", patchFolder);
route("DELETE", "mailFolders/:folderId", "write", deleteFolder);
route("POST", "mailFolders/:folderId/move", "write", moveFolder);
route("GET", "mailFolders/:folderId/childFolders", "read", (ctx) =>
  listFolders(ctx, findFolder(ctx, ctx.params.folderId)),
);
route("POST", "mailFolders/:folderId/childFolders", "write", (ctx) =>
  createFolder(ctx, findFolder(ctx, ctx.params.folderId)),
);
route("GET", "mailFolders/:folderId/messages", "read", (ctx) =>
  listMessages(ctx, findFolder(ctx, ctx.params.folderId)),
);
route("POST", "mailFolders/:folderId/messages", "write", (ctx) =>
  createDraft(ctx, findFolder(ctx, ctx.params.folderId)),
);
route("GET", "mailFolders/:folderId/messages/delta", "read", messageDelta);

/** Resources outside /me and /users; each checks its own permissions, as Graph's services do. */
interface TopLevelRoute {
  method: string;
  pattern: string[];
  handler: ResourceHandler;
}
const TOP_LEVEL_ROUTES: TopLevelRoute[] = SUBSCRIPTION_ROUTES.map((entry) => ({
  method: entry.method,
  pattern: entry.path.split("/"),
  handler: entry.handler,
}));

/** `mailFolders/{a}/childFolders/{b}/…` → `mailFolders/{b}/…`; `mailFolders/{a}/messages/{id}/…` → `messages/{id}/…`. */
function canonical(segments: string[]): string[] {
  let path = [...segments];
  for (;;) {
    if (path[0] === "mailFolders" && path[2] === "childFolders" && path.length >= 4) {
      path = ["mailFolders", path[3]!, ...path.slice(4)];
      continue;
    }
    if (path[0] === "mailFolders" && path[2] === "messages" && path.length >= 4 && path[3] !== "delta") {
      path = ["messages", ...path.slice(3)];
      continue;
    }
    return path;
  }
}

function match<R extends { method: string; pattern: string[] }>(
  routes: readonly R[],
  method: string,
  segments: string[],
): { route: R; params: Record<string, string> } | "method" | null {
  let pathMatched = false;
  for (const candidate of routes) {
    if (candidate.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let index = 0; index < segments.length; index++) {
      const part = candidate.pattern[index]!;
      const value = segments[index]!;
      if (part.startsWith(":")) params[part.slice(1)] = value;
      else if (part.toLowerCase() !== value.toLowerCase()) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    pathMatched = true;
    if (candidate.method === method || (method === "HEAD" && candidate.method === "GET"))
      return { route: candidate, params };
  }
  return pathMatched ? "method" : null;
}

/** Splits a /v1.0 URL (path + query) into normalised segments; `name('key')` becomes `name/key`. */
export function parseGraphUrl(url: string): { segments: string[]; rawPath: string; query: URLSearchParams } {
  const questionMark = url.indexOf("?");
  let rawPath = questionMark >= 0 ? url.slice(0, questionMark) : url;
  const rawQuery = questionMark >= 0 ? url.slice(questionMark + 1) : "";
  if (!rawPath.startsWith("/")) rawPath = `/${rawPath}`;
  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      decoded = raw;
    }
    const key = /^([A-Za-z.]+)\('([^']*)'\)$/.exec(decoded) ?? /^([A-Za-z.]+)\(([^)']*)\)$/.exec(decoded);
    if (key) segments.push(key[1]!, key[2]!);
    else segments.push(decoded);
  }
  return { segments, rawPath, query: new URLSearchParams(rawQuery) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- pipeline ----

const methodNotAllowed = (method: string): GraphError =>
  new GraphError(
    405,
    "Request_BadRequest",
    `The HTTP method '${method}' is not supported for this resource.`,
  );

function resolveMailboxUser(
  state: SandboxState,
  caller: SandboxUser,
  segments: string[],
): { user: SandboxUser; prefix: string; rest: string[]; topLevel?: true } {
  const first = segments[0]?.toLowerCase();
  if (first === "me") return { user: caller, prefix: "/me", rest: segments.slice(1) };
  if (first === "subscriptions") return { user: caller, prefix: "", rest: segments, topLevel: true };
  if (first === "users" && segments[1] !== undefined) {
    const reference = segments[1];
    const user = state.users.get(reference) ?? state.userByEmail(reference);
    if (!user) {
      throw new GraphError(404, "ErrorInvalidUser", `The requested user '${reference}' is invalid.`);
    }
    // Another user's mailbox (a shared one) is checked per operation: authorizeMailboxCall.
    return { user, prefix: `/users/${encodeURIComponent(reference)}`, rest: segments.slice(2) };
  }
  throw resourceNotFound(segments[0] ?? "");
}

function finish(response: GraphResponse, requestId: string, clientRequestId: string): GraphResponse {
  response.headers["request-id"] = requestId;
  response.headers["client-request-id"] = clientRequestId;
  response.headers["x-ms-ags-diagnostic"] = JSON.stringify({
    ServerInfo: {
      DataCenter: "West Europe",
      Slice: "E",
      Ring: "5",
      ScaleUnit: "001",
      RoleInstance: "AM2PEPF0001A2B3",
    },
  });
  response.headers["OData-Version"] = "4.0";
  if (response.json !== undefined && !response.headers["Content-Type"]) {
    response.headers["Content-Type"] =
      "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
  }
  return response;
}

export function errorResponse(
  state: SandboxState,
  error: GraphError,
  requestId: string,
  clientRequestId: string,
): GraphResponse {
  return {
    status: error.status,
    headers: { ...error.headers },
    json: graphErrorBody(error, { requestId, clientRequestId, now: state.now() }),
  };
}

/** Runs one Graph request (path below /v1.0). Never throws. */
/** The actions that send mail: `send_answer_delay` holds their answers back. */
const SEND_ACTIONS = new Set(["send", "sendmail", "reply", "replyall", "forward"]);

function sendAnswerDelay(state: SandboxState, clientId: string, userId: string): number {
  return (
    (state.pairFaults.get(`${clientId}|${userId}`)?.sendAnswerDelayMs ?? 0) +
    (state.userFaults.get(userId)?.sendAnswerDelayMs ?? 0) +
    (state.appFaults.get(clientId)?.sendAnswerDelayMs ?? 0)
  );
}

export async function executeGraphRequest(
  state: SandboxState,
  request: GraphRequest,
): Promise<GraphResponse> {
  const requestId = newRequestId();
  const clientRequestId = request.headers["client-request-id"] ?? requestId;
  const fail = (error: GraphError): GraphResponse =>
    finish(errorResponse(state, error, requestId, clientRequestId), requestId, clientRequestId);

  const auth = authenticateGraphRequest(state, request.headers.authorization);
  if (!auth.ok) {
    const response = fail(new GraphError(401, auth.code, auth.message));
    response.headers["WWW-Authenticate"] =
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';
    return response;
  }

  let mailbox: ReturnType<typeof resolveMailboxUser>;
  try {
    mailbox = resolveMailboxUser(state, auth.user, request.segments);
  } catch (error) {
    return fail(error instanceof GraphError ? error : new GraphError(500, "generalException", String(error)));
  }
  // Outlook's per-mailbox limits count mail requests only; fault switches apply to every call.
  const isMailboxCall = mailbox.rest.length > 0 && !mailbox.topLevel;
  const key = `${auth.app.clientId}|${mailbox.user.id}`;
  let admission: Admission | undefined;
  try {
    admission = admit(state, { key, userId: mailbox.user.id, clientId: auth.app.clientId, isMailboxCall });
    // Decided on arrival, answered after the configured latency (faults delay every call, rejected ones too).
    if (admission.latencyMs > 0) await sleep(admission.latencyMs);
    if (admission.rejection) throw admission.rejection;

    if (mailbox.topLevel) {
      const found = match(TOP_LEVEL_ROUTES, request.method, mailbox.rest);
      if (found === null) throw resourceNotFound(mailbox.rest[mailbox.rest.length - 1] ?? "");
      if (found === "method") throw methodNotAllowed(request.method);
      const ctx: ResourceContext = {
        state,
        request,
        caller: auth.user,
        app: auth.app,
        scopes: auth.scopes,
        params: found.params,
        requestId,
      };
      return finish(await found.route.handler(ctx), requestId, clientRequestId);
    }

    const segments = canonical(mailbox.rest);
    const found = match(ROUTES, request.method, segments);
    if (found === null) throw resourceNotFound(segments[segments.length - 1] ?? "");
    if (found === "method") throw methodNotAllowed(request.method);
    if (found.route.permission !== "user" && !mailbox.user.hasMailbox) {
      throw new GraphError(404, "MailboxNotEnabledForRESTAPI", GRAPH_MESSAGES.mailboxNotEnabled);
    }
    authorizeMailboxCall(state, auth.user, mailbox.user, auth.scopes, found.route.permission);
    const ctx: HandlerContext = {
      state,
      request,
      caller: auth.user,
      app: auth.app,
      scopes: auth.scopes,
      user: mailbox.user,
      store: mailboxes(state).get(mailbox.user.id),
      prefer: parsePrefer(request.headers.prefer),
      params: found.params,
      mailboxPrefix: mailbox.prefix,
      requestId,
    };
    const answer = finish(await found.route.handler(ctx), requestId, clientRequestId);
    const last = segments[segments.length - 1];
    if (request.method === "POST" && last !== undefined && SEND_ACTIONS.has(last.toLowerCase())) {
      const delayMs = sendAnswerDelay(state, auth.app.clientId, mailbox.user.id);
      if (delayMs > 0) await sleep(delayMs);
    }
    return answer;
  } catch (error) {
    if (error instanceof GraphError) return fail(error);
    state.events.emit("graph-internal-error", error);
    return fail(new GraphError(500, "generalException", "An unspecified error has occurred."));
  } finally {
    if (admission?.counted) release(state, key);
  }
}
