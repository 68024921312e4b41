// Email tracking on the dashboard, in Chromium: a mailbox connected through the wizard sends tracked
// mail through the SDK; its pixel is fetched by a reader and by Gmail's image proxy, its link clicked;
// the account page lists the mail with its opens and clicks, the proxy's marked. A screenshot for the
// README.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { UnipileClient } from "unipile-node-sdk";
import { runMailroom, type StartedMailroom, startMailroom } from "../support/cli.ts";
import { until } from "../support/until.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(import.meta.dirname, "../../docs/screenshots");
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const READER =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const GMAIL_PROXY =
  "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

describe("dashboard: tracked mail, in Chromium", () => {
  let mailroom: StartedMailroom;
  let browser: Browser;
  let page: Page;
  let client: UnipileClient;
  let base: string;
  const consoleErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (or set CHROMIUM_PATH)`);
    mailroom = await startMailroom({
      readyWhen: /\/setup\?token=\S+/,
      dataDirPrefix: "mailroom-dash-tracking-",
    });
    base = `http://localhost:${mailroom.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    mkdirSync(SCREENSHOTS, { recursive: true });

    const created = await runMailroom(["api-key", "create", "--name", "e2e"], mailroom.env);
    assert.equal(created.code, 0, created.stderr);
    const key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created.stdout)![1]!;
    client = new UnipileClient(base, key, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
  });

  after(async () => {
    await browser?.close();
    await mailroom?.stop();
  });

  it("the account page lists tracked mail with its opens and clicks, machine fetches marked", async () => {
    const link = (await client.account.createHostedAuthLink({
      type: "create",
      providers: "*",
      api_url: base,
      expiresOn: new Date(Date.now() + 3600_000).toISOString(),
      success_redirect_url: `${base}/health`,
    } as never)) as { url: string };
    await page.goto(link.url);
    await page.click("#provider-microsoft");
    await page.fill("#i0116", ADELE);
    await page.click("#idSIButton9");
    await page.fill("#i0118", "Sandbox!2345");
    await page.click("#idSIButton9");
    await page.waitForSelector("#permissionsList");
    await page.click("#idSIButton9");
    await page.waitForURL(`${base}/health`);
    const accounts = (await client.account.getAll()) as { items: { id: string }[] };
    const accountId = accounts.items[0]!.id;

    const sent = (await client.email.send({
      account_id: accountId,
      to: [{ identifier: "megan.bowen@contoso.onmicrosoft.com" }],
      subject: "Your October invoice",
      body: '<html><body><p>Your invoice is ready: <a href="https://example.com/invoices/10">view it</a>.</p></body></html>',
      tracking_options: { opens: true, links: true, label: "invoices" },
    } as never)) as unknown as { id: string };
    await client.email.send({
      account_id: accountId,
      to: [{ identifier: "megan.bowen@contoso.onmicrosoft.com" }],
      subject: "Welcome aboard",
      body: "<p>Glad to have you.</p>",
      tracking_options: { opens: true, label: "onboarding" },
    } as never);
    const body = await until("the sent copy", async () => {
      const e = (await client.email.getOne(sent.id)) as unknown as { role: string; body: string };
      return e.role === "sent" ? e.body : undefined;
    });
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(body)![1]!;
    const click = /href="([^"]+\/t\/c\/[^"]+)"/.exec(body)![1]!;
    await fetch(pixel, { headers: { "user-agent": GMAIL_PROXY } });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await fetch(pixel, { headers: { "user-agent": READER } });
    await fetch(click, { redirect: "manual", headers: { "user-agent": READER } });

    const setup = /(http:\/\/\S+\/setup\?token=\S+)/.exec(mailroom.output())![1]!;
    await page.goto(setup);
    await page.getByLabel("Email").fill("ops@example.com");
    await page.getByLabel("Password", { exact: true }).fill("a long dashboard passphrase");
    await page.getByLabel("Password again").fill("a long dashboard passphrase");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await page.getByRole("link", { name: "Accounts" }).click();
    await page.getByRole("link", { name: ADELE }).first().click();
    const section = page.getByRole("region", { name: "Tracked mail" });
    await section.waitFor();
    // The events are stored by the next flush (about a second): reload until they show.
    await until("the opens and clicks on the account page", async () => {
      await page.reload();
      await section.waitFor();
      const row = section.getByRole("row").filter({ hasText: "Your October invoice" });
      return (await row.getByRole("cell").nth(2).textContent()) === "2" ? true : undefined;
    });
    const invoice = section.getByRole("row").filter({ hasText: "Your October invoice" });
    assert.equal(await invoice.getByRole("cell").nth(3).textContent(), "1");
    await invoice.getByText(/^Last /).click();
    await invoice.getByText("machine: image proxy").waitFor();
    await section.getByRole("row").filter({ hasText: "Welcome aboard" }).getByText("not tracked").waitFor();
    await section.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-tracking.png"), fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });
});
