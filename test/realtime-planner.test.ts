import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FolderRole } from "../src/domain/email/email.types.ts";
import { mailEventId, messageKey } from "../src/domain/realtime/mail-events.ts";
import {
  type IndexEntry,
  indexKeysOf,
  type PlannedRound,
  planSync,
  type SyncBaseline,
} from "../src/domain/realtime/sync-planner.ts";
import type { DeltaItem } from "../src/providers/microsoft/delta.ts";

const ACCOUNT = "acc1";
const ROLES: Record<string, FolderRole> = {
  inbox: "inbox",
  sent: "sent",
  drafts: "drafts",
  archive: "archive",
  custom: "unknown",
};
const context = { accountId: ACCOUNT, roleOf: (folderId: string) => ROLES[folderId] ?? "unknown" };
const BASELINE_AT = Date.parse("2026-01-01T00:00:00Z");
const STARTED = Date.parse("2026-01-02T00:00:00Z");
const after: SyncBaseline = { baselineAt: BASELINE_AT, startedAt: STARTED };
/** The default item's receivedDateTime. */
const RECEIVED = Date.parse("2026-01-01T12:00:00Z");
const DAY = 24 * 3_600_000;
const windowed: SyncBaseline = { ...after, windowStart: STARTED - 30 * DAY };
const daysBefore = (days: number) => new Date(STARTED - days * DAY).toISOString();

const item = (id: string, folderId: string, extra: Partial<DeltaItem> = {}): DeltaItem => ({
  id,
  removed: false,
  parentFolderId: folderId,
  receivedDateTime: "2026-01-01T12:00:00Z",
  ...extra,
});
const removed = (id: string): DeltaItem => ({ id, removed: true });
const round = (folderId: string, items: DeltaItem[], fresh = false): PlannedRound => ({
  folderId,
  fresh,
  items,
});
const indexOf = (entries: Record<string, IndexEntry>) =>
  new Map(Object.entries(entries).map(([graphId, entry]) => [messageKey(graphId), entry]));
const at = (folder_id: string, moves = 0, gone_at: number | null = null): IndexEntry => ({
  folder_id,
  moves,
  gone_at,
});
const eventId = (
  graphId: string,
  type: "mail_received" | "mail_sent" | "mail_moved",
  folderId: string,
  move?: number,
) => mailEventId({ accountId: ACCOUNT, graphId, type, folderId, ...(move !== undefined ? { move } : {}) });

describe("realtime sync planner", () => {
  const cases: {
    name: string;
    index: Map<string, IndexEntry>;
    rounds: PlannedRound[];
    baseline?: SyncBaseline;
    placements: {
      graphId: string;
      folderId: string;
      moves: number;
      goneAt: number | null;
      receivedAt?: number;
    }[];
    events: {
      graphId: string;
      type: "mail_received" | "mail_sent" | "mail_moved";
      folderId: string;
      move?: number;
    }[];
  }[] = [
    {
      name: "the first sync places every message and announces nothing (baseline silence)",
      index: indexOf({}),
      rounds: [round("inbox", [item("m1", "inbox")]), round("sent", [item("m2", "sent")])],
      baseline: { baselineAt: null, startedAt: STARTED },
      placements: [
        { graphId: "m1", folderId: "inbox", moves: 0, goneAt: null },
        { graphId: "m2", folderId: "sent", moves: 0, goneAt: null },
      ],
      events: [],
    },
    {
      name: "new mail in the inbox is one mail_received",
      index: indexOf({}),
      rounds: [round("inbox", [item("m1", "inbox")])],
      placements: [{ graphId: "m1", folderId: "inbox", moves: 0, goneAt: null }],
      events: [{ graphId: "m1", type: "mail_received", folderId: "inbox" }],
    },
    {
      name: "new mail in Sent Items is one mail_sent",
      index: indexOf({}),
      rounds: [round("sent", [item("m1", "sent")])],
      placements: [{ graphId: "m1", folderId: "sent", moves: 0, goneAt: null }],
      events: [{ graphId: "m1", type: "mail_sent", folderId: "sent" }],
    },
    {
      name: "a new draft is placed but never announced",
      index: indexOf({}),
      rounds: [round("drafts", [item("d1", "drafts")])],
      placements: [{ graphId: "d1", folderId: "drafts", moves: 0, goneAt: null }],
      events: [],
    },
    {
      name: "a draft that lands in Sent Items is mail_sent, not mail_moved",
      index: indexOf({ d1: at("drafts") }),
      rounds: [round("drafts", [removed("d1")]), round("sent", [item("d1", "sent")])],
      placements: [{ graphId: "d1", folderId: "sent", moves: 1, goneAt: null }],
      events: [{ graphId: "d1", type: "mail_sent", folderId: "sent" }],
    },
    {
      name: "a move is mail_moved numbered after the message's previous moves",
      index: indexOf({ m1: at("inbox", 2) }),
      rounds: [round("inbox", [removed("m1")]), round("archive", [item("m1", "archive")])],
      placements: [{ graphId: "m1", folderId: "archive", moves: 3, goneAt: null }],
      events: [{ graphId: "m1", type: "mail_moved", folderId: "archive", move: 3 }],
    },
    {
      name: "an update in the same folder (read flag) changes nothing",
      index: indexOf({ m1: at("inbox") }),
      rounds: [round("inbox", [item("m1", "inbox", { isDraft: false })])],
      placements: [],
      events: [],
    },
    {
      name: "a message seen again where it was marked gone is placed back, silently",
      index: indexOf({ m1: at("inbox", 1, STARTED - 1000) }),
      rounds: [round("inbox", [item("m1", "inbox")])],
      placements: [{ graphId: "m1", folderId: "inbox", moves: 1, goneAt: null }],
      events: [],
    },
    {
      name: "a delete marks the message gone at the sync's start and announces nothing",
      index: indexOf({ m1: at("inbox", 1) }),
      rounds: [round("inbox", [removed("m1")])],
      placements: [{ graphId: "m1", folderId: "inbox", moves: 1, goneAt: STARTED, receivedAt: STARTED }],
      events: [],
    },
    {
      name: "a removal from a folder the index does not place the message in changes nothing",
      index: indexOf({ m1: at("archive"), m2: at("inbox", 0, STARTED - 5) }),
      rounds: [round("inbox", [removed("m1"), removed("m2"), removed("unknown")])],
      placements: [],
      events: [],
    },
    {
      name: "old mail in a folder read from scratch is history; newer mail there is announced",
      index: indexOf({}),
      rounds: [
        round(
          "custom",
          [
            item("old", "custom", { receivedDateTime: "2025-12-31T00:00:00Z" }),
            item("new", "custom", { receivedDateTime: "2026-01-01T06:00:00Z" }),
            item("undated", "custom", { receivedDateTime: undefined }),
          ],
          true,
        ),
      ],
      placements: [
        {
          graphId: "old",
          folderId: "custom",
          moves: 0,
          goneAt: null,
          receivedAt: Date.parse("2025-12-31T00:00:00Z"),
        },
        {
          graphId: "new",
          folderId: "custom",
          moves: 0,
          goneAt: null,
          receivedAt: Date.parse("2026-01-01T06:00:00Z"),
        },
        { graphId: "undated", folderId: "custom", moves: 0, goneAt: null, receivedAt: STARTED },
      ],
      events: [
        { graphId: "new", type: "mail_received", folderId: "custom" },
        { graphId: "undated", type: "mail_received", folderId: "custom" },
      ],
    },
    {
      name: "a message seen in two folders in one sync is where its parentFolderId says",
      index: indexOf({}),
      rounds: [round("archive", [item("m1", "archive")]), round("inbox", [item("m1", "archive")])],
      placements: [{ graphId: "m1", folderId: "archive", moves: 0, goneAt: null }],
      events: [{ graphId: "m1", type: "mail_received", folderId: "archive" }],
    },
    {
      name: "mail older than the index window that the index does not know (a moved old message) is neither announced nor indexed",
      index: indexOf({}),
      baseline: windowed,
      rounds: [
        round("archive", [removed("old")]),
        round("inbox", [
          item("old", "inbox", { receivedDateTime: daysBefore(40) }),
          item("recent", "inbox", { receivedDateTime: daysBefore(1) }),
        ]),
      ],
      placements: [
        { graphId: "recent", folderId: "inbox", moves: 0, goneAt: null, receivedAt: STARTED - DAY },
      ],
      events: [{ graphId: "recent", type: "mail_received", folderId: "inbox" }],
    },
    {
      name: "a message the index still holds moves as usual, even past the window (until housekeeping prunes it)",
      index: indexOf({ m1: { ...at("inbox"), received_at: STARTED - 31 * DAY } }),
      baseline: windowed,
      rounds: [
        round("inbox", [removed("m1")]),
        round("archive", [item("m1", "archive", { receivedDateTime: daysBefore(31) })]),
      ],
      placements: [
        { graphId: "m1", folderId: "archive", moves: 1, goneAt: null, receivedAt: STARTED - 31 * DAY },
      ],
      events: [{ graphId: "m1", type: "mail_moved", folderId: "archive", move: 1 }],
    },
    {
      name: "the first sync indexes only mail within the window, silently",
      index: indexOf({}),
      baseline: { baselineAt: null, startedAt: STARTED, windowStart: STARTED - 30 * DAY },
      rounds: [
        round("inbox", [
          item("old", "inbox", { receivedDateTime: daysBefore(45) }),
          item("recent", "inbox", { receivedDateTime: daysBefore(29) }),
        ]),
      ],
      placements: [
        { graphId: "recent", folderId: "inbox", moves: 0, goneAt: null, receivedAt: STARTED - 29 * DAY },
      ],
      events: [],
    },
    {
      name: "a message gone from a folder keeps its received time in the index",
      index: indexOf({ m1: { ...at("inbox"), received_at: STARTED - 3 * DAY } }),
      baseline: windowed,
      rounds: [round("inbox", [removed("m1")])],
      placements: [
        { graphId: "m1", folderId: "inbox", moves: 0, goneAt: STARTED, receivedAt: STARTED - 3 * DAY },
      ],
      events: [],
    },
  ];

  for (const c of cases)
    it(c.name, () => {
      const plan = planSync(c.index, c.rounds, c.baseline ?? after, context);
      assert.deepEqual(
        plan.placements,
        c.placements.map((p) => ({
          messageKey: messageKey(p.graphId),
          folderId: p.folderId,
          moves: p.moves,
          goneAt: p.goneAt,
          receivedAt: p.receivedAt ?? RECEIVED,
        })),
      );
      assert.deepEqual(
        plan.events,
        c.events.map((e) => ({ id: eventId(e.graphId, e.type, e.folderId, e.move), ...e })),
      );
    });

  it("a sync repeated after a crash (same index, same rounds) plans the same event ids", () => {
    const index = indexOf({ m1: at("inbox", 0) });
    const rounds = [
      round("inbox", [removed("m1"), item("m2", "inbox")]),
      round("archive", [item("m1", "archive")]),
      round("sent", [item("m3", "sent")]),
    ];
    const first = planSync(index, rounds, after, context);
    const again = planSync(index, rounds, { ...after, startedAt: STARTED + 60_000 }, context);
    assert.equal(first.events.length, 3);
    assert.deepEqual(
      again.events.map((e) => e.id),
      first.events.map((e) => e.id),
    );
  });

  it("each move of a message is its own event id; the same move planned twice is one id", () => {
    const once = planSync(
      indexOf({ m1: at("inbox", 0) }),
      [round("archive", [item("m1", "archive")])],
      after,
      context,
    );
    const twice = planSync(
      indexOf({ m1: at("inbox", 2) }),
      [round("archive", [item("m1", "archive")])],
      after,
      context,
    );
    assert.notEqual(once.events[0]!.id, twice.events[0]!.id);
    assert.equal(
      once.events[0]!.id,
      planSync(indexOf({ m1: at("inbox", 0) }), [round("archive", [item("m1", "archive")])], after, context)
        .events[0]!.id,
    );
  });

  it("event ids name the account: the same message in two accounts has two ids", () => {
    const rounds = [round("inbox", [item("m1", "inbox")])];
    const a = planSync(indexOf({}), rounds, after, context);
    const b = planSync(indexOf({}), rounds, after, { ...context, accountId: "acc2" });
    assert.notEqual(a.events[0]!.id, b.events[0]!.id);
  });

  it("asks the index only for the messages in the rounds, each once", () => {
    const keys = indexKeysOf([
      round("inbox", [item("m1", "inbox"), removed("m2")]),
      round("archive", [item("m1", "archive")]),
    ]);
    assert.deepEqual(keys.sort(), [messageKey("m1"), messageKey("m2")].sort());
  });
});
