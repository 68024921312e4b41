// The `Idempotency-Key` request header (IETF draft "The Idempotency-Key HTTP Header Field"; Stripe's
// semantics) on the POST routes that create something: the key is read and checked here, the request's
// fingerprint computed from its parsed body, and the domain's IdempotencyService decides whether to
// run or to replay. A replayed answer carries `Idempotent-Replayed: true`, as Stripe's does.
import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { OutgoingAttachment, SendInput } from "../domain/email/send.service.ts";
import {
  idempotencyScope,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requestFingerprint,
} from "../domain/idempotency/fingerprint.ts";
import type {
  IdempotencyService,
  IdempotentRun,
  StoredAnswer,
} from "../domain/idempotency/idempotency.service.ts";
import { AppError } from "../lib/errors.ts";

/** The request's Idempotency-Key, or undefined without one; 400 when it is empty or too long. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers["idempotency-key"];
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? "";
  if (value === "" || value.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    throw new AppError("invalid_parameters", {
      detail: `Idempotency-Key: must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    });
  return value;
}

/**
 * Answers the request once per Idempotency-Key: runs `run` (with the checkpoint of an interrupted
 * earlier run) or replays the stored answer. Without the header, `run` simply runs.
 */
export async function answerOnce<C>(
  service: IdempotencyService,
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
  run: (ctx: IdempotentRun<C>) => Promise<StoredAnswer>,
): Promise<FastifyReply> {
  const key = idempotencyKeyOf(request);
  if (key === undefined) {
    const answer = await run({ checkpoint: undefined, save: async () => {} });
    return reply.code(answer.status).send(answer.body);
  }
  const apiKey = request.headers["x-api-key"];
  const answer = await service.execute<C>(
    {
      scope: idempotencyScope((Array.isArray(apiKey) ? apiKey[0] : apiKey) ?? ""),
      key,
      fingerprint: requestFingerprint(request.method, request.routeOptions.url ?? request.url, body),
    },
    run,
  );
  if (answer.replayed) reply.header("idempotent-replayed", "true");
  return reply.code(answer.status).send(answer.body);
}

/**
 * What a send's or draft's fingerprint is computed from: the parsed request with each attachment as its
 * name, type, size and SHA-256: the one computed as the file arrived, or else read back from where it
 * waits (never held whole). Only with an Idempotency-Key; without one nothing is computed.
 */
export async function sendRequestFingerprintBody(
  request: FastifyRequest,
  input: SendInput,
): Promise<unknown> {
  if (idempotencyKeyOf(request) === undefined || !input.attachments?.length) return input;
  const attachments = [];
  for (const file of input.attachments) {
    attachments.push({
      name: file.name,
      contentType: file.contentType,
      size: file.size,
      sha256: file.sha256 ?? (await sha256Of(file)),
    });
  }
  return { ...input, attachments };
}

async function sha256Of(file: OutgoingAttachment): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of file.range(0, file.size)) hash.update(piece);
  return hash.digest("hex");
}
