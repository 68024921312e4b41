// GET /api/v1/emails/{id} through Mailroom vs GET /v1.0/me/messages/{id} straight to the sandbox
// (same run, same user, each side through its own app, same concurrency; see email-list.ts for the setup).
import type { Scenario } from "../lib/scenario.ts";
import { ATTACHMENTS_EXPAND, compareEmail, MESSAGE_SELECT, startEmailBench } from "./email-list.ts";

export const emailGet: Scenario = {
  name: "email-get",
  describe: "GET /api/v1/emails/{id} vs GET /v1.0/me/messages/{id} straight to the sandbox",
  async run(settings, log) {
    const bench = await startEmailBench(settings, log);
    try {
      const res = await fetch(`${bench.mailroomBase}/api/v1/emails?account_id=${bench.accountId}&limit=1`, {
        headers: { "x-api-key": bench.apiKey },
      });
      const first = ((await res.json()) as { items: { id: string; provider_id: string }[] }).items[0];
      if (!first) throw new Error("the mailbox is empty");
      return await compareEmail(
        "email-get",
        bench,
        `/api/v1/emails/${first.id}`,
        `/v1.0/me/messages/${first.provider_id}?$select=${MESSAGE_SELECT}&$expand=${encodeURIComponent(ATTACHMENTS_EXPAND).replaceAll("%24", "$")}`,
        settings,
        log,
        { ratio: 0.5 },
      );
    } finally {
      await bench.stop();
    }
  },
};
