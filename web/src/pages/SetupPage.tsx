import { type FormEvent, useState } from "react";
import type { SetupRequest } from "../../../src/contracts/dashboard/index.ts";
import { call, setCsrfToken } from "../api.ts";
import { Alert, Field, Loading, useLoad } from "../ui.tsx";

const MIN_PASSWORD = 12;

export function SetupPage({ onDone }: { onDone: () => void }) {
  const token = new URLSearchParams(window.location.search).get("token") ?? "";
  const link = useLoad(
    () =>
      token
        ? call("GET /setup-link", { query: { token } })
        : Promise.reject(
            new Error("This page needs the setup link printed at start-up (it ends in ?token=…)."),
          ),
    [token],
  );
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (password.length < MIN_PASSWORD)
      return setError(`Use at least ${MIN_PASSWORD} characters for the password.`);
    if (password !== confirm) return setError("The two passwords differ. Type the same password twice.");
    setBusy(true);
    try {
      const body: SetupRequest = { token, email: link.data?.email ?? email, password };
      await call("POST /setup", { body });
      setCsrfToken(null);
      onDone();
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <main className="auth-page" id="main">
      <div className="auth-card">
        <h1>
          <span className="logo" aria-hidden="true">
            ✉
          </span>{" "}
          {link.data?.kind === "invite" ? "Join Mailroom" : "Welcome to Mailroom"}
        </h1>
        {link.loading && <Loading what="the setup link" />}
        {link.error && (
          <Alert kind="error" title="This link cannot be used">
            {link.error} <a href="/sign-in">Go to sign-in</a>.
          </Alert>
        )}
        {link.data && (
          <form onSubmit={submit} noValidate>
            <p>
              {link.data.kind === "setup"
                ? "Create the admin account for this Mailroom. You will use it to sign in to the dashboard."
                : "You were invited to administer this Mailroom. Choose a password to finish."}
            </p>
            <Field label="Email">
              {(p) =>
                link.data?.email ? (
                  <input {...p} type="email" value={link.data.email} readOnly />
                ) : (
                  <input
                    {...p}
                    type="email"
                    autoComplete="username"
                    required
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                  />
                )
              }
            </Field>
            <Field
              label="Password"
              hint={`At least ${MIN_PASSWORD} characters; a few words make a good one.`}
            >
              {(p) => (
                <input
                  {...p}
                  type="password"
                  autoComplete="new-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              )}
            </Field>
            <Field label="Password again">
              {(p) => (
                <input
                  {...p}
                  type="password"
                  autoComplete="new-password"
                  required
                  value={confirm}
                  onChange={(e) => setConfirm(e.target.value)}
                />
              )}
            </Field>
            {error && <Alert kind="error">{error}</Alert>}
            <button type="submit" disabled={busy}>
              {busy ? "Creating…" : "Create account"}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
