// A send under an Idempotency-Key, so that it goes out once even when the process dies between
// Microsoft accepting `/send` and Mailroom storing the answer (docs/adr/0011-send-once-and-scheduled.md).
// The draft's id is saved with the key as soon as the draft exists ("drafting"), and again just before
// `/send` ("sending"). A retry that takes the key over reads where the draft stands: a "sending" draft
// that is no longer a draft went out — the answer is rebuilt from the checkpoint, nothing is sent; one
// still a draft is sent now; a "drafting" draft may lack attachments, so it is deleted and the send
// starts again; a draft that is gone was never sent (deleted in Outlook or discarded) and is built again.
import type { EmailSent, SendInput, SendService } from "../email/send.service.ts";
import { sentAnswer } from "../email/send.service.ts";
import type { IdempotentRun } from "./idempotency.service.ts";

export interface SendCheckpoint {
  phase: "drafting" | "sending";
  accountId: string;
  draftId: string;
  trackingId: string;
}

export async function sendOnce(
  send: SendService,
  input: SendInput,
  run: IdempotentRun<SendCheckpoint>,
): Promise<EmailSent> {
  const previous = run.checkpoint;
  const ownsDraft = input.draft_id === undefined;
  if (previous) {
    const state = await send.draftState(previous.accountId, previous.draftId);
    if (state === "sent") return sentAnswer(previous.accountId, previous.draftId, previous.trackingId);
    if (state === "draft" && previous.phase === "sending")
      return send.sendDraft(previous.accountId, previous.draftId, previous.trackingId, {
        discardOnFailure: ownsDraft,
      });
    if ((state === "draft" || state === "deleted") && ownsDraft)
      await send.discard(previous.accountId, previous.draftId);
  }
  const trackingId = send.newTrackingId();
  const { account, draftId, tracking } = await send.prepareSend(input, trackingId, (accountId, id) =>
    run.save({ phase: "drafting", accountId, draftId: id, trackingId }),
  );
  await run.save({ phase: "sending", accountId: account.id, draftId, trackingId });
  const sent = await send.sendDraft(account.id, draftId, trackingId, { discardOnFailure: ownsDraft });
  return tracking ? { ...sent, tracking } : sent;
}
