// The connect step shared by the hosted wizard and native connect: the id_token names the account,
// Graph's /me names the mailbox address, and a user without a mailbox is refused.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { identifyMailbox } from "../src/domain/accounts/identify-mailbox.ts";
import {
  IdentityError,
  type IdTokenClaims,
  type IdTokenValidator,
} from "../src/providers/microsoft/identity.ts";

const CLAIMS: IdTokenClaims = {
  tid: "tenant-1",
  oid: "object-1",
  sub: "pairwise-sub",
  preferred_username: "upn-from-token@contoso.example",
};

function validator(result: IdTokenClaims | Error, seen: unknown[] = []): IdTokenValidator {
  return {
    validate: async (idToken: string, expected: unknown) => {
      seen.push({ idToken, expected });
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as IdTokenValidator;
}

/** Graph's $batch answer for /me and the inbox check. */
function graph(me: Record<string, unknown>, inboxStatus = 200, inboxCode?: string): typeof fetch {
  return (async () =>
    new Response(
      JSON.stringify({
        responses: [
          { id: "me", status: 200, body: { id: "object-1", displayName: "Adele", ...me } },
          {
            id: "inbox",
            status: inboxStatus,
            body: inboxStatus === 200 ? { id: "inbox-id" } : { error: { code: inboxCode, message: "x" } },
          },
        ],
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    )) as typeof fetch;
}

const tokens = { idToken: "id.token.sig", accessToken: "access" };

describe("identifyMailbox", () => {
  test("the id_token's tenant and object id key the account; /me's mail is its address; nonce and client id are checked", async () => {
    const seen: unknown[] = [];
    const found = await identifyMailbox(
      {
        idTokens: validator(CLAIMS, seen),
        graphUrl: "https://graph.test",
        fetch: graph({ mail: "adele@contoso.example" }),
      },
      tokens,
      { clientId: "client-1", nonce: "n-1" },
    );
    assert.deepEqual(found.ok && found.identity, {
      tenantId: "tenant-1",
      objectId: "object-1",
      email: "adele@contoso.example",
    });
    assert.deepEqual(seen, [{ idToken: "id.token.sig", expected: { clientId: "client-1", nonce: "n-1" } }]);
  });

  const fallbacks: {
    name: string;
    me: Record<string, unknown>;
    claims: IdTokenClaims;
    fallback?: string;
    email: string;
  }[] = [
    {
      name: "no mail: the UPN",
      me: { mail: null, userPrincipalName: "upn@contoso.example" },
      claims: CLAIMS,
      email: "upn@contoso.example",
    },
    {
      name: "neither: the token's email",
      me: {},
      claims: { ...CLAIMS, email: "claim@contoso.example" },
      email: "claim@contoso.example",
    },
    { name: "then preferred_username", me: {}, claims: CLAIMS, email: "upn-from-token@contoso.example" },
    {
      name: "then the caller's address",
      me: {},
      claims: { tid: "tenant-1", oid: "object-1", sub: "s" },
      fallback: "given@contoso.example",
      email: "given@contoso.example",
    },
    {
      name: "then the object id (sub without oid)",
      me: {},
      claims: { tid: "tenant-1", sub: "s" },
      email: "s",
    },
  ];
  for (const c of fallbacks) {
    test(`address fallback — ${c.name}`, async () => {
      const found = await identifyMailbox(
        { idTokens: validator(c.claims), graphUrl: "https://graph.test", fetch: graph(c.me) },
        tokens,
        { clientId: "client-1", fallbackEmail: c.fallback },
      );
      assert.equal(found.ok && found.identity.email, c.email);
    });
  }

  test("failures are told apart: no id_token, an invalid id_token, Graph unreachable, no mailbox", async () => {
    const deps = {
      idTokens: validator(CLAIMS),
      graphUrl: "https://graph.test",
      fetch: graph({ mail: "a@b.c" }),
    };
    const missing = await identifyMailbox(deps, { idToken: undefined, accessToken: "a" }, { clientId: "c" });
    assert.equal(!missing.ok && missing.reason, "no_id_token");

    const rejected = new IdentityError("invalid_response", "id_token nonce does not match", {});
    const invalid = await identifyMailbox({ ...deps, idTokens: validator(rejected) }, tokens, {
      clientId: "c",
    });
    assert.equal(!invalid.ok && invalid.reason, "invalid_id_token");
    assert.equal(!invalid.ok && invalid.reason === "invalid_id_token" && invalid.error, rejected);

    const down = await identifyMailbox(
      { ...deps, fetch: (async () => Promise.reject(new TypeError("fetch failed"))) as typeof fetch },
      tokens,
      { clientId: "c" },
    );
    assert.equal(!down.ok && down.reason, "graph_failed");

    const noMailbox = await identifyMailbox(
      { ...deps, fetch: graph({ mail: "nomail@contoso.example" }, 404, "MailboxNotEnabledForRESTAPI") },
      tokens,
      { clientId: "c" },
    );
    assert.deepEqual(noMailbox, { ok: false, reason: "no_mailbox", email: "nomail@contoso.example" });
  });
});
