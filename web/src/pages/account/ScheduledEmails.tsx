import { useState } from "react";
import { call, formatTime } from "../../api.ts";
import { Alert, Empty, useLoad } from "../../ui.tsx";

/** The account's scheduled emails (send_at), with a Cancel button for those not yet being sent. */
export function ScheduledEmails({ accountId }: { accountId: string }) {
  const state = useLoad(
    () => call("GET /accounts/:id/scheduled", { params: { id: accountId } }),
    [accountId],
  );
  const [error, setError] = useState<string | undefined>();
  const cancel = async (id: string, subject: string | null) => {
    if (!window.confirm(`Cancel “${subject ?? "(no subject)"}”? Its draft is deleted from the mailbox.`))
      return;
    try {
      await call("DELETE /scheduled/:id", { params: { id } });
      state.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const items = state.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="scheduled-title">
      <h2 id="scheduled-title">Scheduled emails</h2>
      <p className="muted">
        Sent with <code>send_at</code>: each waits in the mailbox as a draft and is sent at its time.
      </p>
      {error && <Alert kind="error">{error}</Alert>}
      {state.error && <Alert kind="error">{state.error}</Alert>}
      {items.length === 0 ? (
        <Empty>{state.loading ? "Loading…" : "No scheduled emails."}</Empty>
      ) : (
        <table className="data">
          <caption className="visually-hidden">Scheduled emails</caption>
          <thead>
            <tr>
              <th scope="col">Send at</th>
              <th scope="col">Subject</th>
              <th scope="col">To</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id}>
                <td>{formatTime(s.sendAt)}</td>
                <td>{s.subject ?? <span className="muted">(no subject)</span>}</td>
                <td>{s.to.join(", ")}</td>
                <td>
                  <span
                    className={`badge ${s.status === "sent" ? "badge-ok" : s.status === "failed" ? "badge-bad" : "badge-neutral"}`}
                  >
                    {s.status}
                  </span>
                  {s.waitingReason === "account_needs_reauth" && (
                    <div className="muted">waiting for the account to be reconnected</div>
                  )}
                  {s.error && <div className="muted">{s.error}</div>}
                  {s.sentAt !== null && <div className="muted">sent {formatTime(s.sentAt)}</div>}
                </td>
                <td>
                  {s.status === "scheduled" && (
                    <button type="button" className="secondary" onClick={() => cancel(s.id, s.subject)}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
