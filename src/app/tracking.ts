// Wires email tracking (docs/adr/0009-email-tracking.md): its key (stored encrypted in settings),
// its repository, and the webhook outbox its flushes publish to.
import type { Config } from "../config/config.ts";
import { DEFAULT_RECORDER_OPTIONS } from "../domain/tracking/recorder.ts";
import { TrackingService } from "../domain/tracking/tracking.service.ts";
import { TrackingKey } from "../domain/tracking/tracking-key.ts";
import type { WebhookService } from "../domain/webhooks/webhook.service.ts";
import type { Clock } from "../lib/clock.ts";
import type { SecretBox } from "../lib/crypto.ts";
import type { Logger } from "../lib/logger.ts";
import type { Storage } from "../storage/db.ts";
import type { SettingsRepository } from "../storage/repositories/settings.repository.ts";
import { TrackingRepository } from "../storage/repositories/tracking.repository.ts";
import type { UnitOfWorkRunner } from "../storage/unit-of-work.ts";

export function createTracking(deps: {
  config: Config;
  storage: Storage;
  repos: { settings: SettingsRepository };
  secrets: SecretBox;
  transaction: UnitOfWorkRunner;
  webhooks: WebhookService;
  clock: Clock;
  log: Logger;
}): TrackingService {
  return new TrackingService({
    key: new TrackingKey(deps.repos.settings, deps.secrets, deps.clock),
    repo: new TrackingRepository(deps.storage.db),
    transaction: deps.transaction,
    outbox: deps.webhooks,
    clock: deps.clock,
    log: deps.log.child({ component: "tracking" }),
    publicUrl: deps.config.publicUrl,
    recorder: { ...DEFAULT_RECORDER_OPTIONS, eventsPerMinute: deps.config.tracking.eventsPerMinute },
  });
}
