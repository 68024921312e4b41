// The browser's sign-in session (the ESTSAUTH cookie): who is signed in on this browser, for SSO,
// prompt=none and the account picker.
import type { SandboxUser } from "../state.ts";
import { type IdentityEnv, type IdentityRequest, parseCookies, SESSION_COOKIE } from "./context.ts";
import { randomToken, type SignInSession } from "./runtime.ts";

export function getSession(
  env: IdentityEnv,
  req: Pick<IdentityRequest, "cookie">,
): SignInSession | undefined {
  const id = parseCookies(req.cookie).get(SESSION_COOKIE);
  return id ? env.runtime.sessions.get(id) : undefined;
}

export function sessionUsers(env: IdentityEnv, session: SignInSession | undefined): SandboxUser[] {
  if (!session) return [];
  return session.userIds
    .map((id) => env.state.users.get(id))
    .filter((u): u is SandboxUser => u !== undefined && !u.disabled);
}

/** Adds `user` to the browser's session, creating it if needed; returns the cookie to set, if any. */
export function signIn(
  env: IdentityEnv,
  req: Pick<IdentityRequest, "cookie">,
  user: SandboxUser,
): string | undefined {
  let session = getSession(env, req);
  let cookie: string | undefined;
  if (!session) {
    session = { id: randomToken(32), userIds: [], authTimes: new Map(), createdAt: env.state.now() };
    env.runtime.sessions.set(session.id, session);
    cookie = `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax`;
  }
  session.userIds = [...session.userIds.filter((id) => id !== user.id), user.id];
  session.authTimes.set(user.id, env.state.now());
  return cookie;
}
