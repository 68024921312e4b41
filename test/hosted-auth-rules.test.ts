// The hosted wizard's pure decisions: what a link request must satisfy, whether a link can still be
// used, and what Microsoft's authorize error means for the user.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideAuthorizeError } from "../src/domain/hosted-auth/authorize-error.ts";
import { checkLink, checkLinkInput } from "../src/domain/hosted-auth/link-rules.ts";
import { AppError } from "../src/lib/errors.ts";
import type { HostedLinkRow } from "../src/storage/repositories/hosted-auth.repository.ts";

const NOW = Date.parse("2030-01-01T00:00:00.000Z");
const DAY = 86_400_000;

describe("hosted link input", () => {
  const accepted: [
    string,
    { providers: string | string[]; expiresOn: string },
    number | undefined,
    number,
  ][] = [
    [
      '"*" with a full ISO date-time',
      { providers: "*", expiresOn: "2030-01-02T00:00:00.000Z" },
      undefined,
      NOW + DAY,
    ],
    [
      '"*:MAILING" with a date only',
      { providers: "*:MAILING", expiresOn: "2030-01-03" },
      undefined,
      NOW + 2 * DAY,
    ],
    [
      '["OUTLOOK"] with an offset',
      { providers: ["OUTLOOK"], expiresOn: "2030-01-01T02:00+01:00" },
      undefined,
      NOW + 3_600_000,
    ],
    [
      "one Microsoft provider among others",
      { providers: ["LINKEDIN", "OUTLOOK"], expiresOn: "2030-01-02" },
      undefined,
      NOW + DAY,
    ],
    [
      "exactly HOSTED_LINK_MAX_DAYS ahead",
      { providers: "*", expiresOn: "2030-01-08T00:00:00Z" },
      7,
      NOW + 7 * DAY,
    ],
  ];
  for (const [name, input, maxDays, expiresAt] of accepted) {
    it(`accepts ${name}, returning the expiry`, () => {
      assert.deepEqual(checkLinkInput(input, NOW, maxDays), { expiresAt });
    });
  }

  const refused: [string, { providers: string | string[]; expiresOn: string }, number | undefined, RegExp][] =
    [
      [
        "a provider Mailroom cannot serve",
        { providers: ["LINKEDIN"], expiresOn: "2030-01-02" },
        undefined,
        /^providers: .*\["LINKEDIN"\]/,
      ],
      [
        "a free-form date",
        { providers: "*", expiresOn: "January 2, 2030" },
        undefined,
        /^expiresOn: must be an ISO 8601 date-time$/,
      ],
      [
        "a year alone",
        { providers: "*", expiresOn: "2031" },
        undefined,
        /^expiresOn: must be an ISO 8601 date-time$/,
      ],
      [
        "an impossible date",
        { providers: "*", expiresOn: "2030-13-45" },
        undefined,
        /^expiresOn: must be an ISO 8601 date-time$/,
      ],
      [
        "the present instant",
        { providers: "*", expiresOn: "2030-01-01T00:00:00.000Z" },
        undefined,
        /^expiresOn: must be in the future$/,
      ],
      [
        "a past date",
        { providers: "*", expiresOn: "2020-01-01" },
        undefined,
        /^expiresOn: must be in the future$/,
      ],
      [
        "a date past HOSTED_LINK_MAX_DAYS",
        { providers: "*", expiresOn: "2030-01-08T00:00:00.001Z" },
        7,
        /^expiresOn: at most 7 days ahead \(HOSTED_LINK_MAX_DAYS\)$/,
      ],
    ];
  for (const [name, input, maxDays, detail] of refused) {
    it(`refuses ${name} as invalid_parameters naming the field`, () => {
      assert.throws(
        () => checkLinkInput(input, NOW, maxDays),
        (error: unknown) =>
          error instanceof AppError && error.code === "invalid_parameters" && detail.test(error.detail ?? ""),
      );
    });
  }
});

describe("hosted link state", () => {
  const link = (over: Partial<HostedLinkRow>): HostedLinkRow => ({
    id: "l1",
    token_hash: "h",
    type: "create",
    reconnect_account_id: null,
    name: null,
    notify_url: null,
    success_redirect_url: null,
    failure_redirect_url: null,
    bypass_success_screen: 0,
    expires_at: NOW + DAY,
    used_at: null,
    account_id: null,
    created_at: NOW - DAY,
    ...over,
  });
  const cases: [string, HostedLinkRow | undefined, string | undefined, string | undefined][] = [
    ["an unknown token is an expired_link with no link", undefined, "expired_link", undefined],
    [
      "a used link is used_link and names the account it made",
      link({ used_at: NOW - 1, account_id: "a1" }),
      "used_link",
      "a1",
    ],
    [
      "a used link is used_link even once expired",
      link({ used_at: NOW - 1, expires_at: NOW - 1 }),
      "used_link",
      undefined,
    ],
    ["a link at its expiry instant is expired_link", link({ expires_at: NOW }), "expired_link", undefined],
    ["an unused link before its expiry can be used", link({}), undefined, undefined],
  ];
  for (const [name, row, reason, accountId] of cases) {
    it(name, () => {
      const result = checkLink(row, NOW);
      if (reason === undefined) {
        assert.ok("link" in result);
        assert.equal(result.link, row);
        return;
      }
      assert.ok("failure" in result);
      assert.equal(result.failure.reason, reason);
      assert.equal(result.failure.link, row);
      assert.equal(result.failure.accountId, accountId);
      assert.ok(result.failure.message.length > 0);
    });
  }
});

describe("authorize error from Microsoft", () => {
  const cases: [string, Record<string, string | undefined>, string, number | undefined][] = [
    [
      "AADSTS65001 needs an admin",
      { error: "invalid_client", error_description: "AADSTS65001: consent" },
      "admin_consent_required",
      65001,
    ],
    [
      "AADSTS90094 (admin consent) needs an admin",
      { error: "access_denied", error_description: "AADSTS90094: admin" },
      "admin_consent_required",
      90094,
    ],
    [
      "AADSTS65004 is a declined consent",
      { error: "access_denied", error_description: "AADSTS65004: declined" },
      "consent_declined",
      65004,
    ],
    ["consent_required is a declined consent", { error: "consent_required" }, "consent_declined", undefined],
    [
      "access_denied to the scope is a declined consent",
      { error: "access_denied", error_description: "The user has denied access to the scope requested" },
      "consent_declined",
      undefined,
    ],
    [
      "AADSTS50020 is the wrong tenant",
      { error: "access_denied", error_description: "AADSTS50020: guest" },
      "wrong_tenant",
      50020,
    ],
    [
      "any other access_denied is a cancelled sign-in",
      { error: "access_denied" },
      "user_cancelled",
      undefined,
    ],
    [
      "a wrong client secret is the app's fault",
      { error: "invalid_client", error_description: "AADSTS7000215: bad secret" },
      "app_misconfigured",
      7000215,
    ],
    [
      "a missing redirect URI is the app's fault",
      { error: "invalid_request", error_description: "AADSTS50011: redirect" },
      "app_misconfigured",
      50011,
    ],
    [
      "anything else is a provider error",
      { error: "server_error", error_description: "AADSTS90000: oops" },
      "provider_error",
      90000,
    ],
  ];
  for (const [name, query, reason, aadsts] of cases) {
    it(name, () => {
      const decision = decideAuthorizeError(query);
      assert.equal(decision.reason, reason);
      assert.equal(decision.aadsts, aadsts);
      assert.ok(decision.message.length > 0);
      assert.equal(decision.problem !== undefined, reason === "app_misconfigured");
    });
  }
});
