import { useState } from "react";
import type { WebhookInfo } from "../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../api.ts";
import { Alert, CopyField, Empty, Loading, useLoad } from "../ui.tsx";
import { CallbackSigning } from "./webhooks/CallbackSigning.tsx";
import { CreateWebhook } from "./webhooks/CreateWebhook.tsx";
import { Deliveries } from "./webhooks/Deliveries.tsx";
import { DeliveryBadge } from "./webhooks/DeliveryBadge.tsx";

/** What the operator must know once: the secret, and that it is not shown again. */
type Revealed = { title: string; secret: string; note?: string };

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
      if (
        !window.confirm(
          `Rotate the signing secret of ${w.name ?? w.url}? The current secret keeps working for 24 hours.`,
        )
      )
        return;
      const r = await call("POST /webhooks/:id/rotate-secret", { params: { id: w.id } });
      setRevealed({
        title: `New signing secret for ${w.name ?? w.url}. Copy it now: it is not shown again.`,
        secret: r.secret,
        note: `Until ${formatTime(r.previousSecretExpiresAt)} (${r.graceHours} hours) every delivery carries two v1= signatures, one with the old secret and one with this one, so your receiver can switch to the new secret without missing a delivery. After that only the new secret signs.`,
      });
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

      {revealed && (
        <Alert kind="success" title={revealed.title}>
          <CopyField value={revealed.secret} label="the signing secret" />
          {revealed.note && <p>{revealed.note}</p>}
          <p>
            <button type="button" className="secondary small" onClick={() => setRevealed(undefined)}>
              I have copied it
            </button>
          </p>
        </Alert>
      )}
      {error && <Alert kind="error">{error}</Alert>}
      {notice && <Alert kind="info">{notice}</Alert>}

      <div className="page-head">
        <h2 className="section-title">Your webhooks</h2>
        <button type="button" className="secondary small" onClick={() => list.reload()}>
          Refresh<span className="visually-hidden"> the webhook list</span>
        </button>
      </div>
      {list.loading && !list.data && <Loading what="webhooks" />}
      {list.error && (
        <Alert kind="error" title="Webhooks could not load">
          {list.error}
        </Alert>
      )}
      {list.data && webhooks.length === 0 && (
        <Empty>
          <p>No webhooks yet. Add one above to receive mail and account events.</p>
        </Empty>
      )}
      {webhooks.length > 0 && (
        <table className="data webhooks">
          <caption className="visually-hidden">Webhooks</caption>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Source and events</th>
              <th scope="col">Status</th>
              <th scope="col">Last delivery</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => {
              const label = w.name ?? w.url;
              return (
                <tr key={w.id} aria-current={selected === w.id ? "true" : undefined}>
                  <td className="wrap">
                    {w.name && <strong>{w.name}</strong>}
                    <div>
                      <code>{w.url}</code>
                    </div>
                    {w.headerNames.length > 0 && (
                      <div className="muted small-text">Headers: {w.headerNames.join(", ")}</div>
                    )}
                  </td>
                  <td>
                    <div>{w.source === "email" ? "Email" : "Account status"}</div>
                    <div className="muted small-text">{w.events.join(", ")}</div>
                  </td>
                  <td>
                    {w.enabled ? (
                      <span className="badge badge-ok">Enabled</span>
                    ) : (
                      <span className="badge badge-neutral">Disabled</span>
                    )}
                  </td>
                  <td>
                    {w.lastDelivery ? (
                      <>
                        <span className="nowrap">
                          <DeliveryBadge status={w.lastDelivery.status} />
                          {w.lastDelivery.responseStatus !== null && (
                            <span className="muted"> HTTP {w.lastDelivery.responseStatus}</span>
                          )}
                        </span>
                        <div className="muted small-text">{formatTime(w.lastDelivery.createdAt)}</div>
                      </>
                    ) : (
                      <span className="muted">None yet</span>
                    )}
                  </td>
                  <td>
                    <div className="row-actions wrap-actions">
                      <button
                        type="button"
                        className="secondary small"
                        aria-pressed={selected === w.id}
                        onClick={() => setSelected(selected === w.id ? undefined : w.id)}
                      >
                        Deliveries<span className="visually-hidden"> of {label}</span>
                      </button>
                      <button type="button" className="secondary small" onClick={() => sendTest(w)}>
                        Send test event<span className="visually-hidden"> to {label}</span>
                      </button>
                      <button type="button" className="secondary small" onClick={() => rotate(w)}>
                        Rotate secret<span className="visually-hidden"> of {label}</span>
                      </button>
                      <button type="button" className="danger small" onClick={() => remove(w)}>
                        Delete<span className="visually-hidden"> {label}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

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
