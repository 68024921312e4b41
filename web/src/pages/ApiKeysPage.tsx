import { type FormEvent, useState } from "react";
import type { ApiKeyInfo, CreateApiKeyResponse } from "../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../api.ts";
import { Alert, CopyField, Empty, Field, Loading, useLoad } from "../ui.tsx";

export function ApiKeysPage() {
  const list = useLoad(() => call("GET /api-keys"));
  const [name, setName] = useState("");
  const [created, setCreated] = useState<CreateApiKeyResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (!name.trim()) return setError("Give the key a name, e.g. the backend that will use it.");
    setBusy(true);
    try {
      setCreated(await call("POST /api-keys", { body: { name: name.trim() } }));
      setName("");
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (key: ApiKeyInfo) => {
    if (!window.confirm(`Revoke "${key.name}"? Requests with it are refused at once.`)) return;
    setError(undefined);
    try {
      await call("DELETE /api-keys/:id", { params: { id: key.id } });
      if (created?.summary.id === key.id) setCreated(undefined);
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <h1>API keys</h1>
      <p className="lead">
        Your backend sends a key in the <code>X-API-KEY</code> header of every <code>/api/v1</code> request
        (as with Unipile). Mailroom stores only a hash: a key is shown once, when it is created.
      </p>
      <section className="card" aria-labelledby="new-key-title">
        <h2 id="new-key-title">Create a key</h2>
        <form onSubmit={create} className="inline-form">
          <Field label="Name" hint="What uses it, e.g. production-backend.">
            {(p) => <input {...p} name="keyName" value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create key"}
          </button>
        </form>
        {error && <Alert kind="error">{error}</Alert>}
        {created && (
          <Alert
            kind="success"
            title={`Key "${created.summary.name}" created. Copy it now: it is not shown again.`}
          >
            <CopyField value={created.key} label="the new API key" />
          </Alert>
        )}
      </section>
      {list.loading && !list.data && <Loading what="API keys" />}
      {list.error && (
        <Alert kind="error" title="API keys could not load">
          {list.error}
        </Alert>
      )}
      {list.data && list.data.keys.length === 0 && (
        <Empty>
          <p>No API keys yet. Create one above for your backend.</p>
        </Empty>
      )}
      {list.data && list.data.keys.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Starts with</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{k.lastUsedAt ? formatTime(k.lastUsedAt) : "Never"}</td>
                <td>
                  {k.revokedAt ? (
                    <span className="badge badge-neutral">Revoked {formatTime(k.revokedAt)}</span>
                  ) : (
                    <span className="badge badge-ok">Active</span>
                  )}
                </td>
                <td className="row-actions">
                  {!k.revokedAt && (
                    <button type="button" className="danger small" onClick={() => revoke(k)}>
                      Revoke<span className="visually-hidden"> {k.name}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
