import type { Keyring } from "../../lib/crypto.ts";
import type { SecretRepository } from "../../storage/repositories/secret.repository.ts";

export interface RotationProgress {
  scanned: number;
  reencrypted: number;
  alreadyCurrent: number;
  skippedConcurrentWrite: number;
  /** Rows whose secret no configured key opens (`table.column#row`); left untouched. */
  unreadable: string[];
}

/**
 * Re-encrypts every stored secret under the keyring's primary key. Safe to run while services are
 * up: each row is swapped only if unchanged since it was read, and readers accept old and new keys.
 */
export async function reencryptAll(
  secrets: SecretRepository,
  keyring: Keyring,
  onProgress?: (progress: RotationProgress) => void,
): Promise<RotationProgress> {
  const progress: RotationProgress = {
    scanned: 0,
    reencrypted: 0,
    alreadyCurrent: 0,
    skippedConcurrentWrite: 0,
    unreadable: [],
  };
  for await (const secret of secrets.all()) {
    progress.scanned++;
    const keyId = secret.envelope.split(".")[1];
    if (keyId === keyring.primaryId) {
      progress.alreadyCurrent++;
      continue;
    }
    let plaintext: string;
    try {
      plaintext = keyring.decrypt(secret.envelope);
    } catch {
      progress.unreadable.push(`${secret.table}.${secret.column}#${secret.rowKey}`);
      continue;
    }
    if (await secrets.replace(secret, keyring.encrypt(plaintext))) progress.reencrypted++;
    else progress.skippedConcurrentWrite++;
    if (progress.scanned % 100 === 0) onProgress?.(progress);
  }
  onProgress?.(progress);
  return progress;
}
