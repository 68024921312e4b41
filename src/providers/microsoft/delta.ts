// Per-folder message delta (reference §3.8): one round = every page up to `@odata.deltaLink`.
// Pages are parsed by a pure function; an expired sync state (410 SyncStateNotFound) is reported
// as `expired` so the caller starts the folder over.
import { AppError } from "../../lib/errors.ts";
import { type GraphClient, stepError } from "./graph-client.ts";
import { GraphCallError } from "./graph-errors.ts";

/** One entry of a round: a message created/changed in the folder, or removed from it. */
export interface DeltaItem {
  id: string;
  removed: boolean;
  parentFolderId?: string | undefined;
  receivedDateTime?: string | undefined;
  isDraft?: boolean | undefined;
}

export type DeltaRound = { expired: false; items: DeltaItem[]; deltaLink: string } | { expired: true };

/** What each round selects: enough to place a message; the email itself is fetched only when announced. */
export const DELTA_SELECT = "id,parentFolderId,receivedDateTime,isDraft";
const PAGE_SIZE = 200;
/** A round longer than this is cut (and started over next time): a runaway nextLink loop must end. */
const MAX_PAGES = 2_000;

export function parseDeltaPage(body: unknown): { items: DeltaItem[]; nextLink?: string; deltaLink?: string } {
  const page = (body ?? {}) as {
    value?: Record<string, unknown>[];
    "@odata.nextLink"?: unknown;
    "@odata.deltaLink"?: unknown;
  };
  const items: DeltaItem[] = [];
  for (const raw of page.value ?? []) {
    if (typeof raw?.id !== "string") continue;
    items.push({
      id: raw.id,
      removed: raw["@removed"] !== undefined,
      parentFolderId: typeof raw.parentFolderId === "string" ? raw.parentFolderId : undefined,
      receivedDateTime: typeof raw.receivedDateTime === "string" ? raw.receivedDateTime : undefined,
      isDraft: typeof raw.isDraft === "boolean" ? raw.isDraft : undefined,
    });
  }
  return {
    items,
    ...(typeof page["@odata.nextLink"] === "string" ? { nextLink: page["@odata.nextLink"] } : {}),
    ...(typeof page["@odata.deltaLink"] === "string" ? { deltaLink: page["@odata.deltaLink"] } : {}),
  };
}

/**
 * The query of a fresh round. With `receivedSince`, only mail received since then (reference §3.8:
 * delta's one `$filter` is `receivedDateTime ge|gt`, and Graph then returns at most 5,000 messages):
 * the first sync of a mailbox reads its recent mail, not its whole history. The delta link carries
 * the `$select` and `$filter` on to every later round, so they are chosen here once.
 */
export function freshDeltaQuery(receivedSince?: number): Record<string, string | number> {
  return {
    $select: DELTA_SELECT,
    $top: PAGE_SIZE,
    ...(receivedSince !== undefined
      ? { $filter: `receivedDateTime ge ${new Date(receivedSince).toISOString()}` }
      : {}),
  };
}

/**
 * Reads one complete round of a folder: from its stored delta link, or a fresh round (a snapshot of
 * the folder's mail received since `receivedSince`, or all of it). Immutable ids come from the
 * client's Prefer header.
 */
export async function readDeltaRound(
  graph: GraphClient,
  accountId: string,
  folderId: string,
  deltaLink: string | null,
  receivedSince?: number,
): Promise<DeltaRound> {
  const items: DeltaItem[] = [];
  let request = deltaLink
    ? { path: deltaLink }
    : {
        path: `/me/mailFolders/${encodeURIComponent(folderId)}/messages/delta`,
        query: freshDeltaQuery(receivedSince),
      };
  try {
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const page = parseDeltaPage(await graph.json<unknown>(accountId, request));
      items.push(...page.items);
      if (page.deltaLink) return { expired: false, items, deltaLink: page.deltaLink };
      if (!page.nextLink)
        throw new AppError("provider_error", { detail: "A delta page had neither nextLink nor deltaLink." });
      request = { path: page.nextLink };
    }
  } catch (error) {
    if (isSyncStateGone(error)) return { expired: true };
    throw error;
  }
  return { expired: true };
}

export function isSyncStateGone(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause;
  return error instanceof AppError && cause instanceof GraphCallError && cause.status === 410;
}

/** What one folder's stored delta link answered inside a `$batch`. */
export type BatchedRound = DeltaRound | { gone: true };

/**
 * Reads the rounds of several folders from their stored delta links in one `$batch` (up to 20 per
 * request; Graph still counts one request per folder). An idle folder answers its new delta link in
 * that one step; a folder with more pages continues alone from its nextLink. A folder deleted since
 * (404) is reported `gone`; an expired sync state (410) `expired`; other failures throw.
 */
export async function readDeltaRoundsBatched(
  graph: GraphClient,
  accountId: string,
  links: Map<string, string>,
): Promise<Map<string, BatchedRound>> {
  const ids = [...links.keys()];
  const steps = ids.map((folderId, index) => ({
    id: String(index),
    path: relativeLink(links.get(folderId)!),
  }));
  const results = await graph.batch(accountId, steps);
  const out = new Map<string, BatchedRound>();
  await Promise.all(
    ids.map(async (folderId, index) => {
      const result = results.get(String(index));
      if (!result) throw new AppError("provider_error", { detail: "A $batch step had no answer." });
      if (result.status === 404) return void out.set(folderId, { gone: true });
      if (result.status === 410) return void out.set(folderId, { expired: true });
      if (result.status >= 400) throw stepError(result);
      const page = parseDeltaPage(result.body);
      if (page.deltaLink)
        return void out.set(folderId, { expired: false, items: page.items, deltaLink: page.deltaLink });
      if (!page.nextLink)
        throw new AppError("provider_error", { detail: "A delta page had neither nextLink nor deltaLink." });
      const rest = await readDeltaRound(graph, accountId, folderId, page.nextLink);
      out.set(folderId, rest.expired ? rest : { ...rest, items: [...page.items, ...rest.items] });
    }),
  );
  return out;
}

/** A stored (absolute) delta link as a `$batch` step's URL: the part after `/v1.0`. */
export function relativeLink(link: string): string {
  const at = link.indexOf("/v1.0/");
  return at >= 0 ? link.slice(at + "/v1.0".length) : link;
}
