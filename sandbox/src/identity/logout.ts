// Front-channel logout: with logout_hint one account leaves the browser's session, without it the
// whole session ends; then post_logout_redirect_uri or Microsoft's "You signed out" page.
import {
  html,
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  SESSION_COOKIE,
  str,
} from "./context.ts";
import { signedOutPage } from "./pages.ts";
import { getSession } from "./session.ts";

export function logout(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const params = { ...req.query, ...(req.body ?? {}) };
  const session = getSession(env, req);
  const hint = str(params, "logout_hint");
  let setCookie: string | undefined;
  if (session) {
    if (hint) {
      const user = env.state.userByEmail(hint);
      session.userIds = session.userIds.filter((id) => id !== user?.id);
    } else {
      env.runtime.sessions.delete(session.id);
      setCookie = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
    }
  }
  const post = str(params, "post_logout_redirect_uri");
  if (post) return { kind: "redirect", location: post, noStore: false, setCookie };
  return { ...html(signedOutPage()), setCookie };
}
