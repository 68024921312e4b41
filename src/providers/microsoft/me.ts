// The Graph step of the connect flow: who signed in, and whether they have a mailbox. It runs before
// an account exists, so it uses the fresh token directly rather than the per-account mail client
// (graph-client.ts, with its limiter and token manager).

export interface GraphMe {
  id: string;
  displayName: string | null;
  mail: string | null;
  userPrincipalName: string | null;
}

export class GraphCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "GraphCallError";
  }
}

/**
 * `/me` and the mailbox check in one `$batch` round trip (the connect flow's last Graph step).
 * `hasMailbox` is false when Exchange answers MailboxNotEnabledForRESTAPI.
 */
export async function fetchMeWithMailbox(
  graphUrl: string,
  accessToken: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ me: GraphMe; hasMailbox: boolean }> {
  const response = await fetchImpl(`${graphUrl}/v1.0/$batch`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/json",
      "content-type": "application/json",
      prefer: 'IdType="ImmutableId"',
    },
    body: JSON.stringify({
      requests: [
        { id: "me", method: "GET", url: "/me?$select=id,displayName,mail,userPrincipalName" },
        { id: "inbox", method: "GET", url: "/me/mailFolders/inbox?$select=id" },
      ],
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string };
    responses?: {
      id: string;
      status: number;
      body?: { error?: { code?: string; message?: string } } & Partial<GraphMe>;
    }[];
  };
  if (!response.ok || !Array.isArray(body.responses)) {
    throw new GraphCallError(
      response.status,
      body.error?.code ?? `HTTP${response.status}`,
      body.error?.message ?? "$batch failed",
    );
  }
  const me = body.responses.find((r) => r.id === "me");
  const inbox = body.responses.find((r) => r.id === "inbox");
  if (!me || me.status !== 200 || typeof me.body?.id !== "string") {
    throw new GraphCallError(
      me?.status ?? 502,
      me?.body?.error?.code ?? "InvalidResponse",
      me?.body?.error?.message ?? "/me failed",
    );
  }
  const inboxCode = inbox?.body?.error?.code;
  if (
    inbox &&
    inbox.status !== 200 &&
    inboxCode !== "MailboxNotEnabledForRESTAPI" &&
    !(inbox.status === 404 && inboxCode === "ResourceNotFound")
  ) {
    throw new GraphCallError(
      inbox.status,
      inboxCode ?? `HTTP${inbox.status}`,
      inbox.body?.error?.message ?? "mailbox check failed",
    );
  }
  return {
    me: {
      id: me.body.id,
      displayName: me.body.displayName ?? null,
      mail: me.body.mail ?? null,
      userPrincipalName: me.body.userPrincipalName ?? null,
    },
    hasMailbox: inbox?.status === 200,
  };
}
