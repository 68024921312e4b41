// The decision of one delta sync, as a pure function: from the message index (where each message was
// last seen) and this sync's delta rounds (one per folder), where each message is now and which mail
// events that makes. No I/O, no clock: the caller reads the index and the rounds, publishes the
// events, and commits the placements with the delta links.
import type { DeltaItem } from "../../providers/microsoft/delta.ts";
import type { MessagePlacement } from "../../storage/repositories/realtime.repository.ts";
import type { FolderRole } from "../email/email.types.ts";
import { classify, type MailEventType, mailEventId, messageKey } from "./mail-events.ts";

/** One folder's delta round as the planner reads it. */
export interface PlannedRound {
  folderId: string;
  /** Read from scratch (new folder, expired sync state): mail older than the baseline is history. */
  fresh: boolean;
  items: readonly DeltaItem[];
}

/** Where the index last saw a message (a `realtime_messages` row). */
export interface IndexEntry {
  folder_id: string;
  moves: number;
  gone_at: number | null;
  /** When the message was received (absent in rows written before the index had a window). */
  received_at?: number;
}

export interface SyncBaseline {
  /** When the account's first sync completed; null during that first (silent) sync. */
  baselineAt: number | null;
  /** This sync's start: the time of removals, and the date of mail that has no receivedDateTime. */
  startedAt: number;
  /**
   * Start of the index window (REALTIME_INDEX_DAYS before now): mail received earlier is neither
   * indexed nor announced when it shows up unknown, since housekeeping has pruned it or the baseline
   * never read it. A move of such old mail is therefore not reported (docs/adr/0006-retention.md).
   */
  windowStart?: number;
}

export interface PlannedEvent {
  /** Stable: the same change planned again (after a crash, a duplicate notification) has the same id. */
  id: string;
  type: MailEventType;
  graphId: string;
  folderId: string;
  /** mail_moved only: the how-many-th move of the message. */
  move?: number;
}

export interface SyncPlan {
  placements: MessagePlacement[];
  events: PlannedEvent[];
}

/** The index keys the planner will ask about, so the caller reads only those rows. */
export function indexKeysOf(rounds: readonly PlannedRound[]): string[] {
  const keys = new Set<string>();
  for (const round of rounds) for (const item of round.items) keys.add(messageKey(item.id));
  return [...keys];
}

export function planSync(
  index: ReadonlyMap<string, IndexEntry>,
  rounds: readonly PlannedRound[],
  baseline: SyncBaseline,
  context: { accountId: string; roleOf(folderId: string): FolderRole },
): SyncPlan {
  const { roleOf, accountId } = context;
  const silent = baseline.baselineAt === null;
  const arrivals = new Map<string, { folderId: string; fresh: boolean; receivedAt: number }>();
  const removals: { graphId: string; folderId: string }[] = [];
  for (const round of rounds) {
    for (const item of round.items) {
      if (item.removed) {
        removals.push({ graphId: item.id, folderId: round.folderId });
        continue;
      }
      const seen = arrivals.get(item.id);
      // Seen in two folders within one sync (moved while the rounds ran): where it is now wins.
      if (seen && item.parentFolderId !== round.folderId) continue;
      arrivals.set(item.id, {
        folderId: round.folderId,
        fresh: round.fresh,
        receivedAt: item.receivedDateTime ? Date.parse(item.receivedDateTime) : baseline.startedAt,
      });
    }
  }

  const placements = new Map<string, MessagePlacement>();
  const events: PlannedEvent[] = [];
  const announce = (type: MailEventType, graphId: string, folderId: string, move?: number) =>
    events.push({
      id: mailEventId({ accountId, graphId, type, folderId, ...(move !== undefined ? { move } : {}) }),
      type,
      graphId,
      folderId,
      ...(move !== undefined ? { move } : {}),
    });

  for (const [graphId, arrival] of arrivals) {
    const key = messageKey(graphId);
    const previous = index.get(key);
    const place = (moves: number) =>
      placements.set(key, {
        messageKey: key,
        folderId: arrival.folderId,
        moves,
        goneAt: null,
        receivedAt: arrival.receivedAt,
      });
    const beforeWindow = baseline.windowStart !== undefined && arrival.receivedAt < baseline.windowStart;
    if (!previous && beforeWindow) continue;
    if (silent) {
      place(previous?.moves ?? 0);
      continue;
    }
    if (previous && previous.folder_id === arrival.folderId) {
      // An update (read flag, categories…) or a created+updated burst: no event.
      if (previous.gone_at !== null) place(previous.moves);
      continue;
    }
    if (previous) {
      const type = classify(roleOf(previous.folder_id), roleOf(arrival.folderId));
      const moves = previous.moves + 1;
      if (type) announce(type, graphId, arrival.folderId, type === "mail_moved" ? moves : undefined);
      place(moves);
      continue;
    }
    // Not seen before. In a folder read from scratch (new folder, expired sync state), only mail
    // received after the account's baseline is new; older mail is history.
    place(0);
    if (arrival.fresh && baseline.baselineAt !== null && arrival.receivedAt <= baseline.baselineAt) continue;
    const type = classify(undefined, roleOf(arrival.folderId));
    if (type) announce(type, graphId, arrival.folderId);
  }
  for (const removal of removals) {
    const key = messageKey(removal.graphId);
    if (placements.has(key)) continue;
    const previous = index.get(key);
    // Only where the index still has it: a removal seen after its arrival elsewhere changes nothing.
    if (previous && previous.folder_id === removal.folderId && previous.gone_at === null)
      placements.set(key, {
        messageKey: key,
        folderId: previous.folder_id,
        moves: previous.moves,
        goneAt: baseline.startedAt,
        receivedAt: previous.received_at ?? baseline.startedAt,
      });
  }
  return { placements: [...placements.values()], events };
}
