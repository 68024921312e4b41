import { useState } from "react";
import type { LinkResponse } from "../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../api.ts";
import { Link, useLocation } from "../router.tsx";
import { Alert, CopyField, Empty, Loading, StatusBadge, useLoad } from "../ui.tsx";
import { ScheduledEmails } from "./account/ScheduledEmails.tsx";
import { TrackedMail } from "./account/TrackedMail.tsx";
import { DeliveryBadge } from "./webhooks/DeliveryBadge.tsx";

export function AccountPage({ id }: { id: string }) {
  const { navigate } = useLocation();
  const state = useLoad(() => call("GET /accounts/:id", { params: { id } }), [id]);
  const [link, setLink] = useState<LinkResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  if (state.loading && !state.data) return <Loading what="the account" />;
  if (state.error)
    return (
      <Alert kind="error" title="The account could not load">
        {state.error} <Link href="/accounts">Back to Accounts</Link>
      </Alert>
    );
  const data = state.data!;
  const a = data.account;

  const reconnect = async () => {
    try {
      setLink(await call("POST /accounts/:id/reconnect-link", { params: { id: a.id } }));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete ${a.email}? Mailroom forgets its tokens; the mailbox itself is not touched.`))
      return;
    try {
      await call("DELETE /accounts/:id", { params: { id: a.id } });
      navigate("/accounts");
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <p className="breadcrumb">
        <Link href="/accounts">Accounts</Link> /
      </p>
      <div className="page-head">
        <h1>{a.name}</h1>
        <div className="row-actions">
          <button type="button" className="secondary" onClick={reconnect}>
            Reconnect link
          </button>
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>
      {error && <Alert kind="error">{error}</Alert>}
      {a.status === "CREDENTIALS" && (
        <Alert kind="warning" title="This mailbox must sign in again">
          Reason: {a.statusReason?.replaceAll("_", " ") ?? "unknown"}. Create a reconnect link and send it to
          the mailbox owner; the account keeps its id.
        </Alert>
      )}
      {link && (
        <section className="card" aria-label="Reconnect link">
          <p>Send this link to the mailbox owner. It works until {formatTime(link.expiresAt)}.</p>
          <CopyField value={link.url} label="reconnect link" />
        </section>
      )}
      <section className="card">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={a.status} />{" "}
            {a.statusReason && <span className="muted">{a.statusReason}</span>}
          </dd>
          <dt>Email</dt>
          <dd>{a.email}</dd>
          {a.reachedThrough && (
            <>
              <dt>Shared mailbox through</dt>
              <dd>
                <Link href={`/accounts/${a.reachedThrough.accountId}`}>{a.reachedThrough.email}</Link>{" "}
                <span className="muted">(its sign-in and tokens are that account's)</span>
              </dd>
            </>
          )}
          <dt>Account id</dt>
          <dd>
            <code>{a.id}</code>
          </dd>
          <dt>Tenant</dt>
          <dd>
            <code>{a.tenantId ?? "—"}</code>
          </dd>
          <dt>Connected</dt>
          <dd>{formatTime(a.createdAt)}</dd>
          <dt>Tokens last refreshed</dt>
          <dd>{formatTime(a.lastRefreshedAt)}</dd>
          <dt>Access token expires</dt>
          <dd>{formatTime(a.accessTokenExpiresAt)}</dd>
          <dt>Granted scopes</dt>
          <dd>{a.scopes ?? "—"}</dd>
        </dl>
      </section>
      <ScheduledEmails accountId={a.id} />
      <section className="card" aria-labelledby="events-title">
        <h2 id="events-title">Recent events</h2>
        <p className="muted">{data.eventsSource}</p>
        {data.events.length === 0 ? (
          <Empty>No events yet.</Empty>
        ) : (
          <ol className="timeline">
            {data.events.map((e) => (
              <li key={`${e.at}-${e.kind}-${e.detail}`}>
                <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at)}</time>{" "}
                <span>{e.detail}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
      <TrackedMail accountId={a.id} />
      {data.callbacks.length > 0 && (
        <section className="card" aria-labelledby="callbacks-title">
          <h2 id="callbacks-title">notify_url callbacks</h2>
          <p className="muted">
            What Mailroom told your backend when this mailbox connected through a hosted link: signed POSTs to
            the link's <code>notify_url</code>, retried like webhook deliveries.
          </p>
          <table className="data">
            <caption className="visually-hidden">notify_url callbacks</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last attempt</th>
              </tr>
            </thead>
            <tbody>
              {data.callbacks.map((c) => (
                <tr key={c.linkId}>
                  <td>
                    <code>{c.url}</code>
                  </td>
                  <td>
                    <DeliveryBadge status={c.status} />
                    {c.lastStatusCode !== null && <div className="muted">HTTP {c.lastStatusCode}</div>}
                    {c.lastError && <div className="muted">{c.lastError}</div>}
                    {c.nextAttemptAt !== null && (
                      <div className="muted">next try {formatTime(c.nextAttemptAt)}</div>
                    )}
                  </td>
                  <td>{c.attempts}</td>
                  <td>{formatTime(c.deliveredAt ?? c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}
