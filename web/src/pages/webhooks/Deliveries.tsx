import { type FormEvent, useEffect, useState } from "react";
import type { WebhookInfo } from "../../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../../api.ts";
import { Alert, Empty, Field, Loading, useLoad } from "../../ui.tsx";
import { DeliveryBadge } from "./DeliveryBadge.tsx";

export function Deliveries({
  webhook,
  tick,
  onChange,
  onClose,
}: {
  webhook: WebhookInfo;
  tick: number;
  onChange: () => void;
  onClose: () => void;
}) {
  const state = useLoad(
    () => call("GET /webhooks/:id/deliveries", { params: { id: webhook.id } }),
    [webhook.id, tick],
  );
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 24 * 3600_000));
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | undefined>();
  const deliveries = state.data?.deliveries ?? [];
  const pending = deliveries.some((d) => d.status === "pending");
  const { reload } = state;

  // While a delivery is on its way, look again every second (the first attempt is immediate).
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload is a fresh closure each render
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(reload, 1000);
    return () => clearTimeout(timer);
  }, [pending, state.data]);
  // Each fresh look at the deliveries refreshes the list's "last delivery" too.
  // biome-ignore lint/correctness/useExhaustiveDependencies: onChange is a fresh closure each render
  useEffect(() => {
    if (state.data) onChange();
  }, [state.data]);

  const replay = async (body: { deliveryId: string } | { since: number }, what: string) => {
    setMessage(undefined);
    try {
      const r = await call("POST /webhooks/:id/replay", { params: { id: webhook.id }, body });
      setMessage({
        kind: "success",
        text:
          "since" in body
            ? r.count === 0
              ? "No failed delivery since then: nothing to replay."
              : `${r.count} failed ${r.count === 1 ? "delivery" : "deliveries"} queued again from attempt 1.`
            : `${what} queued again from attempt 1.`,
      });
      reload();
    } catch (e) {
      setMessage({ kind: "error", text: (e as Error).message });
    }
  };

  const replaySince = (e: FormEvent) => {
    e.preventDefault();
    const at = new Date(since).getTime();
    if (Number.isNaN(at)) return setMessage({ kind: "error", text: "Pick a date and time." });
    void replay({ since: at }, "");
  };

  return (
    <section className="card deliveries" aria-labelledby="deliveries-title">
      <div className="page-head">
        <h2 id="deliveries-title">Deliveries to {webhook.name ?? webhook.url}</h2>
        <div className="row-actions">
          <button type="button" className="secondary small" onClick={() => reload()}>
            Refresh<span className="visually-hidden"> deliveries</span>
          </button>
          <button type="button" className="secondary small" onClick={onClose}>
            Close<span className="visually-hidden"> deliveries</span>
          </button>
        </div>
      </div>
      <p className="muted">
        The newest 50, newest first. A failed delivery was tried 8 times over about a day (or refused at once,
        e.g. a private address or a redirect). Replay sends the same event again, with the same{" "}
        <code>X-Mailroom-Event-Id</code>, from attempt 1.
      </p>
      <form className="inline-form" onSubmit={replaySince}>
        <Field label="Replay every failed delivery since">
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              name="replaySince"
              value={since}
              onChange={(e) => setSince(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" className="secondary">
          Replay failed
        </button>
      </form>
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      {state.loading && !state.data && <Loading what="deliveries" />}
      {state.error && (
        <Alert kind="error" title="Deliveries could not load">
          {state.error}
        </Alert>
      )}
      {state.data && deliveries.length === 0 && (
        <Empty>
          <p>Nothing delivered yet. "Send test event" posts a signed test event to this endpoint.</p>
        </Empty>
      )}
      {deliveries.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Deliveries</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id}>
                <td>
                  <code>{d.event}</code> {d.test && <span className="badge badge-neutral">test</span>}
                  <div className="muted small-text">
                    <code>{d.eventId}</code>
                  </div>
                </td>
                <td>
                  <DeliveryBadge status={d.status} />
                  {d.status === "pending" && d.nextAttemptAt && d.attempts > 0 && (
                    <div className="muted small-text">next try {formatTime(d.nextAttemptAt)}</div>
                  )}
                </td>
                <td>{d.attempts}</td>
                <td className="wrap">
                  {d.responseStatus !== null && <strong>HTTP {d.responseStatus}</strong>}
                  {d.responseExcerpt && <pre className="excerpt">{d.responseExcerpt}</pre>}
                  {d.error && !(d.responseStatus !== null && d.error === `HTTP ${d.responseStatus}`) && (
                    <div className="muted small-text">{d.error}</div>
                  )}
                  {d.responseStatus === null && !d.error && <span className="muted">—</span>}
                </td>
                <td>{formatTime(d.createdAt)}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="secondary small"
                    disabled={d.status === "pending"}
                    onClick={() => replay({ deliveryId: d.id }, `The ${d.event} delivery`)}
                  >
                    Replay
                    <span className="visually-hidden">
                      {" "}
                      {d.event} delivery {d.eventId}
                    </span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function toLocalInput(at: number): string {
  const d = new Date(at - new Date(at).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
