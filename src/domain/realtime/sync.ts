// One delta sync of an account, run by the realtime.sync and realtime.poll jobs under the exclusive key
// `realtime.sync:<accountId>` (one sync per account at a time, across processes): read every folder's round, plan (sync-planner.ts), publish the events to the webhook outbox under
// their stable ids, then commit the message index and the folders' delta links together, so a crash
// at any point replays into the same event ids.
import { AppError } from "../../lib/errors.ts";
import { type DeltaRound, readDeltaRound, readDeltaRoundsBatched } from "../../providers/microsoft/delta.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import type { EmailObject, FolderRole } from "../email/email.types.ts";
import { mailroomId } from "../email/email-ids.ts";
import type { FolderTree } from "../email/folder-directory.ts";
import { mailPayload } from "./mail-events.ts";
import { type MailEvent, type RealtimeDeps, type SentOrigin, syncKey } from "./realtime.types.ts";
import { indexKeysOf, type PlannedEvent, planSync } from "./sync-planner.ts";

/** A round that announced at least this many events is followed by another sync soon after. */
const CATCH_UP_MIN_EVENTS = 20;
const CATCH_UP_DELAY_MS = 250;
/** How often a sync reads the folder tree again to find new folders (a deleted one is noticed at once). */
const TREE_REFRESH_MS = 3_600_000;
const MAX_TREE_TIMES = 100_000;

export class SyncRunner {
  /** When each account's folder tree was last read by a sync (a process-local hint; losing it costs one read). */
  private readonly treeReadAt = new Map<string, number>();

  constructor(
    private readonly d: Pick<
      RealtimeDeps,
      | "repo"
      | "accounts"
      | "graph"
      | "folders"
      | "email"
      | "emailCache"
      | "publisher"
      | "queue"
      | "sentOrigin"
      | "clock"
      | "log"
      | "options"
    >,
  ) {}

  /**
   * One delta sync of the account. The caller holds the account's exclusive key (its job was enqueued
   * with `syncKey(accountId)`), so no other sync of the account runs meanwhile.
   */
  async sync(accountId: string): Promise<"done" | "skipped"> {
    const account = await this.d.accounts.findById(accountId);
    if (!account || account.status !== "OK") return "skipped";
    const started = this.d.clock.now();
    // Written once, at the first sync (a poll reads it only).
    let state = await this.d.repo.findAccount(accountId);
    if (!state) {
      await this.d.repo.ensureAccount(accountId, started);
      state = await this.d.repo.findAccount(accountId);
      if (!state) return "skipped";
    }
    await this.syncLocked(account, state, started);
    return "done";
  }

  private async syncLocked(account: AccountRow, state: RealtimeAccountRow, started: number): Promise<void> {
    const baseline = state.baseline_at === null;
    const links = await this.d.repo.deltaLinks(account.id);
    const windowMs = this.d.options.indexWindowMs;
    const windowStart = windowMs === undefined ? undefined : started - windowMs;
    // The folder tree is read on the first sync and then about hourly (folder ids are stable); in
    // between, the watched folders are the ones with a stored delta link, all read in one `$batch`.
    let tree = this.treeDue(account.id, started, links)
      ? await this.loadTree(account.id, started)
      : undefined;
    const stored = new Map<string, string>();
    for (const [folderId, link] of links)
      if (link !== null && (!tree || tree.byId.has(folderId))) stored.set(folderId, link);
    const batched =
      stored.size > 0 ? await readDeltaRoundsBatched(this.d.graph, account.id, stored) : new Map();
    const read: Array<{ folderId: string; fresh: boolean; round: DeltaRound } | undefined> = [];
    for (const [folderId, round] of batched) {
      if ("gone" in round) {
        // A folder deleted since the tree was read: nothing to sync there; the tree is read again.
        this.treeReadAt.delete(account.id);
        continue;
      }
      if (round.expired) read.push(await this.freshRound(account.id, folderId, windowStart, true));
      else read.push({ folderId, fresh: false, round });
    }
    // New folders (or the first sync): a fresh round each.
    if (tree)
      read.push(
        ...(await Promise.all(
          [...tree.byId.keys()]
            .filter((folderId) => !stored.has(folderId))
            .map((folderId) => this.freshRound(account.id, folderId, windowStart, false)),
        )),
      );
    const rounds = read.flatMap((entry) =>
      entry && !entry.round.expired
        ? [
            {
              folderId: entry.folderId,
              fresh: entry.fresh,
              items: entry.round.items,
              deltaLink: entry.round.deltaLink,
            },
          ]
        : [],
    );
    // Whatever a round names was created, changed, moved or removed: cached copies are dropped (they
    // would fail their version check anyway; this frees the memory at once).
    for (const round of rounds)
      if (round.items.length > 0)
        this.d.emailCache?.forget(
          account.id,
          round.items.map((item) => item.id),
        );
    // The mailbox changed: before any event about it can reach a webhook, no process serves a page
    // cached before this round without asking Graph (docs/adr/0008-email-cache.md).
    if (rounds.some((round) => round.items.length > 0)) await this.d.repo.bumpMailVersion(account.id);
    // Roles are only needed to plan events: an idle poll never reads the tree.
    if (!tree && rounds.some((round) => round.items.length > 0)) tree = await this.d.folders.tree(account.id);
    const roleOf = (folderId: string): FolderRole => tree?.byId.get(folderId)?.role ?? "unknown";

    const index = await this.d.repo.messages(account.id, indexKeysOf(rounds));
    const plan = planSync(
      index,
      rounds,
      {
        baselineAt: state.baseline_at,
        startedAt: started,
        ...(windowStart !== undefined ? { windowStart } : {}),
      },
      { accountId: account.id, roleOf },
    );

    await this.publishAll(account, plan.events);

    const deltaLinks = new Map<string, string | null>();
    for (const round of rounds) deltaLinks.set(round.folderId, round.deltaLink);
    await this.d.repo.commitSync(account.id, {
      placements: plan.placements,
      deltaLinks,
      now: this.d.clock.now(),
      ...(baseline ? { baselineAt: started } : {}),
    });
    if (plan.events.length >= CATCH_UP_MIN_EVENTS) await this.catchUp(account.id);
    if (plan.events.length > 0 || baseline)
      this.d.log.debug(
        { accountId: account.id, events: plan.events.length, baseline, folders: deltaLinks.size },
        "Delta sync committed",
      );
  }

  /**
   * A round with many new messages is likely part of a burst still arriving: one more sync shortly
   * after, rather than at the next poll slot or notification window, catches the rest up. Quiet
   * mailboxes (a few messages a round) never pay for it.
   */
  private async catchUp(accountId: string): Promise<void> {
    const now = this.d.clock.now();
    await this.d.queue.enqueue(
      "realtime.sync",
      { accountId, reason: "catch-up" },
      {
        idempotencyKey: `realtime.sync:${accountId}:c:${Math.floor(now / CATCH_UP_DELAY_MS)}`,
        runAt: now + CATCH_UP_DELAY_MS,
        exclusiveKey: syncKey(accountId),
      },
    );
  }

  private treeDue(accountId: string, now: number, links: Map<string, string | null>): boolean {
    if (links.size === 0 || [...links.values()].some((link) => link === null)) return true;
    const at = this.treeReadAt.get(accountId);
    return at === undefined || now - at >= TREE_REFRESH_MS;
  }

  private async loadTree(accountId: string, now: number): Promise<FolderTree> {
    const tree = await this.d.folders.tree(accountId);
    this.treeReadAt.delete(accountId);
    if (this.treeReadAt.size >= MAX_TREE_TIMES) this.treeReadAt.delete(this.treeReadAt.keys().next().value!);
    this.treeReadAt.set(accountId, now);
    return tree;
  }

  private async freshRound(
    accountId: string,
    folderId: string,
    windowStart: number | undefined,
    expired: boolean,
  ): Promise<{ folderId: string; fresh: boolean; round: DeltaRound } | undefined> {
    if (expired)
      // 410 SyncStateNotFound: the folder starts over; its snapshot is compared with the index.
      this.d.log.info({ accountId, folderId }, "Delta sync state expired; resyncing folder");
    try {
      const round = await readDeltaRound(this.d.graph, accountId, folderId, null, windowStart);
      return round.expired ? undefined : { folderId, fresh: true, round };
    } catch (error) {
      // A folder deleted since the tree was read: nothing to sync there.
      if (error instanceof AppError && error.code === "resource_not_found") return undefined;
      throw error;
    }
  }

  /**
   * Announces a round's events. One event: one GET of its message. More: the messages are read in
   * `$batch` requests of up to 20 GETs, and the events are published in one commit, so a catch-up of
   * hundreds of messages costs tens of requests and one write instead of one of each per message.
   */
  private async publishAll(account: AccountRow, events: PlannedEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (events.length === 1) return this.publishOne(account, events[0]!);
    const emails = await this.d.email.emailsOf(
      account,
      events.map((event) => event.graphId),
    );
    const published: MailEvent[] = [];
    for (const event of events) {
      // Gone again before it could be announced (deleted, or a draft replaced on send).
      const email = emails.get(event.graphId);
      if (!email) continue;
      published.push({
        id: event.id,
        type: event.type,
        accountId: account.id,
        payload: mailPayload(email, await this.originOf(account, event, email)),
      });
    }
    if (this.d.publisher.publishMany) await this.d.publisher.publishMany(published);
    else for (const event of published) await this.d.publisher.publish(event);
  }

  /**
   * The mark on the message says it went out through the API; the sent-mail log answers for mail
   * sent before messages were marked.
   */
  private originOf(
    account: AccountRow,
    event: PlannedEvent,
    email: EmailObject,
  ): Promise<SentOrigin> | SentOrigin {
    if (email.origin === "unipile" && email.tracking_id !== undefined)
      return { origin: "unipile", trackingId: email.tracking_id };
    return event.type === "mail_sent" && this.d.sentOrigin
      ? this.d.sentOrigin.originOf(account.id, event.graphId)
      : { origin: "external" };
  }

  private async publishOne(account: AccountRow, event: PlannedEvent): Promise<void> {
    let email: EmailObject;
    try {
      email = await this.d.email.get(mailroomId(account.id, event.graphId), account.id);
    } catch (error) {
      // Gone again before it could be announced (deleted, or a draft replaced on send).
      if (error instanceof AppError && error.code === "resource_not_found") return;
      throw error;
    }
    await this.d.publisher.publish({
      id: event.id,
      type: event.type,
      accountId: account.id,
      payload: mailPayload(email, await this.originOf(account, event, email)),
    });
  }
}
