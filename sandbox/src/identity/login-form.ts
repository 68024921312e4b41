// The sign-in pages' form posts (username, password, account picker, consent) and their two links:
// "Use another account" / "Sign in with that account" (switch) and "Return to the application
// without granting consent" (return).
import { audienceProblem, isPersonal, unknownAccountMessage } from "./authority.ts";
import {
  errorPageResult,
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  redirectError,
  redirectToApp,
  safeEqual,
  str,
  withCookie,
} from "./context.ts";
import { AADSTS, countError } from "./errors.ts";
import { ACCOUNT_LOCKED_HTML, WRONG_PASSWORD_HTML } from "./pages.ts";
import type { SignInTransaction } from "./runtime.ts";
import { getSession, signIn } from "./session.ts";
import {
  afterAuthentication,
  cancelToApp,
  issueCode,
  requestedScopes,
  showEmail,
  showPassword,
} from "./sign-in.ts";

function lookupTx(
  env: IdentityEnv,
  req: IdentityRequest,
  ctx: string | undefined,
): SignInTransaction | IdentityResult {
  const tx = ctx ? env.runtime.transactions.get(ctx) : undefined;
  if (tx) return tx;
  return errorPageResult(env, req, {
    code: 50196,
    error: "invalid_request",
    message:
      "Your sign-in session has expired or is not valid. Go back to the application and sign in again.",
  });
}

const isResult = (value: SignInTransaction | IdentityResult): value is IdentityResult => "kind" in value;

/** POST /{tenant}/login: one step of the pages, named by the form's `step`. */
export function postLogin(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const { state } = env;
  const body = req.body ?? {};
  const tx = lookupTx(env, req, str(body, "ctx"));
  if (isResult(tx)) return tx;
  const step = str(body, "step");
  const action = str(body, "action") ?? "";
  const secondary = action === "Back" || action === "Cancel" || action === "No";

  if (step === "email") {
    if (secondary) return cancelToApp(env, req, tx);
    const email = (str(body, "loginfmt") ?? "").trim();
    if (!email.includes("@")) {
      return showEmail(env, tx, "Enter a valid email address, phone number, or Skype name.", email);
    }
    const user = state.userByEmail(email);
    if (!user) return showEmail(env, tx, unknownAccountMessage(state, tx.tenantSegment), email);
    const problem = audienceProblem(state, tx, user);
    if (problem) return showEmail(env, tx, problem, email);
    tx.email = user.email;
    return showPassword(env, tx, user.email);
  }

  if (step === "password") {
    // The account whose credentials are posted is the one that signs in, whatever was pre-filled.
    const email = str(body, "loginfmt")?.trim() || tx.email || "";
    if (secondary) {
      tx.email = undefined;
      return showEmail(env, tx, undefined, email);
    }
    const user = state.userByEmail(email);
    if (!user) return showEmail(env, tx, unknownAccountMessage(state, tx.tenantSegment), email);
    const problem = audienceProblem(state, tx, user);
    if (problem) return showEmail(env, tx, problem, email);
    tx.email = user.email;
    const password = str(body, "passwd") ?? "";
    if (!safeEqual(password, user.password)) return showPassword(env, tx, user.email, WRONG_PASSWORD_HTML);
    if (user.disabled) {
      countError(state, AADSTS.userDisabled());
      return showPassword(env, tx, user.email, ACCOUNT_LOCKED_HTML);
    }
    const cookie = signIn(env, req, user);
    tx.userId = user.id;
    return withCookie(afterAuthentication(env, req, tx), cookie);
  }

  if (step === "picker") {
    if (secondary) return cancelToApp(env, req, tx);
    const account = str(body, "account");
    const session = getSession(env, req);
    if (!account || account === "other" || !session?.userIds.includes(account)) {
      tx.prompt = tx.prompt === "select_account" ? undefined : tx.prompt;
      return showEmail(env, tx);
    }
    const user = state.users.get(account);
    if (!user || user.disabled) return showEmail(env, tx);
    const problem = audienceProblem(state, tx, user);
    if (problem) return showEmail(env, tx, problem, user.email);
    tx.userId = user.id;
    return afterAuthentication(env, req, tx);
  }

  if (step === "consent") return postConsent(env, req, tx, secondary);
  return errorPageResult(env, req, AADSTS.malformed());
}

function postConsent(
  env: IdentityEnv,
  req: IdentityRequest,
  tx: SignInTransaction,
  declined: boolean,
): IdentityResult {
  const { state } = env;
  const user = tx.userId ? state.users.get(tx.userId) : undefined;
  const appReg = state.apps.get(tx.clientId);
  if (!user || !appReg) return errorPageResult(env, req, AADSTS.malformed());
  if (declined) {
    env.runtime.transactions.delete(tx.id);
    if (tx.adminConsent) {
      return redirectError(
        env,
        req,
        tx,
        { ...AADSTS.consentDeclined(), error: "access_denied" },
        { admin_consent: "True" },
      );
    }
    if (isPersonal(user)) {
      const fields: Record<string, string> = {
        error: "access_denied",
        error_description: "The user has denied access to the scope requested by the client application.",
      };
      if (tx.state !== undefined) fields.state = tx.state;
      return redirectToApp(tx, fields);
    }
    return redirectError(env, req, tx, AADSTS.consentDeclined());
  }
  if (tx.adminConsent) {
    const tenant = state.tenants.get(user.tenantId);
    tenant?.adminConsentedApps.add(appReg.clientId);
    env.runtime.transactions.delete(tx.id);
    const fields: Record<string, string> = {
      admin_consent: "True",
      tenant: user.tenantId,
      scope: (tx.graph.length ? tx.graph : appReg.permissions)
        .map((s) => `https://graph.microsoft.com/${s}`)
        .join(" "),
    };
    if (tx.state !== undefined) fields.state = tx.state;
    return redirectToApp(tx, fields);
  }
  const key = `${user.id}|${appReg.clientId}`;
  const existing = state.consents.get(key);
  const scopes = new Set<string>(existing && !existing.revoked ? existing.scopes : []);
  for (const s of requestedScopes(tx)) scopes.add(s);
  state.consents.set(key, {
    userId: user.id,
    clientId: appReg.clientId,
    scopes,
    grantedAt: state.now(),
    revoked: false,
  });
  if (str(req.body, "ConsentOnBehalf") === "true" && user.isTenantAdmin) {
    state.tenants.get(user.tenantId)?.adminConsentedApps.add(appReg.clientId);
  }
  return issueCode(env, tx, user);
}

/** "Return to the application without granting consent" on the admin-approval page. */
export function returnToApp(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const tx = lookupTx(env, req, str(req.query, "ctx"));
  if (isResult(tx)) return tx;
  env.runtime.transactions.delete(tx.id);
  const appReg = env.state.apps.get(tx.clientId);
  const extra: Record<string, string> = tx.adminConsent ? { admin_consent: "True" } : {};
  return redirectError(env, req, tx, AADSTS.adminApprovalRequired(appReg?.name ?? tx.clientId), extra);
}

/** "Use another account" and "Have an admin account? Sign in with that account": back to an empty username page. */
export function switchAccount(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const tx = lookupTx(env, req, str(req.query, "ctx"));
  if (isResult(tx)) return tx;
  tx.userId = undefined;
  tx.email = undefined;
  tx.loginHint = undefined;
  return showEmail(env, tx);
}
