import type { TrackedMail as TrackedMailItem } from "../../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../../api.ts";
import { Alert, Empty, useLoad } from "../../ui.tsx";

const EVENT_TEXT: Record<string, string> = { mail_opened: "Opened", mail_link_clicked: "Clicked" };

function Activity({ mail }: { mail: TrackedMailItem }) {
  if (mail.events.length === 0) return <span className="muted">No opens or clicks yet</span>;
  return (
    <details>
      <summary>
        Last {formatTime(mail.lastEventAt)}
        {mail.prefetchCount > 0 && <span className="muted"> · {mail.prefetchCount} by machines</span>}
      </summary>
      <ul className="tracking-events">
        {mail.events.map((e) => (
          <li key={`${e.at}-${e.type}-${e.url ?? ""}`}>
            <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at)}</time>{" "}
            {EVENT_TEXT[e.type] ?? e.type}
            {e.url && (
              <>
                {" "}
                <code>{e.url}</code>
              </>
            )}
            {e.isPrefetch && (
              <span className="badge badge-neutral" title={e.userAgent ?? "no user agent"}>
                machine: {e.prefetchReason?.replaceAll("_", " ")}
              </span>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The account's recent mail sent with tracking_options, with its opens and clicks. */
export function TrackedMail({ accountId }: { accountId: string }) {
  const state = useLoad(() => call("GET /accounts/:id/tracking", { params: { id: accountId } }), [accountId]);
  return (
    <section className="card" aria-labelledby="tracking-title">
      <h2 id="tracking-title">Tracked mail</h2>
      <p className="muted">
        Mail sent through the API with <code>tracking_options</code>: opens of its pixel and clicks of its
        links, also sent to webhooks of source <code>email_tracking</code>. Opens and clicks by image proxies
        and link scanners are counted and marked.
      </p>
      {state.error && <Alert kind="error">{state.error}</Alert>}
      {state.data && state.data.mail.length === 0 && (
        <Empty>No tracked mail sent from this account yet.</Empty>
      )}
      {state.data && state.data.mail.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Tracked mail</caption>
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">Mail</th>
              <th scope="col">Opens</th>
              <th scope="col">Clicks</th>
              <th scope="col">Activity</th>
            </tr>
          </thead>
          <tbody>
            {state.data.mail.map((m) => (
              <tr key={m.trackingId}>
                <td>{formatTime(m.sentAt)}</td>
                <td>
                  <div>{m.subject ? `“${m.subject}”` : "(no subject)"}</div>
                  <div className="muted">
                    to {m.recipient ?? "—"}
                    {m.label && (
                      <>
                        {" "}
                        · label <code>{m.label}</code>
                      </>
                    )}
                  </div>
                </td>
                <td>{m.opensTracked ? m.openCount : <span className="muted">not tracked</span>}</td>
                <td>{m.linksTracked ? m.clickCount : <span className="muted">not tracked</span>}</td>
                <td>
                  <Activity mail={m} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
