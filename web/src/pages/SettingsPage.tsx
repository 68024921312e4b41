import { type FormEvent, useEffect, useState } from "react";
import type {
  MicrosoftSettingsRequest,
  MicrosoftSettingsResponse,
  PublisherCheckResponse,
} from "../../../src/contracts/dashboard/index.ts";
import { call, formatDate, formatTime } from "../api.ts";
import { Alert, CopyButton, CopyField, Field, Loading, useLoad } from "../ui.tsx";

export function SettingsPage() {
  const state = useLoad(() => call("GET /settings/microsoft"));
  const [data, setData] = useState<MicrosoftSettingsResponse | undefined>();
  useEffect(() => setData(state.data), [state.data]);

  return (
    <>
      <h1>Settings</h1>
      <h2 className="section-title">Microsoft OAuth</h2>
      <p className="lead">
        Mailroom signs your users in with <strong>your own</strong> Azure app. Register it once in the{" "}
        <a
          href="https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade"
          target="_blank"
          rel="noreferrer"
        >
          Microsoft Entra admin center
        </a>{" "}
        with the values below, then paste its ID and secret here.
      </p>
      {state.loading && !data && <Loading what="the Microsoft settings" />}
      {state.error && (
        <Alert kind="error" title="The settings could not load">
          {state.error} Reload the page to try again.
        </Alert>
      )}
      {data && (
        <>
          <AzureSteps data={data} />
          <CredentialsForm data={data} onSaved={setData} />
          <PublisherPanel data={data} />
        </>
      )}
    </>
  );
}

function AzureSteps({ data }: { data: MicrosoftSettingsResponse }) {
  return (
    <section className="card" aria-labelledby="azure-title">
      <h3 id="azure-title">1. Register the app in Azure</h3>
      <ol className="steps">
        <li>
          <strong>App registrations → New registration.</strong> Supported account types:{" "}
          <em>{data.audienceLabel}</em>.
        </li>
        <li>
          <strong>Authentication → Add a platform → Web</strong>, and add both redirect URIs:
          {data.redirectUris.map((uri, i) => (
            <CopyField key={uri} value={uri} label={`redirect URI ${i + 1}`} />
          ))}
        </li>
        <li>
          <strong>API permissions → Microsoft Graph → Delegated permissions</strong>: add{" "}
          {data.delegatedPermissions.map((p, i) => (
            <span key={p}>
              {i > 0 && ", "}
              <code>{p}</code>
            </span>
          ))}
          . Mailroom also requests{" "}
          {data.requestedScopes.map((p, i) => (
            <span key={p}>
              {i > 0 && ", "}
              <code>{p}</code>
            </span>
          ))}
          , which need no extra setup.
        </li>
        <li>
          <strong>Certificates &amp; secrets → New client secret.</strong> Copy the <em>Value</em> column at
          once (not the Secret ID): Azure shows it only once. Note its expiry date.
        </li>
      </ol>
    </section>
  );
}

function CredentialsForm({
  data,
  onSaved,
}: {
  data: MicrosoftSettingsResponse;
  onSaved: (d: MicrosoftSettingsResponse) => void;
}) {
  const s = data.settings;
  const [clientId, setClientId] = useState(s?.clientId ?? "");
  const [secret, setSecret] = useState("");
  const [expires, setExpires] = useState(
    s?.secretExpiresAt ? new Date(s.secretExpiresAt).toISOString().slice(0, 10) : "",
  );
  const [displayName, setDisplayName] = useState(s?.displayName ?? "");
  const [sharedMailboxes, setSharedMailboxes] = useState(s?.sharedMailboxes ?? false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [justSaved, setJustSaved] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setJustSaved(false);
    try {
      const body: MicrosoftSettingsRequest = {
        clientId: clientId.trim(),
        secretExpiresOn: expires || null,
        displayName: displayName.trim() || null,
        sharedMailboxes,
      };
      if (secret.trim()) body.clientSecret = secret.trim();
      const saved = await call("PUT /settings/microsoft", { body });
      setSecret("");
      setJustSaved(true);
      onSaved(saved);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const check = s?.check;
  return (
    <section className="card" aria-labelledby="creds-title">
      <h3 id="creds-title">2. Paste the app's credentials</h3>
      {data.expiryWarning && (
        <Alert kind={data.expiryWarning.daysLeft < 0 ? "error" : "warning"} title="Client secret expiry">
          {data.expiryWarning.daysLeft < 0
            ? `The client secret expired on ${formatDate(data.expiryWarning.expiresAt)}: mailboxes stop syncing. Create a new secret in Azure and save it here.`
            : `The client secret expires in ${data.expiryWarning.daysLeft} day(s), on ${formatDate(data.expiryWarning.expiresAt)}. Create a new one in Azure and save it here before then.`}
        </Alert>
      )}
      {s?.appProblem && (
        <Alert kind="error" title="Microsoft rejected the app while refreshing tokens">
          {s.appProblem.message} ({formatTime(s.appProblem.at)}). Fix the credentials below and save.
        </Alert>
      )}
      <form onSubmit={submit} className="form-grid">
        <Field label="Application (client) ID" hint="Azure → App registrations → your app → Overview.">
          {(p) => (
            <input
              {...p}
              name="clientId"
              required
              spellCheck={false}
              placeholder="00000000-0000-0000-0000-000000000000"
              value={clientId}
              onChange={(e) => setClientId(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Client secret value"
          hint={
            s?.hasSecret
              ? "A secret is saved and is never shown again. Leave this empty to keep it, or paste a new Value to replace it."
              : "The Value column of the secret (not its Secret ID)."
          }
        >
          {(p) => (
            <input
              {...p}
              name="clientSecret"
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder={s?.hasSecret ? "•••••••••••• (saved)" : ""}
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Secret expires on"
          hint="As Azure shows it in the Expires column; Mailroom warns 30 days before."
        >
          {(p) => (
            <input
              {...p}
              name="secretExpiresOn"
              type="date"
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
            />
          )}
        </Field>
        <Field label="Product name (optional)" hint="Shown to your users in the connect wizard.">
          {(p) => (
            <input
              {...p}
              name="displayName"
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          )}
        </Field>
        <div className="field">
          <label className="checkbox">
            <input
              type="checkbox"
              name="sharedMailboxes"
              checked={sharedMailboxes}
              onChange={(e) => setSharedMailboxes(e.target.checked)}
            />{" "}
            Shared mailboxes
          </label>
          <p className="hint">
            Connected users can open shared mailboxes they have Full Access to (sales@, support@). Sign-in
            also asks for <code>Mail.ReadWrite.Shared</code> and <code>Mail.Send.Shared</code>: add them in
            Azure, and users connected before must reconnect.
          </p>
        </div>
        {error && <Alert kind="error">{error}</Alert>}
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Checking with Microsoft…" : "Save and check"}
          </button>
        </div>
      </form>
      <div aria-live="polite">
        {check && (
          <div className="check-result" data-result={check.result}>
            {check.result === "valid" ? (
              <Alert
                kind="success"
                title={justSaved ? "Saved. Microsoft accepted the credentials." : "Credentials OK"}
              >
                {check.message} Checked {formatTime(check.checkedAt)}.
              </Alert>
            ) : (
              <Alert
                kind="error"
                title={
                  justSaved ? "Saved, but the credentials do not work yet" : "The credentials do not work"
                }
              >
                <p>{check.message}</p>
                {check.fix && (
                  <p>
                    <strong>How to fix it:</strong> {check.fix}
                  </p>
                )}
              </Alert>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function PublisherPanel({ data }: { data: MicrosoftSettingsResponse }) {
  const [result, setResult] = useState<PublisherCheckResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await call("POST /settings/microsoft/publisher-check"));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="publisher-title">
      <h3 id="publisher-title">3. Publisher verification (recommended)</h3>
      <p>
        Verified publishers get a blue badge on Microsoft's consent screen, and some organisations only allow
        apps from verified publishers. Mailroom serves the file Microsoft looks for:
      </p>
      <div className="copy-field">
        <code>{data.publisher.url}</code>
        <CopyButton value={data.publisher.url} label="Copy the publisher file URL" />
      </div>
      {data.publisher.json ? (
        <pre className="json">{JSON.stringify(JSON.parse(data.publisher.json), null, 2)}</pre>
      ) : (
        <Alert kind="info">Save the Application (client) ID first: the file names it.</Alert>
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={run} disabled={busy}>
          {busy ? "Checking…" : "Check the file at PUBLIC_URL"}
        </button>
      </div>
      {error && <Alert kind="error">{error}</Alert>}
      {result && (
        <ul className="checklist" aria-label="Publisher file checks">
          {result.checks.map((c) => (
            <li key={c.name} className={c.passed ? "pass" : "fail"}>
              <span aria-hidden="true">{c.passed ? "✓" : "✗"}</span>
              <span className="visually-hidden">{c.passed ? "Passed:" : "Failed:"}</span>{" "}
              <strong>{c.name}.</strong> {c.detail}
            </li>
          ))}
        </ul>
      )}
      <h4>Remaining steps</h4>
      <ol className="steps">
        <li>
          Join the{" "}
          <a
            href="https://partner.microsoft.com/dashboard/account/v3/enrollment/introduction/partnership"
            target="_blank"
            rel="noreferrer"
          >
            Microsoft AI Cloud Partner Program
          </a>{" "}
          (formerly MPN) and complete its verification; note your Partner ID.
        </li>
        <li>
          In Azure → your app → <strong>Branding &amp; properties</strong>, set the publisher domain to the
          domain of PUBLIC_URL and verify it (Microsoft fetches the file above over https).
        </li>
        <li>
          Still under Branding &amp; properties, <strong>Add a verified publisher</strong> with your Partner
          ID (MPN ID). The signed-in user must be an app admin and the Partner account's email domain must
          match.
        </li>
      </ol>
    </section>
  );
}
