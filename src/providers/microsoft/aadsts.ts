// What Microsoft identity's AADSTS error codes mean for Mailroom (reference §1): why a mailbox must
// reconnect, or what is wrong with the operator's app registration. Pure.

/** Why a mailbox needs to reconnect, as stored on the account and sent in `account_status`. */
export type ReauthReason =
  | "password_changed"
  | "refresh_expired"
  | "consent_revoked"
  | "mfa_required"
  | "policy"
  | "token_revoked"
  | "user_disabled";

export type AppProblem =
  | "wrong_secret"
  | "expired_secret"
  | "unknown_app"
  | "redirect_uri_missing"
  | "single_tenant_app"
  | "public_client"
  | "admin_consent_required";

export function reauthReason(aadsts: number | undefined): ReauthReason {
  switch (aadsts) {
    case 50173:
      return "password_changed";
    case 700082:
    case 70008:
    case 700084:
      return "refresh_expired";
    case 65001:
      return "consent_revoked";
    case 50076:
    case 50079:
      return "mfa_required";
    case 70043:
    case 53003:
      return "policy";
    case 50057:
      return "user_disabled";
    default:
      return "token_revoked";
  }
}

export function appProblem(aadsts: number | undefined): AppProblem | undefined {
  switch (aadsts) {
    case 7000215:
    case 7000218:
      return "wrong_secret";
    case 7000222:
      return "expired_secret";
    case 700016:
      return "unknown_app";
    case 50011:
      return "redirect_uri_missing";
    case 50194:
    case 9002332:
      return "single_tenant_app";
    case 700025:
      return "public_client";
    case 90094:
    case 90095:
      return "admin_consent_required";
    default:
      return undefined;
  }
}
