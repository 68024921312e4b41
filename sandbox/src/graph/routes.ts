// Graph v1.0 mail on the sandbox origin: /v1.0/me|users/{id}/…, /v1.0/$batch, the pre-authenticated
// upload URLs (/api/v2.0/…), and the operator mail routes. Mailboxes are seeded from the corpus.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { SandboxState, SandboxUser } from "../state.ts";
import { registerAdminMailRoutes } from "./admin-mail.ts";
import { handleUploadRequest } from "./attachments.ts";
import { executeBatch } from "./batch.ts";
import type { GraphRequest, GraphResponse } from "./context.ts";
import { badRequest, GraphError } from "./errors.ts";
import { newRequestId } from "./ids.ts";
import { graphJsonBytes } from "./json.ts";
import { type CorpusMessage, mailboxes } from "./mailbox-store.ts";
import { errorResponse, executeGraphRequest, parseGraphUrl } from "./pipeline.ts";

/** Graph rejects request bodies over 4 MB (reference §3.6); upload-session chunks may be larger. */
export const MAX_GRAPH_REQUEST_BYTES = 4 * 1024 * 1024;
const MAX_UPLOAD_CHUNK_BYTES = 160 * 1024 * 1024;

function send(reply: FastifyReply, response: GraphResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  if (response.raw) return reply.send(response.raw);
  if (response.json !== undefined) {
    if (!reply.hasHeader("content-type")) reply.header("content-type", "application/json; charset=utf-8");
    return reply.send(graphJsonBytes(response.json));
  }
  return reply.send();
}

function lowerHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

export async function registerGraphRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  await seedMailboxes(state);
  // Users added at runtime (POST /_sandbox/users) get their mailbox at once, like a licensed
  // Exchange Online user: the generated starter mail, or empty when the world is seeded without mail.
  const onUserCreated = (user: SandboxUser): void => provisionMailbox(state, user);
  state.events.on("user-created", onUserCreated);
  state.events.once("close", () => state.events.off("user-created", onUserCreated));

  await app.register(async (scope) => {
    // Raw bodies: the handlers parse JSON themselves to answer with Graph's error bodies.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: MAX_UPLOAD_CHUNK_BYTES },
      (_request, body, done) => {
        done(null, body);
      },
    );

    scope.post("/v1.0/$batch", { bodyLimit: MAX_UPLOAD_CHUNK_BYTES }, async (request, reply) => {
      const requestId = newRequestId();
      const clientRequestId = String(request.headers["client-request-id"] ?? requestId);
      const headers = { "request-id": requestId, "client-request-id": clientRequestId };
      try {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString("utf8"));
        } catch {
          throw badRequest("Invalid batch payload format.");
        }
        const result = await executeBatch(state, payload, request.headers.authorization);
        return send(reply, {
          status: 200,
          headers: {
            ...headers,
            "Content-Type":
              "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
          },
          json: result,
        });
      } catch (error) {
        const graphError =
          error instanceof GraphError ? error : new GraphError(500, "generalException", String(error));
        const response = errorResponse(state, graphError, requestId, clientRequestId);
        response.headers = { ...response.headers, ...headers, "Content-Type": "application/json" };
        return send(reply, response);
      }
    });

    scope.route({
      method: ["GET", "POST", "PATCH", "PUT", "DELETE"],
      url: "/v1.0/*",
      bodyLimit: MAX_UPLOAD_CHUNK_BYTES,
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : null;
        const parsed = parseGraphUrl(request.url.replace(/^\/v1\.0/i, ""));
        const graphRequest: GraphRequest = {
          method: request.method,
          ...parsed,
          headers: lowerHeaders(request.headers),
          body,
        };
        if (body && body.length > MAX_GRAPH_REQUEST_BYTES) {
          const requestId = newRequestId();
          return send(
            reply,
            errorResponse(
              state,
              new GraphError(
                413,
                "ErrorRequestEntityTooLarge",
                "The maximum request length supported is 4MB.",
              ),
              requestId,
              graphRequest.headers["client-request-id"] ?? requestId,
            ),
          );
        }
        return send(reply, await executeGraphRequest(state, graphRequest));
      },
    });

    scope.route({
      method: ["PUT", "DELETE"],
      url: "/api/v2.0/*",
      bodyLimit: MAX_UPLOAD_CHUNK_BYTES,
      handler: async (request, reply) => handleUploadRequest(state, request, reply),
    });
  });

  registerAdminMailRoutes(app, state);
}

/**
 * Gives a user added after start (admin API, restored state file) a mailbox if they should have
 * one and do not yet: a dozen generated messages, or none when `seedCorpus` is false. No change
 * events are emitted (the mail was there before anyone subscribed). Idempotent.
 */
export function provisionMailbox(state: SandboxState, user: SandboxUser): void {
  if (!user.hasMailbox) return;
  const registry = mailboxes(state);
  if (registry.has(user.id)) return;
  if (state.options.seedCorpus === false) registry.get(user.id);
  else registry.seedMailbox(user.id, starterMessages(state, user));
}

/** Seeds every user with a mailbox: the corpus when enabled, else a few generated messages. */
async function seedMailboxes(state: SandboxState): Promise<void> {
  const registry = mailboxes(state);
  const users = [...state.users.values()].filter((user) => user.hasMailbox);
  if (users.length === 0) return;
  const seedCorpus = state.options.seedCorpus !== false;
  const primary = users.find((user) => user.kind === "work") ?? users[0]!;
  for (const user of users) {
    registry.get(user.id);
    if (!seedCorpus) continue;
    const size =
      user === primary
        ? (state.options.corpusSize ?? 300)
        : Math.max(20, Math.round((state.options.corpusSize ?? 300) / 6));
    const messages = (await loadCorpusFor(state, user, size)) ?? starterMessages(state, user);
    registry.seedMailbox(user.id, messages);
  }
}

async function loadCorpusFor(
  state: SandboxState,
  user: SandboxUser,
  size: number,
): Promise<CorpusMessage[] | null> {
  try {
    const corpus = await import("../corpus/index.ts");
    const work = new Set<string>();
    const personal = new Set<string>();
    for (const candidate of state.users.values()) {
      const domain = candidate.email.split("@")[1]?.toLowerCase();
      if (!domain) continue;
      (candidate.kind === "personal" ? personal : work).add(domain);
    }
    for (const tenant of state.tenants.values()) work.add(tenant.domain.toLowerCase());
    return await corpus.loadCorpus({
      size,
      seed: user.email,
      domains: { work: [...work], personal: [...personal] },
      people: [...state.users.values()]
        .filter((candidate) => candidate.id !== user.id && candidate.hasMailbox)
        .map((candidate) => ({ name: candidate.displayName, address: candidate.email })),
      owner: { name: user.displayName, address: user.email },
      now: state.now(),
    });
  } catch (error) {
    state.events.emit("graph-corpus-unavailable", error);
    return null;
  }
}

/** Fallback when the corpus module is unavailable: a small, threaded, non-empty mailbox. */
function starterMessages(state: SandboxState, user: SandboxUser): CorpusMessage[] {
  const now = state.now();
  const domain = user.email.split("@")[1] ?? "example.com";
  // A real colleague when the tenant has one, so replies reach a sandbox mailbox.
  const peer = [...state.users.values()].find(
    (candidate) =>
      candidate.id !== user.id &&
      candidate.hasMailbox &&
      candidate.tenantId === user.tenantId &&
      candidate.kind !== "admin",
  );
  const colleague = peer
    ? { name: peer.displayName, address: peer.email }
    : { name: "Alex Wilber", address: `alexw@${domain}` };
  const messages: CorpusMessage[] = [];
  for (let index = 0; index < 12; index++) {
    const thread = index % 4;
    messages.push({
      folder: index % 6 === 5 ? "archive" : "inbox",
      subject: `${index >= 4 ? "RE: " : ""}Sandbox thread ${thread + 1}`,
      from: colleague,
      to: [{ name: user.displayName, address: user.email }],
      cc: [],
      receivedAt: now - (12 - index) * 3_600_000,
      internetMessageId: `<starter-${index}-${user.id}@${domain}>`,
      conversationKey: `starter-${thread}`,
      bodyText: `Message ${index + 1} of the sandbox starter mailbox.`,
      headers: [],
      attachments: [],
      isRead: index < 6,
      flagged: index === 3,
      importance: "normal",
    });
  }
  return messages;
}
