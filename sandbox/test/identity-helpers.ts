// Test helpers for the sandbox login host: a cookie-keeping "browser" over fetch that walks the
// server-rendered sign-in forms the way a user without JavaScript would.
import { createHash, randomBytes } from "node:crypto";
import { SEEDED_APP } from "../src/seed.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";

/** A movable clock for tests of expiry; starts at the real time. */
export class TestClock {
  value = Date.now();
  now = (): number => this.value;
  advance(ms: number): void {
    this.value += ms;
  }
}

export async function startTestSandbox(clock?: TestClock): Promise<Sandbox> {
  return clock
    ? startSandbox({ port: 0, seedCorpus: false, now: clock.now })
    : startSandbox({ port: 0, seedCorpus: false });
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export const REDIRECT_URI = SEEDED_APP.redirectUris[1]; // http://localhost/callback
export const MAIL_SCOPES =
  "openid profile email offline_access https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/User.Read";

export function authorizeUrl(base: string, params: Record<string, string>, tenant = "common"): string {
  const q = new URLSearchParams({
    client_id: SEEDED_APP.clientId,
    response_type: "code",
    redirect_uri: REDIRECT_URI,
    response_mode: "query",
    scope: MAIL_SCOPES,
    state: "st-123",
    ...params,
  });
  return `${base}/${tenant}/oauth2/v2.0/authorize?${q}`;
}

export interface Page {
  status: number;
  url: string;
  html: string;
  /** Set when the sandbox redirected to a URL outside its origin (the app's redirect URI). */
  redirect?: URL;
}

export interface ParsedForm {
  action: string;
  fields: Record<string, string>;
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`, "i").exec(tag);
  return m?.[1] === undefined ? undefined : decodeEntities(m[1]);
}

function decodeEntities(s: string): string {
  return s
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

export function parseForm(html: string): ParsedForm {
  const form = /<form\b[^>]*>/i.exec(html);
  if (!form) throw new Error(`no form in page:\n${html.slice(0, 2000)}`);
  const action = attr(form[0], "action") ?? "";
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const type = (attr(tag, "type") ?? "text").toLowerCase();
    const name = attr(tag, "name");
    if (!name || type === "submit" || type === "checkbox") continue;
    fields[name] = attr(tag, "value") ?? "";
  }
  return { action, fields };
}

/** name/value of a submit control found by id (e.g. idSIButton9, idBtn_Back). */
export function button(html: string, id: string): Record<string, string> {
  const m = new RegExp(`<input\\b[^>]*\\sid="${id}"[^>]*>`, "i").exec(html);
  if (!m) throw new Error(`no #${id} in page:\n${html.slice(0, 2000)}`);
  const name = attr(m[0], "name");
  return name ? { [name]: attr(m[0], "value") ?? "" } : {};
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly origin: string,
    private readonly fetcher: FetchLike = fetch,
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private remember(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(c) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    let current = url;
    let method = init.method ?? (init.form ? "POST" : "GET");
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 10; hops++) {
      const headers: Record<string, string> = { cookie: this.cookieHeader() };
      if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await this.fetcher(current, { method, headers, body: body ?? null, redirect: "manual" });
      this.remember(res);
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current);
        if (next.origin !== this.origin) {
          await res.text();
          return { status: res.status, url: current, html: "", redirect: next };
        }
        current = next.toString();
        method = "GET";
        body = undefined;
        continue;
      }
      return { status: res.status, url: current, html: await res.text() };
    }
    throw new Error("too many redirects");
  }

  /** Submits the page's form with `values`, pressing the button with `buttonId`. */
  async submit(page: Page, values: Record<string, string> = {}, buttonId = "idSIButton9"): Promise<Page> {
    const form = parseForm(page.html);
    return this.request(new URL(form.action, page.url).toString(), {
      form: { ...form.fields, ...values, ...button(page.html, buttonId) },
    });
  }
}

/** Walks email → password → (consent Accept) and returns the app redirect. */
export async function signInAndConsent(
  browser: Browser,
  url: string,
  email: string,
  password: string,
): Promise<Page> {
  let page = await browser.request(url);
  for (let i = 0; i < 6 && !page.redirect; i++) {
    if (page.html.includes('id="i0116"')) page = await browser.submit(page, { loginfmt: email });
    else if (page.html.includes('id="i0118"')) page = await browser.submit(page, { passwd: password });
    else if (page.html.includes('id="permissionsList"')) page = await browser.submit(page);
    else throw new Error(`unexpected page:\n${page.html.slice(0, 3000)}`);
  }
  if (!page.redirect) throw new Error("sign-in did not finish");
  return page;
}

export async function tokenRequest(
  base: string,
  form: Record<string, string>,
  opts: { tenant?: string; basic?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded;charset=utf-8",
  };
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic).toString("base64")}`;
  const res = await fetch(`${base}/${opts.tenant ?? "common"}/oauth2/v2.0/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** Full code flow with PKCE for a user; returns the token response. */
export async function obtainTokens(
  sandbox: Sandbox,
  email: string,
  password: string,
  extra: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const browser = new Browser(sandbox.url);
  const { verifier, challenge } = pkcePair();
  const page = await signInAndConsent(
    browser,
    authorizeUrl(sandbox.url, { code_challenge: challenge, code_challenge_method: "S256", ...extra }),
    email,
    password,
  );
  const code = page.redirect?.searchParams.get("code");
  if (!code) throw new Error(`no code in ${page.redirect}`);
  const res = await tokenRequest(sandbox.url, {
    client_id: SEEDED_APP.clientId,
    client_secret: SEEDED_APP.clientSecret,
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  if (res.status !== 200) throw new Error(`token failed: ${JSON.stringify(res.body)}`);
  return res.body;
}
