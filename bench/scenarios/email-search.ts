// GET /api/v1/emails?search= through Mailroom vs the same Graph `$search` page straight to the sandbox
// (same run, same user, each side through its own app, same 4 connections; see email-list.ts for the setup).
import type { Scenario } from "../lib/scenario.ts";
import { ATTACHMENTS_EXPAND, compareEmail, MESSAGE_SELECT, startEmailBench } from "./email-list.ts";

/** A word common in the seeded corpus (mailing-list mail), so pages are full. */
const WORD = "list";

export const emailSearch: Scenario = {
  name: "search",
  describe: `GET /api/v1/emails?search=${WORD} (50 per page) vs the same Graph $search page straight to the sandbox`,
  async run(settings, log) {
    const bench = await startEmailBench(settings, log);
    try {
      const query = new URLSearchParams({
        $search: `"${WORD}"`,
        $top: "50",
        $select: MESSAGE_SELECT,
        $expand: ATTACHMENTS_EXPAND,
      });
      const probe = await fetch(
        `${bench.mailroomBase}/api/v1/emails?account_id=${bench.accountId}&limit=50&search=${WORD}`,
        { headers: { "x-api-key": bench.apiKey } },
      );
      const found = ((await probe.json()) as { items?: unknown[] }).items?.length ?? 0;
      log(`  "${WORD}" finds ${found} emails on the first page`);
      return await compareEmail(
        "search",
        bench,
        `/api/v1/emails?account_id=${bench.accountId}&limit=50&search=${WORD}`,
        `/v1.0/me/messages?${query.toString().replaceAll("%24", "$")}`,
        settings,
        log,
        { ratio: 0.7 },
      );
    } finally {
      await bench.stop();
    }
  },
};
