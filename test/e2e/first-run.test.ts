// The operator's first run, as the README tells it: start Mailroom with its embedded defaults (SQLite +
// the Microsoft sandbox), create an API key with the CLI, create a hosted auth link, and let an end
// user connect a mailbox in a real browser (Debian's Chromium) through Mailroom's wizard and the
// sandbox's Microsoft sign-in pages.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { UnipileClient } from "unipile-node-sdk";
import { runMailroom, type StartedMailroom, startMailroom } from "../support/cli.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(import.meta.dirname, "../../docs/screenshots");

describe("first run: npm start, an API key, and a mailbox connected in Chromium", () => {
  let mailroom: StartedMailroom;
  let port: number;
  let browser: Browser;
  let env: Record<string, string>;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
    mailroom = await startMailroom({ readyWhen: /Mailroom is ready/, dataDirPrefix: "mailroom-e2e-" });
    ({ port, env } = mailroom);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await mailroom?.stop();
  });

  it("the banner tells a new operator the URL, where data lives, the sandbox users and the redirect URIs", () => {
    assert.match(mailroom.output(), new RegExp(`Mailroom is running at http://localhost:${port}`));
    assert.match(mailroom.output(), /Data:\s+.*mailroom\.db/);
    assert.match(mailroom.output(), /npx mailroom api-key create/);
    assert.match(mailroom.output(), /adele\.vance@contoso\.onmicrosoft\.com\s+Sandbox!2345/);
    assert.match(mailroom.output(), /microsoft_auth_request_callback\/port/);
    assert.match(mailroom.output(), /Microsoft OAuth settings use the sandbox app/);
  });

  it("an end user connects a work mailbox in Chromium; the account shows OK through the SDK", async () => {
    const created = await runMailroom(["api-key", "create", "--name", "e2e"], env);
    assert.equal(created.code, 0, created.stderr);
    const key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created.stdout)![1]!;
    const client = new UnipileClient(`http://localhost:${port}`, key, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const link = (await client.account.createHostedAuthLink({
      type: "create",
      providers: "*",
      api_url: `http://localhost:${port}`,
      expiresOn: new Date(Date.now() + 3600_000).toISOString(),
      success_redirect_url: `http://localhost:${port}/health`,
    } as never)) as { url: string };

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    await page.goto(link.url);
    await page.screenshot({ path: join(SCREENSHOTS, "hosted-connect.png") });
    await page.click("#provider-microsoft");
    await page.waitForSelector("input#i0116[name=loginfmt]");
    await page.fill("#i0116", "adele.vance@contoso.onmicrosoft.com");
    await page.click("#idSIButton9");
    await page.waitForSelector("input#i0118[name=passwd]");
    await page.fill("#i0118", "Sandbox!2345");
    await page.screenshot({ path: join(SCREENSHOTS, "sandbox-sign-in.png") });
    await page.click("#idSIButton9");
    await page.waitForSelector("#permissionsList");
    await page.screenshot({ path: join(SCREENSHOTS, "sandbox-consent.png") });
    await page.click("#idSIButton9");
    await page.waitForURL(`http://localhost:${port}/health`);
    assert.deepEqual(consoleErrors, []);

    const accounts = (await client.account.getAll()) as {
      items: { name: string; sources: { status: string }[] }[];
    };
    assert.equal(accounts.items.length, 1);
    assert.equal(accounts.items[0]?.name, "adele.vance@contoso.onmicrosoft.com");
    assert.equal(accounts.items[0]?.sources[0]?.status, "OK");
    await page.close();
  });
});
