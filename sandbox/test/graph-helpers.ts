// Shared setup for the Graph mail tests: a sandbox on a free port with empty mailboxes, test users
// added straight into the state, and bearer tokens inserted into `state.accessTokens` (which is
// exactly what the identity module's token check reads).
import { randomUUID } from "node:crypto";
import { type Sandbox, startSandbox } from "../src/server.ts";
import type { SandboxUser } from "../src/state.ts";

export interface GraphHarness {
  sandbox: Sandbox;
  clientId: string;
  addUser(local: string, options?: Partial<SandboxUser>): SandboxUser;
  token(user: SandboxUser, scopes?: string[], clientId?: string): string;
  call(token: string, path: string, init?: RequestInit & { prefer?: string }): Promise<Response>;
  json<T = Record<string, unknown>>(
    token: string,
    path: string,
    init?: RequestInit & { prefer?: string },
  ): Promise<T>;
  domain: string;
}

export const ALL_SCOPES = ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send"];

export async function startGraphHarness(): Promise<GraphHarness> {
  const sandbox = await startSandbox({ port: 0, seedCorpus: false });
  const tenant = [...sandbox.state.tenants.values()].find((candidate) =>
    candidate.domain.startsWith("contoso"),
  );
  const app = [...sandbox.state.apps.values()][0];
  if (!tenant || !app) throw new Error("seedWorld must create a tenant and an app");
  const domain = tenant.domain;
  const harness: GraphHarness = {
    sandbox,
    clientId: app.clientId,
    domain,
    addUser(local, options = {}) {
      const user: SandboxUser = {
        id: randomUUID(),
        tenantId: tenant.id,
        email: `${local}@${domain}`,
        password: "x",
        displayName: `${local[0]!.toUpperCase()}${local.slice(1)} Test`,
        givenName: local,
        surname: "Test",
        kind: "work",
        hasMailbox: true,
        isTenantAdmin: false,
        passwordChangedAt: 0,
        disabled: false,
        ...options,
      };
      sandbox.state.users.set(user.id, user);
      return user;
    },
    token(user, scopes = ALL_SCOPES, clientId = app.clientId) {
      const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomUUID()}.graph-test`;
      sandbox.state.accessTokens.set(token, {
        token,
        userId: user.id,
        clientId,
        scopes,
        expiresAt: sandbox.state.now() + 3_600_000,
        revoked: false,
      });
      return token;
    },
    async call(token, path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${token}`);
      if (init.body !== undefined && !headers.has("content-type"))
        headers.set("content-type", "application/json");
      if (init.prefer) headers.set("prefer", init.prefer);
      const url = path.startsWith("http") ? path : `${sandbox.url}/v1.0${path}`;
      return fetch(url, { ...init, headers });
    },
    async json(token, path, init = {}) {
      const response = await harness.call(token, path, init);
      const text = await response.text();
      if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path} → ${response.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as never;
    },
  };
  return harness;
}

export function message(
  subject: string,
  to: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    subject,
    body: { contentType: "text", content: `Body of ${subject}` },
    toRecipients: to.map((address) => ({ emailAddress: { address } })),
    ...extra,
  };
}

export interface GraphMessage {
  id: string;
  subject: string;
  parentFolderId: string;
  conversationId: string;
  internetMessageId: string;
  isRead: boolean;
  isDraft: boolean;
  receivedDateTime: string;
  [key: string]: unknown;
}

export interface Page<T = GraphMessage> {
  value: T[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
  "@odata.count"?: number;
  "@odata.context"?: string;
}
