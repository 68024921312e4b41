// Graph change notifications for mail (reference §4): create, renew, reauthorize, delete, and the
// parsing of what Graph POSTs to the notification and lifecycle URLs. The clientState is random per
// subscription; only its SHA-256 is stored and incoming values are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { GraphClient } from "./graph-client.ts";

export interface GraphSubscription {
  id: string;
  expirationDateTime: string;
  resource?: string;
}

export interface CreateSubscriptionInput {
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expiresAt: number;
}

/** `me/messages`, every change type: one subscription covers every folder of the mailbox. */
export function subscriptionBody(input: CreateSubscriptionInput): Record<string, unknown> {
  return {
    changeType: "created,updated,deleted",
    notificationUrl: input.notificationUrl,
    lifecycleNotificationUrl: input.lifecycleNotificationUrl,
    resource: "me/messages",
    expirationDateTime: new Date(input.expiresAt).toISOString(),
    clientState: input.clientState,
    latestSupportedTlsVersion: "v1_2",
  };
}

export async function createSubscription(
  graph: GraphClient,
  accountId: string,
  input: CreateSubscriptionInput,
): Promise<GraphSubscription> {
  return graph.json<GraphSubscription>(accountId, {
    method: "POST",
    path: "/subscriptions",
    body: subscriptionBody(input),
  });
}

export async function renewSubscription(
  graph: GraphClient,
  accountId: string,
  subscriptionId: string,
  expiresAt: number,
): Promise<GraphSubscription> {
  return graph.json<GraphSubscription>(accountId, {
    method: "PATCH",
    path: `/subscriptions/${encodeURIComponent(subscriptionId)}`,
    body: { expirationDateTime: new Date(expiresAt).toISOString() },
  });
}

export async function reauthorizeSubscription(
  graph: GraphClient,
  accountId: string,
  subscriptionId: string,
): Promise<void> {
  await graph.json(accountId, {
    method: "POST",
    path: `/subscriptions/${encodeURIComponent(subscriptionId)}/reauthorize`,
    body: {},
  });
}

export async function deleteSubscription(
  graph: GraphClient,
  accountId: string,
  subscriptionId: string,
): Promise<void> {
  await graph.json(accountId, {
    method: "DELETE",
    path: `/subscriptions/${encodeURIComponent(subscriptionId)}`,
  });
}

export function newClientState(): string {
  return randomBytes(32).toString("base64url");
}

export function hashClientState(clientState: string): string {
  return createHash("sha256").update(clientState, "utf8").digest("hex");
}

/** Constant-time check of a notification's clientState against the stored hash. */
export function clientStateMatches(given: unknown, storedHash: string | null): boolean {
  if (typeof given !== "string" || !storedHash) return false;
  const a = Buffer.from(hashClientState(given), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface ChangeNotification {
  subscriptionId: string;
  clientState: unknown;
  changeType?: string;
  /** The message's (immutable) id, when Graph sent resourceData. */
  messageId?: string;
}

export type LifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed";

export interface LifecycleNotification {
  subscriptionId: string;
  clientState: unknown;
  lifecycleEvent: LifecycleEvent | string;
}

/** The items of a notification POST (§4.3); malformed items are dropped, not trusted. */
export function parseChangeNotifications(body: unknown): ChangeNotification[] {
  const value = (body as { value?: unknown })?.value;
  if (!Array.isArray(value)) return [];
  const out: ChangeNotification[] = [];
  for (const item of value as Record<string, unknown>[]) {
    if (typeof item?.subscriptionId !== "string") continue;
    const resourceData = item.resourceData as { id?: unknown } | undefined;
    out.push({
      subscriptionId: item.subscriptionId,
      clientState: item.clientState,
      ...(typeof item.changeType === "string" ? { changeType: item.changeType } : {}),
      ...(typeof resourceData?.id === "string" ? { messageId: resourceData.id } : {}),
    });
  }
  return out;
}

/** The items of a lifecycle POST (§4.5). */
export function parseLifecycleNotifications(body: unknown): LifecycleNotification[] {
  const value = (body as { value?: unknown })?.value;
  if (!Array.isArray(value)) return [];
  const out: LifecycleNotification[] = [];
  for (const item of value as Record<string, unknown>[]) {
    if (typeof item?.subscriptionId !== "string" || typeof item.lifecycleEvent !== "string") continue;
    out.push({
      subscriptionId: item.subscriptionId,
      clientState: item.clientState,
      lifecycleEvent: item.lifecycleEvent,
    });
  }
  return out;
}
