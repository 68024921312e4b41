// A reconnect link pre-fills the mailbox it reconnects (login_hint), but the person at the keyboard may
// sign in with another account on Microsoft's pages, as Microsoft allows. Mailroom must then refuse
// with wrong_account and leave the original account exactly as it was. Runs in Debian's Chromium
// against Mailroom and the sandbox in this process.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { SEED_PASSWORD } from "../../sandbox/src/seed.ts";
import { type ConnectHarness, startConnectHarness } from "../support/connect-harness.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

describe("reconnect link followed by a different Microsoft account, in Chromium", () => {
  let h: ConnectHarness;
  let browser: Browser;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
    h = await startConnectHarness();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  after(async () => {
    await browser?.close();
    await h?.dispose();
  });

  it("Microsoft's page offers another account; signing in as Megan ends in wrong_account and Adele's account is unchanged", async () => {
    const ids = await h.connectMailboxes([ADELE]);
    const adeleId = ids[ADELE]!;
    const before = await h.services.repos.accounts.findById(adeleId);
    assert.ok(before);

    const link = await h.createLink({ type: "reconnect", providers: "*", reconnect_account: adeleId });
    assert.equal(link.status, 200, JSON.stringify(link.json));

    const page = await browser.newPage();
    try {
      await page.goto(link.json.url as string);
      await page.click("#provider-microsoft");
      // The hinted account's password page: the hint is shown, and another account can be used.
      await page.waitForSelector("input#i0118[name=passwd]");
      assert.equal((await page.textContent("#displayName"))?.trim(), ADELE);
      const other = page.getByText("Use another account");
      assert.equal(await other.count(), 1, "the hinted sign-in page offers 'Use another account'");
      await other.click();
      await page.waitForSelector("input#i0116[name=loginfmt]");
      await page.fill("#i0116", MEGAN);
      await page.click("#idSIButton9");
      await page.waitForSelector("input#i0118[name=passwd]");
      assert.equal((await page.textContent("#displayName"))?.trim(), MEGAN);
      await page.fill("#i0118", SEED_PASSWORD);
      await page.click("#idSIButton9");
      await page.waitForSelector("#permissionsList");
      await page.click("#idSIButton9");

      // Back at Mailroom's callback: the failure page for a different mailbox.
      await page.waitForSelector("h1");
      assert.equal(new URL(page.url()).origin, h.baseUrl);
      assert.equal((await page.textContent("h1"))?.trim(), "A different mailbox was used");
      const text = (await page.textContent("body")) ?? "";
      assert.match(text, new RegExp(`You signed in as ${MEGAN.replaceAll(".", "\\.")}`));
      assert.match(text, /wrong_account/);
    } finally {
      await page.close();
    }

    const after = await h.services.repos.accounts.findById(adeleId);
    assert.deepEqual(after, before, "the account being reconnected is untouched");
    const rows = await h.services.repos.accounts.page(100);
    assert.deepEqual(
      rows.map((row) => row.email),
      [ADELE],
      "no account was created for the other mailbox",
    );
  });
});
