// Per-folder message delta (reference §3.8). A round is the set of changes with
// since < changeSeq <= upTo, read in change order, so paging is a cursor over sequence numbers:
// an item that changes mid-round falls outside `upTo` and shows up in the next round instead,
// so nothing is missed or duplicated within a round.
import { baseUrl, type GraphResponse, type HandlerContext, intOption, json } from "./context.ts";
import { badRequest, GraphError } from "./errors.ts";
import type { FolderRecord, MessageRecord } from "./mailbox-store.ts";
import { findFolder, messageSelect, renderOne } from "./messages.ts";

interface DeltaState {
  v: 1;
  /** Mailbox epoch: tokens from another sandbox run are unknown. */
  e: string;
  /** Sync state generation (MailboxStore.deltaGeneration). */
  g: number;
  f: string;
  /** Changes after this sequence belong to the round. */
  s: number;
  /** Round upper bound (only in skip tokens). */
  u?: number;
  /** Cursor: last sequence returned in this round (only in skip tokens). */
  a?: number;
  sel: string[] | null;
  /** receivedDateTime ge|gt filter (ms). */
  rf: { op: "ge" | "gt"; at: number } | null;
  top: number | null;
}

function encode(state: DeltaState): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

function syncStateNotFound(generation: number | string): GraphError {
  return new GraphError(
    410,
    "SyncStateNotFound",
    `The sync state generation is not found; generation=${generation}`,
  );
}

function decode(token: string): DeltaState {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as DeltaState;
    if (parsed.v === 1 && typeof parsed.s === "number" && typeof parsed.f === "string") return parsed;
  } catch {
    // unknown token
  }
  throw syncStateNotFound(0);
}

function parseDeltaFilter(raw: string | null): DeltaState["rf"] {
  if (raw === null || raw.trim() === "") return null;
  const match = /^\s*receivedDateTime\s+(ge|gt)\s+'?([0-9T:.+\-Z]+)'?\s*$/i.exec(raw);
  const at = match ? Date.parse(match[2]!) : Number.NaN;
  if (!match || Number.isNaN(at)) {
    throw badRequest("Delta queries support only $filter=receivedDateTime ge|gt {value}.");
  }
  return { op: match[1]!.toLowerCase() as "ge" | "gt", at };
}

type Entry =
  | { seq: number; message: MessageRecord }
  | { seq: number; removed: { immutableId: string; restId: string } };

/** Microsoft: a delta query with `$filter=receivedDateTime ge|gt` returns at most 5,000 messages. */
export const FILTERED_DELTA_MAX = 5_000;

function roundEntries(folder: FolderRecord, state: DeltaState, upTo: number): Entry[] {
  const after = state.a ?? state.s;
  const entries: Entry[] = [];
  let candidates = folder.messages.filter((message) => {
    if (message.changeSeq <= state.s || message.changeSeq > upTo) return false;
    if (!state.rf) return true;
    return state.rf.op === "ge" ? message.receivedAt >= state.rf.at : message.receivedAt > state.rf.at;
  });
  // The first (snapshot) round of a filtered query stops at the limit: the most recent mail is kept.
  if (state.rf && state.s === 0 && candidates.length > FILTERED_DELTA_MAX)
    candidates = [...candidates].sort((a, b) => b.receivedAt - a.receivedAt).slice(0, FILTERED_DELTA_MAX);
  for (const message of candidates) {
    if (message.changeSeq <= after) continue;
    entries.push({ seq: message.changeSeq, message });
  }
  // The first round is a snapshot: nothing to remove yet.
  if (state.s > 0) {
    for (const tombstone of folder.tombstones) {
      if (tombstone.seq <= after || tombstone.seq > upTo) continue;
      entries.push({ seq: tombstone.seq, removed: tombstone });
    }
  }
  return entries.sort((a, b) => a.seq - b.seq);
}

export function messageDelta(ctx: HandlerContext): GraphResponse {
  const { query } = ctx.request;
  const store = ctx.store;
  const deltaToken = query.get("$deltatoken");
  const skipToken = query.get("$skiptoken");
  let state: DeltaState;
  let upTo: number;
  let folder: FolderRecord;
  if (deltaToken !== null || skipToken !== null) {
    state = decode((skipToken ?? deltaToken)!);
    const known = store.folders.get(state.f);
    if (state.e !== store.epoch || state.g !== store.deltaGeneration || !known || state.s > store.seq) {
      throw syncStateNotFound(state.g ?? 0);
    }
    folder = known;
    upTo = skipToken !== null ? (state.u ?? store.seq) : store.seq;
    if (deltaToken !== null) delete state.a;
  } else {
    folder = findFolder(ctx, ctx.params.folderId);
    const orderBy = query.get("$orderby");
    if (orderBy !== null && !/^\s*receivedDateTime\s+desc\s*$/i.test(orderBy)) {
      throw badRequest("Delta queries support only $orderby=receivedDateTime desc.");
    }
    if (query.get("$search") !== null) throw badRequest("$search is not supported with delta queries.");
    state = {
      v: 1,
      e: store.epoch,
      g: store.deltaGeneration,
      f: folder.id,
      s: 0,
      sel: messageSelect(ctx),
      rf: parseDeltaFilter(query.get("$filter")),
      top: intOption(ctx, "$top", 1, 1000),
    };
    upTo = store.seq;
  }
  const pageSize = ctx.prefer.maxPageSize ?? state.top ?? 10;
  const entries = roundEntries(folder, state, upTo);
  const page = entries.slice(0, pageSize);
  const value = page.map((entry) => {
    if ("message" in entry) return renderOne(ctx, entry.message, state.sel);
    return {
      "@odata.type": "#microsoft.graph.message",
      id: ctx.prefer.immutableIds ? entry.removed.immutableId : entry.removed.restId,
      "@removed": { reason: "deleted" },
    };
  });
  const link = `${baseUrl(ctx.state)}/v1.0${ctx.mailboxPrefix}/mailFolders('${encodeURIComponent(folder.id)}')/messages/delta`;
  const body: Record<string, unknown> = {
    "@odata.context": `${baseUrl(ctx.state)}/v1.0/$metadata#Collection(message)`,
  };
  if (entries.length > page.length) {
    body["@odata.nextLink"] =
      `${link}?$skiptoken=${encode({ ...state, u: upTo, a: page[page.length - 1]!.seq })}`;
  } else {
    const { a: _a, u: _u, ...rest } = state;
    body["@odata.deltaLink"] = `${link}?$deltatoken=${encode({ ...rest, s: upTo })}`;
  }
  body.value = value;
  const headers: Record<string, string> = {};
  const applied = [...ctx.prefer.applied];
  if (ctx.prefer.maxPageSize !== null) applied.push(`odata.maxpagesize=${ctx.prefer.maxPageSize}`);
  if (applied.length > 0) headers["Preference-Applied"] = applied.join(", ");
  return json(200, body, headers);
}
