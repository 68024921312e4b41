import { type Kysely, sql } from "kysely";
import { PreparedQuery } from "../prepared.ts";
import type { Database, TrackedEmailTable, TrackingEventTable } from "../schema.ts";

export type TrackedEmailRow = TrackedEmailTable;
export type TrackingEventRow = TrackingEventTable;

/** What one flush adds to a tracked email's counts. */
export interface TrackedEmailCounts {
  opens: number;
  clicks: number;
  prefetches: number;
  firstOpenAt: number | null;
  lastEventAt: number;
  lastClickAt: number | null;
}

/** Rows per multi-row INSERT: far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 200;

const TRACKED_EMAIL_COLUMNS = [
  "tracking_id",
  "account_id",
  "email_id",
  "subject",
  "recipient",
  "label",
  "custom_domain",
  "opens",
  "links",
  "sent_at",
  "open_count",
  "click_count",
  "prefetch_count",
  "first_open_at",
  "last_event_at",
  "last_click_at",
] as const satisfies readonly (keyof TrackedEmailRow)[];

/** A tracked send's row, compiled once: it is written on the send path, before Graph's `/send`. */
const insertTrackedEmail = new PreparedQuery(TRACKED_EMAIL_COLUMNS.length, (db, ...values: unknown[]) =>
  db
    .insertInto("tracked_emails")
    .values(
      Object.fromEntries(
        TRACKED_EMAIL_COLUMNS.map((column, i) => [column, values[i]]),
      ) as unknown as TrackedEmailRow,
    )
    .onConflict((oc) => oc.column("tracking_id").doNothing()),
);

/** Tracked sends and their opens and clicks (docs/adr/0009-email-tracking.md). */
export class TrackingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertEmail(row: TrackedEmailRow): Promise<void> {
    await insertTrackedEmail.execute(this.db, ...TRACKED_EMAIL_COLUMNS.map((column) => row[column]));
  }

  async findEmails(trackingIds: readonly string[]): Promise<Map<string, TrackedEmailRow>> {
    const found = new Map<string, TrackedEmailRow>();
    for (let i = 0; i < trackingIds.length; i += INSERT_CHUNK) {
      const ids = trackingIds.slice(i, i + INSERT_CHUNK);
      const rows = await this.db
        .selectFrom("tracked_emails")
        .selectAll()
        .where("tracking_id", "in", ids)
        .execute();
      for (const row of rows) found.set(row.tracking_id, row);
    }
    return found;
  }

  async insertEvents(rows: readonly TrackingEventRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK)
      await this.db
        .insertInto("tracking_events")
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.column("id").doNothing())
        .execute();
  }

  async addCounts(trackingId: string, c: TrackedEmailCounts): Promise<void> {
    await this.db
      .updateTable("tracked_emails")
      .set({
        open_count: sql`open_count + ${c.opens}`,
        click_count: sql`click_count + ${c.clicks}`,
        prefetch_count: sql`prefetch_count + ${c.prefetches}`,
        first_open_at: sql`coalesce(first_open_at, ${c.firstOpenAt})`,
        last_event_at: c.lastEventAt,
        ...(c.lastClickAt !== null ? { last_click_at: c.lastClickAt } : {}),
      })
      .where("tracking_id", "=", trackingId)
      .execute();
  }

  /** An account's tracked sends, newest first. */
  async recentOfAccount(accountId: string, limit: number): Promise<TrackedEmailRow[]> {
    return this.db
      .selectFrom("tracked_emails")
      .selectAll()
      .where("account_id", "=", accountId)
      .orderBy("sent_at", "desc")
      .limit(limit)
      .execute();
  }

  /** The latest events of these sends, newest first, at most `perEmail` each. */
  async recentEvents(trackingIds: readonly string[], perEmail: number): Promise<TrackingEventRow[]> {
    if (trackingIds.length === 0) return [];
    const rows = await this.db
      .selectFrom("tracking_events")
      .selectAll()
      .where("tracking_id", "in", [...trackingIds])
      .orderBy("occurred_at", "desc")
      .limit(trackingIds.length * perEmail)
      .execute();
    const seen = new Map<string, number>();
    return rows.filter((row) => {
      const n = (seen.get(row.tracking_id) ?? 0) + 1;
      seen.set(row.tracking_id, n);
      return n <= perEmail;
    });
  }
}
