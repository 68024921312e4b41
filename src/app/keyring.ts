// Where the encryption keys come from, and the start-up check that they fit the database.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { generateKey, Keyring, KeyringError, type SecretBox } from "../lib/crypto.ts";
import type { Logger } from "../lib/logger.ts";
import type { Storage } from "../storage/db.ts";
import { MetaRepository } from "../storage/repositories/meta.repository.ts";

const CANARY_KEY = "encryption_canary";
const CANARY_TEXT = "mailroom-encryption-canary";

export class KeySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeySetupError";
  }
}

export function keyFilePath(config: Pick<Config, "dataDir">): string {
  return join(config.dataDir, "encryption.key");
}

interface KeyFile {
  version: 1;
  /** base64 keys, first = primary. */
  keys: string[];
}

export function readKeyFile(path: string): Buffer[] {
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as KeyFile;
  } catch (cause) {
    throw new KeySetupError(
      `The key file ${path} cannot be read (${(cause as Error).message}). Restore it from your backup.`,
    );
  }
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    throw new KeySetupError(`The key file ${path} holds no key. Restore it from your backup.`);
  }
  return parsed.keys.map((k) => Buffer.from(k, "base64"));
}

export function writeKeyFile(path: string, keys: Buffer[]): void {
  const body: KeyFile = { version: 1, keys: keys.map((k) => k.toString("base64")) };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Loads keys from MAILROOM_ENCRYPTION_KEY or DATA_DIR/encryption.key (reloaded when a rotation adds a key). */
export class KeyringProvider implements SecretBox {
  private keyring: Keyring;
  readonly source: "env" | "file";

  constructor(
    private readonly config: Pick<Config, "dataDir" | "encryptionKeys">,
    keyring: Keyring,
  ) {
    this.keyring = keyring;
    this.source = config.encryptionKeys ? "env" : "file";
  }

  get current(): Keyring {
    return this.keyring;
  }

  encrypt(plaintext: string): string {
    return this.keyring.encrypt(plaintext);
  }

  decrypt(envelope: string): string {
    try {
      return this.keyring.decrypt(envelope);
    } catch (error) {
      // Another process may have rotated to a key this one has not loaded yet.
      if (error instanceof KeyringError && error.code === "unknown_key" && this.source === "file") {
        this.reload();
        return this.keyring.decrypt(envelope);
      }
      throw error;
    }
  }

  reload(): void {
    const path = keyFilePath(this.config);
    if (existsSync(path)) this.keyring = new Keyring(readKeyFile(path));
  }
}

/**
 * Whether the database is a Mailroom database migrated before (the canary lives in `meta`); read-only.
 * False when that cannot be told (unreachable, corrupt): migrating first then reports why.
 */
export async function isInitialized(storage: Storage): Promise<boolean> {
  try {
    const tables = (await storage.db.introspection.getTables({ withInternalKyselyTables: true })).map(
      (table) => table.name,
    );
    return tables.includes("meta") && tables.includes("kysely_migration");
  } catch {
    return false;
  }
}

/**
 * Resolves the keyring for a database. Generates a key only for a database that has never stored a
 * secret; a database with secrets and no matching key refuses to start rather than lose them.
 */
export async function setUpKeyring(
  config: Pick<Config, "dataDir" | "encryptionKeys">,
  storage: Storage,
  log: Logger,
  options: { allowGenerate?: boolean } = {},
): Promise<KeyringProvider> {
  const meta = new MetaRepository(storage.db);
  const canary = await meta.get(CANARY_KEY);
  let keyring: Keyring;
  if (config.encryptionKeys) {
    keyring = Keyring.fromBase64List(config.encryptionKeys);
  } else {
    const path = keyFilePath(config);
    if (existsSync(path)) {
      keyring = new Keyring(readKeyFile(path));
    } else if (canary) {
      throw new KeySetupError(
        `The database holds encrypted secrets (key ${Keyring.keyIdOfEnvelope(canary)}) but no encryption key was found: ${path} is missing and MAILROOM_ENCRYPTION_KEY is not set. Restore the key file from your backup or set MAILROOM_ENCRYPTION_KEY. Mailroom will not generate a new key over existing data.`,
      );
    } else if (options.allowGenerate === false) {
      throw new KeySetupError(
        `No encryption key: set MAILROOM_ENCRYPTION_KEY or run \`npx mailroom start\` once.`,
      );
    } else {
      writeKeyFile(path, [generateKey()]);
      keyring = new Keyring(readKeyFile(path));
      log.warn(
        { path },
        `Generated a new encryption key at ${path} (mode 0600). Back it up: without it, stored tokens and secrets cannot be read.`,
      );
    }
  }
  // First start: the first process to write the canary fixes the key; one that loses the race (several
  // processes starting on a fresh shared database) checks its key against the winner's canary.
  const stored =
    canary ??
    ((await meta.insertIfAbsent(CANARY_KEY, keyring.encrypt(CANARY_TEXT)))
      ? undefined
      : await meta.get(CANARY_KEY));
  if (stored) {
    try {
      const text = keyring.decrypt(stored);
      if (text !== CANARY_TEXT) throw new Error("canary mismatch");
    } catch (error) {
      const needed = Keyring.keyIdOfEnvelope(stored) ?? "unknown";
      throw new KeySetupError(
        `The configured encryption key(s) (${keyring.keyIds.join(", ")}) do not open this database, which was encrypted with key ${needed}${
          error instanceof KeyringError && error.code === "corrupt" ? " (authentication failed)" : ""
        }. Set MAILROOM_ENCRYPTION_KEY to the right key (in scaled mode, the one every other process is given) or restore DATA_DIR/encryption.key. Nothing was changed.`,
      );
    }
    if (Keyring.keyIdOfEnvelope(stored) !== keyring.primaryId) {
      log.warn(
        { primary: keyring.primaryId },
        "Secrets are still encrypted with an older key; run `npx mailroom keys rotate` to finish the rotation.",
      );
    }
  }
  return new KeyringProvider(config, keyring);
}

export async function writeCanary(storage: Storage, keyring: Keyring): Promise<void> {
  await new MetaRepository(storage.db).set(CANARY_KEY, keyring.encrypt(CANARY_TEXT));
}
