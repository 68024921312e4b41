// Connects a sandbox mailbox to a running Mailroom the way an end user does: a hosted auth link
// created with the API key, then the wizard and the sandbox's sign-in pages over HTTP.
import { SEED_PASSWORD } from "../../sandbox/src/seed.ts";
import { connectThroughWizard, MultiOriginBrowser } from "../../test/support/browser.ts";

const DONE = "https://app.example.com/ok";

export async function connectMailbox(options: {
  mailroomUrl: string;
  sandboxUrl: string;
  apiKey: string;
  email: string;
}): Promise<void> {
  const res = await fetch(`${options.mailroomUrl}/api/v1/hosted/accounts/link`, {
    method: "POST",
    headers: { "x-api-key": options.apiKey, "content-type": "application/json" },
    body: JSON.stringify({
      type: "create",
      providers: "*",
      api_url: options.mailroomUrl,
      expiresOn: new Date(Date.now() + 3600_000).toISOString(),
      success_redirect_url: DONE,
      bypass_success_screen: true,
    }),
  });
  if (res.status !== 200) throw new Error(`link not created: ${res.status} ${await res.text()}`);
  const { url } = (await res.json()) as { url: string };
  const end = await connectThroughWizard(
    new MultiOriginBrowser([options.mailroomUrl, options.sandboxUrl]),
    url,
    {
      email: options.email,
      password: SEED_PASSWORD,
    },
  );
  if (end.left?.toString() !== DONE) {
    throw new Error(`connecting ${options.email} failed: ${end.left ?? end.html.slice(0, 300)}`);
  }
}
