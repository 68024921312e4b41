import { type FormEvent, useEffect, useId, useState } from "react";
import type {
  CreateWebhookResponse,
  DeliveryInfo,
  WebhookInfo,
  WebhookSourceName,
} from "../../../src/contracts/dashboard/index.ts";
import { WEBHOOK_EVENTS } from "../../../src/contracts/webhook-events.ts";
import { call, formatTime } from "../api.ts";
import { Alert, CopyField, Empty, Field, Loading, useLoad } from "../ui.tsx";

const SOURCE_LABEL: Record<WebhookSourceName, string> = {
  email: "Email (mail_received, mail_sent, mail_moved)",
  account_status: "Account status (connected, must reconnect, deleted…)",
};

/** "Name: value" lines → headers; a line without a colon is an error. */
function parseHeaders(text: string): { key: string; value: string }[] | string {
  const headers: { key: string; value: string }[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return `Header line ${i + 1} needs the form "Name: value".`;
    headers.push({ key: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

function DeliveryBadge({ status }: { status: DeliveryInfo["status"] }) {
  const tone = status === "delivered" ? "ok" : status === "failed" ? "bad" : "neutral";
  return <span className={`badge badge-${tone}`}>{status}</span>;
}

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

function CreateWebhook({ onCreated }: { onCreated: (created: CreateWebhookResponse) => void }) {
  const [url, setUrl] = useState("");
  const [source, setSource] = useState<WebhookSourceName>("email");
  const [events, setEvents] = useState<string[]>(["mail_received"]);
  const [name, setName] = useState("");
  const [headers, setHeaders] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const eventsHint = useId();

  const pickSource = (next: WebhookSourceName) => {
    setSource(next);
    setEvents(next === "email" ? ["mail_received"] : [...WEBHOOK_EVENTS.account_status]);
  };
  const toggle = (event: string, on: boolean) =>
    setEvents((list) => (on ? [...list, event] : list.filter((e) => e !== event)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (!/^https?:\/\/\S+$/.test(url.trim()))
      return setError("Give the full address of your endpoint, starting with https:// (or http://).");
    if (events.length === 0) return setError("Pick at least one event to send.");
    const parsed = parseHeaders(headers);
    if (typeof parsed === "string") return setError(parsed);
    setBusy(true);
    try {
      const created = await call("POST /webhooks", {
        body: {
          url: url.trim(),
          source,
          events,
          ...(name.trim() ? { name: name.trim() } : {}),
          ...(parsed.length > 0 ? { headers: parsed } : {}),
        },
      });
      setUrl("");
      setName("");
      setHeaders("");
      pickSource(source);
      onCreated(created);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="new-webhook-title">
      <h2 id="new-webhook-title">Add a webhook</h2>
      <form onSubmit={submit} noValidate>
        <div className="form-grid">
          <Field label="Endpoint URL" hint="Where Mailroom POSTs each event.">
            {(p) => (
              <input
                {...p}
                type="url"
                name="webhookUrl"
                placeholder="https://example.com/hooks/mail"
                value={url}
                onChange={(e) => setUrl(e.target.value)}
              />
            )}
          </Field>
          <Field label="Source">
            {(p) => (
              <select
                {...p}
                name="source"
                value={source}
                onChange={(e) => pickSource(e.target.value as WebhookSourceName)}
              >
                {(Object.keys(SOURCE_LABEL) as WebhookSourceName[]).map((s) => (
                  <option key={s} value={s}>
                    {SOURCE_LABEL[s]}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <fieldset className="events" aria-describedby={eventsHint}>
          <legend>Events</legend>
          <p className="hint" id={eventsHint}>
            {source === "email"
              ? "Which mail events to send."
              : "Which account statuses to send (Unipile sends them all by default)."}
          </p>
          <div className="checkbox-grid">
            {WEBHOOK_EVENTS[source].map((event) => (
              <label key={event} className="checkbox">
                <input
                  type="checkbox"
                  checked={events.includes(event)}
                  onChange={(e) => toggle(event, e.target.checked)}
                />{" "}
                <code>{event}</code>
              </label>
            ))}
          </div>
        </fieldset>
        <div className="form-grid">
          <Field label="Name (optional)" hint="Sent as webhook_name in email payloads.">
            {(p) => (
              <input {...p} name="webhookName" value={name} onChange={(e) => setName(e.target.value)} />
            )}
          </Field>
          <Field
            label="Extra headers (optional)"
            hint='One per line, "Name: value", e.g. Authorization: Bearer … Only header names are shown later.'
          >
            {(p) => (
              <textarea
                {...p}
                name="headers"
                rows={2}
                spellCheck={false}
                value={headers}
                onChange={(e) => setHeaders(e.target.value)}
              />
            )}
          </Field>
        </div>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create webhook"}
          </button>
        </div>
      </form>
      {error && <Alert kind="error">{error}</Alert>}
    </section>
  );
}

function Deliveries({
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

function CallbackSigning() {
  const [secret, setSecret] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const reveal = async () => {
    setError(undefined);
    try {
      setSecret((await call("POST /callback-signing/reveal")).secret);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section className="card" aria-labelledby="signing-title">
      <h2 id="signing-title">Verifying signatures</h2>
      <p>
        Every webhook delivery is signed with that webhook's secret, and every <code>notify_url</code>{" "}
        callback of a hosted auth link with this installation's callback secret. The header reads{" "}
        <code>X-Mailroom-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</code>, where the hex is the
        HMAC-SHA256 of <code>&lt;t&gt;.&lt;raw request body&gt;</code> with the secret as key. Accept the
        request when any <code>v1</code> matches (there are two during a secret rotation) and <code>t</code>{" "}
        is within 5 minutes; deduplicate on <code>X-Mailroom-Event-Id</code>.
      </p>
      <pre className="json">{`import { createHmac, timingSafeEqual } from "node:crypto";

function verify(secret, rawBody, header) {
  const parts = header.split(",").map((p) => p.split("="));
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  if (!(Math.abs(Date.now() / 1000 - t) <= 300)) return false;
  const expected = createHmac("sha256", secret).update(\`\${t}.\${rawBody}\`).digest();
  return parts.some(([k, v]) => k === "v1" && v &&
    Buffer.from(v, "hex").length === expected.length &&
    timingSafeEqual(Buffer.from(v, "hex"), expected));
}`}</pre>
      <h3>Callback secret for notify_url</h3>
      {secret ? (
        <CopyField value={secret} label="the callback signing secret" />
      ) : (
        <button type="button" className="secondary" onClick={reveal}>
          Reveal the callback secret
        </button>
      )}
      {error && <Alert kind="error">{error}</Alert>}
    </section>
  );
}

function toLocalInput(at: number): string {
  const d = new Date(at - new Date(at).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
