// Graph v1.0 /subscriptions for mail (create with validation handshake, list, get, renew,
// reauthorize, delete), as handlers of the Graph pipeline: authentication, the caller's fault and
// throttle switches and `$batch` apply to them as to mail requests. Reference §4.
import { randomUUID } from "node:crypto";
import type { GraphResponse, ResourceContext, ResourceRoute } from "../graph/context.ts";
import { empty, json } from "../graph/context.ts";
import { GraphError } from "../graph/errors.ts";
import type { SandboxState } from "../state.ts";
import {
  type ChangeType,
  MAX_MESSAGE_SUBSCRIPTION_MINUTES,
  MAX_SUBSCRIPTIONS_PER_MAILBOX,
  type StoredSubscription,
  type SubscriptionEngine,
} from "./engine.ts";
import { graphDateTime } from "./graph-response.ts";

const engines = new WeakMap<SandboxState, SubscriptionEngine>();

/** Makes `engine` the one behind this sandbox's /subscriptions. */
export function attachSubscriptionEngine(state: SandboxState, engine: SubscriptionEngine): void {
  engines.set(state, engine);
}

/** The engine behind a sandbox's /subscriptions (tests and the admin module may inspect it). */
export function subscriptionEngineOf(state: SandboxState): SubscriptionEngine | undefined {
  return engines.get(state);
}

const CHANGE_TYPES: readonly ChangeType[] = ["created", "updated", "deleted"];
const TLS_VERSIONS = ["v1_0", "v1_1", "v1_2", "v1_3"];
const MAIL_READ_SCOPES = [
  "mail.read",
  "mail.readbasic",
  "mail.readwrite",
  "mail.read.shared",
  "mail.readwrite.shared",
];
const CLIENT_STATE_MAX = 128;

/** me/messages, me/mailFolders('Inbox')/messages, users/{id|upn}/mailfolders/{id}/messages … */
const RESOURCE_PATTERN =
  /^\/?(?:me|users\/([^/]+))\/(?:messages|mailfolders(?:\('([^']+)'\)|\/([^/]+))\/messages)\/?$/i;

const MESSAGES = {
  validationFailed:
    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
  validationTimedOut: "Subscription validation request timed out.",
  notFound: "The object was not found.",
  accessDenied: "Access is denied. Check credentials and try again.",
  noMailbox: "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
  tooLong: `Subscription expiration can only be ${MAX_MESSAGE_SUBSCRIPTION_MINUTES} minutes in the future.`,
  inPast: "Subscription expiration can only be in the future.",
} as const;

export function subscriptionView(
  state: SandboxState,
  subscription: StoredSubscription,
): Record<string, unknown> {
  return {
    "@odata.context": `${state.options.baseUrl}/v1.0/$metadata#subscriptions/$entity`,
    id: subscription.id,
    resource: subscription.resource,
    applicationId: subscription.clientId,
    changeType: subscription.changeType,
    clientState: subscription.clientState,
    notificationUrl: subscription.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: subscription.lifecycleNotificationUrl,
    expirationDateTime: graphDateTime(subscription.expiresAt),
    creatorId: subscription.userId,
    includeResourceData: false,
    latestSupportedTlsVersion: subscription.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

function engineOf(ctx: ResourceContext): SubscriptionEngine {
  const engine = engines.get(ctx.state);
  if (!engine) throw new GraphError(400, "BadRequest", "Resource not found for the segment 'subscriptions'.");
  return engine;
}

/** The request body as an object; anything that is not a JSON object reads as empty (Graph then names the missing property). */
function bodyOf(ctx: ResourceContext): Record<string, unknown> {
  const raw = ctx.request.body;
  if (!raw || raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new GraphError(
      400,
      "BadRequest",
      "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
    );
  }
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function owned(ctx: ResourceContext): StoredSubscription {
  const subscription = engineOf(ctx).get(ctx.params.id ?? "");
  if (!subscription || subscription.clientId !== ctx.app.clientId || subscription.userId !== ctx.caller.id) {
    throw new GraphError(404, "ResourceNotFound", MESSAGES.notFound);
  }
  return subscription;
}

/** The expiry (epoch ms), or the 400 Graph sends. */
export function parseExpiry(value: unknown, now: number): number {
  const expiresAt = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(expiresAt)) {
    throw new GraphError(400, "InvalidRequest", "expirationDateTime is not a valid DateTimeOffset.");
  }
  if (expiresAt <= now) throw new GraphError(400, "ExtensionError", MESSAGES.inPast);
  if (expiresAt > now + MAX_MESSAGE_SUBSCRIPTION_MINUTES * 60_000) {
    throw new GraphError(400, "ExtensionError", MESSAGES.tooLong);
  }
  return expiresAt;
}

function checkUrl(state: SandboxState, name: string, value: unknown): string {
  let url: URL | null = null;
  try {
    url = typeof value === "string" ? new URL(value) : null;
  } catch {
    url = null;
  }
  const allowed =
    url?.protocol === "https:" || (url?.protocol === "http:" && state.options.allowHttpNotifications);
  if (!url || !allowed)
    throw new GraphError(400, "ValidationError", `The ${name} must be an absolute https URL.`);
  return value as string;
}

async function createSubscription(ctx: ResourceContext): Promise<GraphResponse> {
  const { state, caller } = ctx;
  const engine = engineOf(ctx);
  const body = bodyOf(ctx);
  for (const name of ["changeType", "notificationUrl", "resource", "expirationDateTime"]) {
    if (typeof body[name] !== "string" || body[name] === "") {
      throw new GraphError(
        400,
        "InvalidRequest",
        `${name} is a required property for subscription creation.`,
      );
    }
  }
  const changeType = body.changeType as string;
  const changeTypes = changeType.split(",").map((part) => part.trim());
  const unknownType = changeTypes.find((part) => !CHANGE_TYPES.includes(part as ChangeType));
  if (unknownType !== undefined) {
    throw new GraphError(400, "InvalidRequest", `'${unknownType}' is not a valid change type.`);
  }
  const notificationUrl = checkUrl(state, "notificationUrl", body.notificationUrl);
  let lifecycleNotificationUrl: string | null = null;
  if (body.lifecycleNotificationUrl !== undefined && body.lifecycleNotificationUrl !== null) {
    lifecycleNotificationUrl = checkUrl(state, "lifecycleNotificationUrl", body.lifecycleNotificationUrl);
  }
  const clientState = body.clientState ?? null;
  if (clientState !== null && (typeof clientState !== "string" || clientState.length > CLIENT_STATE_MAX)) {
    throw new GraphError(
      400,
      "InvalidRequest",
      `clientState must be a string of at most ${CLIENT_STATE_MAX} characters.`,
    );
  }
  const tls = body.latestSupportedTlsVersion ?? "v1_2";
  if (typeof tls !== "string" || !TLS_VERSIONS.includes(tls)) {
    throw new GraphError(400, "InvalidRequest", `Invalid latestSupportedTlsVersion '${String(tls)}'.`);
  }
  if (body.includeResourceData === true) {
    // Rich notifications need encrypted resource data; the sandbox does not emulate them.
    throw new GraphError(
      400,
      "InvalidRequest",
      "includeResourceData is not supported by the Mailroom sandbox.",
    );
  }
  const resource = body.resource as string;
  const match = RESOURCE_PATTERN.exec(resource.split("?")[0] ?? "");
  if (!match) {
    throw new GraphError(
      400,
      "InvalidRequest",
      `Resource '${resource}' is not supported for change notifications.`,
    );
  }
  const userRef = match[1];
  if (userRef !== undefined) {
    const target = state.users.get(userRef) ?? state.userByEmail(userRef);
    if (!target || target.id !== caller.id)
      throw new GraphError(403, "ErrorAccessDenied", MESSAGES.accessDenied);
  }
  if (!ctx.scopes.some((scope) => MAIL_READ_SCOPES.includes(scope.toLowerCase()))) {
    throw new GraphError(403, "ErrorAccessDenied", MESSAGES.accessDenied);
  }
  if (!caller.hasMailbox) throw new GraphError(404, "MailboxNotEnabledForRESTAPI", MESSAGES.noMailbox);
  const expiresAt = parseExpiry(body.expirationDateTime, state.now());
  if (engine.countForMailbox(caller.id) >= MAX_SUBSCRIPTIONS_PER_MAILBOX) {
    throw new GraphError(
      403,
      "ExtensionError",
      `The mailbox has reached its limit of ${MAX_SUBSCRIPTIONS_PER_MAILBOX} active subscriptions.`,
    );
  }

  const id = randomUUID();
  for (const url of [notificationUrl, lifecycleNotificationUrl]) {
    if (url === null) continue;
    const result = await engine.validate(url, id);
    if (!result.ok) {
      const message = result.reason === "timeout" ? MESSAGES.validationTimedOut : MESSAGES.validationFailed;
      throw new GraphError(400, "ValidationError", message);
    }
  }
  const subscription: StoredSubscription = {
    id,
    userId: caller.id,
    tenantId: caller.tenantId,
    clientId: ctx.app.clientId,
    resource,
    folderRef: match[2] ?? match[3] ?? null,
    changeType,
    changeTypes: new Set(changeTypes as ChangeType[]),
    notificationUrl,
    lifecycleNotificationUrl,
    clientState: clientState as string | null,
    latestSupportedTlsVersion: tls,
    expiresAt,
    createdAt: state.now(),
    immutableIds: /IdType\s*=\s*"?ImmutableId"?/i.test(ctx.request.headers.prefer ?? ""),
    reauthorizationSent: false,
  };
  engine.subscriptions.set(id, subscription);
  return json(201, subscriptionView(state, subscription));
}

function listSubscriptions(ctx: ResourceContext): GraphResponse {
  const value = engineOf(ctx)
    .active()
    .filter((s) => s.clientId === ctx.app.clientId && s.userId === ctx.caller.id)
    .map((s) => {
      const { "@odata.context": _context, ...rest } = subscriptionView(ctx.state, s);
      return rest;
    });
  return json(200, { "@odata.context": `${ctx.state.options.baseUrl}/v1.0/$metadata#subscriptions`, value });
}

function renewSubscription(ctx: ResourceContext): GraphResponse {
  const subscription = owned(ctx);
  const body = bodyOf(ctx);
  if (body.expirationDateTime !== undefined) {
    subscription.expiresAt = parseExpiry(body.expirationDateTime, ctx.state.now());
    subscription.reauthorizationSent = false;
  }
  return json(200, subscriptionView(ctx.state, subscription));
}

export const SUBSCRIPTION_ROUTES: ResourceRoute[] = [
  { method: "POST", path: "subscriptions", handler: createSubscription },
  { method: "GET", path: "subscriptions", handler: listSubscriptions },
  {
    method: "GET",
    path: "subscriptions/:id",
    handler: (ctx) => json(200, subscriptionView(ctx.state, owned(ctx))),
  },
  { method: "PATCH", path: "subscriptions/:id", handler: renewSubscription },
  {
    method: "POST",
    path: "subscriptions/:id/reauthorize",
    handler: (ctx) => {
      owned(ctx).reauthorizationSent = false;
      return empty(204);
    },
  },
  {
    method: "DELETE",
    path: "subscriptions/:id",
    handler: (ctx) => {
      engineOf(ctx).remove(owned(ctx), false);
      return empty(204);
    },
  },
];
