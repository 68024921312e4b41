import { type FormEvent, useId, useState } from "react";
import type { CreateWebhookResponse, WebhookSourceName } from "../../../../src/contracts/dashboard/index.ts";
import { WEBHOOK_EVENTS } from "../../../../src/contracts/webhook-events.ts";
import { call } from "../../api.ts";
import { Alert, Field } from "../../ui.tsx";

const SOURCE_LABEL: Record<WebhookSourceName, string> = {
  email: "Email (mail_received, mail_sent, mail_moved)",
  account_status: "Account status (connected, must reconnect, deleted…)",
  email_tracking: "Email tracking (mail_opened, mail_link_clicked)",
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

export function CreateWebhook({ onCreated }: { onCreated: (created: CreateWebhookResponse) => void }) {
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
    setEvents(next === "email" ? ["mail_received"] : [...WEBHOOK_EVENTS[next]]);
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
              : source === "email_tracking"
                ? "Opens and clicks of mail sent with tracking_options."
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
          <Field label="Name (optional)" hint="Sent as webhook_name in email and tracking payloads.">
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
