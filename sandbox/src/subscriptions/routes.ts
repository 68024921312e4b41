// Graph v1.0 /subscriptions for mail (create with validation handshake, list, get, renew,
// reauthorize, delete) and the test-only GET /_sandbox/subscriptions. Reference §4.
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticateGraphRequest } from "../identity/authenticate.ts";
import type { AppRegistration, SandboxState, SandboxUser } from "../state.ts";
import {
  type ChangeType,
  MAX_MESSAGE_SUBSCRIPTION_MINUTES,
  MAX_SUBSCRIPTIONS_PER_MAILBOX,
  type StoredSubscription,
  SubscriptionEngine,
} from "./engine.ts";
import { graphDateTime, graphHeaders, sendGraphError, sendGraphJson } from "./graph-response.ts";

const engines = new WeakMap<SandboxState, SubscriptionEngine>();

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

type Caller = { user: SandboxUser; app: AppRegistration; scopes: string[] };

function view(state: SandboxState, subscription: StoredSubscription): Record<string, unknown> {
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

export async function registerSubscriptionRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  const engine = new SubscriptionEngine(state);
  engines.set(state, engine);
  app.addHook("onClose", async () => engine.close());

  const fail = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    message: string,
  ) => sendGraphError(request, reply, status, code, message, state.now());

  const authenticate = (request: FastifyRequest, reply: FastifyReply): Caller | null => {
    const result = authenticateGraphRequest(state, request.headers.authorization);
    if (!result.ok) {
      fail(request, reply, result.status, result.code, result.message);
      return null;
    }
    return result;
  };

  const owned = (caller: Caller, id: string): StoredSubscription | undefined => {
    const subscription = engine.get(id);
    return subscription &&
      subscription.clientId === caller.app.clientId &&
      subscription.userId === caller.user.id
      ? subscription
      : undefined;
  };

  /** Returns the expiry (epoch ms) or sends the 400 Graph sends. */
  const parseExpiry = (request: FastifyRequest, reply: FastifyReply, value: unknown): number | null => {
    const expiresAt = typeof value === "string" ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(expiresAt)) {
      fail(request, reply, 400, "InvalidRequest", "expirationDateTime is not a valid DateTimeOffset.");
      return null;
    }
    const now = state.now();
    if (expiresAt <= now) {
      fail(request, reply, 400, "ExtensionError", MESSAGES.inPast);
      return null;
    }
    if (expiresAt > now + MAX_MESSAGE_SUBSCRIPTION_MINUTES * 60_000) {
      fail(request, reply, 400, "ExtensionError", MESSAGES.tooLong);
      return null;
    }
    return expiresAt;
  };

  const checkUrl = (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    value: unknown,
  ): string | null => {
    let url: URL | null = null;
    try {
      url = typeof value === "string" ? new URL(value) : null;
    } catch {
      url = null;
    }
    const allowed =
      url?.protocol === "https:" || (url?.protocol === "http:" && state.options.allowHttpNotifications);
    if (!url || !allowed) {
      fail(request, reply, 400, "ValidationError", `The ${name} must be an absolute https URL.`);
      return null;
    }
    return value as string;
  };

  app.post("/v1.0/subscriptions", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    for (const name of ["changeType", "notificationUrl", "resource", "expirationDateTime"]) {
      if (typeof body[name] !== "string" || body[name] === "") {
        return fail(
          request,
          reply,
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
      return fail(request, reply, 400, "InvalidRequest", `'${unknownType}' is not a valid change type.`);
    }
    const notificationUrl = checkUrl(request, reply, "notificationUrl", body.notificationUrl);
    if (notificationUrl === null) return reply;
    let lifecycleNotificationUrl: string | null = null;
    if (body.lifecycleNotificationUrl !== undefined && body.lifecycleNotificationUrl !== null) {
      lifecycleNotificationUrl = checkUrl(
        request,
        reply,
        "lifecycleNotificationUrl",
        body.lifecycleNotificationUrl,
      );
      if (lifecycleNotificationUrl === null) return reply;
    }
    const clientState = body.clientState ?? null;
    if (clientState !== null && (typeof clientState !== "string" || clientState.length > CLIENT_STATE_MAX)) {
      return fail(
        request,
        reply,
        400,
        "InvalidRequest",
        `clientState must be a string of at most ${CLIENT_STATE_MAX} characters.`,
      );
    }
    const tls = body.latestSupportedTlsVersion ?? "v1_2";
    if (typeof tls !== "string" || !TLS_VERSIONS.includes(tls)) {
      return fail(
        request,
        reply,
        400,
        "InvalidRequest",
        `Invalid latestSupportedTlsVersion '${String(tls)}'.`,
      );
    }
    if (body.includeResourceData === true) {
      // Rich notifications need encrypted resource data; the sandbox does not emulate them.
      return fail(
        request,
        reply,
        400,
        "InvalidRequest",
        "includeResourceData is not supported by the Mailroom sandbox.",
      );
    }
    const resource = body.resource as string;
    const match = RESOURCE_PATTERN.exec(resource.split("?")[0] ?? "");
    if (!match) {
      return fail(
        request,
        reply,
        400,
        "InvalidRequest",
        `Resource '${resource}' is not supported for change notifications.`,
      );
    }
    const userRef = match[1];
    if (userRef !== undefined) {
      const target = state.users.get(userRef) ?? state.userByEmail(userRef);
      if (!target || target.id !== caller.user.id)
        return fail(request, reply, 403, "ErrorAccessDenied", MESSAGES.accessDenied);
    }
    if (!caller.scopes.some((scope) => MAIL_READ_SCOPES.includes(scope.toLowerCase()))) {
      return fail(request, reply, 403, "ErrorAccessDenied", MESSAGES.accessDenied);
    }
    if (!caller.user.hasMailbox)
      return fail(request, reply, 404, "MailboxNotEnabledForRESTAPI", MESSAGES.noMailbox);
    const expiresAt = parseExpiry(request, reply, body.expirationDateTime);
    if (expiresAt === null) return reply;
    if (engine.countForMailbox(caller.user.id) >= MAX_SUBSCRIPTIONS_PER_MAILBOX) {
      return fail(
        request,
        reply,
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
        return fail(request, reply, 400, "ValidationError", message);
      }
    }
    const subscription: StoredSubscription = {
      id,
      userId: caller.user.id,
      tenantId: caller.user.tenantId,
      clientId: caller.app.clientId,
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
      immutableIds: /IdType\s*=\s*"?ImmutableId"?/i.test(String(request.headers.prefer ?? "")),
      reauthorizationSent: false,
    };
    engine.subscriptions.set(id, subscription);
    graphHeaders(request, reply);
    return sendGraphJson(reply, 201, view(state, subscription));
  });

  app.get("/v1.0/subscriptions", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const value = engine
      .active()
      .filter((s) => s.clientId === caller.app.clientId && s.userId === caller.user.id)
      .map((s) => {
        const { "@odata.context": _context, ...rest } = view(state, s);
        return rest;
      });
    graphHeaders(request, reply);
    return sendGraphJson(reply, 200, {
      "@odata.context": `${state.options.baseUrl}/v1.0/$metadata#subscriptions`,
      value,
    });
  });

  app.get<{ Params: { id: string } }>("/v1.0/subscriptions/:id", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const subscription = owned(caller, request.params.id);
    if (!subscription) return fail(request, reply, 404, "ResourceNotFound", MESSAGES.notFound);
    graphHeaders(request, reply);
    return sendGraphJson(reply, 200, view(state, subscription));
  });

  app.patch<{ Params: { id: string } }>("/v1.0/subscriptions/:id", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const subscription = owned(caller, request.params.id);
    if (!subscription) return fail(request, reply, 404, "ResourceNotFound", MESSAGES.notFound);
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    if (body.expirationDateTime !== undefined) {
      const expiresAt = parseExpiry(request, reply, body.expirationDateTime);
      if (expiresAt === null) return reply;
      subscription.expiresAt = expiresAt;
      subscription.reauthorizationSent = false;
    }
    graphHeaders(request, reply);
    return sendGraphJson(reply, 200, view(state, subscription));
  });

  app.post<{ Params: { id: string } }>("/v1.0/subscriptions/:id/reauthorize", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const subscription = owned(caller, request.params.id);
    if (!subscription) return fail(request, reply, 404, "ResourceNotFound", MESSAGES.notFound);
    subscription.reauthorizationSent = false;
    graphHeaders(request, reply);
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>("/v1.0/subscriptions/:id", async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const subscription = owned(caller, request.params.id);
    if (!subscription) return fail(request, reply, 404, "ResourceNotFound", MESSAGES.notFound);
    engine.remove(subscription, false);
    graphHeaders(request, reply);
    return reply.code(204).send();
  });

  app.get("/_sandbox/subscriptions", async (_request, reply) => {
    return reply.send({
      subscriptions: engine.active().map((s) => ({
        ...view(state, s),
        userId: s.userId,
        tenantId: s.tenantId,
        reauthorizationSent: s.reauthorizationSent,
      })),
      deliveries: engine.attempts.slice(-200),
    });
  });
}
