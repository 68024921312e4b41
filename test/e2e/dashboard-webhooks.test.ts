// The operator's webhook journey in Chromium: add a webhook pointing at a local receiver (its secret
// shown once), send a test event, watch it delivered (signed with that secret), replay it, rotate
// the secret and reveal the callback secret. The form is submitted from the keyboard; no console
// errors; a screenshot for the README (taken before any secret is on screen).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { verifySignature } from "../../src/outbound/signing.ts";
import { type StartedMailroom, startMailroom } from "../support/cli.ts";
import { startReceiver } from "../support/connect-harness.ts";
import { until } from "../support/until.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = join(import.meta.dirname, "../../docs/screenshots");
const EMAIL = "ops@example.com";
const PASSWORD = "a long dashboard passphrase";

describe("dashboard: webhooks, in Chromium", () => {
  let mailroom: StartedMailroom;
  let browser: Browser;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const consoleErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (or set CHROMIUM_PATH)`);
    receiver = await startReceiver();
    mailroom = await startMailroom({
      env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
      readyWhen: /\/setup\?token=\S+/,
      dataDirPrefix: "mailroom-dash-webhooks-",
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    page.on("dialog", (d) => void d.accept());
    mkdirSync(SCREENSHOTS, { recursive: true });

    const link = /(http:\/\/\S+\/setup\?token=\S+)/.exec(mailroom.output())![1]!;
    await page.goto(link);
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Password again").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await mailroom?.stop();
    await receiver?.close();
  });

  let secret = "";

  it("shows the empty state, then creates a webhook with its secret shown once", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByText("No webhooks yet").waitFor();

    // A URL that is no URL is refused with a sentence, not a request.
    await page.getByLabel("Endpoint URL").fill("example.com/hook");
    await page.getByRole("button", { name: "Create webhook" }).click();
    await page.getByText("Give the full address of your endpoint").waitFor();

    await page.getByLabel("Endpoint URL").fill(receiver.url);
    await page.getByLabel("Source").selectOption("email");
    await page.getByRole("checkbox", { name: "mail_sent" }).check();
    await page.getByLabel("Name (optional)").fill("crm-backend");
    await page.getByLabel("Extra headers (optional)").fill("Authorization: Bearer receiver-token");
    // Submit from the keyboard.
    await page.getByLabel("Name (optional)").focus();
    await page.keyboard.press("Enter");
    const success = page.locator(".alert-success");
    await success.getByText("Copy its signing secret now").waitFor();
    secret = (await success.locator("code").innerText()).trim();
    assert.match(secret, /^whsec_/);
    const row = page.locator("table.webhooks").getByRole("row", { name: /crm-backend/ });
    await row.waitFor();
    assert.match(await row.innerText(), /mail_received, mail_sent/);
    assert.match(await row.innerText(), /None yet/);
    await page.getByRole("button", { name: "I have copied it" }).click();
    await success.waitFor({ state: "detached" });
    assert.doesNotMatch(await page.locator("main").innerText(), /whsec_/, "the secret is not shown again");
  });

  it("sends a test event: delivered to the receiver, signed, and shown in the deliveries", async () => {
    const before = receiver.received.length;
    await page.getByRole("button", { name: "Send test event to crm-backend" }).click();
    await page.getByText("Test event queued").waitFor();
    const deliveries = page.getByRole("region", { name: /Deliveries to crm-backend/ });
    const delivered = deliveries.locator("tbody tr").first();
    await delivered.getByText("delivered").waitFor();
    assert.match(await delivered.innerText(), /mail_received\s+test/);
    assert.match(await delivered.innerText(), /HTTP 200/);
    assert.equal(receiver.received.length, before + 1);
    const request = receiver.received[before]!;
    assert.equal(request.headers["x-mailroom-test"], "true");
    assert.ok(
      verifySignature(
        secret,
        request.body,
        String(request.headers["x-mailroom-signature"]),
        Date.now() / 1000,
      ),
    );
    await page
      .locator("table.webhooks")
      .getByRole("row", { name: /crm-backend/ })
      .getByText("delivered")
      .waitFor();
  });

  it("replays the delivery: the same event again, from attempt 1", async () => {
    const before = receiver.received.length;
    const deliveries = page.getByRole("region", { name: /Deliveries to crm-backend/ });
    await deliveries.getByRole("button", { name: /^Replay mail_received delivery/ }).click();
    await deliveries.getByText("queued again from attempt 1").waitFor();
    const replayed = await until("the replayed delivery", () => receiver.received[before]);
    assert.equal(
      replayed.headers["x-mailroom-event-id"],
      receiver.received[before - 1]!.headers["x-mailroom-event-id"],
    );
    assert.equal(replayed.headers["x-mailroom-attempt"], "1");
    await deliveries.locator("tbody tr").first().getByText("delivered").waitFor();
    await deliveries.getByRole("button", { name: "Replay failed" }).click();
    await deliveries.getByText("No failed delivery since then").waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-webhooks.png"), fullPage: true });
  });

  it("rotates the secret (the grace period is explained) and reveals the callback secret", async () => {
    await page.getByRole("button", { name: "Rotate secret of crm-backend" }).click();
    const success = page.locator(".alert-success").filter({ hasText: "New signing secret" });
    await success.waitFor();
    assert.match(await success.innerText(), /two v1= signatures/);
    const rotated = (await success.locator("code").innerText()).trim();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    await page.getByRole("button", { name: "I have copied it" }).click();

    await page.getByRole("button", { name: "Reveal the callback secret" }).click();
    const callback = page.getByRole("region", { name: "Verifying signatures" }).locator(".copy-field code");
    assert.match(await callback.innerText(), /^whsec_/);
  });

  it("deletes the webhook after confirmation; no console errors on the way", async () => {
    await page.getByRole("button", { name: "Delete crm-backend" }).click();
    await page.getByText("No webhooks yet").waitFor();
    assert.deepEqual(consoleErrors, []);
  });
});
