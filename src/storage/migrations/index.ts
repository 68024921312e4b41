import type { Migration, MigrationProvider } from "kysely";
import * as m0001 from "./0001-initial.ts";
import * as m0003 from "./0003-hosted-auth.ts";
import * as m0004 from "./0004-token-lifecycle.ts";
import * as m0006 from "./0006-webhooks.ts";
import * as m0007 from "./0007-admins.ts";
import * as m0008 from "./0008-realtime.ts";
import * as m0009 from "./0009-webhook-response-excerpt.ts";
import * as m0010 from "./0010-sent-messages.ts";
import * as m0011 from "./0011-jobs-claim-index.ts";
import * as m0012 from "./0012-notify-deliveries.ts";
import * as m0013 from "./0013-job-keys-schedules.ts";
import * as m0014 from "./0014-job-relay.ts";
import * as m0015 from "./0015-account-events.ts";
import * as m0016 from "./0016-retention.ts";
import * as m0018 from "./0018-jobs-due-index.ts";
import * as m0019 from "./0019-tracking.ts";
import * as m0020 from "./0020-idempotency-keys.ts";
import * as m0021 from "./0021-scheduled-emails.ts";
import * as m0022 from "./0022-shared-mailboxes.ts";
import * as m0023 from "./0023-mail-version.ts";

/** Static list (no filesystem scanning): the same migrations run on SQLite and PostgreSQL. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      "0001-initial": m0001,
      "0003-hosted-auth": m0003,
      "0004-token-lifecycle": m0004,
      "0006-webhooks": m0006,
      "0007-admins": m0007,
      "0008-realtime": m0008,
      "0009-webhook-response-excerpt": m0009,
      "0010-sent-messages": m0010,
      "0011-jobs-claim-index": m0011,
      "0012-notify-deliveries": m0012,
      "0013-job-keys-schedules": m0013,
      "0014-job-relay": m0014,
      "0015-account-events": m0015,
      "0016-retention": m0016,
      "0018-jobs-due-index": m0018,
      "0019-tracking": m0019,
      "0020-idempotency-keys": m0020,
      "0021-scheduled-emails": m0021,
      "0022-shared-mailboxes": m0022,
      "0023-mail-version": m0023,
    };
  },
};
