// A cookie-keeping browser over fetch that follows redirects across origins and submits the
// server-rendered forms (Mailroom's wizard and the sandbox's Microsoft sign-in), without JavaScript.
import { button, parseForm } from "../../sandbox/test/identity-helpers.ts";

export interface Page {
  status: number;
  url: string;
  html: string;
  /** Set when navigation reached a URL outside the watched origins (the operator's redirect). */
  left?: URL;
}

export class MultiOriginBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly origins: string[]) {}

  private jar(origin: string): Map<string, string> {
    const existing = this.jars.get(origin);
    if (existing) return existing;
    const jar = new Map<string, string>();
    this.jars.set(origin, jar);
    return jar;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    let current = new URL(url);
    let method = init.method ?? (init.form ? "POST" : "GET");
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; hops < 15; hops++) {
      if (!this.origins.includes(current.origin))
        return { status: 0, url: current.toString(), html: "", left: current };
      const jar = this.jar(current.origin);
      const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") };
      if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(current, { method, headers, body: body ?? null, redirect: "manual" });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const eq = pair?.indexOf("=") ?? -1;
        if (!pair || eq < 0) continue;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (/max-age=0/i.test(c) || value === "") jar.delete(name);
        else jar.set(name, value);
      }
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.text();
        current = new URL(location, current);
        method = "GET";
        body = undefined;
        continue;
      }
      return { status: res.status, url: current.toString(), html: await res.text() };
    }
    throw new Error("too many redirects");
  }

  async submit(page: Page, values: Record<string, string> = {}, buttonId = "idSIButton9"): Promise<Page> {
    const form = parseForm(page.html);
    const extra =
      page.html.includes(`id="${buttonId}"`) && /<input\b[^>]*id="/.test(page.html)
        ? safeButton(page.html, buttonId)
        : {};
    return this.request(new URL(form.action, page.url).toString(), {
      form: { ...form.fields, ...values, ...extra },
    });
  }
}

function safeButton(html: string, id: string): Record<string, string> {
  try {
    return button(html, id);
  } catch {
    return {};
  }
}

/** From Mailroom's provider page through Microsoft's (sandbox) sign-in and consent, to wherever it ends. */
export async function connectThroughWizard(
  browser: MultiOriginBrowser,
  linkUrl: string,
  user: { email: string; password: string },
  options: { consent?: "accept" | "cancel"; cancelAtEmail?: boolean } = {},
): Promise<Page> {
  const wizard = await browser.request(linkUrl);
  if (wizard.status !== 200 || !wizard.html.includes('id="provider-microsoft"')) return wizard;
  let page = await browser.request(new URL(parseForm(wizard.html).action, wizard.url).toString(), {
    form: { provider: "OUTLOOK" },
  });
  for (let i = 0; i < 8 && !page.left; i++) {
    if (
      !new URL(page.url).pathname.includes("/oauth2/") &&
      !page.html.includes('id="i0116"') &&
      !page.html.includes('id="i0118"') &&
      !page.html.includes("permissionsList")
    )
      break;
    if (page.html.includes('id="i0116"')) {
      page = options.cancelAtEmail
        ? await browser.submit(page, {}, "idBtn_Back")
        : await browser.submit(page, { loginfmt: user.email });
    } else if (page.html.includes('id="i0118"')) page = await browser.submit(page, { passwd: user.password });
    else if (page.html.includes('id="permissionsList"')) {
      page = await browser.submit(page, {}, options.consent === "cancel" ? "idBtn_Back" : "idSIButton9");
    } else break;
  }
  return page;
}

/**
 * Connects Megan's sandbox mailbox to a running Mailroom through a hosted link and the wizard, as an
 * operator's backend and its user would, and returns the new account's id.
 */
export async function connectMeganOverHttp(
  base: string,
  sandboxUrl: string,
  apiKey: string,
  password: string,
): Promise<string> {
  const link = await fetch(`${base}/api/v1/hosted/accounts/link`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: JSON.stringify({
      type: "create",
      providers: "*",
      api_url: base,
      expiresOn: new Date(Date.now() + 600_000).toISOString(),
      success_redirect_url: "https://app.example.com/ok",
      bypass_success_screen: true,
    }),
  });
  const { url } = (await link.json()) as { url: string };
  const end = await connectThroughWizard(new MultiOriginBrowser([base, sandboxUrl]), url, {
    email: "megan.bowen@contoso.onmicrosoft.com",
    password,
  });
  if (end.left?.toString() !== "https://app.example.com/ok")
    throw new Error(`the wizard ended at ${end.left ?? end.url}, not the success redirect`);
  const accounts = (await (
    await fetch(`${base}/api/v1/accounts`, { headers: { "x-api-key": apiKey } })
  ).json()) as { items: { id: string }[] };
  if (!accounts.items[0]) throw new Error("no account after the wizard");
  return accounts.items[0].id;
}
