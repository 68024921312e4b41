// Pure mapping of the error Microsoft sends back to the callback (`error`, `error_description`
// carrying an AADSTS code) onto the reason and message the wizard shows.
import { type AppProblem, appProblem } from "../../providers/microsoft/identity.ts";
import type { FailureReason } from "./types.ts";

export interface AuthorizeErrorDecision {
  reason: FailureReason;
  message: string;
  aadsts: number | undefined;
  /** The app-registration problem behind a refusal, for the operator's log. */
  problem?: AppProblem | undefined;
}

export const APP_MISCONFIGURED_MESSAGE =
  "This service's Microsoft app is misconfigured, so your mailbox could not be connected. The operator has been told what to fix.";
const CONSENT_DECLINED_MESSAGE =
  "You declined the permissions this app needs, so your mailbox was not connected.";

export function decideAuthorizeError(query: Record<string, string | undefined>): AuthorizeErrorDecision {
  const description = query.error_description ?? "";
  const aadsts = Number(/AADSTS(\d+)/.exec(description)?.[1]) || undefined;
  const problem = appProblem(aadsts);
  if (problem === "admin_consent_required" || aadsts === 65001) {
    return {
      reason: "admin_consent_required",
      message:
        "Your organisation requires an administrator to approve this app before you can connect your mailbox.",
      aadsts,
    };
  }
  if (aadsts === 65004 || query.error === "consent_required")
    return { reason: "consent_declined", message: CONSENT_DECLINED_MESSAGE, aadsts };
  if (query.error === "access_denied") {
    if (/denied access to the scope/i.test(description))
      return { reason: "consent_declined", message: CONSENT_DECLINED_MESSAGE, aadsts };
    if (aadsts === 50020)
      return {
        reason: "wrong_tenant",
        message: "This account cannot sign in to this app's organisation.",
        aadsts,
      };
    return {
      reason: "user_cancelled",
      message: "You cancelled signing in, so your mailbox was not connected.",
      aadsts,
    };
  }
  if (problem) return { reason: "app_misconfigured", message: APP_MISCONFIGURED_MESSAGE, aadsts, problem };
  return {
    reason: "provider_error",
    message: "Microsoft could not complete the sign-in. Please try again.",
    aadsts,
  };
}
