// One delta sync of an account, run by the realtime.sync and realtime.poll jobs under the exclusive key
// `realtime.sync:<accountId>` (one sync per account at a time, across processes): read every folder's round, plan (sync-planner.ts), publish the events to the webhook outbox under
// their stable ids, then commit the message index and the folders' delta links together, so a crash
// at any point replays into the same event ids.
import { AppError } from "../../lib/errors.ts";
import { type DeltaRound, readDeltaRound } from "../../providers/microsoft/delta.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { EmailObject, FolderRole } from "../email/email.types.ts";
import { mailroomId } from "../email/email-ids.ts";
import { mailPayload } from "./mail-events.ts";
import type { RealtimeDeps, SentOrigin } from "./realtime.types.ts";
import { indexKeysOf, type PlannedEvent, planSync } from "./sync-planner.ts";

const FETCH_CONCURRENCY = 4;

export class SyncRunner {
  constructor(
    private readonly d: Pick<
      RealtimeDeps,
      "repo" | "accounts" | "graph" | "folders" | "email" | "publisher" | "sentOrigin" | "clock" | "log"
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
    await this.d.repo.ensureAccount(accountId, started);
    await this.syncLocked(account, started);
    return "done";
  }

  private async syncLocked(account: AccountRow, started: number): Promise<void> {
    const state = await this.d.repo.findAccount(account.id);
    if (!state) return;
    const baseline = state.baseline_at === null;
    const tree = await this.d.folders.tree(account.id);
    const links = await this.d.repo.deltaLinks(account.id);
    const roleOf = (folderId: string): FolderRole => tree.byId.get(folderId)?.role ?? "unknown";

    const read = await Promise.all(
      [...tree.byId.keys()].map(async (folderId) => {
        const link = links.get(folderId) ?? null;
        try {
          let round: DeltaRound = await readDeltaRound(this.d.graph, account.id, folderId, link);
          let fresh = link === null;
          if (round.expired) {
            // 410 SyncStateNotFound: the folder starts over; its snapshot is compared with the index.
            this.d.log.info(
              { accountId: account.id, folderId },
              "Delta sync state expired; resyncing folder",
            );
            round = await readDeltaRound(this.d.graph, account.id, folderId, null);
            fresh = true;
          }
          return round.expired ? undefined : { folderId, fresh, round };
        } catch (error) {
          // A folder deleted since the tree was read: nothing to sync there.
          if (error instanceof AppError && error.code === "resource_not_found") return undefined;
          throw error;
        }
      }),
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

    const index = await this.d.repo.messages(account.id, indexKeysOf(rounds));
    const plan = planSync(
      index,
      rounds,
      { baselineAt: state.baseline_at, startedAt: started },
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
    if (plan.events.length > 0 || baseline)
      this.d.log.debug(
        { accountId: account.id, events: plan.events.length, baseline, folders: deltaLinks.size },
        "Delta sync committed",
      );
  }

  private async publishAll(account: AccountRow, events: PlannedEvent[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++]!;
        await this.publishOne(account, event);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, events.length) }, worker));
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
    const origin: SentOrigin =
      event.type === "mail_sent" && this.d.sentOrigin
        ? await this.d.sentOrigin.originOf(account.id, event.graphId)
        : { origin: "external" };
    await this.d.publisher.publish({
      id: event.id,
      type: event.type,
      accountId: account.id,
      payload: mailPayload(email, origin),
    });
  }
}
