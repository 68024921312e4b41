import { type FormEvent, useState } from "react";
import type { SignInRequest } from "../../../src/contracts/dashboard/index.ts";
import { call } from "../api.ts";
import { Alert, Field } from "../ui.tsx";

export function SignInPage({
  setupRequired,
  onSignedIn,
}: {
  setupRequired: boolean;
  onSignedIn: () => void;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: SignInRequest = { email, password };
      await call("POST /sign-in", { body });
      onSignedIn();
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
          Sign in to Mailroom
        </h1>
        {setupRequired ? (
          <Alert kind="info" title="No admin account yet">
            Open the setup link that <code>npm start</code> printed, or print a new one with{" "}
            <code>npx mailroom admin create</code>.
          </Alert>
        ) : (
          <form onSubmit={submit}>
            <Field label="Email">
              {(p) => (
                <input
                  {...p}
                  type="email"
                  autoComplete="username"
                  required
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                />
              )}
            </Field>
            <Field label="Password">
              {(p) => (
                <input
                  {...p}
                  type="password"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              )}
            </Field>
            {error && <Alert kind="error">{error}</Alert>}
            <button type="submit" disabled={busy}>
              {busy ? "Signing in…" : "Sign in"}
            </button>
            <p className="hint">
              Lost access? Anyone with shell access to the server can invite a new admin:{" "}
              <code>npx mailroom admin create</code>.
            </p>
          </form>
        )}
      </div>
    </main>
  );
}
