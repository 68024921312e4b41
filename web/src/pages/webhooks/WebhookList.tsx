import type { WebhookInfo } from "../../../../src/contracts/dashboard/index.ts";
import { formatTime } from "../../api.ts";
import { Alert, Empty, Loading } from "../../ui.tsx";
import { DeliveryBadge } from "./DeliveryBadge.tsx";

/** The list's loading state, as `useLoad` gives it. */
type ListState = {
  data?: { webhooks: WebhookInfo[] };
  loading: boolean;
  error?: string;
  reload: () => void;
};

export function WebhookList({
  list,
  selected,
  onSelect,
  onSendTest,
  onRotate,
  onDelete,
}: {
  list: ListState;
  selected: string | undefined;
  onSelect: (id: string | undefined) => void;
  onSendTest: (w: WebhookInfo) => void;
  onRotate: (w: WebhookInfo) => void;
  onDelete: (w: WebhookInfo) => void;
}) {
  const webhooks = list.data?.webhooks ?? [];
  return (
    <>
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
                        onClick={() => onSelect(selected === w.id ? undefined : w.id)}
                      >
                        Deliveries<span className="visually-hidden"> of {label}</span>
                      </button>
                      <button type="button" className="secondary small" onClick={() => onSendTest(w)}>
                        Send test event<span className="visually-hidden"> to {label}</span>
                      </button>
                      <button type="button" className="secondary small" onClick={() => onRotate(w)}>
                        Rotate secret<span className="visually-hidden"> of {label}</span>
                      </button>
                      <button type="button" className="danger small" onClick={() => onDelete(w)}>
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
    </>
  );
}
