import { useState } from "react";
import type { AccountItem, LinkResponse } from "../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../api.ts";
import { Link, useLocation } from "../router.tsx";
import { Alert, CopyField, Empty, Loading, StatusBadge, useLoad } from "../ui.tsx";

export function AccountsPage() {
  const { search: location } = useLocation();
  const [query, setQuery] = useState("");
  const [submitted, setSubmitted] = useState("");
  // Paged on the server: the cursor of the page shown, and those of the pages before it.
  const [cursor, setCursor] = useState<string | undefined>();
  const [previous, setPrevious] = useState<(string | undefined)[]>([]);
  const list = useLoad(
    () => call("GET /accounts", { query: { q: submitted, ...(cursor ? { cursor } : {}) } }),
    [submitted, cursor],
  );
  const search = (q: string) => {
    setSubmitted(q);
    setCursor(undefined);
    setPrevious([]);
  };
  const [link, setLink] = useState<LinkResponse | undefined>();
  const [linkFor, setLinkFor] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const connected = new URLSearchParams(location).has("connected");

  const connect = async () => {
    setError(undefined);
    try {
      const created = await call("POST /accounts/link", { body: {} });
      setLink(created);
      setLinkFor(undefined);
      window.open(created.url, "_blank", "noopener");
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const reconnect = async (account: AccountItem) => {
    setError(undefined);
    try {
      setLink(await call("POST /accounts/:id/reconnect-link", { params: { id: account.id } }));
      setLinkFor(account.email);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const remove = async (account: AccountItem) => {
    if (
      !window.confirm(
        `Delete ${account.email}? Mailroom forgets its tokens; the mailbox itself is not touched.`,
      )
    )
      return;
    setError(undefined);
    try {
      await call("DELETE /accounts/:id", { params: { id: account.id } });
      list.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <div className="page-head">
        <h1>Accounts</h1>
        <button type="button" onClick={connect}>
          Connect an account
        </button>
      </div>
      <p className="lead">Mailboxes connected through the hosted wizard or the API.</p>
      {connected && (
        <Alert kind="success" title="Mailbox connected">
          It is listed below.
        </Alert>
      )}
      {error && <Alert kind="error">{error}</Alert>}
      {link && (
        <section className="card" aria-label="Hosted auth link">
          <p>
            {linkFor
              ? `Send this reconnect link to ${linkFor}; it signs the same mailbox in again.`
              : "A connect link opened in a new tab. Send it to the person whose mailbox you connect, or open it yourself."}{" "}
            It works until {formatTime(link.expiresAt)}.
          </p>
          <CopyField value={link.url} label="hosted auth link" />
          <p>
            <a href={link.url} target="_blank" rel="noreferrer" id="open-link">
              Open the link<span className="visually-hidden"> (opens in a new tab)</span>
            </a>
          </p>
        </section>
      )}
      <form
        className="search"
        aria-label="Search accounts"
        onSubmit={(e) => {
          e.preventDefault();
          search(query);
        }}
      >
        <label htmlFor="account-search" className="visually-hidden">
          Search accounts by name or email
        </label>
        <input
          id="account-search"
          type="search"
          placeholder="Search by name or email"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="submit" className="secondary">
          Search
        </button>
        <button type="button" className="secondary" onClick={() => list.reload()}>
          Refresh
        </button>
      </form>
      {list.loading && !list.data && <Loading what="accounts" />}
      {list.error && (
        <Alert kind="error" title="Accounts could not load">
          {list.error}
        </Alert>
      )}
      {list.data && list.data.accounts.length === 0 && (
        <Empty>
          {submitted && list.data.nextCursor ? (
            <p>
              No match among the accounts searched so far; <strong>Older</strong> searches on.
            </p>
          ) : submitted ? (
            <p>No account matches “{submitted}”.</p>
          ) : (
            <p>
              No mailbox is connected yet. Click <strong>Connect an account</strong>, or have your backend
              create a link with <code>POST /api/v1/hosted/accounts/link</code>.
            </p>
          )}
        </Empty>
      )}
      {list.data && list.data.accounts.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">Connected accounts</caption>
          <thead>
            <tr>
              <th scope="col">Mailbox</th>
              <th scope="col">Status</th>
              <th scope="col">Connected</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.accounts.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link href={`/accounts/${a.id}`}>{a.name}</Link>
                  {a.name !== a.email && <div className="muted">{a.email}</div>}
                  {a.reachedThrough && (
                    <div className="muted">
                      Shared mailbox, through{" "}
                      <Link href={`/accounts/${a.reachedThrough.accountId}`}>{a.reachedThrough.email}</Link>
                    </div>
                  )}
                </td>
                <td>
                  <StatusBadge status={a.status} />
                  {a.statusReason && <div className="muted">{a.statusReason.replaceAll("_", " ")}</div>}
                </td>
                <td>{formatTime(a.createdAt)}</td>
                <td className="row-actions">
                  {a.status === "CREDENTIALS" && (
                    <button type="button" className="secondary small" onClick={() => reconnect(a)}>
                      Reconnect link<span className="visually-hidden"> for {a.email}</span>
                    </button>
                  )}
                  <button type="button" className="danger small" onClick={() => remove(a)}>
                    Delete<span className="visually-hidden"> {a.email}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(previous.length > 0 || list.data?.nextCursor) && (
        <nav className="pager" aria-label="Account pages">
          <button
            type="button"
            className="secondary"
            disabled={previous.length === 0}
            onClick={() => {
              setCursor(previous.at(-1));
              setPrevious(previous.slice(0, -1));
            }}
          >
            Newer
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!list.data?.nextCursor}
            onClick={() => {
              setPrevious([...previous, cursor]);
              setCursor(list.data?.nextCursor ?? undefined);
            }}
          >
            Older
          </button>
        </nav>
      )}
    </>
  );
}
