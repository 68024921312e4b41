// Wires what makes sends safe to retry and lets them wait: Idempotency-Key handling
// (domain/idempotency) and scheduled send (domain/scheduled). docs/adr/0011-send-once-and-scheduled.md.
import type { Config } from "../config/config.ts";
import { IdempotencyService } from "../domain/idempotency/idempotency.service.ts";
import type { Clock } from "../lib/clock.ts";
import type { SecretBox } from "../lib/crypto.ts";
import type { Storage } from "../storage/db.ts";
import { IdempotencyRepository } from "../storage/repositories/idempotency.repository.ts";

export function createSending(deps: { config: Config; storage: Storage; secrets: SecretBox; clock: Clock }): {
  idempotency: IdempotencyService;
} {
  const idempotency = new IdempotencyService({
    repo: new IdempotencyRepository(deps.storage.db),
    secrets: deps.secrets,
    clock: deps.clock,
    options: deps.config.idempotency,
  });
  return { idempotency };
}
