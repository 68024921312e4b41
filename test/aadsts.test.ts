// What AADSTS codes mean (src/providers/microsoft/aadsts.ts): a table per decision.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appProblem, reauthReason } from "../src/providers/microsoft/aadsts.ts";

describe("AADSTS codes", () => {
  it("say why a mailbox must reconnect; an unknown or missing code is a revoked token", () => {
    const cases: [number | undefined, string][] = [
      [50173, "password_changed"],
      [700082, "refresh_expired"],
      [70008, "refresh_expired"],
      [700084, "refresh_expired"],
      [65001, "consent_revoked"],
      [50076, "mfa_required"],
      [50079, "mfa_required"],
      [70043, "policy"],
      [53003, "policy"],
      [50057, "user_disabled"],
      [12345, "token_revoked"],
      [undefined, "token_revoked"],
    ];
    for (const [code, reason] of cases) assert.equal(reauthReason(code), reason, `AADSTS${code}`);
  });

  it("say what is wrong with the operator's app, or nothing for other codes", () => {
    const cases: [number | undefined, string | undefined][] = [
      [7000215, "wrong_secret"],
      [7000218, "wrong_secret"],
      [7000222, "expired_secret"],
      [700016, "unknown_app"],
      [50011, "redirect_uri_missing"],
      [50194, "single_tenant_app"],
      [9002332, "single_tenant_app"],
      [700025, "public_client"],
      [90094, "admin_consent_required"],
      [90095, "admin_consent_required"],
      [50173, undefined],
      [undefined, undefined],
    ];
    for (const [code, problem] of cases) assert.equal(appProblem(code), problem, `AADSTS${code}`);
  });
});
