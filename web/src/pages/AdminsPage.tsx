import { type FormEvent, useState } from "react";
import type { InviteRequest, InviteResponse } from "../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../api.ts";
import { Alert, CopyField, Field, Loading, useLoad } from "../ui.tsx";

export function AdminsPage() {
  const list = useLoad(() => call("GET /admins"));
  const [email, setEmail] = useState("");
  const [invite, setInvite] = useState<InviteResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const body: InviteRequest = email.trim() ? { email: email.trim() } : {};
      setInvite(await call("POST /admins/invites", { body }));
      setEmail("");
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <h1>Admins</h1>
      <p className="lead">People who can sign in to this dashboard.</p>
      <section className="card" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite an admin</h2>
        <form onSubmit={submit} className="inline-form">
          <Field label="Email (optional)" hint="Fixes the email the new admin signs in with.">
            {(p) => <input {...p} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
          <button type="submit">Create invitation link</button>
        </form>
        {error && <Alert kind="error">{error}</Alert>}
        {invite && (
          <Alert
            kind="success"
            title={`Send this link to the new admin. It works once, until ${formatTime(invite.expiresAt)}.`}
          >
            <CopyField value={invite.url} label="invitation link" />
          </Alert>
        )}
      </section>
      {list.loading && !list.data && <Loading what="admins" />}
      {list.error && <Alert kind="error">{list.error}</Alert>}
      {list.data && (
        <table className="data">
          <caption className="visually-hidden">Admins</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Created</th>
              <th scope="col">Last sign-in</th>
            </tr>
          </thead>
          <tbody>
            {list.data.admins.map((a) => (
              <tr key={a.id}>
                <td>{a.email}</td>
                <td>{formatTime(a.createdAt)}</td>
                <td>{formatTime(a.lastSignInAt)}</td>
              </tr>
            ))}
            {list.data.invites.map((i) => (
              <tr key={i.id}>
                <td>
                  {i.email ?? "Anyone with the link"} <span className="badge badge-neutral">Invited</span>
                </td>
                <td>{formatTime(i.createdAt)}</td>
                <td className="muted">Link valid until {formatTime(i.expiresAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
