// Composition root: builds every service from config. HTTP, jobs and the CLI all take what they need
// from here; nothing is hung on the Fastify instance.
import type { Config } from "../config/config.ts";
import { AccountService } from "../domain/accounts/account.service.ts";
import { ApiKeyService } from "../domain/api-keys/api-key.service.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import { ensureWritableDir, openStorage, type Storage } from "../storage/db.ts";
import { AccountRepository } from "../storage/repositories/account.repository.ts";
import { ApiKeyRepository } from "../storage/repositories/api-key.repository.ts";
import { SecretRepository } from "../storage/repositories/secret.repository.ts";
import { SettingsRepository } from "../storage/repositories/settings.repository.ts";
import { type KeyringProvider, setUpKeyring } from "./keyring.ts";
import { createMetrics, type Metrics } from "./metrics.ts";

export interface Services {
  config: Config;
  clock: Clock;
  log: Logger;
  storage: Storage;
  secrets: KeyringProvider;
  metrics: Metrics;
  repos: {
    apiKeys: ApiKeyRepository;
    accounts: AccountRepository;
    settings: SettingsRepository;
    secrets: SecretRepository;
  };
  apiKeys: ApiKeyService;
  accounts: AccountService;
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  /** Open the database and check keys, but do not migrate (for commands that must not change the schema). */
  migrate?: boolean;
  allowKeyGeneration?: boolean;
}

export async function buildServices(
  config: Config,
  log: Logger,
  options: BuildOptions = {},
): Promise<Services> {
  ensureWritableDir(config.dataDir);
  const storage = openStorage(config.database);
  try {
    if (options.migrate !== false) {
      const applied = await storage.migrate();
      if (applied.length > 0)
        log.info({ migrations: applied }, `Applied ${applied.length} database migration(s)`);
    }
    const secrets = await setUpKeyring(
      config,
      storage,
      log,
      options.allowKeyGeneration === undefined ? {} : { allowGenerate: options.allowKeyGeneration },
    );
    const clock = options.clock ?? systemClock;
    const repos = {
      apiKeys: new ApiKeyRepository(storage.db),
      accounts: new AccountRepository(storage.db),
      settings: new SettingsRepository(storage.db),
      secrets: new SecretRepository(storage.db),
    };
    return {
      config,
      clock,
      log,
      storage,
      secrets,
      metrics: createMetrics(),
      repos,
      apiKeys: new ApiKeyService(repos.apiKeys, clock),
      accounts: new AccountService(repos.accounts),
      close: () => storage.close(),
    };
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
}
