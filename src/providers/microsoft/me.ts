// The two Graph calls the connect flow needs: who signed in, and whether they have a mailbox.
// (The mail client with its limiter lives in graph-client.ts; this stays dependency-free.)

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

async function graphGet(
  graphUrl: string,
  accessToken: string,
  path: string,
  fetchImpl: typeof fetch,
): Promise<unknown> {
  const response = await fetchImpl(`${graphUrl}/v1.0${path}`, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/json",
      prefer: 'IdType="ImmutableId"',
    },
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok) {
    throw new GraphCallError(
      response.status,
      body.error?.code ?? `HTTP${response.status}`,
      body.error?.message ?? `Graph answered ${response.status}`,
    );
  }
  return body;
}

export async function fetchMe(
  graphUrl: string,
  accessToken: string,
  fetchImpl: typeof fetch = fetch,
): Promise<GraphMe> {
  const me = (await graphGet(
    graphUrl,
    accessToken,
    "/me?$select=id,displayName,mail,userPrincipalName",
    fetchImpl,
  )) as Partial<GraphMe>;
  if (typeof me.id !== "string") throw new GraphCallError(502, "InvalidResponse", "/me returned no id");
  return {
    id: me.id,
    displayName: me.displayName ?? null,
    mail: me.mail ?? null,
    userPrincipalName: me.userPrincipalName ?? null,
  };
}

/** False when the user has no Exchange Online mailbox (MailboxNotEnabledForRESTAPI). */
export async function hasMailbox(
  graphUrl: string,
  accessToken: string,
  fetchImpl: typeof fetch = fetch,
): Promise<boolean> {
  try {
    await graphGet(graphUrl, accessToken, "/me/mailFolders/inbox?$select=id", fetchImpl);
    return true;
  } catch (error) {
    if (
      error instanceof GraphCallError &&
      (error.code === "MailboxNotEnabledForRESTAPI" ||
        (error.code === "ResourceNotFound" && error.status === 404))
    ) {
      return false;
    }
    throw error;
  }
}
