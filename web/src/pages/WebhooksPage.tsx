import { useState } from "react";
import type { WebhookInfo } from "../../../src/contracts/dashboard/index.ts";
import { call } from "../api.ts";
import { Alert, useLoad } from "../ui.tsx";
import { CallbackSigning } from "./webhooks/CallbackSigning.tsx";
import { CreateWebhook } from "./webhooks/CreateWebhook.tsx";
import { Deliveries } from "./webhooks/Deliveries.tsx";
import { rotateSecret } from "./webhooks/rotateSecret.ts";
import { type Revealed, SecretShownOnce } from "./webhooks/SecretShownOnce.tsx";
import { WebhookList } from "./webhooks/WebhookList.tsx";

export function WebhooksPage() {
  const list = useLoad(() => call("GET /webhooks"));
  const [revealed, setRevealed] = useState<Revealed | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [deliveriesTick, setDeliveriesTick] = useState(0);

  const webhooks = list.data?.webhooks ?? [];
  const current = webhooks.find((w) => w.id === selected);

  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await action();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const remove = (w: WebhookInfo) =>
    run(async () => {
      if (
        !window.confirm(
          `Delete the webhook to ${w.url}? Mailroom stops sending to it at once and forgets its deliveries.`,
        )
      )
        return;
      await call("DELETE /webhooks/:id", { params: { id: w.id } });
      if (selected === w.id) setSelected(undefined);
      if (revealed) setRevealed(undefined);
      setNotice(`Webhook to ${w.url} deleted.`);
      list.reload();
    });

  const rotate = (w: WebhookInfo) =>
    run(async () => {
      const next = await rotateSecret(w);
      if (next) setRevealed(next);
    });

  const sendTest = (w: WebhookInfo) =>
    run(async () => {
      await call("POST /webhooks/:id/test", { params: { id: w.id } });
      setSelected(w.id);
      setDeliveriesTick((t) => t + 1);
      setNotice(
        `Test event queued for ${w.name ?? w.url}. It is delivered like any event (signed, retried) and appears in the deliveries below.`,
      );
    });

  return (
    <>
      <h1>Webhooks</h1>
      <p className="lead">
        Mailroom POSTs events to your endpoints as Unipile does: new, sent and moved mail (source{" "}
        <code>email</code>) and account changes (source <code>account_status</code>). Each request is signed
        with <code>X-Mailroom-Signature</code> and retried for about a day until your endpoint answers 2xx.
        Your backend can manage the same webhooks with <code>/api/v1/webhooks</code>.
      </p>

      <CreateWebhook
        onCreated={(created) => {
          setRevealed({
            title: `Webhook to ${created.webhook.url} created. Copy its signing secret now: it is not shown again.`,
            secret: created.secret,
          });
          setNotice(undefined);
          list.reload();
        }}
      />

      {revealed && <SecretShownOnce revealed={revealed} onDismiss={() => setRevealed(undefined)} />}
      {error && <Alert kind="error">{error}</Alert>}
      {notice && <Alert kind="info">{notice}</Alert>}

      <WebhookList
        list={list}
        selected={selected}
        onSelect={setSelected}
        onSendTest={sendTest}
        onRotate={rotate}
        onDelete={remove}
      />

      {current && (
        <Deliveries
          key={current.id}
          webhook={current}
          tick={deliveriesTick}
          onChange={() => list.reload()}
          onClose={() => setSelected(undefined)}
        />
      )}

      <CallbackSigning />
    </>
  );
}
